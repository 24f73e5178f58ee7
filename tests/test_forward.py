"""Forward mode and curvature (autobp.forward) against closed forms, and the ways the sweeps compose."""

import math

import pytest

from autobp import Value, define_op, grad, hessian, hvp, jacobian, jvp, no_grad, vjp
from autobp.engine import topo_order
from autobp.forward import Linearization, forward_sweep


def _f(x, y):
    """f = x·y + eˣ + y³: ∇f = (y + eˣ, x + 3y²), H = [[eˣ, 1], [1, 6y]]."""
    return x * y + x.exp() + y ** 3


def _grad_f(x, y):
    return [y + math.exp(x), x + 3 * y * y]


def _hess_f(x, y):
    return [[math.exp(x), 1.0], [1.0, 6 * y]]


X, Y = 0.7, -1.3


# -- jvp ---------------------------------------------------------------------------

@pytest.mark.parametrize("u", [(1.0, 0.0), (0.0, 1.0), (0.3, -2.0)])
def test_jvp_is_the_directional_derivative(u):
    out, t = jvp(_f, [X, Y], list(u))
    g = _grad_f(X, Y)
    assert out.data == pytest.approx(X * Y + math.exp(X) + Y ** 3, rel=1e-15)
    assert t.data == pytest.approx(g[0] * u[0] + g[1] * u[1], rel=1e-14)
    assert isinstance(t, Value) and t.op == ""            # detached, as grad() without create_graph


def test_jvp_of_a_list_of_outputs_gives_a_list_of_tangents():
    outs, ts = jvp(lambda x, y: [x * y, x / y, y], [3.0, 2.0], [1.0, 1.0])
    assert [o.data for o in outs] == [6.0, 1.5, 2.0]
    assert [t.data for t in ts] == pytest.approx([2.0 + 3.0, 1 / 2 - 3 / 4, 1.0], rel=1e-15)


def test_jvp_uses_given_values_as_they_are_and_leaves_grads_alone():
    x, y = Value(X, "x"), Value(Y, "y")
    out, t = jvp(_f, [x, y], [1.0, 0.0])
    assert x in topo_order(out) and y in topo_order(out)          # built on the given leaves themselves
    assert grad(out, [x])[0].data == pytest.approx(t.data, rel=1e-15)
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)


def test_jvp_through_a_shared_subexpression_and_a_plus_a():
    # s = x·x feeds s + s and then the product again: f = (s + s)·s = 2x⁴, f' = 8x³
    def f(x):
        s = x * x
        return (s + s) * s
    _, t = jvp(f, [1.5], [1.0])
    assert t.data == pytest.approx(8 * 1.5 ** 3, rel=1e-15)


def test_jvp_of_an_input_itself_and_of_a_constant_output():
    _, t = jvp(lambda x, y: x, [2.0, 3.0], [5.0, 7.0])
    assert t.data == 5.0
    _, t = jvp(lambda x: Value(4.0), [2.0], [1.0])
    assert t.data == 0.0


def test_jvp_input_given_twice_counts_both_directions_as_grad_does():
    x = Value(1.5)
    _, t = jvp(lambda a, b: a * b, [x, x], [1.0, 2.0])     # f(x, x) = x²: grad gives [2x, 2x]
    g = grad(x * x, [x, x])
    assert t.data == pytest.approx(g[0].data * 1.0 + g[1].data * 2.0)


def test_jvp_of_a_define_op_uses_its_partials():
    cube = define_op("fwd_cube", lambda x: x ** 3, lambda out, x: (3 * x * x,), ["3*x^2"])
    _, t = jvp(lambda x: cube(x), [2.0], [1.0])
    assert t.data == 12.0


def test_forward_sweep_on_a_built_graph_and_linearization_reuse():
    a, b = Value(2.0), Value(-3.0)
    c = (a * b).tanh()
    (ta,) = forward_sweep(c, {a: 1.0})
    assert ta.data == pytest.approx((1 - math.tanh(-6.0) ** 2) * -3.0, rel=1e-15)
    linear = Linearization([c])
    assert [linear.push({a: 1.0})[0].data, linear.push({b: 1.0})[0].data] == \
        [g.data for g in grad(c, [a, b])]


