"""Random expression DAGs: autobp vs HIPS autograd (values, gradients, full Hessians) and finite differences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from autobp import Value, grad
from autobp.ops import BUILTIN_NAMES
from strategies import ARITHMETIC, AUTOBP, KINKS, MATH, Program, programs, run

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

# Each built-in op written with autograd.numpy, independently of autobp's table.
AUTOGRAD = {
    **ARITHMETIC,
    # A traced exponent (always on a positive base here) as e^{y ln x}: autograd's power rule uses
    # x^where(y, y-1, 1), whose second derivative is wrong at y == 0 exactly.
    "**": lambda x, y: anp.power(x, y) if isinstance(y, float) else anp.exp(y * anp.log(x)),
    "exp": anp.exp,
    "log": anp.log,
    "tanh": anp.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + anp.exp(-x)),
    "relu": lambda x: anp.where(x > 0, x, 0.0),      # relu'(0) = 0, as autobp and PyTorch
    # abs'(0) = 0 and abs'' = 0 exactly (anp.abs's x/|x| rule loses precision near 0 in second order)
    "abs": lambda x: anp.where(x > 0, x, anp.where(x < 0, -x, 0.0)),
    "sqrt": anp.sqrt,
    "softplus": lambda x: anp.logaddexp(0.0, x),
}

REL = 1e-9
# A graph takes ~3 ms, so check five times the profile's count (1000 graphs under the `ci` profile).
EXAMPLES = 5 * settings().max_examples
CHECKED = {"graphs": 0, "nodes": 0, "finite_differences": 0}


def close(actual: float, expected: float, floor: float) -> bool:
    """|actual - expected| within REL relative, or within REL·floor near 0 (floor: the scale of the quantity)."""
    return abs(actual - expected) <= REL * max(abs(expected), floor)


def _scale(values) -> float:
    return max([1.0, *(abs(float(v)) for v in values)])


def _autograd_f(program: Program):
    def f(x):
        return run(program, [x[i] for i in range(len(program.inputs))], AUTOGRAD)[-1]
    return f


def _finite_difference(program: Program, i: int) -> float | None:
    """Central difference of the output in input i, or None when a relu/abs input changes sign on the stencil."""
    x = list(program.inputs)
    h = 1e-6 * max(1.0, abs(x[i]))
    kink_inputs = [args[0][1] for name, args in program.steps if name in KINKS]   # node index fed to relu/abs
    base = run(program, x, MATH)
    outs = []
    for step in (h, -h):
        xs = list(x)
        xs[i] += step
        values = run(program, xs, MATH)
        for k in kink_inputs:
            a0, a1 = base[k], values[k]
            if a0 != 0.0 and (a0 > 0) != (a1 > 0) or a0 == 0.0 and a1 != 0.0:
                return None
        outs.append(values[-1])
    return (outs[0] - outs[1]) / (2 * h)


def test_oracle_tables_cover_every_builtin_op():
    assert set(AUTOGRAD) == set(AUTOBP) == set(MATH) == set(BUILTIN_NAMES)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@settings(max_examples=EXAMPLES)
@given(programs())
def test_random_dag_matches_autograd(program: Program):
    n = len(program.inputs)
    x = anp.array(program.inputs, dtype=float)
    f = _autograd_f(program)
    want_value = float(f(x))
    want_grad = [float(g) for g in autograd.grad(f)(x)]
    want_hess = [[float(h) for h in row] for row in autograd.hessian(f)(x)]

    leaves = [Value(v) for v in program.inputs]
    nodes = run(program, leaves, AUTOBP)
    out = nodes[-1]
    assert close(out.data, want_value, 1.0), (out.data, want_value)
    assert out.data == pytest.approx(run(program, program.inputs, MATH)[-1], rel=1e-9, abs=1e-12)

    g_scale = _scale(want_grad)
    out.backward()
    for i in range(n):
        assert close(leaves[i].grad, want_grad[i], g_scale), ("backward", i, leaves[i].grad, want_grad[i])
    for i, g in enumerate(grad(out, leaves)):
        assert close(g.data, want_grad[i], g_scale), ("grad", i, g.data, want_grad[i])

    first = grad(out, leaves, create_graph=True)
    h_scale = _scale(v for row in want_hess for v in row)
    for i in range(n):
        assert close(first[i].data, want_grad[i], g_scale), ("grad(create_graph)", i)
        second = grad(first[i], leaves)
        for j in range(n):
            assert close(second[j].data, want_hess[i][j], h_scale), ("hessian", i, j, second[j].data, want_hess[i][j])

    for i in range(n):
        fd = _finite_difference(program, i)
        if fd is not None:
            assert leaves[i].grad == pytest.approx(fd, rel=1e-4, abs=1e-5 * g_scale), ("finite difference", i)
            CHECKED["finite_differences"] += 1

    CHECKED["graphs"] += 1
    CHECKED["nodes"] += program.size


def test_enough_random_graphs_were_checked():
    """Runs after the property test (file order): hypothesis must not have filtered the search to nothing."""
    if CHECKED["graphs"] == 0:
        pytest.skip("the property test did not run in this session")
    assert CHECKED["graphs"] >= 0.9 * EXAMPLES, CHECKED
