"""Gradient-check reports: one row per compared derivative, the pass rule, and the worst-first table.

A second derivative is judged at the step where its difference quotient has
settled (`settled_row`): near a singularity the step h = eps^(2/3) can leave a
truncation error larger than the tolerance.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = ["GradcheckRow", "GradcheckReport", "GradcheckError", "make_row", "rounding_error", "settled_row",
           "smaller_steps_note", "Difference"]

MAX_HALVINGS = 40   # order-2 steps: from 2·eps^(2/3) down to eps^(2/3)/2⁴⁰ (1e-16 for eps = 1e-6) at most
SETTLED = 0.1       # a truncation error under a tenth of the tolerance no longer decides a verdict


class GradcheckError(AssertionError):
    """Raised by `gradcheck(..., raise_exception=True)`; the message lists the failing entries."""

    def __init__(self, report: GradcheckReport) -> None:
        self.report = report
        names = ", ".join(r.name for r in report.failures)
        super().__init__(f"gradient check failed for {names}\n{report}")


@dataclass(frozen=True)
class GradcheckRow:
    """One checked derivative: of order 1 (`index` i) or of order 2 (`index` (i, j)).

    In a directional check `index` is the direction's number k and `name` says
    which sweep was compared along it ("u1: jvp", "u1: vjp", "u1: uᵀHu").
    """

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


def make_row(index: int | tuple[int, int], name: str, analytic: float, numeric: float, atol: float, rtol: float,
             kink: bool, order: int = 1, matrix: float | None = None, rounding: float = 0.0) -> GradcheckRow:
    """One compared derivative, with the pass rule of `numpy.isclose` (numeric as the reference):

        |analytic − numeric| ≤ atol + rtol·|numeric| + rounding   (and analytic vs matrix, when given)

    where `rounding` bounds the numeric value's own rounding error (`rounding_error`): order-2 rows only.
    A first difference's is far below the default atol unless |f| is huge, and tight tolerances stay literal.
    rel_error = |analytic − numeric| / max(|analytic|, |numeric|), 0 when both are 0.
    """
    abs_error = abs(analytic - numeric)
    scale = max(abs(analytic), abs(numeric))
    rel_error = abs_error / scale if scale else 0.0
    passed = abs_error <= atol + rtol * abs(numeric) + rounding
    if matrix is not None:
        passed = passed and abs(analytic - matrix) <= atol + rtol * abs(matrix)
    return GradcheckRow(index, name, analytic, numeric, abs_error, rel_error, passed, kink, order, matrix)


def rounding_error(values: Sequence[float], divisor: float) -> float:
    """`rounding`: a bound on the rounding error of a difference quotient Σ_k c_k·f_k / divisor (|c_k| ≤ 2,
    written as repeated values), each f_k off by a few units in its last place: 8ε·Σ|f_k| / divisor.
    A second difference divides by h² = 1e-8 (eps = 1e-6), so |f| in the hundreds is enough for rounding
    alone to exceed atol on a correct second derivative."""
    return 8 * sys.float_info.epsilon * math.fsum(abs(v) for v in values) / divisor


Difference = Callable[[float], tuple[float, float, bool]]   # h -> (numeric, rounding, kink) at step h


def settled_row(index: int | tuple[int, int], name: str, analytic: float, numeric_at: Difference, h: float,
                atol: float, rtol: float) -> tuple[GradcheckRow, float]:
    """An order-2 row, judged at the first step of 2h, h, h/2, h/4, … where its difference has settled.

    `numeric_at(h)` is a central difference quotient at step h (a second difference of f, or a central
    difference of the gradient), whose truncation error is even in h:

        N(h) = f'' + c·h² + O(h⁴)            (c = f''''/12 for the second difference of f)

    h = eps^(2/3) balances c·h² against round-off where f varies on a scale of 1, but near a singularity
    c is huge (1/x at x = 0.002: c·h² is 0.25% of f''), and a correct derivative fails while a wrong one
    can pass.  The error can be read off the data: halving the step divides c·h² by 4, so
    N(2h) − N(h) ≈ 3·c·h², and

        truncation error of N(h) ≈ |N(2h) − N(h)| / 3

    The row is judged at h when that is under a tenth of the tolerance (it cannot decide the verdict) or
    under N's rounding bound (a smaller step would add more round-off than it removes); otherwise at h/2,
    h/4, … by the same test.  Returns the row and its step.  The steps depend on f alone, never on
    `analytic`: a wrong second derivative fails against a numeric value as accurate as f allows.  A step
    at which f is undefined (x − 2h past log's 0) is halved too; a step whose points straddle a kink ends
    the halving, and the row is flagged.
    """
    h, (numeric, rounding, kink) = _inside_domain(numeric_at, 2 * h)
    for _ in range(MAX_HALVINGS):
        h /= 2
        previous, (numeric, rounding, kink) = numeric, numeric_at(h)
        truncation = abs(previous - numeric) / 3
        if kink or not truncation > max(rounding, SETTLED * (atol + rtol * abs(numeric))):   # (a nan stops too)
            break
    return make_row(index, name, analytic, numeric, atol, rtol, kink, order=2, rounding=rounding), h


def _inside_domain(numeric_at: Difference, h: float) -> tuple[float, tuple[float, float, bool]]:
    """The first of h, h/2, h/4, … at which f is defined at every point of the difference, and the
    difference there; where there is none, the error at h (its message names the point)."""
    first_error: Exception | None = None
    for _ in range(MAX_HALVINGS + 1):
        try:
            return h, numeric_at(h)
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            first_error = first_error or e
            h /= 2
    assert first_error is not None
    raise first_error


def smaller_steps_note(h: float, steps: Sequence[tuple[str, float]]) -> list[str]:
    """The report's note naming the order-2 rows judged at a step smaller than h (none: no note)."""
    smaller = [f"{name} (h = {step:.3g})" for name, step in steps if step != h]
    if not smaller:
        return []
    return [f"order 2: checked at a smaller step than h = {h:.3g}, where the difference settles: {', '.join(smaller)}"]


@dataclass
class GradcheckReport:
    """The result of a gradient check: one row per derivative, printable as a table, worst first."""

    rows: list[GradcheckRow]
    atol: float
    rtol: float
    eps: float
    kinks: list[str] = field(default_factory=list)   # the relu/abs nodes found at 0
    mode: str = "full"                               # "full", "directional" or "second_differences"
    notes: list[str] = field(default_factory=list)   # what the rows compare, printed under the table

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
        head = ["direction" if self.mode == "directional" else "input", "order", "analytic", "numeric",
                *(["matrix BP"] if with_matrix else []), "abs error", "rel error", "status"]
        body = [[r.name, str(r.order), f"{r.analytic:.10g}", f"{r.numeric:.10g}",
                 *([f"{r.matrix:.10g}"] if with_matrix else []),
                 f"{r.abs_error:.2e}", f"{r.rel_error:.2e}", r.status]
                for r in sorted(self.rows, key=lambda r: (r.passed or r.kink, -self._badness(r)))]
        widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
        lines = ["  ".join(cell.rjust(w) if c else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths)))
                 for row in [head, *body]]
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} of {len(self.rows)})"
        lines.append(f"{verdict}: max abs error {self.max_abs_error:.2e}, max rel error {self.max_rel_error:.2e} "
                     f"(eps={self.eps:g}, pass when abs error <= {self.atol:g} + {self.rtol:g}*|numeric|"
                     f"{' (+ rounding on order 2)' if any(r.order == 2 for r in self.rows) else ''})")
        lines += self.notes
        if self.kinks:
            lines.append(f"kink: f is not differentiable here ({'; '.join(self.kinks)}); rows marked "
                         "'kink' straddle it and are not counted as failures")
        return "\n".join(lines)
