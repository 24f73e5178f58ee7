"""§5 digits: the matrix trainer's held-out accuracy (checked with a NumPy forward pass) and Value-vs-BP gradients."""

import gzip
import struct

import numpy as np
import pytest

from autobp import datasets
from autobp.network import Network
from numpy_mlp import forward as numpy_forward

pytest.importorskip("sklearn", reason="the 8×8 digits ship with scikit-learn (autobp's data extra)")
from autobp.demos import digits as demo  # noqa: E402


def _numpy_predict(weights, biases, X):
    return numpy_forward(weights, biases, X).argmax(axis=1)


def test_digits_matrix_trainer_reaches_95_percent_held_out():
    X_train, y_train, X_test, y_test = demo.held_out_digits()
    assert len(set(map(tuple, X_train.tolist())) & set(map(tuple, X_test.tolist()))) < 10   # really held out
    net, correct = demo.train_digits(X_train, y_train, X_test, y_test)
    assert len(correct) == 30
    accuracy = (_numpy_predict(net.weights, net.biases, X_test) == y_test).mean()
    assert accuracy >= 0.95
    assert correct[-1] == (_numpy_predict(net.weights, net.biases, X_test) == y_test).sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_digits_value_mlp_gradients_equal_matrix_backprop(seed):
    X, y = datasets.load_digits()
    net = Network([64, 12, 10], seed=seed)
    rows = np.random.default_rng(seed).choice(len(X), 8, replace=False)
    engine, matrix = demo.gradients_both_ways(net, X[rows], y[rows])
    assert [e.shape for e in engine] == [m.shape for m in matrix]
    for e, m in zip(engine, matrix):
        np.testing.assert_allclose(e, m, rtol=1e-10, atol=1e-10 * np.abs(m).max())


def test_digits_gradients_are_those_of_the_mean_quadratic_cost():
    """Central differences of C = (1/n) Σ ½‖a − y‖² (plain NumPy) against the engine's gradients."""
    X, y = datasets.load_digits()
    X, y = X[:5], y[:5]
    net = Network([64, 6, 10], seed=3)
    engine, _ = demo.gradients_both_ways(net, X, y)
    Y = datasets.one_hot(y, 10)

    def cost(weights, biases):
        return 0.5 * np.sum((numpy_forward(weights, biases, X) - Y) ** 2) / len(X)

    h = 1e-6
    for l, j, k in [(0, 0, 20), (0, 5, 36), (1, 3, 2), (1, 9, 5)]:
        plus = [w.copy() for w in net.weights]
        minus = [w.copy() for w in net.weights]
        plus[l][j, k] += h
        minus[l][j, k] -= h
        numeric = (cost(plus, net.biases) - cost(minus, net.biases)) / (2 * h)
        assert engine[l][j, k] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def _idx(shape, values):
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + bytes(values)


def test_digits_train_digits_runs_on_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 10)):
        images = rng.integers(0, 256, n * 784).tolist()
        labels = rng.integers(0, 10, n).tolist()
        (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx((n, 28, 28), images)))
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx((n,), labels))
    net, correct = demo.train_digits(*datasets.load_mnist(tmp_path, "train"),
                                     *datasets.load_mnist(tmp_path, "test"), epochs=2)
    assert net.sizes == [784, 30, 10] and len(correct) == 2 and 0 <= correct[-1] <= 10
