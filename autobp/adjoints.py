"""Which gradient contributions make each buffer's adjoint, planned once per plan and per kind of gradient.

In the scalar sweep a node's gradient is the sum of what its consumers add
into it: ∂C/∂v = Σ_{consumers u} ∂C/∂u · ∂u/∂v.  Over a batch a step hands
each operand position one array of contributions, one column per node (or,
for a fused layer, ∂C/∂W and ∂C/∂A whole).  A buffer's adjoint gathers, for
each of its columns, every contribution aimed at it and sums them; a value
shared by the batch (a parameter, a constant, an invariant step) first sums
each contribution over the batch axis.  Only take, concat and sum are used,
so any Array API library can run it (none has a standard scatter-add).

`Adjoints(plan, "parameters")` computes the gradients that reach the
parameters (for `Tape.backward`); `Adjoints(plan, "inputs")` those that reach
the traced inputs (for `Tape.grad`).  Steps whose adjoint cannot reach them
are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autobp.batching import Plan

__all__ = ["Adjoints"]

Key = object     # "seed", or (step index, operand position)


@dataclass
class _Pull:
    """The recipe of one buffer's adjoint."""

    parts: list[tuple[Key, bool, np.ndarray | None]]   # (contribution, is it batched, its columns; None: all)
    order: np.ndarray | None      # each column read once: the concatenation's positions in column order
    index: np.ndarray | None      # else (size, R) positions, padded with the position of an appended zero
    batched: bool


def _entries(plan: Plan) -> list[tuple[Key, bool, int, np.ndarray, np.ndarray, np.ndarray]]:
    """Every contribution: (key, batched, its width, its column per target, the targets' buffers and columns),
    latest step first."""
    out: list = [("seed", True, len(plan.outputs), np.arange(len(plan.outputs)),
                  np.array([b for b, _ in plan.outputs]), np.array([c for _, c in plan.outputs]))]
    for i in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[i]
        n = len(step.labels)
        for k, g in enumerate(step.operands):
            if g is None:
                continue
            if step.kind == "map":
                cols, batched, width = np.arange(n), step.batched, n
            elif step.kind == "sum" or (step.kind == "affine" and k in (0, 3)):
                per_node = step.n_invariant if k == 0 else \
                    step.n_batched if step.kind == "affine" else step.width - step.n_invariant
                cols, batched, width = np.repeat(np.arange(n), per_node), step.batched, n
            else:                              # affine: ∂C/∂W (shared by the batch) or ∂C/∂A
                cols, batched, width = np.arange(len(g)), k == 2, len(g)
            out.append(((i, k), batched, width, cols, g.bufs, g.cols))
    return out


class Adjoints:
    """How to sum each needed buffer's adjoint, for the gradients that reach `wrt` ("parameters" or "inputs")."""

    def __init__(self, plan: Plan, wrt: str) -> None:
        if wrt == "parameters":
            self.needed = set(plan.depends_on_params)
        else:
            self.needed = {u for u, b in enumerate(plan.buffers) if b.batched}
        aimed: dict[int, list] = {}
        self.wanted: set = set()
        for key, batched, width, cols, bufs, xcols in _entries(plan):
            for u in np.unique(bufs).tolist():
                if u in self.needed:
                    mine = cols[bufs == u]
                    whole = len(mine) == width and bool((mine == np.arange(width)).all())
                    aimed.setdefault(u, []).append((key, batched, None if whole else mine, xcols[bufs == u]))
                    self.wanted.add(key)
        self.pulls = {u: self._plan_pull(plan.buffers[u].size, plan.buffers[u].batched, entries)
                      for u, entries in aimed.items()}

    @staticmethod
    def _plan_pull(size: int, batched: bool, entries: list) -> _Pull:
        parts = [(key, b, cols) for key, b, cols, _ in entries]
        at = np.concatenate([x for *_, x in entries])
        counts = np.bincount(at, minlength=size)
        if (counts == 1).all():
            order = np.argsort(at, kind="stable")
            return _Pull(parts, None if (order == np.arange(size)).all() else order, None, batched)
        rank = np.zeros(len(at), dtype=np.int64)      # the how-manieth contribution to its column each one is
        by_column = np.argsort(at, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank[by_column] = np.arange(len(at)) - np.repeat(starts, counts)
        index = np.full((size, int(counts.max())), len(at), dtype=np.int64)
        index[at, rank] = np.arange(len(at))
        return _Pull(parts, None, index, batched)

    def adjoint(self, u: int, contributions: dict, arr: Any, batch: int) -> Any:
        """∂C/∂(buffer u): its contributions summed column by column (and over the batch if u is shared)."""
        xp = arr.xp
        pull = self.pulls.get(u)
        if pull is None:              # nothing reaches it (e.g. a parameter the output does not use)
            return None
        parts = []
        for key, batched, cols in pull.parts:
            c = contributions[key]
            if batched and not pull.batched:
                c = xp.sum(c, axis=0)
            parts.append(arr.take(c, cols))
        m = parts[0] if len(parts) == 1 else xp.concat(parts, axis=-1)
        if pull.index is None:
            return arr.take(m, pull.order)
        rows = (batch,) if pull.batched else ()
        m = xp.concat([m, xp.zeros((*rows, 1), dtype=m.dtype, device=arr.device)], axis=-1)
        size, r = pull.index.shape
        return xp.sum(xp.reshape(arr.take(m, pull.index.reshape(-1)), (*rows, size, r)), axis=-1)
