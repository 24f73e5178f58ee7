"""Every entry of the op table: forward vs a closed form, partials vs central differences and vs each other."""

from __future__ import annotations

import pytest

from autobp import Value
from autobp.engine import apply
from autobp.ops import OPS, value_of
from strategies import MATH

# Input points per op, inside its domain and away from kinks (relu and abs at 0 are tested on their own).
DOMAINS: dict[str, list[tuple[float, ...]]] = {
    "+": [(1.5, -2.25), (-0.3, 0.7), (10.0, 1e-3)],
    "-": [(1.5, -2.25), (-0.3, 0.7), (10.0, 1e-3)],
    "*": [(1.5, -2.25), (-0.3, 0.7), (4.0, 0.125)],
    "/": [(1.5, -2.25), (-0.3, 0.7), (3.0, 0.4)],
    "**": [(1.5, 2.0), (2.3, -1.7), (0.6, 0.5), (3.0, 3.0)],
    "neg": [(1.5,), (-0.3,)],
    "exp": [(0.0,), (1.3,), (-2.1,)],
    "log": [(0.2,), (1.0,), (7.5,)],
    "tanh": [(0.0,), (0.8,), (-1.9,)],
    "sigmoid": [(0.0,), (2.2,), (-3.1,)],
    "relu": [(1.7,), (-0.4,)],
    "sqrt": [(0.09,), (2.0,), (16.0,)],
    "abs": [(1.7,), (-0.4,)],
    "softplus": [(0.0,), (2.5,), (-4.0,)],
    "sum": [(1.5,), (1.5, -2.25), (0.1, 0.2, 0.3), (10.0, 1e-3, -4.0, 2.5)],     # variadic: any number of inputs
}

CASES = [(name, x) for name in OPS for x in DOMAINS.get(name, [()])]
CASE_IDS = [f"{name}{x}" for name, x in CASES]


def test_every_op_has_a_domain_and_a_closed_form():
    """A new op in the table needs input points here and a closed form in strategies.MATH."""
    assert set(OPS) <= set(DOMAINS) and set(OPS) <= set(MATH)


@pytest.mark.parametrize("name", list(OPS), ids=list(OPS))
def test_op_one_partial_per_formula(name):
    op = OPS[name]
    for x in DOMAINS[name]:
        assert op.arity in (len(x), None)
        out = op.forward(*x)
        assert len(op.partials(out, *x)) == len(x)
        assert len(op.partials(Value(out), *map(Value, x))) == len(x)
        assert [op.formula(k) for k in range(len(x))] == list(op.formulas) * (len(x) if op.variadic else 1)
        assert all(isinstance(f, str) and f for f in op.formulas)


@pytest.mark.parametrize("name, x", CASES, ids=CASE_IDS)
def test_op_forward_matches_closed_form(name, x):
    op = OPS[name]
    assert op.forward(*x) == pytest.approx(MATH[name](*x), rel=1e-12, abs=1e-15)
    assert op.name == name


@pytest.mark.parametrize("name, x", CASES, ids=CASE_IDS)
def test_op_partials_match_central_difference(name, x):
    op = OPS[name]
    locals_ = op.partials(op.forward(*x), *x)
    for i, local in enumerate(locals_):
        h = 1e-6 * max(1.0, abs(x[i]))
        up = list(x); up[i] += h
        down = list(x); down[i] -= h
        numeric = (MATH[name](*up) - MATH[name](*down)) / (2 * h)
        assert value_of(local) == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, i)


@pytest.mark.parametrize("name, x", CASES, ids=CASE_IDS)
def test_op_partials_same_on_floats_and_values(name, x):
    """One partials function serves both sweeps: the Value results carry the float results."""
    op = OPS[name]
    out = op.forward(*x)
    floats = op.partials(out, *x)
    values = op.partials(Value(out), *(Value(v) for v in x))
    assert [value_of(v) for v in values] == pytest.approx([value_of(f) for f in floats], rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("name, x", CASES, ids=CASE_IDS)
def test_op_through_value_backward(name, x):
    """The same partials reach the leaves through Value.backward (operators and methods dispatch to the table)."""
    op = OPS[name]
    leaves = [Value(v) for v in x]
    out = apply(op, *leaves)
    out.backward()
    assert out.op == name and out.children == tuple(leaves)
    assert [v.grad for v in leaves] == pytest.approx([value_of(g) for g in op.partials(out.data, *x)], rel=1e-15)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_kink_at_zero_has_gradient_zero(name):
    """relu'(0) = 0 and abs'(0) = 0, as in PyTorch."""
    assert [value_of(g) for g in OPS[name].partials(0.0, 0.0)] == [0.0]
    x = Value(0.0)
    y = getattr(x, name)()
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)


@pytest.mark.parametrize("x, slope", [(-1e-12, 0.0), (1e-12, 1.0)])
def test_relu_gradient_either_side_of_zero(x, slope):
    v = Value(x)
    v.relu().backward()
    assert v.grad == slope


def test_sum_adds_left_to_right_like_the_chain():
    """Σ(x0, x1, …) is bit-for-bit ((x0 + x1) + x2) + …, so a neuron built with it keeps the chain's floats."""
    xs = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7]
    chain = xs[0]
    for x in xs[1:]:
        chain = chain + x
    leaves = [Value(x) for x in xs]
    out = apply(OPS["sum"], *leaves)
    assert out.data == chain and out.data != sum(sorted(xs))
    out.backward()
    assert [v.grad for v in leaves] == [1.0] * len(xs)
    assert OPS["sum"].arity is None and out.children == tuple(leaves)


def test_sum_needs_an_input():
    with pytest.raises(TypeError, match="sum: needs at least one input"):
        apply(OPS["sum"])
