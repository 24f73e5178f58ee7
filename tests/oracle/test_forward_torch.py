"""Forward mode and curvature on random expression DAGs against torch.func (jvp, hessian, jacfwd) in float64."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobp import hessian, hvp, jacobian, jvp
from strategies import ARITHMETIC, autobp_function, finite, programs, run

torch = pytest.importorskip("torch")
from torch import func  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # torch's own


def _log(x):
    return math.log(x) if isinstance(x, float) else torch.log(x)


# Each built-in op written with torch, independently of autobp's table.
TORCH = {
    **ARITHMETIC,
    # a traced exponent (always on a positive base here) as e^{y ln x}, as in the autograd table
    "**": lambda x, y: torch.pow(x, y) if isinstance(y, float) else torch.exp(y * _log(x)),
    "exp": torch.exp,
    "log": torch.log,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": lambda x: torch.where(x > 0, x, 0.0),      # relu'(0) = 0
    "abs": torch.abs,                                  # abs'(0) = sign(0) = 0
    "sqrt": torch.sqrt,
    "softplus": lambda x: torch.logaddexp(x, torch.zeros_like(x)),
    "sum": lambda *xs: sum(xs[1:], xs[0]),              # the n-ary sum, added left to right
}

REL = 1e-9


def _close(actual: float, expected: float, floor: float) -> bool:
    return abs(actual - expected) <= REL * max(abs(expected), floor)


def _torch_f(program, outputs=None):
    def f(x):
        nodes = run(program, [x[i] for i in range(len(program.inputs))], TORCH)
        return nodes[-1] if outputs is None else torch.stack([nodes[k] for k in outputs])
    return f


def _scale(values) -> float:
    return max([1.0, *(abs(float(v)) for v in values)])


@settings(max_examples=settings().max_examples)
@given(programs(), st.data())
def test_jvp_hvp_and_hessian_match_torch_func(program, data):
    n = len(program.inputs)
    u = data.draw(st.lists(finite, min_size=n, max_size=n), label="u")
    x = torch.tensor(program.inputs, dtype=torch.float64)
    ut = torch.tensor(u, dtype=torch.float64)
    f = _torch_f(program)
    want_value, want_jvp = func.jvp(f, (x,), (ut,))
    want_grad = func.grad(f)(x)
    want_hess = func.hessian(f)(x)
    want_hvp = want_hess @ ut

    out, t = jvp(autobp_function(program), list(program.inputs), u)
    assert _close(out.data, float(want_value), 1.0)
    assert _close(t.data, float(want_jvp), _scale(want_grad * ut)), (t.data, float(want_jvp))

    hv = hvp(autobp_function(program), list(program.inputs), u)
    hv_scale = _scale((want_hess * ut).flatten())
    for i in range(n):
        assert _close(hv[i].data, float(want_hvp[i]), hv_scale), ("hvp", i, hv[i].data, float(want_hvp[i]))

    H = hessian(autobp_function(program), list(program.inputs))
    h_scale = _scale(want_hess.flatten())
    for i in range(n):
        for j in range(n):
            assert _close(H[i][j].data, float(want_hess[i, j]), h_scale), ("hessian", i, j)


@settings(max_examples=settings().max_examples // 2)
@given(programs(), st.data())
def test_jacobian_of_several_nodes_matches_torch_jacfwd(program, data):
    outputs = sorted(set(data.draw(st.lists(st.integers(0, program.size - 1), min_size=1, max_size=4))))
    want = func.jacfwd(_torch_f(program, outputs))(torch.tensor(program.inputs, dtype=torch.float64))
    scale = _scale(want.flatten())
    for mode in ("forward", "reverse"):
        J = jacobian(autobp_function(program, outputs), list(program.inputs), mode=mode)
        for k in range(len(outputs)):
            for i in range(len(program.inputs)):
                assert _close(J[k][i].data, float(want[k, i]), scale), (mode, k, i)
