"""Gradient checks: the engine's derivatives against finite differences of f.

Central differences approximate each partial derivative from two values of f:

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h      (error O(h²) + O(ε_mach/h))

An entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.  At a
kink (relu or abs at 0) f has no derivative and finite differences straddle
two slopes; such entries are flagged `kink` and do not fail the check.

Three modes:
- "full" (default): one row per input, 2n evaluations of f.  `order=2` adds
  the Hessian from n Hessian-vector products (forward-over-reverse), checked
  with 4n more evaluations (at two steps, below): ∂²f/∂x_j² against the
  second difference of f itself, (f(x + h·e_j) − 2f(x) + f(x − h·e_j))/h²,
  and ∂²f/∂x_i∂x_j (i ≠ j) against the central difference of the gradient in x_j.
- "directional": jvp and vjp along a few random directions against one
  central difference of f each, O(1) evaluations (`autobp.directional`).
- "second_differences" (order 2 only): every Hessian entry against the
  4-point second difference of f alone, 8n² evaluations (4n² at each step).

A second difference divides by h², so its step is larger than eps:
h = eps^(2/3) (1e-4 for eps = 1e-6) balances its truncation error, h²·f''''/12,
against its round-off, ε_mach·|f|/h², where f varies on a scale of 1.  Near a
singularity that step is too coarse: for 1/x at x = 0.002 the truncation
error is 0.25% of f'', so a correct Hessian would fail at rtol = 1e-3 (and one
0.25% wrong could pass).  So each order-2 difference is taken at 2h and at h,
and the change between them measures its truncation error (N(2h) − N(h) ≈
3·(error of N(h))); where that is not small next to the tolerance, the step is
halved until it is, and the row is judged there (`checkreport.settled_row`;
the report names the rows judged at a smaller step).  The steps depend on f
alone, not on the derivative under test.

The report, the evaluations at shifted points and the step-size experiment
live in `autobp.checkreport`, `autobp.shifts` and `autobp.stepsize`; the names
used with gradcheck are importable from here.
"""

from __future__ import annotations

import math
import numbers
from functools import cache
from typing import Callable, Sequence

from autobp.checkreport import (Difference, GradcheckError, GradcheckReport, GradcheckRow, make_row,
                                rounding_error, settled_row, smaller_steps_note)
from autobp.directional import directional_check
from autobp.engine import Value, grad
from autobp.fdbatch import central_differences
from autobp.forward import Linearization
from autobp.placeholders import standing_in
from autobp.shifts import KINK_OPS, gradients_at, kink_nodes, kink_signs, kinks_at, values_at
from autobp.stepsize import EPS_GRID, SweepResult, SweepRow, leaves_for, output_of, sweep

__all__ = ["gradcheck", "check_mlp", "sweep", "GradcheckReport", "GradcheckRow", "GradcheckError",
           "SweepResult", "SweepRow", "EPS_GRID", "KINK_OPS", "MODES"]

MODES = ("full", "directional", "second_differences")


def _check_settings(eps: float, atol: float, rtol: float) -> None:
    """eps must be a finite number > 0, the tolerances finite numbers >= 0 (nan would fail every row)."""
    for name, value, positive in (("eps", eps, True), ("atol", atol, False), ("rtol", rtol, False)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and (value > 0 if positive else value >= 0)):
            rule = "> 0" if positive else ">= 0"
            raise ValueError(f"gradcheck: {name} must be a finite number {rule}, got {value!r}")


def _float_steps(leaves: list[Value], names: list[str], eps: float, order: int) -> list[float]:
    """(x + eps) − (x − eps) for each input: the steps really taken, refused where one rounds to nothing."""
    steps = [(leaf.data + eps) - (leaf.data - eps) for leaf in leaves]
    h = eps ** (2 / 3)                       # the second-order rows' step
    for leaf, name, step in zip(leaves, names, steps):
        if step == 0:
            raise ValueError(f"gradcheck: eps={eps:g} is too small to move {name} = {leaf.data!r} (x ± eps rounds "
                             "back to x in floating point); use an eps near 1e-6·max(1, |x|)")
        if order == 2 and (4 * h * h == 0 or leaf.data + h == leaf.data):
            raise ValueError(f"gradcheck: eps={eps:g} is too small for order=2 at {name} = {leaf.data!r}: the "
                             f"second differences step by h = eps^(2/3) = {h:g} and divide by h²; use an eps "
                             "near 1e-6·max(1, |x|)")
    return steps


