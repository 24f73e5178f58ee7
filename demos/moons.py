"""§6 Two moons with a max-margin loss: the standard showcase of a scalar autograd engine.

A 2-16-16-1 relu MLP scores each of 100 points; the loss is the SVM hinge
loss plus an L2 penalty,

    L = (1/n) Σ_i max(0, 1 − y_i·s_i) + 10⁻⁴ Σ_p p²,    y_i = ±1,

minimised by full-batch gradient descent with a learning rate falling from
1.0 to 0.1.  Every step builds the whole graph (about 65 000 nodes) and
runs one backward().  Given a PNG path it also plots the decision boundary
(needs matplotlib, autobp's `plot` extra).

`--traced` replays one traced per-sample loss on the batch instead (`autobp.trace`).

Run: python -m autobp.demos.moons [PNG] [--traced]   or   autobp demo moons [--traced]
"""

from __future__ import annotations

import sys

import numpy as np

from autobp import datasets, trace
from autobp.matrix import forward
from autobp.extras import install_hint
from autobp.nn import MLP, SGD, hinge_loss, l2_penalty
from autobp.script import run_main

L2 = 1e-4


def points(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 100 moons points the demo trains on: (X, classes 0/1)."""
    return datasets.moons(100, noise=0.1, seed=seed)


def train(steps: int = 100, seed: int = 0, traced: bool = False) -> tuple[MLP, list[tuple[int, float, float]]]:
    """Full-batch gradient descent; returns (model, [(step, loss, accuracy) before each update]).

    traced=True traces the per-sample loss once (`autobp.trace`) and replays it on the 100 points
    each step, instead of building the 65 000-node graph: the same steps, to about 1e-15.
    """
    X, y = points(seed)
    labels = (2 * y - 1).tolist()                     # classes 0/1 → −1/+1
    model = MLP(2, [16, 16, 1], activation="relu", seed=seed)
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    if traced:
        tape = trace(lambda x, t: hinge_loss([model(x)], [t]) + l2_penalty(params, L2), [0.0, 0.0], 1.0)
        score_tape = trace(lambda x: model(x), [0.0, 0.0])
    history = []
    for step in range(steps):
        opt.zero_grad()
        if traced:
            scores = np.asarray(score_tape(X))
            loss = float(np.mean(tape.backward(X, np.array(labels))))    # the mean of (hinge + L2) over points
        else:
            graph_scores = [model(x) for x in X.tolist()]
            objective = hinge_loss(graph_scores, labels) + l2_penalty(params, L2)
            objective.backward()
            scores, loss = np.array([s.data for s in graph_scores]), objective.data
        history.append((step, loss, float(np.mean((scores > 0) == (np.array(labels) > 0)))))
        opt.lr = 1.0 - 0.9 * step / steps             # learning-rate decay
        opt.step()
    return model, history


def scores(model: MLP, points: np.ndarray) -> np.ndarray:
    """The model's score for each row of `points`, in NumPy (fast enough for a plotting grid)."""
    weights, biases = model.to_numpy()
    return forward(weights, biases, points, activation="relu", output_activation="linear")[1][-1][:, 0]


def _use_matplotlib() -> None:
    """Set matplotlib to draw into files; ImportError saying how to install it when it is missing."""
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(f"plotting needs matplotlib: {install_hint('plot')}") from e
    matplotlib.use("Agg")                               # files only, no window


def plot_boundary(model: MLP, path: str, seed: int = 0) -> None:
    """Write a PNG of the decision regions (score > 0 vs < 0) and the training points."""
    _use_matplotlib()
    import matplotlib.pyplot as plt

    X, y = points(seed)
    xx, yy = np.meshgrid(np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200),
                         np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200))
    zz = scores(model, np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.contourf(xx, yy, zz > 0, cmap="Spectral", alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=30, cmap="Spectral", edgecolors="k")
    ax.set_title("2-16-16-1 MLP, hinge loss + L2: decision boundary")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(png: str | None = None, traced: bool = False) -> None:
    """Train, print the loss and accuracy every 10 steps, and plot to `png` when given."""
    if png is not None:
        try:
            _use_matplotlib()                           # before 10 s of training, not after
        except ImportError as e:
            sys.exit(f"moons demo: {e}")
    model, history = train(traced=traced)
    print("2-16-16-1 relu MLP on 100 moons points, hinge loss + 1e-4·L2, full-batch gradient descent"
          + (" (traced: one tape replayed on the batch)" if traced else ""))
    for step, loss, accuracy in history:
        if step % 10 == 0 or step == len(history) - 1:
            print(f"step {step:>3}: loss {loss:.6f}, accuracy {accuracy:.0%}")
    X, y = points()
    print(f"after {len(history)} steps: training accuracy {np.mean((scores(model, X) > 0) == y):.0%}")
    if png is None:
        print("(python -m autobp.demos.moons moons.png plots the decision boundary; it needs matplotlib)")
        return
    plot_boundary(model, png)
    print(f"decision boundary written to {png}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--traced"]
    raise SystemExit(run_main(lambda: main(args[0] if args else None, traced="--traced" in sys.argv[1:])))