# -- composition ---------------------------------------------------------------------

def test_forward_over_reverse_gives_the_hessian_vector_product():
    v = [0.5, -2.0]

    def gradient(x, y):
        return grad(_f(x, y), [x, y], create_graph=True)
    _, hv = jvp(gradient, [X, Y], v)
    H = _hess_f(X, Y)
    want = [H[0][0] * v[0] + H[0][1] * v[1], H[1][0] * v[0] + H[1][1] * v[1]]
    assert [t.data for t in hv] == pytest.approx(want, rel=1e-14)


def test_reverse_over_forward_differentiates_the_tangent():
    x, y = Value(X), Value(Y)
    _, t = jvp(_f, [x, y], [1.0, 0.0], create_graph=True)      # ∂f/∂x as a graph of x and y
    assert t.op != ""
    H = _hess_f(X, Y)
    assert [g.data for g in grad(t, [x, y])] == pytest.approx([H[0][0], H[1][0]], rel=1e-14)


def test_value_tangents_make_the_tangent_a_function_of_the_direction():
    u, v = Value(0.5), Value(-1.0)
    _, t = jvp(_f, [X, Y], [u, v], create_graph=True)
    # t = ∇f·(u, v) is linear in the direction: ∂t/∂u = ∂f/∂x, ∂t/∂v = ∂f/∂y
    assert [g.data for g in grad(t, [u, v])] == pytest.approx(_grad_f(X, Y), rel=1e-14)
    # without create_graph a Value tangent is read as its number
    _, t2 = jvp(_f, [X, Y], [u, v])
    assert t2.data == pytest.approx(t.data, rel=1e-15) and t2.op == ""


def test_forward_over_forward_gives_second_derivatives():
    def first(x):
        return jvp(lambda z: z.tanh() * z, [x], [1.0], create_graph=True)[1]
    x0 = 0.4
    _, second = jvp(first, [x0], [1.0])
    th = math.tanh(x0)
    # d²/dx² (x·tanh x) = 2(1 − th²) − 2x·th(1 − th²)
    assert second.data == pytest.approx(2 * (1 - th * th) - 2 * x0 * th * (1 - th * th), rel=1e-13)


# -- vjp -------------------------------------------------------------------------------

def test_vjp_pullback_of_one_and_of_several_outputs():
    out, pullback = vjp(_f, [X, Y])
    assert [g.data for g in pullback(1.0)] == pytest.approx(_grad_f(X, Y), rel=1e-15)
    assert [g.data for g in pullback(-2.0)] == pytest.approx([-2 * g for g in _grad_f(X, Y)], rel=1e-15)
    outs, pullback = vjp(lambda x, y: [x * y, x + y, y.exp()], [3.0, 4.0])
    assert [g.data for g in pullback([1.0, 10.0, 0.5])] == pytest.approx([4 + 10, 3 + 10 + 0.5 * math.exp(4)])


def test_vjp_agrees_with_jvp_both_ways():
    """⟨v, J u⟩ = ⟨Jᵀ v, u⟩ for a vector function."""
    def f(x, y, z):
        return [x * y * z, (x - z).tanh(), y / (1 + z * z)]
    p, u, v = [0.3, -1.1, 0.8], [1.0, 2.0, -0.5], [0.7, -1.2, 2.5]
    _, ts = jvp(f, p, u)
    _, pullback = vjp(f, p)
    left = sum(vi * t.data for vi, t in zip(v, ts))
    right = sum(g.data * ui for g, ui in zip(pullback(v), u))
    assert left == pytest.approx(right, rel=1e-14)


