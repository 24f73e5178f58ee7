"""Gradient checks: the engine's derivatives against finite differences, input by input.

Central differences approximate each partial derivative from two values of f:

    ∂f/∂x_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h      (error O(h²) + O(ε_mach/h))

and `order=2` checks the Hessian the engine builds with
`grad(..., create_graph=True)` against central differences of the gradient:

    ∂²f/∂x_j∂x_i ≈ (∂f/∂x_i(x + h·e_j) − ∂f/∂x_i(x − h·e_j)) / 2h

An entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.  At a
kink (relu or abs at 0) f has no derivative and finite differences straddle
two slopes; such entries are flagged `kink` and do not fail the check.

`sweep`, the step-size experiment (the error of forward and central
differences as h shrinks), lives in `autobp.stepsize` and is importable from
here too.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Sequence

from autobp.engine import Value, grad, topo_order
from autobp.fdbatch import central_differences
from autobp.ops import sign
from autobp.stepsize import EPS_GRID, SweepResult, SweepRow, leaves_for, output_of, sweep

__all__ = ["gradcheck", "check_mlp", "sweep", "GradcheckReport", "GradcheckRow", "GradcheckError",
           "SweepResult", "SweepRow", "EPS_GRID", "KINK_OPS"]

KINK_OPS = frozenset({"relu", "abs"})   # ops whose derivative jumps where their input is 0


class GradcheckError(AssertionError):
    """Raised by `gradcheck(..., raise_exception=True)`; the message lists the failing entries."""

    def __init__(self, report: GradcheckReport) -> None:
        self.report = report
        names = ", ".join(r.name for r in report.failures)
        super().__init__(f"gradient check failed for {names}\n{report}")


@dataclass(frozen=True)
class GradcheckRow:
    """One checked derivative: of order 1 (`index` i) or of order 2 (`index` (i, j))."""

    index: int | tuple[int, int]
    name: str
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    passed: bool
    kink: bool = False
    order: int = 1
    matrix: float | None = None   # check_mlp: the matrix BP formulas' value

    @property
    def status(self) -> str:
        return "kink" if self.kink else "ok" if self.passed else "FAIL"


@dataclass
class GradcheckReport:
    """The result of a gradient check: one row per derivative, printable as a table."""

    rows: list[GradcheckRow]
    atol: float
    rtol: float
    eps: float
    kinks: list[str] = field(default_factory=list)   # the relu/abs nodes found at 0

    @property
    def passed(self) -> bool:
        """True when every row passed or sits at a kink."""
        return all(r.passed or r.kink for r in self.rows)

    @property
    def failures(self) -> list[GradcheckRow]:
        return [r for r in self.rows if not (r.passed or r.kink)]

    @property
    def max_abs_error(self) -> float:
        return max((r.abs_error for r in self.rows), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((r.rel_error for r in self.rows), default=0.0)

    def _badness(self, row: GradcheckRow) -> float:
        """How far a row is over its tolerance (> 1 fails); the table's sort key."""
        worst = max(row.abs_error, abs(row.analytic - row.matrix) if row.matrix is not None else 0.0)
        return worst / (self.atol + self.rtol * abs(row.numeric))

    def __str__(self) -> str:
        with_matrix = any(r.matrix is not None for r in self.rows)
        head = ["input", "order", "analytic", "numeric", *(["matrix BP"] if with_matrix else []),
                "abs error", "rel error", "status"]
        body = [[r.name, str(r.order), f"{r.analytic:.10g}", f"{r.numeric:.10g}",
                 *([f"{r.matrix:.10g}"] if with_matrix else []),
                 f"{r.abs_error:.2e}", f"{r.rel_error:.2e}", r.status]
                for r in sorted(self.rows, key=lambda r: (r.passed or r.kink, -self._badness(r)))]
        widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
        lines = ["  ".join(cell.rjust(w) if c else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths)))
                 for row in [head, *body]]
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} of {len(self.rows)})"
        lines.append(f"{verdict}: max abs error {self.max_abs_error:.2e}, max rel error {self.max_rel_error:.2e} "
                     f"(eps={self.eps:g}, pass when abs error <= {self.atol:g} + {self.rtol:g}*|numeric|)")
        if self.kinks:
            lines.append(f"kink: f is not differentiable here ({'; '.join(self.kinks)}); rows marked "
                         "'kink' straddle it and are not counted as failures")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Evaluating f and differencing it
