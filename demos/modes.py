"""Forward vs reverse mode: the Jacobian of f: ℝⁿ → ℝᵐ by n forward sweeps or by m backward sweeps.

A forward sweep carries ∂node/∂x_i up from one input and gives one column
of the Jacobian, ∂y/∂x_i; a backward sweep carries ∂y_k/∂node down from one
output and gives one row, ∇y_k.  Each sweep costs about one pass over the
graph, so forward mode needs n sweeps and reverse mode m.  A training loss
is one number (m = 1) of many parameters (n large): one backward sweep gives
the whole gradient, where forward mode would need one sweep per parameter.
That is why backprop is reverse mode.

Run: python demos/modes.py   or   autobp demo modes
"""

from __future__ import annotations

import random
import time
from typing import Callable

from autobp import Value, grad
from autobp.engine import topo_order
from autobp.examples import modes
from autobp.forward import Linearization
from autobp.nn import MLP, mse_loss

SHAPES = ((60, 2), (2, 60))   # (n, m): many inputs and few outputs, then the reverse


def jacobian_forward(xs: list[Value], ys: list[Value]) -> tuple[list[list[float]], int]:
    """J[k][i] = ∂y_k/∂x_i by forward mode: one tangent sweep per input, a column each; returns (J, sweeps).

    The local derivatives do not depend on the direction, so they are
    evaluated once (`Linearization`), then each sweep carries ∂node/∂x_i up.
    """
    linear = Linearization(ys)
    columns, sweeps = [], 0
    for x in xs:
        columns.append([t.data for t in linear.push({x: 1.0})])
        sweeps += 1
    return [list(row) for row in zip(*columns)], sweeps


def jacobian_reverse(xs: list[Value], ys: list[Value]) -> tuple[list[list[float]], int]:
    """J[k][i] = ∂y_k/∂x_i by reverse mode: one backward sweep per output, a row each; returns (J, sweeps)."""
    rows, sweeps = [], 0
    for y in ys:
        rows.append([g.data for g in grad(y, xs)])
        sweeps += 1
    return rows, sweeps


def timed(run: Callable[[], tuple]) -> tuple[tuple, float]:
    """run()'s result and the seconds it took."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def nodes_in(ys: list[Value]) -> int:
    return len(topo_order(*ys))


def loss_sweeps(seed: int = 0) -> tuple[int, float, float, float]:
    """For an MLP(64, [30, 10]) loss: (parameters n, seconds of one backward sweep, of evaluating
    the local derivatives once, of one forward sweep after that)."""
    rng = random.Random(seed)
    mlp = MLP(64, [30, 10], activation="sigmoid", output_activation="sigmoid", seed=seed)
    x = [rng.random() for _ in range(64)]
    loss = mse_loss([mlp(x)], [[1.0 if j == 3 else 0.0 for j in range(10)]])
    params = mlp.parameters()
    _, backward = timed(lambda: grad(loss, params))
    (linear,), setup = timed(lambda: (Linearization([loss]),))
    _, forward = timed(lambda: linear.push({params[0]: 1.0}))
    return len(params), backward, setup, forward


def main() -> None:
    """Build each f, take its Jacobian both ways, and print sweeps, times and the lesson."""
    print("f: ℝⁿ → ℝᵐ, an MLP(n, [32, 32, 32, m]) of tanh units at a random point; "
          "its Jacobian ∂y_k/∂x_i\n"
          "by forward mode (one sweep per input, a column each) and by reverse mode (one sweep per output,\n"
          "a row each).\n")
    print(f"{'n':>4} {'m':>4} {'nodes':>7}   {'forward sweeps':>14} {'time':>8}   {'reverse sweeps':>14} {'time':>8}"
          f"   {'faster':>7}   same Jacobian")
    for n, m in SHAPES:
        xs, ys = modes(n, m)
        (J_forward, n_forward), t_forward = timed(lambda: jacobian_forward(xs, ys))
        (J_reverse, n_reverse), t_reverse = timed(lambda: jacobian_reverse(xs, ys))
        diff = max(abs(a - b) for ra, rb in zip(J_forward, J_reverse) for a, b in zip(ra, rb))
        winner = "forward" if t_forward < t_reverse else "reverse"
        print(f"{n:>4} {m:>4} {nodes_in(ys):>7,}   {n_forward:>14} {t_forward:>7.3f}s   {n_reverse:>14} "
              f"{t_reverse:>7.3f}s   {winner:>7}   max difference {diff:.1e}")
    n, backward, setup, forward = loss_sweeps()
    print(f"\nEach sweep is one pass over the graph: n ≫ m favours reverse mode, n ≪ m forward mode.\n"
          f"A loss is one number of many parameters. For an MLP(64, [30, 10]) loss, m = 1 and n = {n:,}:\n"
          f"  reverse mode: 1 backward sweep, {backward * 1e3:.1f} ms, gives the whole gradient;\n"
          f"  forward mode: {n:,} sweeps of {forward * 1e3:.1f} ms each (after {setup * 1e3:.0f} ms for the local "
          f"derivatives), about {setup + n * forward:.0f} s.\n"
          f"That is why backprop is reverse mode.")

if __name__ == "__main__":
    main()