def test_vjp_with_create_graph_is_differentiable():
    x = Value(X)
    _, pullback = vjp(lambda x: x ** 3, [x], create_graph=True)
    (g,) = pullback(1.0)
    assert grad(g, [x])[0].data == pytest.approx(6 * X, rel=1e-15)


# -- hvp, hessian, jacobian --------------------------------------------------------------

def test_hvp_and_hessian_match_the_closed_form():
    H = _hess_f(X, Y)
    v = [1.5, -0.25]
    assert [h.data for h in hvp(_f, [X, Y], v)] == pytest.approx(
        [H[0][0] * v[0] + H[0][1] * v[1], H[1][0] * v[0] + H[1][1] * v[1]], rel=1e-14)
    got = [[h.data for h in row] for row in hessian(_f, [X, Y])]
    assert got == [pytest.approx(row, rel=1e-14) for row in H]


def test_hessian_is_symmetric_to_rounding_on_a_tangled_function():
    def f(a, b, c, d):
        s = (a * b + c).tanh()
        return s * s.exp() + (b / (1 + d * d)) ** 3 + (a * d).sigmoid() * c.softplus()
    H = [[h.data for h in row] for row in hessian(f, [0.3, -0.7, 1.1, 0.5])]
    for i in range(4):
        for j in range(4):
            assert H[i][j] == pytest.approx(H[j][i], rel=1e-12, abs=1e-15)


def test_hessian_with_create_graph_gives_third_derivatives():
    x = Value(0.5)
    ((h,),) = hessian(lambda x: x ** 4, [x], create_graph=True)
    assert h.data == pytest.approx(12 * 0.25) and grad(h, [x])[0].data == pytest.approx(24 * 0.5)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_in_every_mode(mode):
    def f(x, y, z):
        return [x * y, y + z, (x * z).exp()]
    p = [0.5, -1.0, 2.0]
    e = math.exp(0.5 * 2.0)
    want = [[-1.0, 0.5, 0.0], [0.0, 1.0, 1.0], [2.0 * e, 0.0, 0.5 * e]]
    got = [[d.data for d in row] for row in jacobian(f, p, mode=mode)]
    assert got == [pytest.approx(row, rel=1e-15) for row in want]


def test_jacobian_of_one_value_is_one_row_and_equals_the_gradient():
    J = jacobian(_f, [X, Y])
    assert len(J) == 1 and [d.data for d in J[0]] == pytest.approx(_grad_f(X, Y), rel=1e-15)
    assert [d.data for d in jacobian(_f, [X, Y], mode="forward")[0]] == pytest.approx(_grad_f(X, Y), rel=1e-15)


# -- errors -------------------------------------------------------------------------------

def test_the_sweeps_raise_the_same_error_where_a_partial_fails():
    # sqrt'(0) = 0.5/0: the forward sweep reaches the sqrt node through x; the backward sweep with
    # create_graph evaluates its partial too
    def f(x):
        return (x - 1.0).relu() * x.sqrt()
    with pytest.raises(ZeroDivisionError) as forward:
        jvp(f, [0.0], [1.0])
    with pytest.raises(ZeroDivisionError) as forward_graph:
        jvp(f, [0.0], [1.0], create_graph=True)
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError) as backward_graph:
        grad(f(x), [x], create_graph=True)
    # the same node and inputs named; the float and the Value division word the cause differently
    assert str(forward.value).startswith("backward through 'sqrt' at inputs (0.0): ")
    assert str(forward_graph.value) == str(backward_graph.value)


def test_the_float_backward_sweep_raises_the_same_error_as_jvp():
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError):
        grad((x - 1.0).relu() * x.sqrt(), [x])


