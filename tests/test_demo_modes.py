"""The modes demo: forward and reverse Jacobians against the chain rule written in NumPy, sweep counts, output."""

import numpy as np
import pytest

from autobp.demos import modes
from autobp.examples import modes as build
from autobp.nn import MLP


def _numpy_jacobian(x, weights, biases):
    """J = D_L W_L ⋯ D_1 W_1 with D_l = diag(1 − a_l²), a_l = tanh(W_l a_(l−1) + b_l): no autobp."""
    a, J = np.asarray(x), np.eye(len(x))
    for W, b in zip(weights, biases):
        a = np.tanh(W @ a + b)
        J = (1 - a * a)[:, None] * (W @ J)
    return J


@pytest.mark.parametrize("n, m", [(5, 2), (2, 5), (3, 3)])
def test_both_jacobians_match_the_matrix_chain_rule_and_count_their_sweeps(n, m):
    xs, ys = build(n, m, hidden=(4, 3), seed=2)
    weights, biases = MLP(n, [4, 3, m], activation="tanh", output_activation="tanh", seed=2).to_numpy()
    want = _numpy_jacobian([x.data for x in xs], weights, biases)
    assert [y.data for y in ys] == pytest.approx(list(np.tanh(weights[-1] @ np.tanh(weights[1] @ np.tanh(
        weights[0] @ [x.data for x in xs] + biases[0]) + biases[1]) + biases[2])), rel=1e-12)
    J_forward, n_forward = modes.jacobian_forward(xs, ys)
    J_reverse, n_reverse = modes.jacobian_reverse(xs, ys)
    assert (n_forward, n_reverse) == (n, m)
    for J in (J_forward, J_reverse):
        assert np.allclose(J, want, rtol=1e-12, atol=1e-15)


def test_builder_labels_inputs_and_outputs():
    xs, ys = build(3, 2, hidden=(2,))
    assert [x.label for x in xs] == ["x1", "x2", "x3"] and [y.label for y in ys] == ["y1", "y2"]


def test_loss_sweeps_counts_every_parameter():
    n, backward, setup, forward = modes.loss_sweeps()
    assert n == 64 * 30 + 30 + 30 * 10 + 10 == 2260
    assert min(backward, setup, forward) > 0


def test_main_prints_both_shapes_and_the_lesson(capsys, monkeypatch):
    monkeypatch.setattr(modes, "SHAPES", ((6, 2), (2, 6)))
    modes.main()
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    assert [(r[0], r[1], r[3], r[5]) for r in rows] == [("6", "2", "6", "2"), ("2", "6", "2", "6")]
    assert all(float(r[-1]) < 1e-12 for r in rows)                 # the max difference of the two Jacobians
    assert "m = 1 and n = 2,260" in out and out.rstrip().endswith("That is why backprop is reverse mode.")
