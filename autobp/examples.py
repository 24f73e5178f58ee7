"""The worked examples of WORKED_EXAMPLES.md as functions that build labelled graphs.

Demos, the command line, the golden tests and the README all build their
graphs here, so they share one source.  `EXAMPLES` maps a demo's name to its
one-line description.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence

from autobp.engine import Value
from autobp.losses import mse_loss
from autobp.nn import MLP

EXAMPLES: dict[str, str] = {
    "neuron": "§1 the a·b neuron: random nudging vs nudging along the gradient",
    "two_two_two": "§2 the 2-2-2 sigmoid network: forward, every ∂E/∂w, one step by hand, then training",
    "three_layer": "§3 three layers: each layer's δ from the graph and from the BP equations, side by side",
    "xor": "§4 XOR: logistic regression fails, a hidden layer succeeds; early stopping, L2, restarts",
    "digits": "§5 matrix-form BP trains a digits classifier; a Value MLP gives the same gradients",
    "moons": "§6 two moons: a 2-16-16-1 MLP with hinge loss + L2, and its decision boundary",
    "generalize": "§7 written with scalars, run as matrices: a traced Value MLP trains like BP1–BP4 in NumPy",
    "modes": "forward vs reverse mode: a Jacobian by n forward or m backward sweeps — why backprop is reverse mode",
}


def neuron(a: float = 5.0, b: float = 6.0) -> dict[str, Value]:
    """§1: f = a·b with labelled leaves; ∂f/∂a = b and ∂f/∂b = a."""
    va, vb = Value(a, "a"), Value(b, "b")
    f = va * vb
    f.label = "f"
    return {"a": va, "b": vb, "f": f}


def _labelled(v: Value, label: str) -> Value:
    """`v`, labelled."""
    v.label = label
    return v


def tanh_neuron(a: float = 2.0, b: float = -3.0, c: float = 10.0) -> dict[str, Value]:
    """The lecture's neuron L = tanh(a·b + c), every node labelled: a, b, c, ab, n = ab + c, L.

    With c = 6.881373587019543, n = 0.8814 and L = 1/√2, so ∂L/∂n = 1/2 (the README's figure).
    """
    va, vb, vc = Value(a, "a"), Value(b, "b"), Value(c, "c")
    ab = _labelled(va * vb, "ab")
    n = _labelled(ab + vc, "n")
    return {"a": va, "b": vb, "c": vc, "ab": ab, "n": n, "L": _labelled(n.tanh(), "L")}


# §2: inputs, targets and starting parameters, as in the table of WORKED_EXAMPLES.md.
TWO_TWO_TWO_INPUTS = {"i1": 0.02, "i2": 0.04}
TWO_TWO_TWO_TARGETS = {"o1": 0.5, "o2": 0.9}
TWO_TWO_TWO_PARAMS = {"w1": 0.25, "w2": 0.25, "w3": 0.15, "w4": 0.20,
                      "w5": 0.30, "w6": 0.35, "w7": 0.40, "w8": 0.35, "b1": 0.4, "b2": 0.7}


def two_two_two(params: Mapping[str, float] | None = None) -> dict[str, Value]:
    """§2: the 2-2-2 sigmoid network and its error, every node labelled as on the page.

    net_h1 = w1·i1 + w2·i2 + b1,   out_h1 = σ(net_h1)   (h2: w3, w4, b1)
    net_o1 = w5·out_h1 + w6·out_h2 + b2,   out_o1 = σ(net_o1)   (o2: w7, w8, b2)
    E = E_o1 + E_o2,   E_o1 = ½(out_o1 − 0.5)²,   E_o2 = ½(out_o2 − 0.9)²

    b1 is one Value shared by h1 and h2, b2 one shared by o1 and o2, so
    their gradients sum over both uses.  `params` overrides w1…w8, b1, b2.

    >>> g = two_two_two()
    >>> round(g["net_h1"].data, 9), round(g["out_o1"].data, 9)
    (0.415, 0.748598311)
    """
    values = {**TWO_TWO_TWO_PARAMS, **(params or {})}
    unknown = set(values) - set(TWO_TWO_TWO_PARAMS)
    if unknown:
        raise ValueError(f"two_two_two: unknown parameters {sorted(unknown)}; "
                         f"the network has {', '.join(TWO_TWO_TWO_PARAMS)}")
    g = {name: Value(x, name) for name, x in {**TWO_TWO_TWO_INPUTS, **values}.items()}
    for h, (wa, wb) in {"h1": ("w1", "w2"), "h2": ("w3", "w4")}.items():
        g[f"net_{h}"] = _labelled(g[wa] * g["i1"] + g[wb] * g["i2"] + g["b1"], f"net_{h}")
        g[f"out_{h}"] = _labelled(g[f"net_{h}"].sigmoid(), f"out_{h}")
    for o, (wa, wb) in {"o1": ("w5", "w6"), "o2": ("w7", "w8")}.items():
        g[f"net_{o}"] = _labelled(g[wa] * g["out_h1"] + g[wb] * g["out_h2"] + g["b2"], f"net_{o}")
        g[f"out_{o}"] = _labelled(g[f"net_{o}"].sigmoid(), f"out_{o}")
        g[f"E_{o}"] = _labelled(0.5 * (g[f"out_{o}"] - TWO_TWO_TWO_TARGETS[o]) ** 2, f"E_{o}")
    g["E"] = _labelled(g["E_o1"] + g["E_o2"], "E")
    return g


def three_layer(mlp: MLP, x: Sequence[float], y: float) -> dict[str, Value]:
    """§3: one sample through an MLP, its cost C = ½(a − y)², every node labelled.

    Layer l (code index, 0 = first weight layer) has weighted inputs z[l][j]
    and activations a[l][j]; the inputs are x1, x2, …  δ of layer l is
    ∂C/∂z[l][j], which `autobp.grad(g["C"], [g["z[l][j]"], …])` reads off
    the graph.  The parameters keep the MLP's labels w[l][j,k] and b[l][j].
    """
    xs = [Value(float(xk), f"x{k + 1}") for k, xk in enumerate(x)]
    zs, activations = mlp.forward(xs)
    g = {v.label: v for v in xs}
    g.update({p.label: p for p in mlp.parameters()})
    for l, (z_l, a_l) in enumerate(zip(zs, activations[1:])):
        for j, (z, a) in enumerate(zip(z_l, a_l)):
            g[f"z[{l}][{j}]"] = _labelled(z, f"z[{l}][{j}]")
            if a is not z:                      # a linear layer's activation is its z node
                g[f"a[{l}][{j}]"] = _labelled(a, f"a[{l}][{j}]")
    g["C"] = _labelled(mse_loss([activations[-1]], [[y]]), "C")
    return g


def modes(n: int, m: int, hidden: Sequence[int] = (32, 32, 32), seed: int = 0) -> tuple[list[Value], list[Value]]:
    """The modes demo's f: ℝⁿ → ℝᵐ at a seeded point: (inputs x1…xn, outputs y1…ym).

    An MLP(n, [*hidden, m]) of tanh units, the output layer too: a trunk of
    hidden layers shared by m heads y_k = tanh(v_k·h + c_k), so every output
    depends on every input and most of the graph is the trunk every sweep
    crosses.  Weights and x come from `seed`.
    """
    rng = random.Random(seed)
    mlp = MLP(n, [*hidden, m], activation="tanh", output_activation="tanh", seed=seed)
    xs = [Value(rng.uniform(-1.0, 1.0), f"x{i + 1}") for i in range(n)]
    out = mlp(xs)
    ys = out if isinstance(out, list) else [out]
    for k, y in enumerate(ys):
        y.label = f"y{k + 1}"
    return xs, ys
