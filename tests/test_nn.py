"""autobp.nn: parameter order and layout, seeds, activations, to_numpy/from_numpy, forward vs numpy."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest

from autobp import Value, grad
from autobp.nn import MLP, Layer, Module, Neuron
from numpy_mlp import forward as numpy_forward


def test_mlp_parameters_order_is_micrograd_order():
    mlp = MLP(2, [3, 1], seed=0)
    expected = [p for layer in mlp.layers for n in layer.neurons for p in (*n.w, n.b)]
    assert [id(p) for p in mlp.parameters()] == [id(p) for p in expected]
    assert len(mlp.parameters()) == 3 * 3 + 4
    assert mlp.parameters()[0].label == "w[0][0,0]" and mlp.parameters()[2].label == "b[0][0]"


def test_mlp_seed_none_matches_micrograd_draws():
    micrograd = pytest.importorskip("micrograd.nn")
    random.seed(7)
    theirs = micrograd.MLP(3, [4, 2])
    random.seed(7)
    ours = MLP(3, [4, 2])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]


def test_mlp_seed_is_reproducible_and_leaves_global_random_alone():
    random.seed(1)
    before = random.getstate()
    a, b = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    assert random.getstate() == before
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in MLP(2, [4, 1], seed=4).parameters()]
    assert all(-1 <= n.w[0].data <= 1 and n.b.data == 0.0 for n in a.layers[0].neurons)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("out_act", [None, "sigmoid", "tanh"])
def test_mlp_forward_matches_numpy(act, out_act):
    mlp = MLP(3, [4, 5, 2], activation=act, output_activation=out_act, seed=2)
    x = [0.3, -1.2, 2.0]
    weights, biases = mlp.to_numpy()
    expected = numpy_forward(weights, biases, x, act, out_act or "linear")
    assert [o.data for o in mlp(x)] == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_weight_layout_is_w_l_jk():
    mlp = MLP(3, [2, 1], seed=0)
    weights, biases = mlp.to_numpy()
    assert [w.shape for w in weights] == [(2, 3), (1, 2)] and [b.shape for b in biases] == [(2,), (1,)]
    assert weights[0][1, 2] == mlp.layers[0].neurons[1].w[2].data
    assert biases[1][0] == mlp.layers[1].neurons[0].b.data


def test_call_returns_value_for_one_output_else_list():
    assert isinstance(MLP(2, [3, 1], seed=0)([1, 2]), Value)
    out = MLP(2, [3, 2], seed=0)([1, 2])
    assert isinstance(out, list) and len(out) == 2
    assert isinstance(Neuron(2)([1.0, 2.0]), Value)
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value) and len(Layer(2, 3)([1.0, 2.0])) == 3


def test_call_accepts_values_and_numpy_numbers():
    mlp = MLP(2, [2, 1], seed=0)
    x = [Value(0.5), np.float64(-1.0)]
    out = mlp(x)
    out.backward()
    assert out.data == mlp([0.5, -1.0]).data
    assert x[0].grad != 0.0                 # gradient reaches an input Value


def test_roundtrip_to_numpy_from_numpy_is_exact():
    mlp = MLP(4, [3, 3, 2], activation="sigmoid", output_activation="tanh", seed=5)
    weights, biases = mlp.to_numpy()
    back = MLP.from_numpy(weights, biases, activation="sigmoid", output_activation="tanh")
    assert [p.data for p in back.parameters()] == [p.data for p in mlp.parameters()]
    assert back.activation == "sigmoid" and back.output_activation == "tanh"
    w2, b2 = back.to_numpy()
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, w2 + b2))


@pytest.mark.parametrize("weights, biases, match", [
    ([np.zeros((2, 3))], [np.zeros(3)], r"biases\[0\] must have shape \(2,\)"),
    ([np.zeros((2, 3)), np.zeros((1, 3))], [np.zeros(2), np.zeros(1)], r"weights\[1\] takes 3 inputs"),
    ([np.zeros(3)], [np.zeros(3)], "2-D"),
    ([np.zeros((2, 3))], [], "1 weight matrices but 0 bias"),
    ([], [], "no layers"),
    ([np.full((1, 1), np.nan)], [np.zeros(1)], "non-finite"),
])
def test_from_numpy_rejects_bad_shapes(weights, biases, match):
    with pytest.raises(ValueError, match=match):
        MLP.from_numpy(weights, biases)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown activation 'softmax'.*'tanh'"):
        MLP(2, [2], activation="softmax")
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        Neuron(2, "elu")


def test_bad_inputs_are_clear_errors():
    mlp = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        mlp([1, 2, 3])
    with pytest.raises(TypeError, match="str"):
        mlp([1, "2"])
    with pytest.raises(ValueError, match="nin must be an int >= 1"):
        Neuron(0)
    with pytest.raises(ValueError, match="Layer: nout must be an int >= 1, got True"):
        Layer(2, True)


def test_zero_grad_resets_every_parameter():
    mlp = MLP(2, [3, 1], seed=0)
    mlp([1.0, 2.0]).backward()
    assert any(p.grad for p in mlp.parameters())
    mlp.zero_grad()
    assert all(p.grad == 0.0 for p in mlp.parameters())
    assert Module().parameters() == []


def test_forward_gives_z_nodes_whose_gradient_is_delta():
    # one tanh neuron: C = a = tanh(z), so ∂C/∂z = 1 − tanh(z)²
    mlp = MLP(2, [1], activation="tanh", output_activation="tanh", seed=0)
    zs, acts = mlp.forward([0.5, -0.25])
    (dz,) = grad(acts[-1][0], zs[0])
    assert dz.data == pytest.approx(1 - math.tanh(zs[0][0].data) ** 2, rel=1e-15)
    assert acts[0] == [0.5, -0.25]


def test_linear_layer_activation_is_the_z_node():
    zs, acts = MLP(2, [2], seed=0).forward([1.0, 1.0])
    assert all(z is a for z, a in zip(zs[0], acts[1]))


def test_neuron_weighted_input_is_one_sum_node():
    # Σ(b, w0·x0, w1·x1): 2 '*' nodes and one 'sum', plus the activation; no wrapped constants
    n = Neuron(2, "tanh")
    out = n([1.0, 2.0])
    from autobp.engine import topo_order
    nodes = topo_order(out)
    assert sorted(v.op for v in nodes if v.op) == ["*", "*", "sum", "tanh"]
    assert len([v for v in nodes if not v.op]) == 3          # w0, w1, b only
    z = out.children[0]
    assert z.operands[0] is n.b and [p.children[0] for p in z.operands[1:]] == n.w


def test_neuron_sum_is_bit_for_bit_the_chain():
    """The one 'sum' node adds left to right: z and every gradient equal micrograd's chain b + w0·x0 + … exactly."""
    n = Neuron(7, "tanh", rng=random.Random(5))
    n.b.data = 0.3
    x = [random.Random(6).uniform(-3, 3) for _ in range(7)]
    out = n(x)
    out.backward()
    chain = n.b
    for wk, xk in zip(n.w, x):
        chain = chain + wk * xk
    twin = chain.tanh()
    grads = [p.grad for p in n.parameters()]
    n.zero_grad()
    twin.backward()
    assert out.data == twin.data and grads == [p.grad for p in n.parameters()]


def test_mlp_deepcopy_is_an_independent_model():
    """copy.deepcopy(model), as PyTorch users keep a best model: same numbers, separate parameters."""
    mlp = MLP(2, [3, 1], seed=0)
    twin = copy.deepcopy(mlp)
    assert [p.data for p in twin.parameters()] == [p.data for p in mlp.parameters()]
    out = twin([0.5, -1.0])
    assert out.data == mlp([0.5, -1.0]).data
    out.backward()
    assert any(p.grad for p in twin.parameters()) and not any(p.grad for p in mlp.parameters())
