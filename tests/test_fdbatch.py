"""gradcheck's finite differences from one batch: the replayed graph equals a loop of graph builds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from autobp import Value
from autobp.fdbatch import central_differences
from autobp.gradcheck import check_mlp, gradcheck
from autobp.nn import MLP
from strategies import ARITHMETIC, programs, run
from test_tape import AUTOBP, _sum

BACKEND = {**AUTOBP, "sum": _sum}


def _loop(f, leaves, eps):
    """f at x ± eps·e_i, one graph build per point, and whether a relu/abs input changed sign."""
    def at(i, d):
        saved = leaves[i].data
        leaves[i].data = saved + d
        try:
            out = f(leaves)
            from autobp.engine import topo_order
            return out.data, tuple(np.sign(n.children[0].data) for n in topo_order(out)
                                   if n.op in ("relu", "abs") and n.children)
        finally:
            leaves[i].data = saved
    base = at(0, 0.0)[1]
    plus, minus, kinks = [], [], []
    for i in range(len(leaves)):
        (p, up), (m, down) = at(i, eps), at(i, -eps)
        plus.append(p), minus.append(m), kinks.append(up != base or down != base)
    return plus, minus, kinks


@settings(max_examples=60)
@given(program=programs())
def test_central_differences_equal_one_graph_per_point(program):
    leaves = [Value(x) for x in program.inputs]

    def f(xs):
        return run(program, xs, BACKEND)[-1]

    out = f(leaves)
    plus, minus, kinks = central_differences(out, leaves, 1e-6)
    want_plus, want_minus, want_kinks = _loop(f, leaves, 1e-6)
    scale = max(1.0, abs(out.data))
    np.testing.assert_allclose(plus, want_plus, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(minus, want_minus, rtol=1e-9, atol=1e-9 * scale)
    assert kinks == want_kinks


def test_central_differences_flag_a_kink_straddled():
    x, y = Value(1e-7, "x"), Value(2.0, "y")
    out = (x.relu() + y.abs()) * y
    _, _, kinks = central_differences(out, [x, y], 1e-6)
    assert kinks == [True, False]


def test_gradcheck_builds_the_graph_twice_for_all_2n_points():
    calls = []

    def f(a, b, c):
        calls.append(1)
        return (a * b + c).tanh() * a

    report = gradcheck(f, [0.5, -0.3, 0.8])
    assert report.passed and len(calls) == 2       # at x, then on placeholders for the replay (not 2n + 1)


def _detached(a):
    return a * Value(a.data)                        # the classic detach bug: d/da is 2a, the engine says a


def _branchy(a, b):
    return a * b if a.data > b.data else a + b      # a branch on the values, taken differently h away


def _exp_of_data(a):
    import math
    return a * math.exp(a.data)


@pytest.mark.parametrize("f, inputs", [(_detached, [1.5]), (_exp_of_data, [0.5]), (_branchy, [1.0, 1.0 + 1e-7])],
                         ids=["detached", "exp of .data", "branch"])
def test_gradcheck_evaluates_f_itself_where_f_reads_data(f, inputs):
    """A replayed graph would repeat the engine's own answer; f reading .data must be evaluated point by point."""
    calls = []

    def counted(*xs):
        calls.append(1)
        return f(*xs)

    report = gradcheck(counted, inputs)
    assert not report.passed
    assert len(calls) == 2 + 2 * len(inputs)        # at x, the placeholder run that stopped, then 2n points


def test_gradcheck_of_a_value_subclass_evaluates_point_by_point():
    from autobp.micrograd.engine import Value as MicrogradValue
    calls = []

    def f(a):
        calls.append(1)
        return a * MicrogradValue(a.data)

    assert not gradcheck(f, [MicrogradValue(1.5)]).passed and len(calls) == 3


def test_gradcheck_falls_back_to_one_point_at_a_time_to_name_a_point_outside_the_domain():
    with pytest.raises(ValueError, match=r"f fails at a nearby point \(x0 = 1e-07 moved by -1e-06\)"):
        gradcheck(lambda x: x.log(), [1e-7])


def test_check_mlp_passes_and_a_wrong_gradient_still_fails():
    mlp = MLP(4, [5, 3], activation="sigmoid", output_activation="sigmoid", seed=1)
    X = np.random.default_rng(2).normal(size=(3, 4))
    Y = np.random.default_rng(3).random(size=(3, 3))
    report = check_mlp(mlp, X, Y)
    assert report.passed and len(report.rows) == len(mlp.parameters())
    from autobp import define_op
    bad = define_op("fd_bad_square", lambda x: x * x, lambda out, x: (2.2 * x,), ["2*x"])
    assert not gradcheck(lambda a, b: bad(a) * b, [0.7, 1.3]).passed
