"""Central differences in one batch: a graph replayed at its point and at all 2n shifted points at once.

A gradient check of n inputs needs f(x + h·e_i) and f(x − h·e_i) for every
i: 2n evaluations of f, each a new graph.  Here the graph built once at x is
recorded as a tape (`autobp.tape.record`) whose inputs are the n checked
Values, and replayed on one batch of 2n + 1 rows — x, then x ± h·e_i — in
chunks that keep the arrays small.  Each row also carries the sign of the
input of every relu/abs node, so a difference that straddles a kink is
still flagged.

Like any trace, the replay re-runs the recorded operations, not f's Python:
a branch f took on a value at x would be kept at the shifted points, h away,
and a value f read (`a * Value(a.data)`) would stay a constant, repeating the
engine's own answer.  So `gradcheck` records a graph f built on placeholders
(`autobp.placeholders.standing_in`), which refuse such reads, and evaluates f
at each point where f makes one.
"""

from __future__ import annotations

import numpy as np

from autobp.engine import Value
from autobp.shifts import KINK_OPS
from autobp.tape import record

__all__ = ["central_differences"]
CHUNK = 2 ** 22                         # values per replayed chunk of rows (32 MB of float64)


def _rows(x: np.ndarray, eps: float, start: int, stop: int) -> np.ndarray:
    """Rows start … stop − 1 of the batch x; x + eps·e_0, …, x + eps·e_(n−1); x − eps·e_0, …"""
    n = len(x)
    rows = np.tile(x, (stop - start, 1))
    for sign, first in ((1.0, 1), (-1.0, 1 + n)):     # row first + i moves coordinate i
        i = np.arange(max(start, first), min(stop, first + n))
        rows[i - start, i - first] = x[i - first] + sign * eps
    return rows


def central_differences(output: Value, inputs: list[Value], eps: float
                        ) -> tuple[list[float], list[float], list[bool]]:
    """(f(x + eps·e_i), f(x − eps·e_i), does either straddle a kink) for each input i, from one batch.

    x is the inputs' current data; each shifted coordinate is the float x_i ± eps, as a loop would set it.
    Raises the replay's error (naming the row) where a shifted point is outside f's domain.
    """
    x = np.array([v.data for v in inputs])
    n = len(x)
    tape = record(output, [list(inputs)], ["x"], [n])
    kinks = [i for i, step in enumerate(tape.plan.steps) if step.op.name in KINK_OPS and step.batched]
    width = sum(b.size for b in tape.plan.buffers if b.batched) + sum(
        len(g) for step in tape.plan.steps for g in step.operands if g is not None and g.batched)
    per_chunk = max(1, CHUNK // max(width, 1))
    values, signs = [], []
    for start in range(0, 2 * n + 1, per_chunk):
        out, _, saved = tape.values(_rows(x, eps, start, min(start + per_chunk, 2 * n + 1)))
        values.append(np.asarray(out, dtype=float).reshape(-1))
        signs.append(np.concatenate([np.sign(np.asarray(saved[i][0])).reshape(len(values[-1]), -1)
                                     for i in kinks], axis=1) if kinks else np.zeros((len(values[-1]), 0)))
    value, sign = np.concatenate(values), np.concatenate(signs)
    moved = (sign != sign[0]).any(axis=1)
    return value[1:n + 1].tolist(), value[n + 1:].tolist(), (moved[1:n + 1] | moved[n + 1:]).tolist()
