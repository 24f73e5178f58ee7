"""§4 XOR: accuracies of the demo's models, checked by evaluating the trained weights with NumPy."""

import pytest

from autobp import datasets
from autobp.demos import xor
from numpy_mlp import forward as numpy_forward


def _numpy_accuracy(net, X, y, activation="sigmoid"):
    """Forward pass of the trained network (sigmoid output) in NumPy, class = output > ½."""
    out = numpy_forward(*net.to_numpy(), X, activation, "sigmoid")
    return float(((out[:, 0] > 0.5) == y).mean())


def test_xor_logistic_regression_cannot_separate_xor():
    X, y = datasets.xor()
    assert _numpy_accuracy(xor.logistic_regression(), X, y) <= 0.75


def test_xor_hidden_layer_separates_xor():
    X, y = datasets.xor()
    assert _numpy_accuracy(xor.hidden_layer(), X, y) == 1.0


def test_xor_restarts_recover_from_a_stalled_start():
    X, y = datasets.xor()
    assert _numpy_accuracy(xor.hidden_layer(seed=6), X, y) < 1.0      # the first start stalls
    net, history = xor.restarts(seed=6)
    assert history.restart > 0 and _numpy_accuracy(net, X, y) == 1.0


@pytest.mark.parametrize("l2", [0.0, 1e-4])
def test_xor_early_stopping_stops_and_generalises(l2):
    net, h = xor.early_stopping(l2)
    assert h.stopped_early and len(h.loss) == h.best_epoch + 30
    X_test, y_test = datasets.xor(400, noise=0.2, seed=1)
    assert _numpy_accuracy(net, X_test, y_test, activation="tanh") >= 0.95


def test_xor_boundary_marks_the_corners():
    rows = xor.boundary(xor.hidden_layer(), size=9).splitlines()
    grid = [row.split() for row in rows]
    # corners of [−0.5, 1.5]² at indices 2 and 6 of 9 ticks: (0,0), (1,0), (0,1), (1,1)
    assert [grid[6][2], grid[6][6], grid[2][2], grid[2][6]] == [".", "#", "#", "."]
