"""§1 The a·b neuron: nudging the inputs blindly vs along the gradient.

f(a, b) = a·b, so ∂f/∂a = b and ∂f/∂b = a.  Nudging both inputs up by a
small random amount raises f at (5, 6) but lowers it at (-5, -6); nudging
along the gradient raises f for any signs.

Run: python demos/neuron.py   or   autobp demo neuron
"""

from __future__ import annotations

import random

from autobp.examples import neuron
from autobp.script import run_main

STEP = 0.01


def random_nudge(a: float, b: float, rng: random.Random) -> tuple[float, float]:
    """f before and after nudging a and b up by STEP × a random number in [0, 1)."""
    before = neuron(a, b)["f"].data
    after = neuron(a + STEP * rng.random(), b + STEP * rng.random())["f"].data
    return before, after


def gradient_nudge_in_turn(a: float, b: float) -> tuple[float, float, float]:
    """a ← a + STEP·∂f/∂a, then b ← b + STEP·∂f/∂b at the new a; returns (a, b, f)."""
    g = neuron(a, b)
    g["f"].backward()
    a = a + STEP * g["a"].grad            # ∂f/∂a = b
    g = neuron(a, b)
    g["f"].backward()
    b = b + STEP * g["b"].grad            # ∂f/∂b = a, the updated a
    return a, b, neuron(a, b)["f"].data


def gradient_nudge_together(a: float, b: float) -> tuple[float, float, float]:
    """Both inputs stepped along the gradient at the same point; returns (a, b, f)."""
    g = neuron(a, b)
    g["f"].backward()
    a, b = a + STEP * g["a"].grad, b + STEP * g["b"].grad
    return a, b, neuron(a, b)["f"].data


def main(seed: int = 0) -> None:
    """Print the three experiments for (5, 6) and (-5, -6)."""
    rng = random.Random(seed)
    print("f(a, b) = a·b;  ∂f/∂a = b,  ∂f/∂b = a\n")
    for a, b in [(5.0, 6.0), (-5.0, -6.0)]:
        g = neuron(a, b)
        g["f"].backward()
        print(f"at a = {a:g}, b = {b:g}: f = {g['f'].data:g}, ∂f/∂a = {g['a'].grad:g}, ∂f/∂b = {g['b'].grad:g}")
        before, after = random_nudge(a, b, rng)
        verdict = "up" if after > before else "DOWN"
        print(f"  random positive nudge:       f {before:.6f} -> {after:.6f}  ({verdict})")
        na, nb, f = gradient_nudge_in_turn(a, b)
        print(f"  gradient nudge, a then b:    a = {na:.6f}, b = {nb:.6f}, f = {f:.6f}")
        na, nb, f = gradient_nudge_together(a, b)
        print(f"  gradient nudge, together:    a = {na:.6f}, b = {nb:.6f}, f = {f:.6f}")
    print("\nBlind nudging depends on the signs; the gradient points uphill from anywhere.")


if __name__ == "__main__":
    raise SystemExit(run_main(main))
