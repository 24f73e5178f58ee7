"""define_op: a user op joins the table and is differentiated like a built-in one, to any order."""

from __future__ import annotations

import pytest

from autobp import Value, define_op, grad
from autobp.ops import OPS


def _define(name, *args, **kwargs):
    """define_op; conftest's autouse fixture removes the op from the shared table after the test."""
    return define_op(name, *args, **kwargs)


def _central_difference(f, x0: float, h: float = 1e-6) -> float:
    return (f(x0 + h) - f(x0 - h)) / (2 * h)


def test_define_op_cube_is_in_the_table_and_differentiates_to_second_order():
    cube = _define("t_cube", lambda x: x ** 3, lambda out, x: (3 * x ** 2,), ["3*x^2"])
    assert OPS["t_cube"].formulas == ("3*x^2",) and OPS["t_cube"].arity == 1
    x = Value(-1.3)
    y = cube(x)
    assert (y.op, y.children, y.data) == ("t_cube", (x,), pytest.approx(-1.3 ** 3, rel=1e-15))
    y.backward()
    assert x.grad == pytest.approx(3 * 1.3 ** 2, rel=1e-15)
    (d1,) = grad(y, [x], create_graph=True)
    (d2,) = grad(d1, [x])
    assert (d1.data, d2.data) == (pytest.approx(3 * 1.3 ** 2, rel=1e-15), pytest.approx(6 * -1.3, rel=1e-15))


def test_define_op_inside_a_larger_graph():
    """softsign(x) = x / (1 + |x|), derivative 1 / (1 + |x|)²; f = softsign(x·y) + x."""
    softsign = _define("t_softsign", lambda x: x / (1 + abs(x)),
                       lambda out, x: (1 / (1 + abs(x)) ** 2,), ["1/(1+|x|)^2"])
    x, y = Value(0.8), Value(-1.5)
    f = softsign(x * y) + x
    f.backward()
    d = 1 / (1 + abs(0.8 * -1.5)) ** 2
    assert (x.grad, y.grad) == (pytest.approx(d * -1.5 + 1, rel=1e-14), pytest.approx(d * 0.8, rel=1e-14))


def test_define_op_two_inputs_full_hessian():
    """g(x, y) = x·y²: ∂g = (y², 2xy); Hessian [[0, 2y], [2y, 2x]]."""
    g = _define("t_xy2", lambda x, y: x * y * y, lambda out, x, y: (y * y, 2 * x * y), ["y^2", "2*x*y"])
    x, y = Value(1.25), Value(-0.5)
    out = g(x, y)
    assert out.children == (x, y) and OPS["t_xy2"].arity == 2
    out.backward()
    assert (x.grad, y.grad) == (0.25, 2 * 1.25 * -0.5)
    first = grad(out, [x, y], create_graph=True)
    hessian = [[h.data for h in grad(d, [x, y])] for d in first]
    assert hessian == [[0.0, 2 * -0.5], [2 * -0.5, 2 * 1.25]]
    # constants on either side are not wrapped and get no gradient
    assert g(2.0, y).operands == (2.0, y) and g(x, 3.0).operands == (x, 3.0)


def test_define_op_arity_from_forward_when_no_formulas():
    """Without formulas the arity is read from forward's inputs: h(x, y) = xy + y, ∂h = (y, x + 1)."""
    h = _define("t_affine", lambda x, y: x * y + y, lambda out, x, y: (y, x + 1))
    assert OPS["t_affine"].arity == 2
    a, b = Value(2.0), Value(0.3)
    h(a, b).backward()
    assert (a.grad, b.grad) == (0.3, 3.0)


def test_define_op_wrong_partials_is_caught_by_finite_differences():
    """A learner's slip (d/dx x³ written as 2x²) gives a gradient that central differences contradict."""
    wrong = _define("t_cube_wrong", lambda x: x ** 3, lambda out, x: (2 * x ** 2,), ["2*x^2"])
    right = _define("t_cube_right", lambda x: x ** 3, lambda out, x: (3 * x ** 2,), ["3*x^2"])
    for op in (wrong, right):
        x = Value(1.7)
        op(x).backward()
        numeric = _central_difference(lambda v: op(Value(v)).data, 1.7)
        agrees = x.grad == pytest.approx(numeric, rel=1e-6)
        assert agrees is (op is right)


def test_define_op_refuses_a_builtin_name():
    for name in ("tanh", "exp", "relu"):
        before = OPS[name]
        with pytest.raises(ValueError, match=name):
            define_op(name, lambda x: x, lambda out, x: (1.0,), ["1"])
        assert OPS[name] is before


def test_define_op_user_op_can_be_redefined():
    _define("t_twice", lambda x: 3 * x, lambda out, x: (3.0,), ["3"])
    twice = _define("t_twice", lambda x: 2 * x, lambda out, x: (2.0,), ["2"])
    x = Value(5.0)
    y = twice(x)
    y.backward()
    assert (y.data, x.grad) == (10.0, 2.0)


