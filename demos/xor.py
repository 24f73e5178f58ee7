"""§4 XOR needs a hidden layer — and the everyday craft of training around it.

A single sigmoid neuron (logistic regression) draws one straight line, so it
gets at most 3 of XOR's 4 points right.  Two hidden sigmoid units re-map the
inputs so that one line separates them.  Training can still stall in a poor
local minimum, so we try several random starts and keep the best; on noisy
data we hold out a validation set, stop early when it stops improving, and
add an L2 penalty.

Run: python demos/xor.py   or   autobp demo xor
"""

from __future__ import annotations

import numpy as np

from autobp import datasets
from autobp.nn import MLP
from autobp.script import run_main
from autobp.train import accuracy, fit, predict


def logistic_regression(seed: int = 0) -> MLP:
    """One sigmoid neuron, trained on the four XOR corners."""
    X, y = datasets.xor()
    net, _ = fit(MLP(2, [1], output_activation="sigmoid", seed=seed), X, y, epochs=2000, lr=1.0)
    return net


def _two_two_one(seed: int) -> MLP:
    """A fresh 2-2-1 sigmoid network (also the seed → model factory for restarts)."""
    return MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=seed)


def hidden_layer(seed: int = 0) -> MLP:
    """A 2-2-1 sigmoid network, trained on the four XOR corners."""
    X, y = datasets.xor()
    net, _ = fit(_two_two_one(seed), X, y, epochs=2000, lr=2.0)
    return net


def restarts(seed: int = 6, n: int = 4):
    """Train 2-2-1 networks from seeds seed, seed + 1, … and keep the best; returns (net, history)."""
    X, y = datasets.xor()
    return fit(_two_two_one, X, y, epochs=2000, lr=2.0, restarts=n, seed=seed)


def early_stopping(l2: float = 1e-4, seed: int = 0):
    """A 2-4-1 tanh network on 80 noisy XOR points, 25% held out, patience 30; returns (net, history)."""
    X, y = datasets.xor(80, noise=0.2, seed=seed)
    return fit(MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=seed), X, y,
               epochs=300, lr=1.0, batch_size=8, l2=l2, val_fraction=0.25, patience=30, seed=seed)


def boundary(net: MLP, size: int = 9) -> str:
    """The predicted class on a size × size grid over [−0.5, 1.5]², top row y = 1.5."""
    ticks = np.linspace(-0.5, 1.5, size)
    grid = np.array([[x1, x2] for x2 in ticks[::-1] for x1 in ticks])
    marks = np.where(predict(net, grid) == 1, "#", ".").reshape(size, size)
    return "\n".join("    " + " ".join(row) for row in marks)


def main() -> None:
    """Train each model and print accuracies, decision regions and the training craft."""
    X, y = datasets.xor()
    lr_net, mlp_net = logistic_regression(), hidden_layer()
    print("XOR: (0,0) → 0, (0,1) → 1, (1,0) → 1, (1,1) → 0.   # = predicts 1, over [−0.5, 1.5]²\n")
    print(f"Logistic regression (one sigmoid neuron): accuracy {accuracy(lr_net, X, y):.0%}")
    print(boundary(lr_net))
    print(f"\n2-2-1 sigmoid network:                    accuracy {accuracy(mlp_net, X, y):.0%}")
    print(boundary(mlp_net))

    net, history = restarts()
    print("\nRandom restarts: 2-2-1 from seeds 6, 7, 8, 9; final loss of each:",
          ", ".join(f"{s:.4f}" for s in history.restart_scores))
    print(f"  kept seed {6 + history.restart}: accuracy {accuracy(net, X, y):.0%}")

    X_test, y_test = datasets.xor(400, noise=0.2, seed=1)
    print("\nNoisy XOR, 80 points (60 train, 20 validation), 2-4-1 tanh, mini-batches of 8, patience 30:")
    for l2 in (0.0, 1e-4):
        net, h = early_stopping(l2)
        size = sum(p.data ** 2 for p in net.parameters())
        print(f"  L2 λ = {l2:g}: stopped after epoch {len(h.loss)}{' (early)' if h.stopped_early else ''}, "
              f"kept epoch {h.best_epoch} (validation loss {h.best_loss:.4f}); Σw² = {size:.1f}; "
              f"accuracy on 400 fresh points {accuracy(net, X_test, y_test):.1%}")


if __name__ == "__main__":
    raise SystemExit(run_main(main))