# ---------------------------------------------------------------------------

def _kink_nodes(out: Value) -> list[Value]:
    """The relu/abs nodes in the graph of `out`, in topological order."""
    return [n for n in topo_order(out) if n.op in KINK_OPS and n.children]


def _kink_signs(out: Value) -> tuple[float, ...]:
    """The sign of every relu/abs input in the graph of `out`: which side of each kink we are on."""
    return tuple(sign(n.children[0]) for n in _kink_nodes(out))


def _kinks_at(out: Value, eps: float) -> list[str]:
    """The relu/abs nodes whose input is within eps of 0."""
    return [f"{n.op} of {n.children[0].data:.3g}" + (f" at node {n.label!r}" if n.label else "")
            for n in _kink_nodes(out) if abs(n.children[0].data) <= eps]


def _at(f: Callable[..., Value], leaves: list[Value], names: list[str],
        shifts: dict[int, float]) -> tuple[float, tuple]:
    """f's value and kink signs with each leaves[i].data moved by shifts[i] (restored afterwards)."""
    saved = {i: leaves[i].data for i in shifts}
    try:
        for i, d in shifts.items():
            leaves[i].data = saved[i] + d
        out = output_of(f, leaves)
        return out.data, _kink_signs(out)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        moved = ", ".join(f"{names[i]} = {saved[i]!r} moved by {d:+.3g}" for i, d in shifts.items())
        raise type(e)(f"gradcheck: f fails at a nearby point ({moved}): {e}") from None
    finally:
        for i, x in saved.items():
            leaves[i].data = x


def _row(index: int | tuple[int, int], name: str, analytic: float, numeric: float, atol: float, rtol: float,
         kink: bool, order: int = 1, matrix: float | None = None) -> GradcheckRow:
    """One compared derivative, with the pass rule of `numpy.isclose` (numeric as the reference):

        |analytic − numeric| ≤ atol + rtol·|numeric|   (and the same for analytic vs matrix, when given)

    rel_error = |analytic − numeric| / max(|analytic|, |numeric|), 0 when both are 0.
    """
    abs_error = abs(analytic - numeric)
    scale = max(abs(analytic), abs(numeric))
    rel_error = abs_error / scale if scale else 0.0
    passed = abs_error <= atol + rtol * abs(numeric)
    if matrix is not None:
        passed = passed and abs(analytic - matrix) <= atol + rtol * abs(matrix)
    return GradcheckRow(index, name, analytic, numeric, abs_error, rel_error, passed, kink, order, matrix)


def _check_settings(eps: float, atol: float, rtol: float) -> None:
    """eps must be a finite number > 0, the tolerances finite numbers >= 0 (nan would fail every row)."""
    for name, value, positive in (("eps", eps, True), ("atol", atol, False), ("rtol", rtol, False)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and (value > 0 if positive else value >= 0)):
            rule = "> 0" if positive else ">= 0"
            raise ValueError(f"gradcheck: {name} must be a finite number {rule}, got {value!r}")


def _float_steps(leaves: list[Value], names: list[str], eps: float, order: int) -> list[float]:
    """(x + eps) − (x − eps) for each input: the steps really taken, refused where one rounds to nothing."""
    steps = [(leaf.data + eps) - (leaf.data - eps) for leaf in leaves]
    h = eps ** (2 / 3)                       # _second_order_rows' step
    for leaf, name, step in zip(leaves, names, steps):
        if step == 0:
            raise ValueError(f"gradcheck: eps={eps:g} is too small to move {name} = {leaf.data!r} (x ± eps rounds "
                             "back to x in floating point); use an eps near 1e-6·max(1, |x|)")
        if order == 2 and (4 * h * h == 0 or leaf.data + h == leaf.data):
            raise ValueError(f"gradcheck: eps={eps:g} is too small for order=2 at {name} = {leaf.data!r}: the "
                             f"second differences step by h = eps^(2/3) = {h:g} and divide by 4h²; use an eps "
                             "near 1e-6·max(1, |x|)")
    return steps