def _differences(f: Callable[..., Value], out: Value, leaves: list[Value], names: list[str], eps: float,
                 base: tuple[float, ...]) -> tuple[list[float], list[float], list[bool]]:
    """f(x + eps·e_i), f(x − eps·e_i) and whether either straddles a kink, for each input i.

    All 2n shifted points as one batch: f's graph recorded once and replayed
    (`autobp.fdbatch`).  A replay repeats the operations that ran at x, so f
    is first run with its inputs standing in as trace placeholders: where f
    reads a value (`a * Value(a.data)`, `if a.data > 0`) the replay would
    repeat the engine's own answer, and f is evaluated at each point instead,
    as it is where a point is outside f's domain (the error names the point).
    """
    try:
        with standing_in(leaves) as guarded:
            replayable = output_of(f, leaves) if guarded else None
        if replayable is not None:
            return central_differences(replayable, leaves, eps)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):     # TypeError: TraceError among them
        pass
    shifts = [{i: d} for i in range(len(leaves)) for d in (eps, -eps)]
    values = values_at(f, leaves, names, shifts, watch_kinks=bool(base))
    return ([values[2 * i][0] for i in range(len(leaves))], [values[2 * i + 1][0] for i in range(len(leaves))],
            [values[2 * i][1] != base or values[2 * i + 1][1] != base for i in range(len(leaves))])


def _check(f: Callable[..., Value], leaves: list[Value], names: list[str], eps: float, atol: float,
           rtol: float, order: int, mode: str = "full", matrix: list[float] | None = None) -> GradcheckReport:
    """The per-input check, on Values whose .data it moves (and restores)."""
    steps = _float_steps(leaves, names, eps, order)      # the float steps, not 2·eps: no rounding error
    out = output_of(f, leaves)
    kinks = kink_nodes(out)
    base = kink_signs(kinks)
    analytic = [g.data for g in grad(out, leaves)]
    plus, minus, kink = _differences(f, out, leaves, names, eps, base)
    rows = [make_row(i, names[i], analytic[i], (plus[i] - minus[i]) / steps[i], atol, rtol, kink[i],
                     matrix=None if matrix is None else matrix[i]) for i in range(len(leaves))]
    notes = []
    if order == 2:
        h = eps ** (2 / 3)
        second = _second_order_rows if mode == "full" else _second_difference_rows
        settled = second(f, leaves, names, out, base, _hessian(out, leaves), h, atol, rtol)
        rows += [row for row, _ in settled]
        notes = smaller_steps_note(h, [(row.name, step) for row, step in settled])
    return GradcheckReport(rows, atol, rtol, eps, kinks_at(kinks, eps), mode=mode, notes=notes)


def _hessian(out: Value, leaves: list[Value]) -> list[list[float]]:
    """H[i][j] = ∂²out/∂x_i∂x_j as n Hessian-vector products H·e_j through the gradient's graph."""
    return [[h.data for h in row] for row in Linearization(grad(out, leaves, create_graph=True)).matrix(leaves)]


def _second_order_rows(f, leaves, names, out, base, hessian, h, atol, rtol) -> list[tuple[GradcheckRow, float]]:
    """The Hessian from hvps against f and its gradient at x ± 2h·e_j and x ± h·e_j (4n evaluations):

        ∂²f/∂x_j²      ≈ (f(x + h·e_j) − 2f(x) + f(x − h·e_j)) / h²       (f alone)
        ∂²f/∂x_i∂x_j   ≈ (∂f/∂x_i(x + h·e_j) − ∂f/∂x_i(x − h·e_j)) / 2h    (i ≠ j)

    The diagonal uses f's values only, so a partial that is right at x but
    wrong in its own derivative cannot hide; the rest take the engine's
    first derivatives, which the order-1 rows check.  h = eps^(2/3) (1e-4 for
    eps = 1e-6), where the second difference's truncation O(h²) and
    round-off O(ε/h²) balance, or the smaller step where the row's difference
    settles (`settled_row`: then f and its gradient are taken at x ± h·e_j
    for the smaller h too).  Each row comes with its step.
    """
    @cache
    def column(j: int, h: float) -> list[tuple[float, tuple, list[float]]]:
        """f, the kink signs and the engine's gradient at x + h·e_j and at x − h·e_j."""
        return gradients_at(f, leaves, names, [{j: h}, {j: -h}], bool(base))

    def entry(i: int, j: int) -> Difference:
        def numeric_at(h: float) -> tuple[float, float, bool]:
            (f_up, up, g_up), (f_down, down, g_down) = column(j, h)
            kink = up != base or down != base
            if i == j:
                return ((f_up - 2 * out.data + f_down) / (h * h),
                        rounding_error([f_up, out.data, out.data, f_down], h * h), kink)
            return (g_up[i] - g_down[i]) / (2 * h), rounding_error([g_up[i], g_down[i]], 2 * h), kink
        return numeric_at

    return [settled_row((i, j), f"{names[i]},{names[j]}", hessian[i][j], entry(i, j), h, atol, rtol)
            for j in range(len(leaves)) for i in range(len(leaves))]


