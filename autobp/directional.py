"""Directional gradient checks: forward and reverse sweeps along random directions against f itself.

JAX's `check_grads` idea: along a direction u, the derivative of f is one number,

    ∇f·u = d/dt f(x + t·u) at t = 0 ≈ (f(x + h·u) − f(x − h·u)) / 2h,

which the forward sweep gives as J·u (`jvp`) and the reverse sweep as
⟨Jᵀv, u⟩ with v = 1 (`vjp`: f has one output).  Comparing both with one
central difference of f costs two evaluations of f per direction, whatever the
number of inputs — O(1) instead of the 2n of a per-input table.  At order 2,
uᵀHu from a Hessian-vector product (forward-over-reverse) is compared with the
second difference (f(x + h·u) − 2f(x) + f(x − h·u)) / h², again from f alone,
taken at 2h and h (and smaller h where it has not settled:
`autobp.checkreport.settled_row`), so four more evaluations per direction.

The first direction has the signs of the gradient (u_i = sign(∂f/∂x_i)·r_i,
r_i uniform in [0.5, 1.5]), so no term of ∇f·u cancels another and an error
in one partial shows in proportion to its share of the sum; the others are
Gaussian.  A direction sees an error only in the inputs it moves: with many
inputs, a wrong partial of one of them is diluted among the rest, which the
per-input table (`mode="full"`) does not do.

An input at a kink (relu or abs at 0, where f has no derivative) would make
every direction that moves it straddle the kink, and flagging those rows
would hide a wrong partial of any other input.  So a direction whose points
straddle a kink stops moving the inputs that kink depends on, and is
evaluated again; each input held fixed gets its own row against the central
difference along its axis, flagged as a kink, as in the per-input table.
"""

from __future__ import annotations

import math
import random
from typing import Callable, Sequence

from autobp.checkreport import (Difference, GradcheckReport, GradcheckRow, make_row, rounding_error, settled_row,
                                smaller_steps_note)
from autobp.engine import Value, grad, topo_order
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
    held: set[int] = set()                                           # inputs at a kink: no longer moved
    for k, u in enumerate(directions, 1):
        u, plus, minus, kink = _difference_off_kinks(f, leaves, names, kinks, base, u, eps, held)
        directions[k - 1] = u
        numeric = (plus - minus) / (2 * eps)
        (jvp,) = linear.push(seeds_for(leaves, u))
        vjp = math.fsum(g * ui for g, ui in zip(gradient, u))    # fsum: the same float on every Python
        rows.append(make_row(k, f"u{k}: jvp", jvp.data, numeric, atol, rtol, kink))
        rows.append(make_row(k, f"u{k}: vjp", vjp, numeric, atol, rtol, kink))
    for i in sorted(held):
        (plus, _), (minus, _) = values_at(f, leaves, names, [{i: eps}, {i: -eps}], False)
        rows.append(make_row(i, names[i], gradient[i], (plus - minus) / (2 * eps), atol, rtol, True))
    if order == 2:
        h = eps ** (2 / 3)
        settled = _curvature_rows(f, leaves, names, out, base, directions, h, atol, rtol)
        rows += [row for row, _ in settled]
    notes = [f"directions u1…u{count} (seed {seed}): u1 has the gradient's signs, the rest are Gaussian; "
             f"jvp = forward sweep J·u, vjp = backward sweep ∇f·u, numeric = (f(x+h·u) − f(x−h·u))/2h"]
    if held:
        fixed = ", ".join(names[i] for i in sorted(held))
        notes.append(f"{fixed} {'is' if len(held) == 1 else 'are'} at a kink: held fixed in every direction, "
                     "and compared on its own axis (flagged)")
    if order == 2:
        notes.append("uᵀHu = u · hvp(u) (forward-over-reverse), numeric = (f(x+h·u) − 2f(x) + f(x−h·u))/h²")
        notes += smaller_steps_note(h, [(row.name, step) for row, step in settled])
    return GradcheckReport(rows, atol, rtol, eps, kinks_at(kinks, eps), mode="directional", notes=notes)


def _difference_off_kinks(f: Callable[..., Value], leaves: list[Value], names: Sequence[str], kinks: list[Value],
                         base: tuple, u: list[float], eps: float, held: set[int]
                         ) -> tuple[list[float], float, float, bool]:
    """(u, f(x + eps·u), f(x − eps·u), do they straddle a kink): while x ± eps·u straddles a kink,
    the inputs that kink depends on join `held` and u stops moving them.  Straddling still, with nothing
    left to hold (or f's graph changed shape), the row is flagged."""
    while True:
        u = [0.0 if i in held else ui for i, ui in enumerate(u)]
        (plus, up), (minus, down) = values_at(f, leaves, names, [_along(u, eps), _along(u, -eps)], bool(kinks))
        if up == base and down == base:
            return u, plus, minus, False
        crossed = [n for n, b, s1, s2 in zip(kinks, base, up, down) if s1 != b or s2 != b]
        under = {id(v) for n in crossed for v in topo_order(n.children[0])}
        more = {i for i, leaf in enumerate(leaves) if id(leaf) in under and u[i] != 0.0}
        if len(up) != len(base) or len(down) != len(base) or not more:
            return u, plus, minus, True
        held |= more


def _curvature_rows(f, leaves, names, out, base, directions, h, atol, rtol) -> list[tuple[GradcheckRow, float]]:
    """uᵀHu by Hessian-vector products against second differences of f along u, each row with its step:
    h = eps^(2/3), or the smaller step where the row's difference settles (`settled_row`)."""
    linear = Linearization(grad(out, leaves, create_graph=True))     # the gradient as a graph, swept along each u

    def along(u: list[float]) -> Difference:
        def numeric_at(h: float) -> tuple[float, float, bool]:
            (plus, up), (minus, down) = values_at(f, leaves, names, [_along(u, h), _along(u, -h)], bool(base))
            return ((plus - 2 * out.data + minus) / (h * h), rounding_error([plus, out.data, out.data, minus], h * h),
                    up != base or down != base)
        return numeric_at

    rows = []
    for k, u in enumerate(directions, 1):
        hu = linear.push(seeds_for(leaves, u))
        analytic = math.fsum(ui * t.data for ui, t in zip(u, hu))
        rows.append(settled_row(k, f"u{k}: uᵀHu", analytic, along(u), h, atol, rtol))
    return rows
