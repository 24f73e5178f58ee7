"""The batched plan run on arrays of any Array API library: forward values, and reverse-mode gradients.

Every array call goes through the namespace `xp` that array-api-compat gives
for the caller's arrays (NumPy, PyTorch, Dask; CuPy and JAX untested), in
float64.  Each op of the table has an array twin in `autobp.array_ops.RULES`;
an op without one (a `define_op` op) is evaluated sample by sample through
the engine itself, in NumPy.

Reverse mode over a batch.  Every step's adjoint ḡ = ∂C/∂(its outputs) is
complete once every later step has run backward, exactly as in the scalar
sweep.  A step hands each operand the contribution ḡ · ∂out/∂operand; a
buffer's adjoint is the sum of the contributions aimed at each of its
columns (a column read by r nodes gets r of them), and a value shared by the
whole batch (a parameter) also sums over the batch axis.  For a fused layer
z = A Wᵀ + b that is BP3 (∂C/∂b = Σ_batch δ), BP4 (∂C/∂W = δᵀ A) and the
first half of BP2 (∂C/∂A = δ W).

Where the numbers differ from the scalar engine, and why.  Values and
gradients agree to about 1e-15 relative, not bit for bit: a matrix product
and an array sum add in their own order (BLAS blocks, NumPy's pairwise
summation), a node's gradient adds its contributions in a different order
than the sweep, and NumPy's exp, log, tanh may differ from the C library's
by an ulp.  Sums of fewer than 8 terms and every elementwise step of + − × ÷
are exactly the engine's floats.

Non-finite numbers.  After the forward pass every step's values, and after
the backward pass the gradients, must be finite.  If not, the plan runs again
step by step until the first bad value, and that sample's node is rebuilt
with the engine, which raises the engine's own error (e.g. `log: input must
be > 0, got -2.0`), with the sample's index added.
"""

from __future__ import annotations

from typing import Any, Callable, cast

import array_api_compat
import numpy as np

from autobp import ops
from autobp.array_ops import POW_VALUE_EXPONENT, RULES
from autobp.batching import Gather, Plan, Step
from autobp.engine import Value, apply, local_derivatives

__all__ = ["Arrays", "forward", "backward", "settle", "to_numpy"]


def to_numpy(a: Any) -> np.ndarray:
    """An array of any library as a NumPy array (a Dask array is computed; a CuPy array is copied to the host)."""
    try:
        return np.asarray(a)
    except TypeError:
        return a.get()         # CuPy refuses implicit conversion


def _engine_forward(op: ops.Op, *args: float | Value) -> float:
    return apply(op, *args).data


def _engine_partials(op: ops.Op, *args: float | Value) -> tuple:
    """The op's local derivatives at these operands (floats only: each a Value, so a node is made)."""
    operands = args if any(isinstance(a, Value) for a in args) else tuple(Value(cast(float, a)) for a in args)
    return local_derivatives(apply(op, *operands))


def _as_in_graph(plan: Plan, step: Step, floats: list[float]) -> list[float | Value]:
    """A map step's operand floats as the engine met them: a constant as a number, anything else a Value
    (so `x ** y` with a traced y meets the engine's rule for a Value exponent, and x ** 0.5 does not)."""
    if step.kind != "map":
        return [Value(f) for f in floats]
    return [f if all(u == plan.constants_buffer for u, _ in g.parts) else Value(f)
            for f, g in zip(floats, cast(list[Gather], step.operands))]


def _by_sample(xp, like, f: Callable, op: ops.Op, arrays: list, n_results: int) -> list:
    """f(op, *floats) element by element in NumPy, for an op without an array rule; results as xp arrays."""
    columns = np.broadcast_arrays(*(np.asarray(to_numpy(a), dtype=float) for a in arrays))
    results = np.empty((n_results, *columns[0].shape))
    for i in np.ndindex(columns[0].shape):
        r = f(op, *(float(a[i]) for a in columns))
        results[(slice(None), *i)] = r
    device = array_api_compat.device(like)
    return [xp.asarray(r, device=device) for r in results]


class Arrays:
    """The plan's index arrays in one array library, and that library's namespace."""

    def __init__(self, plan: Plan, xp: Any, like: Any) -> None:
        self.xp = xp
        self.device = array_api_compat.device(like)
        self.lazy = array_api_compat.is_dask_namespace(xp)
        self._cache: dict[int, Any] = {}
        self.constants = xp.asarray(plan.constants, dtype=xp.float64, device=self.device)

    def index(self, cols: np.ndarray) -> Any:
        """`cols` as an index array of this library (Dask takes NumPy's)."""
        if self.lazy:
            return cols
        key = id(cols)
        if key not in self._cache:
            self._cache[key] = (cols, self.xp.asarray(cols, device=self.device))
        return self._cache[key][1]

    def take(self, a: Any, cols: np.ndarray | None) -> Any:
        return a if cols is None else self.xp.take(a, self.index(cols), axis=-1)

    def gather(self, g, vals: list) -> Any:
        """The operand described by Gather g, from the buffers' values."""
        parts = [self.take(vals[u], cols) for u, cols in g.parts]
        a = parts[0] if len(parts) == 1 else self.xp.concat(parts, axis=-1)
        return self.take(a, g.order)


