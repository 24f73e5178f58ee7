"""grad(): no side effects, detached or differentiable results, higher derivatives vs closed forms."""

from __future__ import annotations

import math

import pytest

from autobp import Value, grad


def test_grad_leaves_dot_grad_untouched():
    x, y = Value(1.5), Value(-0.5)
    out = (x * y).tanh() + x
    out.backward()
    before = [x.grad, y.grad, out.grad]
    gx, gy = grad(out, [x, y])
    grad(out, [x, y], create_graph=True)
    assert [x.grad, y.grad, out.grad] == before
    assert (gx.data, gy.data) == (x.grad, y.grad)


def test_grad_without_create_graph_gives_detached_leaves():
    x = Value(2.0)
    (g,) = grad(x * x * x, [x])
    assert (g.data, g.op, g.children) == (12.0, "", ())
    (g2,) = grad(x * x * x, [x], create_graph=True)
    assert g2.data == 12.0 and g2.children


def test_grad_accepts_a_single_value():
    x = Value(3.0)
    assert [g.data for g in grad(x.exp(), x)] == [pytest.approx(math.exp(3.0), rel=1e-15)]


@pytest.mark.parametrize("x0", [-2.0, -0.3, 0.0, 0.7, 1.9])
def test_grad_second_derivative_of_tanh(x0):
    """d²/dx² tanh(x) = -2 tanh(x) (1 - tanh²(x))."""
    x = Value(x0)
    (d1,) = grad(x.tanh(), [x], create_graph=True)
    (d2,) = grad(d1, [x])
    t = math.tanh(x0)
    assert d1.data == pytest.approx(1 - t * t, rel=1e-14)
    assert d2.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("x0, y0", [(0.5, -1.2), (1.3, 0.4), (-0.8, 2.0)])
def test_grad_full_hessian_of_x2y_plus_exp_xy(x0, y0):
    """f = x²y + e^{xy}:  f_xx = 2y + y²e^{xy},  f_xy = 2x + e^{xy}(1 + xy),  f_yy = x²e^{xy}."""
    x, y = Value(x0), Value(y0)
    f = x ** 2 * y + (x * y).exp()
    gx, gy = grad(f, [x, y], create_graph=True)
    e = math.exp(x0 * y0)
    assert gx.data == pytest.approx(2 * x0 * y0 + y0 * e, rel=1e-13)
    assert gy.data == pytest.approx(x0 ** 2 + x0 * e, rel=1e-13)
    hessian = [[h.data for h in grad(g, [x, y])] for g in (gx, gy)]
    expected = [[2 * y0 + y0 ** 2 * e, 2 * x0 + e * (1 + x0 * y0)],
                [2 * x0 + e * (1 + x0 * y0), x0 ** 2 * e]]
    for row, want in zip(hessian, expected):
        assert row == pytest.approx(want, rel=1e-12)


def test_grad_third_derivative_of_a_polynomial():
    """p = 2x⁴ - 3x³ + x - 5:  p''' = 48x - 18."""
    x = Value(1.75)
    p = 2 * x ** 4 - 3 * x ** 3 + x - 5
    (d1,) = grad(p, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x], create_graph=True)
    (d4,) = grad(d3, [x])
    xv = 1.75
    assert d1.data == pytest.approx(8 * xv ** 3 - 9 * xv ** 2 + 1, rel=1e-14)
    assert d2.data == pytest.approx(24 * xv ** 2 - 18 * xv, rel=1e-14)
    assert d3.data == pytest.approx(48 * xv - 18, rel=1e-14)
    assert d4.data == pytest.approx(48.0, rel=1e-14)


def test_grad_second_derivative_through_shared_nodes():
    """f = (a + a)·a = 2a²: f' = 4a, f'' = 4 (reuse inside the graph built by create_graph)."""
    a = Value(-0.6)
    (d1,) = grad((a + a) * a, [a], create_graph=True)
    (d2,) = grad(d1, [a])
    assert (d1.data, d2.data) == (pytest.approx(-2.4, rel=1e-15), 4.0)


def test_grad_input_not_reached_gets_zero():
    x, y, unused = Value(1.0), Value(2.0), Value(3.0)
    out = x * y
    assert [g.data for g in grad(out, [x, unused, y])] == [2.0, 0.0, 1.0]
    assert [g.data for g in grad(out, [unused], create_graph=True)] == [0.0]


def test_grad_of_the_output_itself_is_one():
    x = Value(1.0)
    out = x.exp()
    assert [g.data for g in grad(out, [out])] == [1.0]
    assert [g.data for g in grad(out, [out], create_graph=True)] == [1.0]


def test_grad_rejects_non_values():
    x = Value(1.0)
    with pytest.raises(TypeError, match="float"):
        grad(x * 2, [1.0])
    with pytest.raises(TypeError, match="float"):
        grad(2.0, [x])
