"""autobp.matrix: BP1–BP4 against HIPS autograd on the same network written as plain array code."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as agrad

from autobp.matrix import backprop, cost, forward

_SIGMA = {"sigmoid": lambda z: 1 / (1 + anp.exp(-z)), "tanh": anp.tanh,
          "relu": lambda z: anp.maximum(z, 0.0), "linear": lambda z: z}


def _net(sizes, seed):
    rng = np.random.default_rng(seed)
    return ([rng.normal(size=(m, n)) for n, m in zip(sizes[:-1], sizes[1:])],
            [rng.normal(size=m) for m in sizes[1:]])


def _loss_from(l, z, weights, biases, y, act, out_act, loss):
    """Mean loss as a function of layer l's weighted input z (autograd-differentiable, written independently)."""
    L = len(weights)
    for k in range(l, L):
        if k > l:
            z = a @ weights[k].T + biases[k]
        a = _SIGMA[out_act if k == L - 1 else act](z)
    if loss == "mse":
        return 0.5 * anp.sum((a - y) ** 2) / len(y)
    lse = anp.log(anp.sum(anp.exp(z - anp.max(z, axis=1, keepdims=True)), axis=1)) + anp.max(z, axis=1)
    return anp.mean(lse - anp.sum(y * z, axis=1))


def _loss_of_params(params, sizes, x, y, act, out_act, loss):
    L = len(sizes) - 1
    ws, bs = params[:L], params[L:]
    return _loss_from(0, x @ ws[0].T + bs[0], ws, bs, y, act, out_act, loss)


CASES = [([3, 4, 2], "sigmoid", "sigmoid", "mse"), ([2, 5, 3, 1], "tanh", "linear", "mse"),
         ([4, 3, 3], "relu", "tanh", "mse"), ([3, 4, 3], "tanh", "linear", "cross_entropy"),
         ([2, 2], "sigmoid", "linear", "cross_entropy"), ([5, 1], "linear", "sigmoid", "mse")]


@pytest.mark.parametrize("sizes, act, out_act, loss", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_backprop_matches_autograd(sizes, act, out_act, loss):
    weights, biases = _net(sizes, 0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 4)] if loss == "cross_entropy" else rng.random((4, sizes[-1]))
    nabla_w, nabla_b, deltas = backprop(weights, biases, x, y, act, out_act, loss)
    g = agrad(_loss_of_params)(weights + biases, sizes, x, y, act, out_act, loss)
    L = len(weights)
    zs, _ = forward(weights, biases, x, act, out_act)
    for l in range(L):
        np.testing.assert_allclose(nabla_w[l], g[l], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(nabla_b[l], g[L + l], rtol=1e-12, atol=1e-14)
        assert nabla_w[l].shape == weights[l].shape and nabla_b[l].shape == biases[l].shape
        # δ^l is the per-sample ∂C_x/∂z^l, i.e. n · ∂C/∂z^l of the mean loss
        dz = agrad(_loss_from, 1)(l, zs[l], weights, biases, y, act, out_act, loss)
        assert deltas[l].shape == (4, sizes[l + 1])
        np.testing.assert_allclose(deltas[l], len(x) * dz, rtol=1e-12, atol=1e-14)
    assert cost(weights, biases, x, y, act, out_act, loss) == pytest.approx(
        _loss_of_params(weights + biases, sizes, x, y, act, out_act, loss), rel=1e-13)


def test_forward_shapes_and_first_activation_is_the_input():
    weights, biases = _net([3, 4, 2], 0)
    x = np.ones((5, 3))
    zs, acts = forward(weights, biases, x)
    assert [z.shape for z in zs] == [(5, 4), (5, 2)] and acts[0] is not None and np.array_equal(acts[0], x)
    np.testing.assert_allclose(zs[0], x @ weights[0].T + biases[0])


def test_one_sample_as_a_1d_array():
    weights, biases = _net([3, 2], 0)
    nw1, nb1, d1 = backprop(weights, biases, np.ones(3), np.zeros(2))
    nw2, nb2, d2 = backprop(weights, biases, np.ones((1, 3)), np.zeros((1, 2)))
    assert np.array_equal(nw1[0], nw2[0]) and d1[0].shape == (1, 2)


def test_cross_entropy_output_delta_is_softmax_minus_y_even_for_huge_logits():
    weights, biases = [np.array([[1000.0], [-1000.0]])], [np.zeros(2)]
    _, _, deltas = backprop(weights, biases, [[1.0]], [[0.0, 1.0]], output_activation="linear", loss="cross_entropy")
    np.testing.assert_allclose(deltas[0], [[1.0, -1.0]])
    assert cost(weights, biases, [[1.0]], [[0.0, 1.0]], output_activation="linear", loss="cross_entropy") == 2000.0


def test_saturated_sigmoid_learns_slowly():
    # σ′(z) ≈ 0 far from 0: BP1 makes δ tiny although the output is badly wrong
    _, _, deltas = backprop([np.array([[20.0]])], [np.array([0.0])], [[1.0]], [[0.0]])
    assert 0 < deltas[0][0, 0] < 1e-8


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"loss": "cross_entropy"}, "output_activation must be 'linear'"),
    ({"activation": "elu"}, "unknown activation 'elu'"),
    ({"y": np.zeros((3, 2))}, "x has 2 samples but y has 3"),
    ({"y": np.zeros((2, 5))}, r"y must have shape \(n_samples, 2\)"),
    ({"x": np.zeros((2, 4))}, r"x must have shape \(n_samples, 3\)"),
])
def test_backprop_rejects_bad_input(kwargs, match):
    weights, biases = _net([3, 4, 2], 0)
    args = {"x": np.zeros((2, 3)), "y": np.zeros((2, 2)), **kwargs}
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        backprop(weights, biases, x, y, **args)


