"""State belongs to a sweep: nested, re-entrant and concurrent sweeps, and the three sweeps agreeing on every graph."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from autobp import Value, define_op, grad, no_grad
from autobp.engine import is_grad_enabled
from strategies import AUTOBP, MATH
from together import run_together

# Inputs and constants where ops and their derivatives are undefined or kinked: 0 (log, sqrt', 1/x, 0 ** -1,
# relu and abs), ±1 (log 1 = 0 divides), and a large value whose exp or derivatives overflow.
SPECIAL = st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0, 3.0, 800.0])
OP_NAMES = sorted(MATH)


def test_sweeps_a_partials_that_runs_grad_on_the_outer_graph_sees_its_own_numbers():
    """partials calls grad(a * 2, [a]) for a leaf `a` of the graph being swept: 2.0, and the outer a.grad = 6.0."""
    a = Value(3.0, "a")
    seen = []

    def partials(out, x):
        (d,) = grad(a * 2, [a])          # a sweep started inside a sweep, over a node the outer one is using
        seen.append(d.data)
        return (2.0,)

    double = define_op("t_double_nested", lambda x: 2 * x, partials, ["2"])
    y = double(a) + a * a                # ∂y/∂a = 2 + 2a = 8 at a = 3
    y.backward()
    assert seen == [2.0]
    assert a.grad == 2.0 + 2 * 3.0


def test_sweeps_backward_inside_partials_accumulates_only_its_own_graph():
    a, b = Value(1.5), Value(-2.0)
    seen = []

    def partials(out, x):
        inner = b * 4
        inner.backward()                 # adds 4 into b.grad now, touches nothing of the outer sweep
        seen.append(b.grad)
        return (1.0,)

    ident = define_op("t_ident_nested", lambda x: x, partials, ["1"])
    y = ident(a * b)
    y.backward()
    assert seen == [4.0]
    assert (a.grad, b.grad) == (-2.0, 4.0 + 1.5)


def test_sweeps_in_two_threads_do_not_disturb_each_other():
    """Two threads sweep one shared graph 200 times each; every result is exact."""
    x = Value(0.7)
    y = x
    for _ in range(200):
        y = (y * 1.01).tanh() + x
    (expected,) = grad(y, [x])
    results: list[float] = []

    def work() -> None:
        for _ in range(200):
            results.append(grad(y, [x])[0].data)
    errors = run_together(work, 2)
    assert not errors and results == [expected.data] * 400


def test_sweeps_no_grad_in_one_thread_leaves_other_threads_building_graphs():
    inside, go_on = threading.Event(), threading.Event()

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            go_on.wait(10)

    t = threading.Thread(target=hold_no_grad)
    t.start()
    try:
        assert inside.wait(10)
        assert is_grad_enabled()
        a = Value(2.0)
        b = a * 3
        assert b.children == (a,)
    finally:
        go_on.set()
        t.join()


# --- the power rule at 0 (y·x^(y−1) must not evaluate 0·0^−1) -------------------------------------

def test_sweeps_x_to_the_zero_at_zero_has_derivative_zero():
    x = Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0


def test_sweeps_polynomial_at_zero_matches_pytorch():
    """d/dx Σ_k (k+1) x^k at 0 is 2 (PyTorch: 2.0)."""
    x = Value(0.0)
    sum((k + 1.0) * x ** k for k in range(4)).backward()
    assert x.grad == 2.0


def test_sweeps_second_derivative_of_x_to_the_one_at_zero_is_zero():
    x = Value(0.0)
    (d1,) = grad(x ** 1, [x], create_graph=True)
    (d2,) = grad(d1, [x])
    assert (d1.data, d2.data) == (1.0, 0.0)


def test_sweeps_third_derivative_of_x_cubed_at_zero_is_six():
    x = Value(0.0)
    (d1,) = grad(x ** 3, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert (d1.data, d2.data, d3.data) == (0.0, 0.0, 6.0)


# --- backward(), grad() and grad(create_graph=True) agree: same numbers or the same error ----------

def _three_sweeps(build):
    """What each sweep gives on a fresh copy of the graph: ('ok', gradients) or ('error', type, where).

    "The same error" is the same type raised at the same node: `where` is the message up to its first
    ': ', which names the op, its inputs and the node's label.  The reason after it is worded by
    whatever failed — Python's float division in a plain sweep, the op table's own `/` in a graph sweep.
    """
    outcomes = []
    for how in ("backward", "grad", "create_graph"):
        xs, y = build()
        try:
            if how == "backward":
                y.backward()
                got = [x.grad for x in xs]
            else:
                got = [g.data for g in grad(y, xs, create_graph=how == "create_graph")]
            outcomes.append(("ok", got))
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            outcomes.append(("error", type(e), str(e).split(": ")[0]))
    return outcomes


def test_sweeps_agree_where_a_zero_upstream_meets_an_undefined_local_derivative():
    """y = relu(x − 1)·√x at x = 0: ∂y/∂√x = 0, but d√x/dx is undefined at 0 — every sweep says so alike."""
    def build():
        x = Value(0.0, "x")
        return [x], (x - 1.0).relu() * x.sqrt()

    first, *rest = _three_sweeps(build)
    assert all(o == first for o in rest), (first, rest)
    assert first[0] == "error" and "sqrt" in first[2]


@pytest.mark.parametrize("at, f, want", [
    (1e154, lambda x: x ** 2, 2e154),                        # ∂/∂(exponent 2) = x²·ln x overflows, unused
    (1e-10, lambda x: x / 1e-300, 1e300),                    # ∂/∂(divisor) = −x/c² overflows, unused
    (1023.5, lambda v: 2.0 ** v, 2.0 ** 1023.5 * math.log(2.0)),   # ∂/∂(base 2) = v·2^(v−1) overflows, unused
    (-0.1, lambda v: 1e-300 ** v, 1e-300 ** -0.1 * math.log(1e-300)),  # ∂/∂(base) = v·c^(v−1): float ** raises
])
def test_sweeps_an_overflowing_derivative_for_a_constant_is_never_computed(at, f, want):
    """A constant operand gets no gradient, so its local derivative is not needed; overflowing, it stopped a sweep."""
    def build():
        x = Value(at, "x")
        return [x], f(x)

    outcomes = _three_sweeps(build)
    assert all(o[0] == "ok" and o[1][0] == pytest.approx(want, rel=1e-12) for o in outcomes), outcomes


def test_hessian_of_a_square_at_a_large_input_is_two():
    from autobp import hessian
    assert hessian(lambda v: v ** 2, [1e154])[0][0].data == 2.0


@pytest.mark.parametrize("f", [lambda x: (x - 1.0).relu() * x.sqrt(), lambda x: (x - 1.0).relu() * x ** 0.5],
                         ids=["sqrt", "pow"])
def test_sweeps_raise_the_same_words_where_a_local_derivative_divides_by_zero(f):
    """Not only the same type at the same node: the op table's own words in every sweep (a graph sweep may add
    which node an operand is)."""
    messages = []
    for how in ("backward", "grad", "create_graph"):
        x = Value(0.0, "x")
        y = f(x)
        with pytest.raises(ZeroDivisionError) as info:
            y.backward() if how == "backward" else grad(y, [x], create_graph=how == "create_graph")
        messages.append(str(info.value))
    assert messages[0] == messages[1] and messages[2].startswith(messages[0]), messages
    assert "by zero" in messages[0] and "float division" not in messages[0]


@st.composite
def raw_graphs(draw):
    """Steps (op name, operand refs) over any op and any earlier node or special constant, with no safety net."""
    n_inputs = draw(st.integers(1, 3))
    inputs = draw(st.lists(SPECIAL, min_size=n_inputs, max_size=n_inputs))
    steps = []
    for i in range(draw(st.integers(1, 8))):
        name = draw(st.sampled_from(OP_NAMES))
        arity = 2 if name in ("+", "-", "*", "/", "**") else 1
        node = st.integers(0, n_inputs + i - 1)
        refs = [draw(node)]                 # at least one Value operand, so every step is a node
        if arity == 2:
            refs.append(draw(st.one_of(node, SPECIAL.map(lambda c: ("const", c)))))
            if draw(st.booleans()):
                refs.reverse()
        steps.append((name, refs))
    return inputs, steps


def _build_raw(inputs, steps):
    xs = [Value(v) for v in inputs]
    nodes = list(xs)
    for name, refs in steps:
        args = [r[1] if isinstance(r, tuple) else nodes[r] for r in refs]
        nodes.append(AUTOBP[name](*args))
    return xs, nodes[-1]


@settings(max_examples=400)
@given(raw_graphs())
@example(([0.0], [("**", [0, ("const", 0.5)])]))     # √x written as x ** 0.5: float ** and the op table's
# ** must fail alike at 0 (once ZeroDivisionError from the float sweep, ValueError from the graph sweep)
def test_sweeps_agree_on_random_graphs_with_undefined_points(graph):
    """Where an op or its derivative is undefined, backward(), grad() and grad(create_graph=True) raise alike."""
    inputs, steps = graph
    try:
        xs, y = _build_raw(inputs, steps)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)                   # the forward pass itself is undefined: nothing to sweep
    if not isinstance(y, Value):
        assume(False)
    first, *rest = _three_sweeps(lambda: _build_raw(inputs, steps))
    if first[0] == "ok":
        assert all(o[0] == "ok" and o[1] == pytest.approx(first[1], rel=1e-12, abs=1e-300) for o in rest), (first, rest)
        assert all(math.isfinite(v) for v in first[1])
    else:
        assert all(o == first for o in rest), (first, rest)
