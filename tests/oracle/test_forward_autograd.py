"""Forward mode and curvature on random expression DAGs against HIPS autograd (make_jvp,
hessian_vector_product, hessian, jacobian), and the three sweeps against each other."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobp import Value, grad, hessian, hvp, jacobian, jvp, vjp
from autobp.engine import apply
from autobp.ops import Op, value_of
from strategies import AUTOBP, autobp_function, finite, programs, run

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
from oracle.test_autograd import AUTOGRAD, close  # noqa: E402  (the op table written for autograd)

EXAMPLES = settings().max_examples


def _autograd_f(program, outputs):
    """The program in autograd.numpy, returning the nodes `outputs` (a list of indices) or the last node."""
    def f(x):
        nodes = run(program, [x[i] for i in range(len(program.inputs))], AUTOGRAD)
        return nodes[-1] if outputs is None else anp.array([nodes[k] for k in outputs])
    return f


def _scale(*values) -> float:
    return max([1.0, *(abs(float(v)) for v in values)])


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@settings(max_examples=EXAMPLES)
@given(programs(), st.data())
def test_jvp_hvp_and_hessian_match_autograd(program, data):
    n = len(program.inputs)
    u = data.draw(st.lists(finite, min_size=n, max_size=n), label="u")
    x, ua = anp.array(program.inputs, dtype=float), anp.array(u, dtype=float)
    f = _autograd_f(program, None)
    want_value, want_jvp = autograd.make_jvp(f)(x)(ua)
    want_grad = autograd.grad(f)(x)
    want_hvp = autograd.hessian_vector_product(f)(x, ua)
    want_hess = autograd.hessian(f)(x)

    out, t = jvp(autobp_function(program), list(program.inputs), u)
    assert close(out.data, float(want_value), 1.0)
    assert close(t.data, float(want_jvp), _scale(*(g * ui for g, ui in zip(want_grad, u)))), (t.data, want_jvp)

    hv = hvp(autobp_function(program), list(program.inputs), u)
    h_scale = _scale(*(h * ui for row in want_hess for h, ui in zip(row, u)))
    for i in range(n):
        assert close(hv[i].data, float(want_hvp[i]), h_scale), ("hvp", i, hv[i].data, want_hvp[i])

    H = hessian(autobp_function(program), list(program.inputs))
    full_scale = _scale(*want_hess.ravel())
    for i in range(n):
        for j in range(n):
            assert close(H[i][j].data, float(want_hess[i][j]), full_scale), ("hessian", i, j)
            assert H[i][j].data == pytest.approx(H[j][i].data, rel=1e-12, abs=1e-12 * full_scale)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@settings(max_examples=EXAMPLES)
@given(programs(), st.data())
def test_jacobian_and_vjp_of_several_nodes_match_autograd(program, data):
    size = program.size
    outputs = sorted(set(data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4), label="outputs")))
    want = autograd.jacobian(_autograd_f(program, outputs))(anp.array(program.inputs, dtype=float))
    scale = _scale(*want.ravel())
    for mode in ("forward", "reverse"):
        J = jacobian(autobp_function(program, outputs), list(program.inputs), mode=mode)
        for k in range(len(outputs)):
            for i in range(len(program.inputs)):
                assert close(J[k][i].data, float(want[k][i]), scale), (mode, k, i, J[k][i].data, want[k][i])
    v = data.draw(st.lists(finite, min_size=len(outputs), max_size=len(outputs)), label="v")
    _, pullback = vjp(autobp_function(program, outputs), list(program.inputs))
    vJ = want.T @ anp.array(v, dtype=float)
    for i, g in enumerate(pullback(v)):
        assert close(g.data, float(vJ[i]), scale * _scale(*v) * len(v)), ("vjp", i)


# An op outside the table whose partial is undefined below 0: the sweeps must fail alike there.
RISKY = Op("risky", lambda x: x, lambda out, x: (_risky_partial(x),), ("1 (undefined for x < 0)",))


def _risky_partial(x) -> float:
    if value_of(x) < 0:
        raise ValueError(f"risky: no derivative below 0, got {value_of(x)!r}")
    return 1.0


def _outcome(compute):
    """('value', numbers) or ('error', type) of one sweep."""
    try:
        return "value", compute()
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        return "error", type(e)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@settings(max_examples=EXAMPLES)
@given(programs(), st.data())
def test_jvp_grad_and_grad_create_graph_agree_or_fail_alike(program, data):
    """jvp·u = uᵀ∇f, and the three sweeps give the same numbers or the same error."""
    n = len(program.inputs)
    u = data.draw(st.lists(finite, min_size=n, max_size=n), label="u")
    risky_node = data.draw(st.none() | st.integers(0, program.size - 1), label="risky node")

    def f(*xs):
        nodes = run(program, list(xs), AUTOBP)
        return nodes[-1] if risky_node is None else nodes[-1] + apply(RISKY, nodes[risky_node])

    def by_jvp():
        return [jvp(f, list(program.inputs), u)[1].data]

    def by_grad(create_graph):
        def compute():
            leaves = [Value(v) for v in program.inputs]
            return [sum(g.data * ui for g, ui in zip(grad(f(*leaves), leaves, create_graph=create_graph), u))]
        return compute

    outcomes = [_outcome(by_jvp), _outcome(by_grad(False)), _outcome(by_grad(True))]
    kinds = {kind for kind, _ in outcomes}
    assert len(kinds) == 1, outcomes
    if kinds == {"error"}:
        assert len({what for _, what in outcomes}) == 1, outcomes
    else:
        leaves = [Value(v) for v in program.inputs]
        terms = [abs(g.data * ui) for g, ui in zip(grad(f(*leaves), leaves), u)]
        reference = outcomes[0][1][0]
        for _, (value,) in outcomes[1:]:
            assert value == pytest.approx(reference, rel=1e-12, abs=1e-12 * _scale(*terms)), outcomes


def test_the_risky_op_makes_all_three_sweeps_fail_alike():
    """The property above can fail: where RISKY's partial is undefined, each sweep raises it."""
    def f(x):
        return x * x + apply(RISKY, x - 5.0)
    x = Value(1.0)
    for sweep in (lambda: jvp(f, [1.0], [1.0]), lambda: grad(f(x), [x]), lambda: grad(f(x), [x], create_graph=True)):
        with pytest.raises(ValueError, match=r"risky: no derivative below 0, got -4\.0"):
            sweep()
