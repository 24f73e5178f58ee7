"""autobp.losses against closed forms and HIPS autograd."""

from __future__ import annotations

import math

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad

from autobp import Value
from autobp.losses import cross_entropy_loss, hinge_loss, l2_penalty, mse_loss


def _values(xs):
    return [Value(float(x)) for x in xs]


def test_mse_loss_matches_autograd_on_a_batch():
    a = np.array([[0.3, -1.2], [2.0, 0.5], [0.1, 0.0]])
    y = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 2.0]])
    preds = [_values(row) for row in a]
    loss = mse_loss(preds, y.tolist())
    loss.backward()
    f = lambda a: 0.5 * anp.sum((a - y) ** 2) / len(a)
    assert loss.data == pytest.approx(f(a), rel=1e-14)
    np.testing.assert_allclose([[v.grad for v in row] for row in preds], agrad(f)(a), rtol=1e-14)


def test_mse_loss_accepts_one_value_per_sample():
    preds = _values([0.5, -1.0])
    loss = mse_loss(preds, [1.0, 1.0])
    loss.backward()
    assert loss.data == pytest.approx(0.5 * (0.25 + 4.0) / 2)
    assert [p.grad for p in preds] == pytest.approx([(0.5 - 1) / 2, (-1 - 1) / 2])
    assert mse_loss(Value(3.0), 1.0).data == 2.0


@pytest.mark.parametrize("preds, targets, match", [
    ([[Value(1.0)]], [[1.0], [2.0]], "1 predictions but 2 targets"),
    ([[Value(1.0), Value(2.0)]], [[1.0]], "sample 0 has 2 outputs but 1 targets"),
    ([], [], "no samples"),
])
def test_mse_loss_rejects_mismatched_shapes(preds, targets, match):
    with pytest.raises(ValueError, match=match):
        mse_loss(preds, targets)


def _softmax(z):
    e = np.exp(np.asarray(z) - np.max(z))
    return e / e.sum()


@pytest.mark.parametrize("z, t", [([1.0, 2.0, 0.5], 0), ([1000.0, -1000.0, 0.0], 2),
                                  ([-1000.0, -1000.0], 1), ([1000.0, 999.0, 3.0], 1)])
def test_cross_entropy_is_finite_and_its_gradient_is_softmax_minus_onehot(z, t):
    logits = _values(z)
    loss = cross_entropy_loss(logits, t)
    loss.backward()
    zmax = max(z)
    closed = zmax + math.log(sum(math.exp(zi - zmax) for zi in z)) - z[t]   # logsumexp − z_t
    assert math.isfinite(loss.data) and loss.data == pytest.approx(closed, rel=1e-14)
    onehot = np.eye(len(z))[t]
    assert [v.grad for v in logits] == pytest.approx(_softmax(z) - onehot, rel=1e-12, abs=1e-300)


def test_cross_entropy_batch_is_the_mean():
    z = [[0.2, -0.3, 1.5], [2.0, 2.0, -1.0]]
    t = [2, 0]
    logits = [_values(row) for row in z]
    loss = cross_entropy_loss(logits, t)
    loss.backward()
    f = lambda z: anp.mean(anp.log(anp.sum(anp.exp(z), axis=1)) - z[anp.arange(2), t])
    assert loss.data == pytest.approx(f(np.array(z)), rel=1e-14)
    np.testing.assert_allclose([[v.grad for v in row] for row in logits], agrad(f)(np.array(z)), rtol=1e-12)


@pytest.mark.parametrize("t", [3, -1, 1.0, True])
def test_cross_entropy_rejects_a_bad_target(t):
    with pytest.raises(ValueError, match="target_index must be an int in \\[0, 3\\)"):
        cross_entropy_loss(_values([1, 2, 3]), t)


def test_cross_entropy_batch_needs_matching_lengths():
    with pytest.raises(ValueError, match="one logit list per target"):
        cross_entropy_loss([_values([1, 2])], [0, 1])


def test_hinge_loss_matches_closed_form():
    s = [2.0, 0.5, -0.3, -2.0]
    y = [1, 1, 1, -1]
    scores = _values(s)
    loss = hinge_loss(scores, y)
    loss.backward()
    assert loss.data == pytest.approx(np.mean([max(0.0, 1 - yi * si) for si, yi in zip(s, y)]), rel=1e-15)
    # ∂/∂s = −y/n where the margin is violated, else 0
    assert [v.grad for v in scores] == pytest.approx([0.0, -0.25, -0.25, 0.0])