def _quiet(xp) -> Any:
    """NumPy warns on overflow and invalid values; the replay checks the results itself."""
    return np.errstate(all="ignore")


def _map_forward(arr: Arrays, plan: Plan, step: Step, operands: list) -> Any:
    rule = RULES.get(step.op)
    if rule is None:
        (out,) = _by_sample(arr.xp, operands[0], lambda op, *f: (_engine_forward(op, *f),), step.op, operands, 1)
        return out
    exponent = step.operands[1] if step.op is ops.POW else None
    if exponent is not None and any(u != plan.constants_buffer for u, _ in exponent.parts):
        rule = POW_VALUE_EXPONENT
    return rule.forward(arr.xp, *operands)


def _sum_forward(arr: Arrays, step: Step, inv: Any, bat: Any, batch: int) -> Any:
    """Σ over each node's terms, in operand order: ((t0 + t1) + t2) + … for fewer than 8 terms."""
    xp, n = arr.xp, len(step.labels)
    parts = []
    if inv is not None:
        inv = xp.reshape(inv, (n, step.n_invariant))
        parts.append(xp.broadcast_to(inv, (batch, n, step.n_invariant)) if step.batched else inv)
    if bat is not None:
        parts.append(xp.reshape(bat, (batch, n, step.width - step.n_invariant)))
    terms = parts[0] if len(parts) == 1 else xp.concat(parts, axis=-1)
    if step.term_order is not None:
        terms = xp.take(terms, arr.index(step.term_order), axis=-1)
    return xp.sum(terms, axis=-1)


def _affine_forward(arr: Arrays, step: Step, inv: Any, W: Any, A: Any, bat: Any, batch: int) -> Any:
    """z_j = Σ(terms) + Σ_k W_jk A_k: the matrix product A Wᵀ when every sum reads the same A."""
    xp, n = arr.xp, len(step.labels)
    W = xp.reshape(W, (n, step.width))
    z = A @ xp.matrix_transpose(W) if step.shared else xp.sum(xp.reshape(A, (batch, n, step.width)) * W, axis=-1)
    if inv is not None:
        z = xp.sum(xp.reshape(inv, (n, step.n_invariant)), axis=-1) + z
    if bat is not None:
        z = xp.sum(xp.reshape(bat, (batch, n, step.n_batched)), axis=-1) + z
    return z


def settle(arr: Arrays, results: list, flags: list) -> tuple[list, bool]:
    """(results, are all the finiteness flags True).

    With a lazy library (Dask) the results and the flags are computed in one pass and kept
    (`dask.persist`, on the cluster's workers under dask.distributed), so checking costs no second pass.
    """
    if not arr.lazy:
        return results, all(map(bool, flags))
    import dask

    *results, ok = dask.persist(*results, arr.xp.all(arr.xp.stack(flags)) if flags else True)
    return results, bool(ok)


def forward(plan: Plan, arr: Arrays, inputs: list, theta: Any, batch: int, check_each: bool = False
            ) -> tuple[list, list, list]:
    """Run every step; returns (buffer values, each step's gathered operands, finiteness flags)."""
    xp = arr.xp
    vals: list = [*inputs, theta, arr.constants]
    saved, flags = [], []
    with _quiet(xp):
        for step in plan.steps:
            operands = [None if g is None else arr.gather(g, vals) for g in step.operands]
            if step.kind == "map":
                out = _map_forward(arr, plan, step, operands)
            elif step.kind == "sum":
                out = _sum_forward(arr, step, operands[0], operands[1], batch)
            else:
                out = _affine_forward(arr, step, operands[0], operands[1], operands[2], operands[3], batch)
            if check_each and not bool(xp.all(xp.isfinite(out))):
                _raise_forward(plan, arr, step, operands, out, vals, batch)
            vals.append(out)
            saved.append(operands)
            flags.append(xp.all(xp.isfinite(out)))
    return vals, saved, flags


def _first_bad(a: Any) -> tuple:
    """The index of the first non-finite entry of `a`."""
    bad = np.argwhere(~np.isfinite(to_numpy(a)))
    return tuple(int(i) for i in bad[0])


def _where(step: Step, sample: int | None, j: int) -> str:
    label = f", node {step.labels[j]!r}" if step.labels[j] else ""
    return f" (sample {sample} of the batch{label})" if sample is not None else f" (a value shared by the batch{label})"


