"""Directional gradient checks: forward and reverse sweeps along random directions against f itself.

JAX's `check_grads` idea: along a direction u, the derivative of f is one number,

    ∇f·u = d/dt f(x + t·u) at t = 0 ≈ (f(x + h·u) − f(x − h·u)) / 2h,

which the forward sweep gives as J·u (`jvp`) and the reverse sweep as
⟨Jᵀv, u⟩ with v = 1 (`vjp`: f has one output).  Comparing both with one
central difference of f costs two evaluations of f per direction, whatever the
number of inputs — O(1) instead of the 2n of a per-input table.  At order 2,
uᵀHu from a Hessian-vector product (forward-over-reverse) is compared with the
second difference (f(x + h·u) − 2f(x) + f(x − h·u)) / h², again from f alone.

The first direction has the signs of the gradient (u_i = sign(∂f/∂x_i)·r_i,
r_i uniform in [0.5, 1.5]), so no term of ∇f·u cancels another and an error
in one partial shows in proportion to its share of the sum; the others are
Gaussian.  A direction sees an error only in the inputs it moves: with many
inputs, a wrong partial of one of them is diluted among the rest, which the
per-input table (`mode="full"`) does not do.
"""

from __future__ import annotations

import math
import random
from typing import Callable, Sequence

from autobp.checkreport import GradcheckReport, GradcheckRow, make_row
from autobp.engine import Value, grad
from autobp.forward import Linearization, seeds_for
from autobp.shifts import kink_nodes, kink_signs, kinks_at, values_at
from autobp.stepsize import output_of

__all__ = ["directional_check", "directions_for"]


def directions_for(gradient: Sequence[float], count: int, seed: int) -> list[list[float]]:
    """`count` directions: the first with the gradient's signs, the rest Gaussian (seeded)."""
    rng = random.Random(seed)
    aligned = [(-1.0 if g < 0 else 1.0) * rng.uniform(0.5, 1.5) for g in gradient]
    return [aligned] + [[rng.gauss(0.0, 1.0) for _ in gradient] for _ in range(count - 1)]


def _along(u: Sequence[float], h: float) -> dict[int, float]:
    return {i: h * ui for i, ui in enumerate(u)}


def directional_check(f: Callable[..., Value], leaves: list[Value], eps: float, atol: float, rtol: float,
                      order: int, count: int, seed: int, names: Sequence[str]) -> GradcheckReport:
    """Rows "uk: jvp" and "uk: vjp" (and "uk: uᵀHu" at order 2) for `count` directions."""
    out = output_of(f, leaves)
    kinks = kink_nodes(out)
    base = kink_signs(kinks)
    gradient = [g.data for g in grad(out, leaves)]                  # one backward sweep: vᵀJ with v = 1
    directions = directions_for(gradient, count, seed)
    linear = Linearization([out])                                   # forward sweeps along each u share it
    rows: list[GradcheckRow] = []
    for k, u in enumerate(directions, 1):
        (plus, up), (minus, down) = values_at(f, leaves, names, [_along(u, eps), _along(u, -eps)], bool(kinks))
        numeric = (plus - minus) / (2 * eps)
        kink = up != base or down != base
        (jvp,) = linear.push(seeds_for(leaves, u))
        vjp = math.fsum(g * ui for g, ui in zip(gradient, u))    # fsum: the same float on every Python
        rows.append(make_row(k, f"u{k}: jvp", jvp.data, numeric, atol, rtol, kink))
        rows.append(make_row(k, f"u{k}: vjp", vjp, numeric, atol, rtol, kink))
    if order == 2:
        rows += _curvature_rows(f, leaves, names, out, base, directions, eps ** (2 / 3), atol, rtol)
    notes = [f"directions u1…u{count} (seed {seed}): u1 has the gradient's signs, the rest are Gaussian; "
             f"jvp = forward sweep J·u, vjp = backward sweep ∇f·u, numeric = (f(x+h·u) − f(x−h·u))/2h"]
    if order == 2:
        notes.append("uᵀHu = u · hvp(u) (forward-over-reverse), numeric = (f(x+h·u) − 2f(x) + f(x−h·u))/h²")
    return GradcheckReport(rows, atol, rtol, eps, kinks_at(kinks, eps), mode="directional", notes=notes)


def _curvature_rows(f, leaves, names, out, base, directions, h, atol, rtol) -> list[GradcheckRow]:
    """uᵀHu by Hessian-vector products against second differences of f along u (step h = eps^(2/3))."""
    linear = Linearization(grad(out, leaves, create_graph=True))     # the gradient as a graph, swept along each u
    rows = []
    for k, u in enumerate(directions, 1):
        (plus, up), (minus, down) = values_at(f, leaves, names, [_along(u, h), _along(u, -h)], bool(base))
        numeric = (plus - 2 * out.data + minus) / (h * h)
        hu = linear.push(seeds_for(leaves, u))
        analytic = math.fsum(ui * t.data for ui, t in zip(u, hu))
        rows.append(make_row(k, f"u{k}: uᵀHu", analytic, numeric, atol, rtol, up != base or down != base, order=2))
    return rows