@pytest.mark.parametrize("scores, labels, error, match", [
    ([Value(1.0)], [1, -1], ValueError, "hinge_loss: 1 scores but 2 labels"),
    ([], [], ValueError, "hinge_loss: no samples"),
    ([Value(1.0)], 1, TypeError, "hinge_loss: scores and labels must be lists over samples, got list and int"),
])
def test_hinge_loss_rejects_mismatched_shapes(scores, labels, error, match):
    with pytest.raises(error, match=match):
        hinge_loss(scores, labels)


def test_hinge_loss_rejects_labels_other_than_plus_minus_one():
    with pytest.raises(ValueError, match="labels must be -1 or \\+1, got 0"):
        hinge_loss(_values([1.0, 2.0]), [1, 0])


def test_hinge_loss_takes_a_value_label_as_it_is():
    """A label that is a Value (a traced label, or one computed upstream) enters the graph: ∂C/∂y = −s where violated."""
    s, y = Value(0.5), Value(-1.0)
    loss = hinge_loss([s], [y])
    loss.backward()
    assert (loss.data, s.grad, y.grad) == (1.5, 1.0, -0.5)


def test_hinge_loss_with_a_traced_label_replays_every_sample():
    from autobp.tape import trace

    tape = trace(lambda s, y: hinge_loss([s], [y]), 0.0, 1.0)
    s, y = np.array([2.0, 0.5, -0.3, -2.0]), np.array([1.0, 1.0, -1.0, -1.0])
    assert tape(s, y).tolist() == [max(0.0, 1.0 - a * b) for a, b in zip(s, y)]


def test_l2_penalty_value_and_gradient():
    ps = _values([1.0, -2.0, 0.5])
    pen = l2_penalty(ps, 0.01)
    pen.backward()
    assert pen.data == pytest.approx(0.01 * (1 + 4 + 0.25))
    assert [p.grad for p in ps] == pytest.approx([0.02, -0.04, 0.01])
    with pytest.raises(ValueError, match="lam must be a number >= 0"):
        l2_penalty(ps, -1.0)


def test_cross_entropy_takes_a_one_hot_or_probability_target():
    """C = logsumexp(z) − Σ_i t_i z_i: with a one-hot t it is the class index's loss, gradients softmax − t."""
    import math
    z = [Value(0.5), Value(-1.0), Value(2.0)]
    by_index = cross_entropy_loss(z, 1)
    by_row = cross_entropy_loss(z, [0.0, 1.0, 0.0])
    assert by_row.data == pytest.approx(by_index.data, rel=1e-15)
    by_row.backward()
    soft = [math.exp(v) / sum(math.exp(u) for u in (0.5, -1.0, 2.0)) for v in (0.5, -1.0, 2.0)]
    assert [v.grad for v in z] == pytest.approx([soft[0], soft[1] - 1.0, soft[2]], rel=1e-12)
    batch = cross_entropy_loss([z, z], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert batch.data == pytest.approx((cross_entropy_loss(z, 0).data + cross_entropy_loss(z, 2).data) / 2)


def test_cross_entropy_with_a_traced_one_hot_target_replays_the_class_loss():
    np = pytest.importorskip("numpy")
    from autobp import trace
    tape = trace(lambda z, t: cross_entropy_loss(z, t), [0.0, 0.0, 0.0], [1.0, 0.0, 0.0])
    Z = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]])
    T = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    want = [cross_entropy_loss([Value(v) for v in Z[0]], 1).data, cross_entropy_loss([Value(v) for v in Z[1]], 0).data]
    assert np.asarray(tape(Z, T)).tolist() == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("target, error, message", [
    ([1.0, 0.0], ValueError, "target has 2 entries for 3 logits"),
    ([1.0, "a", 0.0], TypeError, "cross_entropy_loss target"),
])
def test_cross_entropy_refuses_a_bad_target_row(target, error, message):
    with pytest.raises(error, match=message):
        cross_entropy_loss([Value(0.0), Value(1.0), Value(2.0)], target)


def test_cross_entropy_with_a_traced_class_index_says_to_use_a_one_hot_row():
    from autobp import trace
    with pytest.raises(TypeError, match="one-hot"):
        trace(lambda z, t: cross_entropy_loss(z, t), [0.0, 0.0, 0.0], 1.0)