def _check(f: Callable[..., Value], leaves: list[Value], names: list[str], eps: float, atol: float,
           rtol: float, order: int, matrix: list[float] | None = None) -> GradcheckReport:
    """The gradient check proper, on Values whose .data it moves (and restores)."""
    _check_settings(eps, atol, rtol)
    steps = _float_steps(leaves, names, eps, order)
    out = output_of(f, leaves)
    analytic = [g.data for g in grad(out, leaves)]
    try:       # all 2n shifted points as one batch: f's graph recorded once and replayed
        shifted = central_differences(out, leaves, eps)
    except (ValueError, ZeroDivisionError, OverflowError):
        shifted = None       # a point outside f's domain: evaluate f point by point, so the error names it
    base = _kink_signs(out) if shifted is None or order == 2 else ()
    rows = []
    for i, leaf in enumerate(leaves):
        if shifted is None:
            (plus, up), (minus, down) = (_at(f, leaves, names, {i: d}) for d in (eps, -eps))
            kink = up != base or down != base
        else:
            plus, minus, kink = shifted[0][i], shifted[1][i], shifted[2][i]
        rows.append(_row(i, names[i], analytic[i], (plus - minus) / steps[i], atol, rtol, kink,
                         matrix=None if matrix is None else matrix[i]))
    if order == 2:
        rows += _second_order_rows(f, leaves, names, out, base, eps ** (2 / 3), atol, rtol)
    return GradcheckReport(rows, atol, rtol, eps, _kinks_at(out, eps))


def _second_order_rows(f, leaves, names, out, base, h, atol, rtol) -> list[GradcheckRow]:
    """Hessian entries from grad(create_graph=True) against second differences of f itself:

        ∂²f/∂x_i∂x_j ≈ (f(+h_i +h_j) − f(+h_i −h_j) − f(−h_i +h_j) + f(−h_i −h_j)) / 4h²

    the central difference of the central-difference gradient.  It uses f's
    values only, so a partial that is wrong only in its own derivative cannot
    hide.  Step h = eps^(2/3) (1e-4 for eps = 1e-6): this stencil's
    truncation error O(h²) and round-off O(ε/h²) balance near ε^(1/4).
    """
    hessian = [[h2.data for h2 in grad(g, leaves)] for g in grad(out, leaves, create_graph=True)]
    rows = []
    for i in range(len(leaves)):
        for j in range(len(leaves)):
            total, kink = 0.0, False
            for si, sj, weight in ((h, h, 1), (h, -h, -1), (-h, h, -1), (-h, -h, 1)):
                shifts = {i: si}
                shifts[j] = shifts.get(j, 0.0) + sj
                value, signs = _at(f, leaves, names, shifts)
                total += weight * value
                kink = kink or signs != base
            rows.append(_row((i, j), f"{names[i]},{names[j]}", hessian[i][j], total / (4 * h * h),
                             atol, rtol, kink, order=2))
    return rows


def gradcheck(f: Callable[..., Value], inputs: Sequence[float | Value], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, order: int = 1, raise_exception: bool = False) -> GradcheckReport:
    """Compare the engine's gradient of f at `inputs` with central finite differences.

    `f(*values)` returns one Value; `inputs` are numbers or Values (a Value
    keeps its `.data`: it is moved by ±eps and put back).  `order=2` also
    checks the second derivatives (the Hessian from `grad(..., create_graph=True)`).
    With `raise_exception=True` a failed check raises `GradcheckError`.

    >>> gradcheck(lambda a, b: (a * b).tanh(), [0.5, -0.3]).passed
    True
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    leaves, names = leaves_for(inputs)
    report = _check(f, leaves, names, eps, atol, rtol, order)
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