def _second_difference_rows(f, leaves, names, out, base, hessian, h, atol, rtol) -> list[tuple[GradcheckRow, float]]:
    """Every Hessian entry against second differences of f itself (8n² evaluations), each with its step:

        ∂²f/∂x_i∂x_j ≈ (f(+h_i +h_j) − f(+h_i −h_j) − f(−h_i +h_j) + f(−h_i −h_j)) / 4h²

    h = eps^(2/3), or the smaller step where the row's difference settles (`settled_row`).
    """
    stencil = ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1))

    def entry(i: int, j: int) -> Difference:
        def numeric_at(h: float) -> tuple[float, float, bool]:
            shifts = []
            for si, sj, _ in stencil:
                shift = {i: si * h}
                shift[j] = shift.get(j, 0.0) + sj * h
                shifts.append(shift)
            values = values_at(f, leaves, names, shifts, bool(base))
            total = sum(weight * value for (value, _), (_, _, weight) in zip(values, stencil))
            kink = any(signs != base for _, signs in values)
            return total / (4 * h * h), rounding_error([v for v, _ in values], 4 * h * h), kink
        return numeric_at

    return [settled_row((i, j), f"{names[i]},{names[j]}", hessian[i][j], entry(i, j), h, atol, rtol)
            for i in range(len(leaves)) for j in range(len(leaves))]


def gradcheck(f: Callable[..., Value], inputs: Sequence[float | Value], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, order: int = 1, raise_exception: bool = False, mode: str = "full",
              directions: int = 3, seed: int = 0) -> GradcheckReport:
    """Compare the engine's derivatives of f at `inputs` with finite differences of f.

    `f(*values)` returns one Value; `inputs` are numbers or Values (a Value
    keeps its `.data`: it is moved and put back).  mode="full" checks each
    input (2n evaluations of f); mode="directional" checks the forward and
    backward sweeps along `directions` random directions (seeded by `seed`,
    O(1) evaluations).  `order=2` also checks second derivatives, from
    Hessian-vector products: O(n) evaluations in "full" mode, O(1) in
    "directional", O(n²) in "second_differences" (the Hessian against second
    differences of f alone), each row judged at a step where its difference
    has settled (see the module's docstring).  With `raise_exception=True` a
    failed check raises `GradcheckError`.

    >>> gradcheck(lambda a, b: (a * b).tanh(), [0.5, -0.3]).passed
    True
    >>> gradcheck(lambda a, b: (a * b).tanh(), [0.5, -0.3], mode="directional").passed
    True
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    _check_settings(eps, atol, rtol)
    if mode not in MODES:
        raise ValueError(f"gradcheck: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if mode == "second_differences" and order != 2:
        raise ValueError("gradcheck: mode='second_differences' checks second derivatives; pass order=2")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"gradcheck: directions must be a whole number >= 1, got {directions!r}")
    leaves, names = leaves_for(inputs)
    if mode == "directional":
        report = directional_check(f, leaves, eps, atol, rtol, order, directions, seed, names)
    else:
        report = _check(f, leaves, names, eps, atol, rtol, order, mode)
    if raise_exception and not report.passed:
        raise GradcheckError(report)
    return report


def check_mlp(mlp, x, y, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = False) -> GradcheckReport:
    """Every parameter of an MLP three ways: engine, matrix BP formulas, finite differences.

    The loss is `mse_loss` (½ Σ (a − y)² per sample, averaged) over the batch
    x (n_samples × n_in) with targets y (n_samples × n_out).  Rows are named
    w[l][j,k] and b[l][j], in `mlp.parameters()` order.
    """
    import numpy as np

    from autobp import matrix
    from autobp.nn import mse_loss

    _check_settings(eps, atol, rtol)
    X = np.atleast_2d(np.asarray(x, dtype=float))
    Y = np.asarray(y, dtype=float).reshape(len(X), -1)
    weights, biases = mlp.to_numpy()
    nabla_w, nabla_b, _ = matrix.backprop(weights, biases, X, Y, activation=mlp.activation,
                                          output_activation=mlp.output_activation or "linear", loss="mse")
    names, by_formulas = [], []
    for l, (nw, nb) in enumerate(zip(nabla_w, nabla_b)):
        for j in range(nw.shape[0]):
            names += [f"w[{l}][{j},{k}]" for k in range(nw.shape[1])] + [f"b[{l}][{j}]"]
            by_formulas += [*map(float, nw[j]), float(nb[j])]

    def loss(*_params: Value) -> Value:
        preds = [mlp(list(row)) for row in X.tolist()]
        return mse_loss([p if isinstance(p, list) else [p] for p in preds], Y.tolist())

    report = _check(loss, list(mlp.parameters()), names, eps, atol, rtol, 1, matrix=by_formulas)
    if raise_exception and not report.passed:
        raise GradcheckError(report)
    return report
