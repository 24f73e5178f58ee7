"""§3 three layers: δ read off the engine's graph against BP1/BP2 in autobp.matrix and against HIPS autograd."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from autobp import datasets
from autobp.demos import three_layer as demo
from autobp.nn import MLP


def _autograd_deltas(mlp, x, y):
    """∂C/∂z^l by autograd: perturb each layer's z by an additive e^l and differentiate at e = 0."""
    weights, biases = mlp.to_numpy()

    def cost(es):
        a = anp.array(x)
        for W, b, e in zip(weights, biases, es):
            a = 1 / (1 + anp.exp(-(anp.dot(W, a) + b + e)))
        return 0.5 * anp.sum((a - y) ** 2)

    return autograd.grad(cost)([np.zeros(len(b)) for b in biases])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_layer_engine_deltas_match_bp_equations_and_autograd(seed):
    mlp = MLP(2, demo.SIZES, activation="sigmoid", output_activation="sigmoid", seed=seed)
    X, y = datasets.moons(10, noise=0.1, seed=seed)
    for x, t in zip(X, y):
        engine = demo.engine_deltas(mlp, x, t)
        for e, m, a in zip(engine, demo.matrix_deltas(mlp, x, t), _autograd_deltas(mlp, x, float(t))):
            np.testing.assert_allclose(e, m, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(e, a, rtol=1e-12, atol=1e-15)


def test_three_layer_trained_network_deltas_agree_and_follow_bp2():
    mlp, history = demo.trained_network()
    assert history.accuracy[-1] > 0.8
    weights, _ = mlp.to_numpy()
    X, y = datasets.moons(60, noise=0.1, seed=0)
    for i in (0, 45):
        engine = demo.engine_deltas(mlp, X[i], y[i])
        for e, m in zip(engine, demo.matrix_deltas(mlp, X[i], y[i])):
            np.testing.assert_allclose(e, m, rtol=1e-12, atol=1e-15)
        # BP2 by hand from the engine's own δ: δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙ σ′(z^l), σ′ = a(1 − a)
        zs, acts = mlp.forward(X[i].tolist())
        for l in range(2):
            a = np.array([v.data for v in acts[l + 1]])
            np.testing.assert_allclose(engine[l], (weights[l + 1].T @ engine[l + 1]) * a * (1 - a), rtol=1e-12)


def test_three_layer_main_prints_both_columns(capsys):
    demo.main()
    out = capsys.readouterr().out
    assert out.count("graph") == 12 and "BP1" in out and "BP2" in out