def _node_floats(arr: Arrays, step: Step, operands: list, sample: int | None, j: int) -> list[float]:
    """The floats that node j of `step` took as operands at `sample` (None: an invariant step)."""
    def pick(a, col):
        a = to_numpy(a)
        return float(a[col] if a.ndim == 1 else a[sample, col])

    if step.kind == "map":
        return [pick(a, j) for a in operands]
    if step.kind == "sum":
        inv = [pick(operands[0], j * step.n_invariant + k) for k in range(step.n_invariant)] if operands[0] is not None else []
        nb = step.width - step.n_invariant
        bat = [pick(operands[1], j * nb + k) for k in range(nb)] if operands[1] is not None else []
        terms = inv + bat
        return terms if step.term_order is None else [terms[k] for k in step.term_order]
    inv = [pick(operands[0], j * step.n_invariant + k) for k in range(step.n_invariant)] if operands[0] is not None else []
    inv += [pick(operands[3], j * step.n_batched + k) for k in range(step.n_batched)] if operands[3] is not None else []
    prods = []
    for k in range(step.width):
        w, a = pick(operands[1], j * step.width + k), pick(operands[2], k if step.shared else j * step.width + k)
        prods.append(_engine_forward(ops.MUL, w, a))
    return inv + prods


def _raise_forward(plan: Plan, arr: Arrays, step: Step, operands: list, out: Any, vals: list, batch: int) -> None:
    """Raise the engine's error for the first non-finite value of `step` (its sample and node named)."""
    index = _first_bad(out)
    sample, j = (index[0], index[1]) if step.batched else (None, index[0])
    floats = _node_floats(arr, step, operands, sample, j)
    try:
        value = _engine_forward(step.op, *_as_in_graph(plan, step, floats))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as e:
        raise type(e)(f"{e}{_where(step, sample, j)}") from None
    raise OverflowError(f"{step.op.name}: the array replay gave a non-finite number where the engine gives "
                        f"{value!r}{_where(step, sample, j)}")


# ---------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------

def _map_locals(arr: Arrays, plan: Plan, step: Step, out: Any, operands: list) -> tuple:
    rule = RULES.get(step.op)
    if rule is None:
        return tuple(_by_sample(arr.xp, out, _engine_partials, step.op, operands, len(operands)))
    return rule.partials(arr.xp, out, *operands)


def backward(plan: Plan, pulls, arr: Arrays, vals: list, saved: list, seed: Any, batch: int,
             targets: list[int], check_each: bool = False) -> list:
    """Adjoints of the `targets` buffers, from ∂C/∂outputs = seed (batch × n_outputs).

    `pulls` (from `autobp.adjoints`) says which contributions make each buffer's adjoint.
    """
    with _quiet(arr.xp):
        return _backward(plan, pulls, arr, vals, saved, seed, batch, targets, check_each)


def _backward(plan, pulls, arr, vals, saved, seed, batch, targets, check_each) -> list:
    xp = arr.xp
    contributions: dict = {"seed": seed}
    for i in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[i]
        if step.out not in pulls.needed:
            continue
        g = pulls.adjoint(step.out, contributions, arr, batch)
        operands = saved[i]
        if step.kind == "map":
            locals_ = _map_locals(arr, plan, step, vals[step.out], operands)
            for k, local in enumerate(locals_):
                if (i, k) in pulls.wanted:
                    c = g * local if not isinstance(local, float) else (g if local == 1.0 else g * local)
                    if check_each and not isinstance(local, float) and not bool(xp.all(xp.isfinite(local))):
                        _raise_backward(arr, plan, step, operands, local)
                    contributions[(i, k)] = c
        elif step.kind == "sum":
            contributions[(i, 0)] = contributions[(i, 1)] = g
        else:
            n = len(step.labels)
            for k in (0, 3):                # every term gets ∂C/∂z
                if (i, k) in pulls.wanted:
                    contributions[(i, k)] = g
            if (i, 1) in pulls.wanted:      # BP4: ∂C/∂W = δᵀ A, summed over the batch
                A = operands[2]
                dW = xp.matrix_transpose(g) @ A if step.shared else \
                    xp.sum(g[:, :, None] * xp.reshape(A, (batch, n, step.width)), axis=0)
                contributions[(i, 1)] = xp.reshape(dW, (n * step.width,))
            if (i, 2) in pulls.wanted:      # BP2's first half: ∂C/∂A = δ W
                W = xp.reshape(operands[1], (n, step.width))
                dA = g @ W if step.shared else xp.reshape(g[:, :, None] * W, (batch, n * step.width))
                contributions[(i, 2)] = dA
    return [pulls.adjoint(t, contributions, arr, batch) for t in targets]


def _raise_backward(arr: Arrays, plan: Plan, step: Step, operands: list, local: Any) -> None:
    """Raise the engine's error for the first non-finite local derivative of `step`."""
    index = _first_bad(_broadcast_like(arr, local, operands))
    sample, j = (index[0], index[1]) if step.batched else (None, index[0])
    floats = _node_floats(arr, step, operands, sample, j)
    try:
        _engine_partials(step.op, *_as_in_graph(plan, step, floats))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as e:
        raise type(e)(f"{e}{_where(step, sample, j)}") from None
    raise OverflowError(f"backward through '{step.op.name}': a local derivative is not a finite number"
                        f"{_where(step, sample, j)}")


def _broadcast_like(arr: Arrays, local: Any, operands: list) -> Any:
    """`local` broadcast to the shape of the step's operands (a local derivative may be a number or shared)."""
    shape = np.broadcast_shapes(*(tuple(o.shape) for o in operands if o is not None))
    return arr.xp.broadcast_to(local, shape)