def test_define_op_partials_wrong_count_names_the_op():
    bad = _define("t_bad_count", lambda x: 2 * x, lambda out, x: (2.0, 1.0), ["2"])
    x = Value(1.0)
    y = bad(x) * 3
    with pytest.raises((ValueError, TypeError), match="t_bad_count"):
        y.backward()
    with pytest.raises((ValueError, TypeError), match="t_bad_count"):
        grad(y, [x])
    with pytest.raises((ValueError, TypeError), match="t_bad_count"):
        grad(y, [x], create_graph=True)
    (ok,) = grad(x * 3, [x])                 # the graph's nodes are left usable
    assert ok.data == 3.0


@pytest.mark.parametrize("partial, error", [
    (lambda out, x: ((x - 2.0) ** 0.5,), ValueError),       # a float ** giving a complex number, at x = 1
    (lambda out, x: (1j,), ValueError),
    (lambda out, x: (None,), TypeError),
    (lambda out, x: ("2",), TypeError),
])
def test_a_partial_that_is_not_a_real_number_is_refused_naming_the_op(partial, error):
    """A complex or non-numeric derivative would have landed in .grad (complex) or raised a bare TypeError."""
    bad = _define("t_not_real", lambda x: x, partial, ["?"])
    for run in (lambda x: (bad(x) * 3.0).backward(), lambda x: grad(bad(x) * 3.0, [x])):
        x = Value(1.0)
        with pytest.raises(error, match="backward through 't_not_real'"):
            run(x)
        assert x.grad == 0.0


def test_a_numpy_partial_gives_a_float_gradient_and_its_inf_is_refused():
    np = pytest.importorskip("numpy")
    cos = _define("t_np_cos", lambda x: float(np.sin(x)), lambda out, x: (np.cos(x),), ["cos(x)"])
    x = Value(0.5)
    cos(x).backward()
    assert type(x.grad) is float and x.grad == float(np.cos(0.5))
    inf = _define("t_np_inf", lambda x: x, lambda out, x: (np.float64("inf"),), ["inf"])
    with pytest.raises(OverflowError, match="backward through 't_np_inf'"):
        inf(Value(1.0)).backward()


def test_define_op_bad_definitions_are_refused():
    with pytest.raises(ValueError, match="identifier"):
        define_op("two words", lambda x: x, lambda out, x: (1.0,))
    with pytest.raises(TypeError, match="callable"):
        define_op("t_not_callable", 3.0, lambda out, x: (1.0,))
    assert "t_not_callable" not in OPS


def _half_cube_graph():
    """L = ½·cube(x) at x = 2 through a user op: ∂cube/∂x = 3x² = 12, ∂L/∂x = 1.5x² = 6."""
    cube = _define("t_cube_drawn", lambda x: x ** 3, lambda out, x: (3 * x * x,), ["3*x^2"])
    x = Value(2.0, "x")
    y = cube(x)
    y.label = "y"
    L = y * 0.5
    L.label = "L"
    L.backward()
    return x, L


def test_a_user_op_is_drawn_like_a_built_in_one():
    from autobp.viz import draw_dot

    x, L = _half_cube_graph()
    source = draw_dot(L, edge_derivatives=True).source
    assert "label=t_cube_drawn shape=ellipse" in source
    assert "∂y/∂x = 12" in source               # its partials, evaluated: 3·2²
    assert f"grad {1.5 * 2.0 ** 2:g}" in source   # x's box shows ∂L/∂x = 1.5x²


def test_a_user_op_is_explained_with_its_formula_and_value():
    from autobp.explain import backward_steps, explain

    x, L = _half_cube_graph()
    text = explain(L, x)
    assert "(t_cube_drawn: 3*x^2)" in text
    assert text.rstrip().endswith(f"∂L/∂x = {1.5 * 2.0 ** 2:g}")
    (step,) = [r for r in backward_steps(L).rows if r.op == "t_cube_drawn"]
    assert step.local == 3 * 2.0 ** 2


def test_define_op_redefined_name_leaves_existing_nodes_meaning_what_they_meant():
    """Tools read a node's own op record: redefining 't_scale' later changes neither explain, draw_dot nor backward."""
    from autobp.explain import backward_steps, explain
    from autobp.viz import draw_dot

    scale = _define("t_scale", lambda x: 6 * x, lambda out, x: (6.0,), ["6"])
    x = Value(1.0, "x")
    y = scale(x)
    y.label = "y"
    _define("t_scale", lambda x: 99 * x, lambda out, x: (99.0,), ["99"])
    y.backward()
    assert x.grad == 6.0
    assert explain(y, x).splitlines()[-1] == "∂y/∂x = 6"
    assert backward_steps(y).rows[0].local == 6.0 and backward_steps(y).rows[0].formula == "6"
    assert "∂y/∂x = 6" in draw_dot(y, edge_derivatives=True).source