# -- the classic trainer (autobp.network) ---------------------------------------------------------

def _book_update(weights, biases, batch, eta):
    """The textbook's per-sample loop with column vectors: Σ_x of BP1–BP4, then W ← W − (η/m) Σ."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    nw = [np.zeros_like(w) for w in weights]
    nb = [np.zeros_like(b) for b in biases]
    for x, y in batch:
        a, acts, zs = x.reshape(-1, 1), [x.reshape(-1, 1)], []
        for w, b in zip(weights, biases):
            zs.append(w @ a + b.reshape(-1, 1))
            a = sig(zs[-1])
            acts.append(a)
        delta = (a - y.reshape(-1, 1)) * sig(zs[-1]) * (1 - sig(zs[-1]))
        for l in range(len(weights) - 1, -1, -1):
            nb[l] += delta.ravel()
            nw[l] += delta @ acts[l].T
            if l:
                delta = (weights[l].T @ delta) * sig(zs[l - 1]) * (1 - sig(zs[l - 1]))
    return ([w - eta / len(batch) * n for w, n in zip(weights, nw)],
            [b - eta / len(batch) * n for b, n in zip(biases, nb)])


def test_network_mini_batch_update_equals_the_book_loop():
    from autobp.network import Network
    net = Network([4, 5, 3], seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.random((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    want_w, want_b = _book_update(net.weights, net.biases, list(zip(x, y)), 3.0)
    net.update_mini_batch(x, y, 3.0)
    for got, want in zip(net.weights + net.biases, want_w + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_network_seed_roundtrip_and_errors():
    from autobp.network import Network
    a, b = Network([3, 2], seed=5), Network([3, 2], seed=5)
    assert np.array_equal(a.weights[0], b.weights[0])
    c = Network.from_numpy(*a.to_numpy())
    assert np.array_equal(c.weights[0], a.weights[0]) and np.array_equal(c.biases[0], a.biases[0])
    with pytest.raises(ValueError, match="sizes must list at least two"):
        Network([3])
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        Network([3, 2], activation="elu", output_activation="elu")
    with pytest.raises(ValueError, match=r"int labels in \[0, 2\)"):
        a.sgd((np.zeros((2, 3)), np.array([0, 5])), 1, 1, 1.0)


def test_network_learns_digits_to_95_percent_held_out():
    datasets = pytest.importorskip("sklearn.datasets")
    from autobp.network import Network
    digits = datasets.load_digits()
    x, y = digits.data / 16.0, digits.target
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    seen = []
    net = Network([64, 30, 10], seed=0)
    history = net.sgd((x[train], y[train]), 20, 10, 3.0, test_data=(x[test], y[test]),
                      on_epoch=lambda e, c, n: seen.append((e, c, n)))
    assert len(history) == 20 and seen[-1] == (19, history[-1], len(test))
    assert history[-1] / len(test) >= 0.95 and history[0] < history[-1]