def test_jvp_raises_overflow_where_the_backward_sweep_does():
    x = Value(5e-324)
    with pytest.raises(OverflowError):
        grad(x.log(), [x])
    with pytest.raises(OverflowError, match="tangent"):
        jvp(lambda x: x.log(), [5e-324], [1.0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: jvp(_f, [1.0, 2.0], [1.0]), ValueError, "jvp: tangents has 1 component for 2 inputs"),
    (lambda: hvp(_f, [1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, "hvp: v has 3 components for 2 inputs"),
    (lambda: jvp(_f, [1.0, 2.0], [1.0, float("nan")]), TypeError, "finite number or a Value, got float: nan"),
    (lambda: jvp(_f, [1.0, 2.0], [1.0, "1"]), TypeError, "got str"),
    (lambda: jvp(_f, 1.0, [1.0]), TypeError, "inputs must be a list of numbers or Values, got float"),
    (lambda: jvp(_f, [1.0, 2.0], "ab"), TypeError, "the direction must be a list"),
    (lambda: jvp(lambda x: x.data, [1.0], [1.0]), TypeError, "f must return a Value or a list of Values, got float"),
    (lambda: jvp(lambda x: [x, 2.0], [1.0], [1.0]), TypeError, "got float: 2.0"),
    (lambda: hvp(lambda x: [x, x], [1.0], [1.0]), TypeError, "hvp: f must return one Value"),
    (lambda: hessian(lambda x: 3.0, [1.0]), TypeError, "hessian: f must return one Value"),
    (lambda: jacobian(_f, [1.0, 2.0], mode="sideways"), ValueError, "mode must be"),
    (lambda: vjp(lambda x, y: [x, y], [1.0, 2.0])[1]([1.0]), ValueError,
     "vjp pullback: v has 1 component for 2 outputs"),
    (lambda: forward_sweep(Value(1.0), {1.0: 1.0}), TypeError, "seeds must map Values"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_partials_function_with_the_wrong_count_is_named():
    bad = define_op("fwd_two_partials", lambda x: x, lambda out, x: (1.0, 2.0), ["1"])
    with pytest.raises(TypeError, match=r"op 'fwd_two_partials': partials returned 2 derivative\(s\) for 1 input"):
        jvp(lambda x: bad(x), [1.0], [1.0])


@pytest.mark.parametrize("call", [lambda: jvp(_f, [X, Y], [1.0, 0.0]), lambda: vjp(_f, [X, Y]),
                                  lambda: hvp(_f, [X, Y], [1.0, 0.0]), lambda: hessian(_f, [X, Y]),
                                  lambda: jacobian(_f, [X, Y])], ids=["jvp", "vjp", "hvp", "hessian", "jacobian"])
def test_inside_no_grad_the_functions_refuse_rather_than_return_zeros(call):
    with no_grad():
        with pytest.raises(RuntimeError, match="inside no_grad\\(\\) f builds no graph"):
            call()


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_pullback_called_inside_no_grad_refuses_rather_than_return_zeros(create_graph):
    _, pullback = vjp(lambda a, b: [a * b, a + b], [3.0, 4.0], create_graph=create_graph)
    with no_grad():
        with pytest.raises(RuntimeError, match="vjp pullback: inside no_grad"):
            pullback([1.0, 10.0])
    assert [g.data for g in pullback([1.0, 10.0])] == [14.0, 13.0]       # (y + 10, x + 10) outside it


@pytest.mark.parametrize("create_graph", [False, True])
def test_the_pullback_of_no_outputs_is_zero(create_graph):
    out, pullback = vjp(lambda x, y: [], [1.0, 2.0], create_graph=create_graph)
    assert out == [] and [g.data for g in pullback([])] == [0.0, 0.0]


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_partial_raises_overflow_naming_the_op_in_every_sweep(value):
    bad = define_op(f"fwd_nonfinite_{value}", lambda x: x, lambda out, x: (value,), ["?"])
    f = lambda x: bad(x) * 3.0                                              # noqa: E731
    calls = {
        "grad": lambda: (lambda x: grad(f(x), [x]))(Value(1.0)),
        "backward": lambda: f(Value(1.0)).backward(),
        "grad create_graph": lambda: (lambda x: grad(f(x), [x], create_graph=True))(Value(1.0)),
        "jvp": lambda: jvp(f, [1.0], [1.0]),
        "jvp create_graph": lambda: jvp(f, [1.0], [1.0], create_graph=True),
        "hvp": lambda: hvp(lambda x: f(x) * x, [1.0], [1.0]),
        "hessian": lambda: hessian(lambda x: f(x) * x, [1.0]),
    }
    for name, call in calls.items():
        with pytest.raises(OverflowError, match=f"'fwd_nonfinite_{value}'"):
            call()


def test_hvp_and_hessian_name_themselves_when_a_tangent_overflows():
    with pytest.raises(OverflowError, match=r"^hvp: .*gradient's graph"):
        hvp(lambda x: x.log(), [1e-200], [1.0])
    with pytest.raises(OverflowError, match=r"^hessian: "):
        hessian(lambda x: x.log(), [1e-200])


def test_with_two_failing_partials_jvp_names_the_node_the_backward_sweep_meets_first():
    def f(x):
        a, b = x.sqrt(), (x * 1.0).sqrt()         # sqrt'(0) fails at both; b is created last
        a.label, b.label = "a", "b"
        return (x - 1.0).relu() * (a + b)
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError, match="node 'b'"):
        grad(f(x), [x], create_graph=True)
    with pytest.raises(ZeroDivisionError, match="node 'b'"):
        jvp(f, [0.0], [1.0])


def test_tuples_and_numpy_arrays_are_accepted_as_inputs_and_directions():
    np = pytest.importorskip("numpy")
    _, t = jvp(_f, np.array([X, Y]), (1.0, 0.0))
    assert t.data == pytest.approx(_grad_f(X, Y)[0], rel=1e-15)
    assert [h.data for h in hvp(_f, (X, Y), np.array([0.0, 1.0]))] == pytest.approx(
        [row[1] for row in _hess_f(X, Y)], rel=1e-14)


def test_hvp_is_one_gradient_and_one_sweep_and_hessian_n_sweeps(monkeypatch):
    import autobp.forward as forward
    calls = {"grad": 0, "push": 0}
    real_grad, real_push = forward.grad, forward.Linearization.push_in_python

    def counting_grad(*args, **kwargs):
        calls["grad"] += 1
        return real_grad(*args, **kwargs)

    def counting_push(self, seeds):
        calls["push"] += 1
        return real_push(self, seeds)
    monkeypatch.setattr(forward, "grad", counting_grad)
    monkeypatch.setattr(forward.Linearization, "push_in_python", counting_push)
    monkeypatch.setattr(forward, "_C", None)        # the Python reference (the C twin makes no gradient graph)

    def f(*xs):
        return sum((x * x.tanh() for x in xs), Value(0.0))
    hvp(f, [0.1 * i for i in range(6)], [1.0] * 6)
    assert calls == {"grad": 1, "push": 1}
    calls.update(grad=0, push=0)
    hessian(f, [0.1 * i for i in range(6)])
    assert calls == {"grad": 1, "push": 6}


@pytest.mark.parametrize("compiled", [True, False], ids=["as installed", "Python reference"])
def test_hvp_calls_each_partials_twice_whatever_the_number_of_inputs(compiled, monkeypatch):
    """The cost of hvp grows with the graph, not with n: each node's partials run at most twice.

    On Values while the gradient is built, and (in C) on floats in the tangent sweep of f's graph.
    """
    import autobp.forward as forward
    if not compiled:
        monkeypatch.setattr(forward, "_C", None)
    calls = [0]

    def partials(out, x):
        calls[0] += 1
        return (2 * x,)
    square = define_op("t_counted_square", lambda x: x * x, partials, ["2x"])
    per_node = []
    for n in (3, 30):
        calls[0] = 0
        h = hvp(lambda *xs: sum((square(x) for x in xs), Value(0.0)), [0.1 * i for i in range(n)], [1.0] * n)
        assert [v.data for v in h] == [2.0] * n
        per_node.append(calls[0] / n)
    assert per_node[0] == per_node[1] <= 2
