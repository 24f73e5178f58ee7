"""§2 The 2-2-2 sigmoid network: the forward pass, every ∂E/∂w, one step by hand, then training.

Two inputs, two hidden sigmoid neurons sharing the bias b1, two sigmoid
outputs sharing b2, error E = ½(out_o1 − 0.5)² + ½(out_o2 − 0.9)².  One
`E.backward()` gives every derivative the page works out by hand.

Run: python demos/two_two_two.py   or   autobp demo two_two_two
"""

from __future__ import annotations

from autobp.examples import TWO_TWO_TWO_PARAMS, TWO_TWO_TWO_TARGETS, two_two_two
from autobp.script import run_main

FORWARD = ("net_h1", "out_h1", "net_h2", "out_h2", "net_o1", "out_o1", "net_o2", "out_o2", "E")


def forward_values(params: dict[str, float] | None = None) -> dict[str, float]:
    """The numbers of the forward pass, by label (net_h1 … out_o2, E)."""
    g = two_two_two(params)
    return {name: g[name].data for name in FORWARD}


def gradients(params: dict[str, float] | None = None) -> dict[str, float]:
    """∂E/∂p for p in w1…w8, b1, b2, from one backward sweep."""
    g = two_two_two(params)
    g["E"].backward()
    return {name: g[name].grad for name in TWO_TWO_TWO_PARAMS}


def one_step(params: dict[str, float] | None = None, lr: float = 0.1) -> dict[str, float]:
    """p ← p − lr · ∂E/∂p for every parameter at once."""
    params = dict(params or TWO_TWO_TWO_PARAMS)
    grads = gradients(params)
    return {name: params[name] - lr * grads[name] for name in params}


def w6_factors() -> tuple[float, float, float]:
    """The three factors of ∂E/∂w6 on the page: (out_o1 − t1), out_o1(1 − out_o1), out_h2."""
    g = two_two_two()
    o1 = g["out_o1"].data
    return o1 - TWO_TWO_TWO_TARGETS["o1"], o1 * (1 - o1), g["out_h2"].data


def train(lr: float = 0.5, tol: float = 1e-3, max_steps: int = 100_000) -> tuple[int, dict[str, float], list]:
    """Gradient steps until both outputs are within `tol` of their targets.

    Returns (steps taken, final parameters, [(step, E, out_o1, out_o2), …]
    after every step).
    """
    params, history = dict(TWO_TWO_TWO_PARAMS), []
    for steps in range(max_steps + 1):
        f = forward_values(params)
        if steps:
            history.append((steps, f["E"], f["out_o1"], f["out_o2"]))
        if all(abs(f[f"out_{o}"] - t) < tol for o, t in TWO_TWO_TWO_TARGETS.items()):
            return steps, params, history
        params = one_step(params, lr)
    raise RuntimeError(f"two_two_two.train: outputs not within {tol} of the targets after {max_steps} steps")


def main() -> None:
    """Print the forward pass, the gradients, one step and a training run."""
    print("Forward pass (i1 = 0.02, i2 = 0.04; targets o1 → 0.5, o2 → 0.9):")
    for name, x in forward_values().items():
        print(f"  {name:<7}= {x:.9f}")
    a, b, c = w6_factors()
    print("\n∂E/∂w6 = (out_o1 − 0.5) · out_o1(1 − out_o1) · out_h2")
    print(f"       = {a:.9f} × {b:.8f} × {c:.9f} = {a * b * c:.9f}")
    grads = gradients()
    print("\nEvery gradient from one E.backward() (b1 and b2 sum over their two uses):")
    for name, gr in grads.items():
        print(f"  ∂E/∂{name:<2} = {gr: .9f}")
    print("\nAfter one step with learning rate 0.1:")
    for name, x in one_step(lr=0.1).items():
        print(f"  {name:<2} {TWO_TWO_TWO_PARAMS[name]:.2f} → {x:.9f}")
    steps, _, history = train()
    print("\nTraining with learning rate 0.5 until both outputs are within 0.001 of the targets:")
    for step, e, o1, o2 in history:
        if step in (1, 10, 100, 300) or step == steps:
            print(f"  step {step:>4}: E = {e:.9f}   out_o1 = {o1:.6f}   out_o2 = {o2:.6f}")


if __name__ == "__main__":
    raise SystemExit(run_main(main))
