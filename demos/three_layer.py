"""§3 Three layers for a binary decision: the error term δ of each layer, two ways.

A 2-3-2-1 sigmoid network learns two interleaved half-moons by stochastic
gradient descent on C = ½(y − ŷ)².  Then, for a few samples, each layer's
error term δ^l = ∂C/∂z^l is read off the graph (`grad(C, z nodes)`) and
computed by the matrix equations:

    BP1  δ^L = (a^L − y) ⊙ σ′(z^L)
    BP2  δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ′(z^l)

The δ of a hidden layer is the next layer's δ weighted back through the
weights, times the local slope σ′(z).

Run: python demos/three_layer.py   or   autobp demo three_layer
"""

from __future__ import annotations

import numpy as np

from autobp import datasets, grad
from autobp.examples import three_layer
from autobp.matrix import backprop
from autobp.nn import MLP
from autobp.script import run_main
from autobp.train import fit

SIZES = [3, 2, 1]


def trained_network(seed: int = 0):
    """The 2-3-2-1 sigmoid MLP after SGD (batch size 1) on 60 moons; returns (mlp, history)."""
    X, y = datasets.moons(60, noise=0.1, seed=seed)
    mlp = MLP(2, SIZES, activation="sigmoid", output_activation="sigmoid", seed=seed)
    return fit(mlp, X, y, epochs=200, lr=2.0, batch_size=1, seed=seed)


def engine_deltas(mlp: MLP, x, y: float) -> list[np.ndarray]:
    """δ^l = ∂C/∂z^l for each layer, read off the engine's graph."""
    g = three_layer(mlp, x, y)
    return [np.array([d.data for d in grad(g["C"], [g[f"z[{l}][{j}]"] for j in range(n)])])
            for l, n in enumerate(SIZES)]


def matrix_deltas(mlp: MLP, x, y: float) -> list[np.ndarray]:
    """δ^l for each layer from BP1 and BP2 in NumPy (one sample, so the batch row 0)."""
    weights, biases = mlp.to_numpy()
    _, _, deltas = backprop(weights, biases, np.array([x]), np.array([[y]]))
    return [d[0] for d in deltas]


def main() -> None:
    """Train, then print each layer's δ from the graph and from the BP equations."""
    mlp, history = trained_network()
    print(f"2-3-2-1 sigmoid network, SGD on ½(y − ŷ)² over 60 moons points: "
          f"training accuracy {history.accuracy[-1]:.0%} after {len(history.loss)} epochs\n")
    X, y = datasets.moons(60, noise=0.1, seed=0)
    for i in (0, 45):
        print(f"sample x = ({X[i, 0]:.3f}, {X[i, 1]:.3f}), y = {y[i]}, ŷ = {mlp(X[i].tolist()).data:.6f}")
        for l, (e, m) in enumerate(zip(engine_deltas(mlp, X[i], y[i]), matrix_deltas(mlp, X[i], y[i]))):
            rule = "BP1" if l == len(SIZES) - 1 else "BP2"
            for j, (de, dm) in enumerate(zip(e, m)):
                print(f"  δ[{l}][{j}]  graph {de: .12e}   {rule} {dm: .12e}   diff {abs(de - dm):.1e}")
        print()


if __name__ == "__main__":
    raise SystemExit(run_main(main))
