"""§5 Matrix-form backprop trains a digits classifier; a Value MLP gives the same gradients.

The classic program: Network([n_in, 30, 10]) with sigmoid layers, mini-batch
SGD (30 epochs, batches of 10, learning rate 3.0) on the quadratic cost,
reporting the correct test predictions after each epoch.  Its gradients come
from the four equations BP1–BP4 in NumPy (`autobp.matrix`).  Here it runs on
the 8×8 digits that scikit-learn ships (autobp's `data` extra); with
the MNIST IDX files on disk, the same function trains on MNIST:

    from autobp.datasets import load_mnist
    train_digits(*load_mnist(d, "train"), *load_mnist(d, "test"))     # sizes [784, 30, 10]

Then the same weights go into an MLP built from Values, and one backward()
through the graph gives the gradients BP1–BP4 gave, number for number.

`--traced` trains the same network as a Value MLP traced once (`autobp.trace`), from the
same initial weights and shuffles: it prints the same epochs.

Run: python demos/digits.py [--traced]   or   autobp demo digits [--traced]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from autobp import datasets, trace
from autobp.matrix import backprop
from autobp.network import Network
from autobp.nn import MLP, mse_loss
from autobp.script import run_main


def train_digits(X_train, y_train, X_test, y_test, epochs: int = 30, batch: int = 10, eta: float = 3.0,
                 hidden: int = 30, seed: int = 0, on_epoch=None) -> tuple[Network, list[int]]:
    """The classic mini-batch SGD program; returns (network, correct test predictions per epoch)."""
    net = Network([X_train.shape[1], hidden, 10], seed=seed)
    correct = net.sgd((X_train, y_train), epochs, batch, eta, test_data=(X_test, y_test), on_epoch=on_epoch)
    return net, correct


def train_digits_traced(X_train, y_train, X_test, y_test, epochs: int = 30, batch: int = 10, eta: float = 3.0,
                        hidden: int = 30, seed: int = 0, on_epoch=None) -> tuple[MLP, list[int]]:
    """The same program on a Value MLP traced once (`autobp.trace`): Network's start, shuffles and schedule."""
    from autobp.demos.generalize import train_traced, traced_mlp

    net = Network([X_train.shape[1], hidden, 10], seed=seed)     # its initial weights and its shuffling generator
    mlp, tape = traced_mlp(net)
    outputs = trace(lambda x: mlp(x), [0.0] * X_train.shape[1])
    Y, correct = datasets.one_hot(y_train, 10), []
    for epoch in range(epochs):
        train_traced(tape, X_train, Y, 1, batch, eta, net.rng)
        correct.append(int((np.asarray(outputs(X_test)).argmax(axis=1) == y_test).sum()))
        if on_epoch is not None:
            on_epoch(epoch, correct[-1], len(y_test))
    return mlp, correct


def held_out_digits(seed: int = 0):
    """The 8×8 digits, a quarter held out: (X_train, y_train, X_test, y_test)."""
    X, y = datasets.load_digits()
    return datasets.split(X, y, 0.25, seed=seed)


def gradients_both_ways(net: Network, X: np.ndarray, y: np.ndarray):
    """∂C/∂w for every weight and bias of `net` on a batch, by the graph and by BP1–BP4.

    Returns ([engine arrays], [matrix arrays]), weights then biases per layer.
    """
    targets = datasets.one_hot(y, 10)
    nabla_w, nabla_b, _ = backprop(net.weights, net.biases, X, targets)
    mlp = MLP.from_numpy(net.weights, net.biases, activation="sigmoid", output_activation="sigmoid")
    mse_loss([mlp(x) for x in X.tolist()], targets.tolist()).backward()
    engine = [np.array([[w.grad for w in n.w] for n in layer.neurons]) for layer in mlp.layers]
    engine += [np.array([n.b.grad for n in layer.neurons]) for layer in mlp.layers]
    return engine, [*nabla_w, *nabla_b]


def main(traced: bool = False) -> None:
    """Train on the 8×8 digits, printing correct predictions per epoch, then compare gradients.

    traced=True trains the same network as a Value MLP traced once and replayed on each batch.
    """
    try:
        X_train, y_train, X_test, y_test = held_out_digits()
    except ImportError as e:
        sys.exit(f"digits demo: {e}")
    print(f"8×8 digits: {len(y_train)} training and {len(y_test)} held-out images; "
          f"{'a traced Value MLP' if traced else 'Network'}([64, 30, 10]), 30 epochs, batches of 10, η = 3.0")
    start = time.perf_counter()
    show = lambda epoch, correct, total: print(f"Epoch {epoch}: {correct} / {total}")   # noqa: E731
    if traced:
        _, correct = train_digits_traced(X_train, y_train, X_test, y_test, on_epoch=show)
        print(f"held-out accuracy {correct[-1] / len(y_test):.1%} after {time.perf_counter() - start:.1f} s")
        return
    net, _ = train_digits(X_train, y_train, X_test, y_test, on_epoch=show)
    print(f"held-out accuracy {net.evaluate(X_test, y_test) / len(y_test):.1%} "
          f"after {time.perf_counter() - start:.1f} s")

    engine, matrix = gradients_both_ways(net, X_test[:10], y_test[:10])
    diff = max(float(np.max(np.abs(e - m))) for e, m in zip(engine, matrix))
    size = max(float(np.max(np.abs(m))) for m in matrix)
    print(f"\nThe same weights as an MLP of Values, on a batch of 10 images: {sum(m.size for m in matrix)} "
          f"gradients, largest {size:.3e}; largest difference from BP1–BP4 {diff:.1e}")
    print("(MNIST: pass datasets.load_mnist(dir) for the IDX files you have to train_digits.)")


if __name__ == "__main__":
    raise SystemExit(run_main(lambda: main(traced="--traced" in sys.argv[1:])))
