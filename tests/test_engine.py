"""The engine's classic traps: reuse of nodes, backward twice, constants, no_grad, deep chains, freeing graphs."""

from __future__ import annotations

import copy
import gc
import math
import sys

import pytest

from autobp import Value, define_op, grad, no_grad, ops
from autobp.engine import is_grad_enabled, topo_order


def test_engine_a_plus_a_has_gradient_two():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert b.children == (a, a) and a.grad == 2.0


def test_engine_a_times_a_has_gradient_two_a():
    a = Value(-1.25)
    (a * a).backward()
    assert a.grad == 2 * -1.25


def test_engine_diamond_sums_both_paths():
    """d = (2a)·(a + 1): a reaches d through b and through c, so ∂d/∂a = 2c + b = 4a + 2."""
    a = Value(1.5)
    b, c = a * 2.0, a + 1.0
    d = b * c
    d.backward()
    assert (b.grad, c.grad) == (c.data, b.data)
    assert a.grad == pytest.approx(4 * 1.5 + 2, rel=1e-15)


def test_engine_fan_out_sums_every_use():
    """f = a·b + a·c + exp(a) - a: ∂f/∂a = b + c + e^a - 1."""
    a, b, c = Value(0.7), Value(-2.0), Value(0.25)
    f = a * b + a * c + a.exp() - a
    f.backward()
    assert a.grad == pytest.approx(-2.0 + 0.25 + math.exp(0.7) - 1, rel=1e-15)
    assert (b.grad, c.grad) == (0.7, 0.7)


def _graph():
    x, y = Value(0.3, "x"), Value(-1.1, "y")
    h = (x * y).tanh() + x
    out = h * h + (h + y).sigmoid() * 3.0 - x.exp()
    return [x, y], out


def test_engine_backward_twice_doubles_every_gradient():
    """Leaves and intermediates alike: nothing left by the first sweep leaks into the second."""
    _, out = _graph()
    out.backward()
    nodes = topo_order(out)
    first = [n.grad for n in nodes]
    out.backward()
    assert [n.grad for n in nodes] == [2 * g for g in first]
    assert out.grad == 2.0 and any(n.op for n in nodes[:-1] if n.grad)


def test_engine_backward_gradients_match_closed_form():
    (x, y), out = _graph()
    out.backward()
    xv, yv = 0.3, -1.1
    t = math.tanh(xv * yv)
    h = t + xv
    s = 1 / (1 + math.exp(-(h + yv)))
    dh = 2 * h + 3.0 * s * (1 - s)           # ∂out/∂h
    assert x.grad == pytest.approx(dh * ((1 - t * t) * yv + 1) - math.exp(xv), rel=1e-13)
    assert y.grad == pytest.approx(dh * (1 - t * t) * xv + 3.0 * s * (1 - s), rel=1e-13)


def test_engine_topo_order_children_before_parents():
    (x, y), out = _graph()
    order = topo_order(out)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order) and order[-1] is out
    for n in order:
        assert all(position[id(c)] < position[id(n)] for c in n.children)
    assert {id(x), id(y)} <= set(position)


def test_engine_constants_are_never_wrapped():
    x = Value(4.0)
    for node, operands in [(x * 2, (x, 2.0)), (2 * x, (2.0, x)), (x - 1, (x, 1.0)), (3 / x, (3.0, x)), (x ** 2, (x, 2.0))]:
        assert node.children == (x,)
        assert node.operands == operands
        assert all(type(o) is float for o in node.operands if o is not x)
    assert (x * 2).op == "*" and (2 ** x).operands == (2.0, x)


def test_engine_operands_keep_order_for_noncommutative_ops():
    a, b = Value(6.0), Value(2.0)
    for node, value in [(a - b, 4.0), (b - a, -4.0), (a / b, 3.0), (b / a, 1 / 3), (b ** a, 64.0)]:
        assert node.data == pytest.approx(value, rel=1e-15)
    assert (b - a).children == (b, a)


def test_engine_no_grad_builds_no_children():
    w = Value(1.0)
    with no_grad():
        y = (w * 2 + 1).tanh() ** 2 / w
    assert (y.op, y.children, y.operands) == ("", (), ())
    assert (w * 2).children == (w,)        # and the graph is back afterwards


def test_engine_no_grad_nests_and_restores_even_on_exception():
    assert is_grad_enabled()
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()
    assert (Value(1.0) * 3).op == "*"


def test_engine_backward_on_a_leaf_seeds_one():
    a = Value(2.0)
    a.backward()
    assert a.grad == 1.0


def test_engine_deep_chain_backpropagates_without_recursion():
    """y_{k+1} = 1.0001·y_k + 0.0001, 200,000 times: ∂y_N/∂x = 1.0001^N, and no RecursionError."""
    n, r = 200_000, 1.0001
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y * r + 0.0001
    y.backward()
    assert x.grad == pytest.approx(r ** n, rel=1e-9)
    assert y.data == pytest.approx(r ** n + 0.0001 * (r ** n - 1) / (r - 1), rel=1e-9)
    assert sys.getrecursionlimit() == limit
    del y                                   # dropping it must not recurse either
    assert x.data == 1.0


def _count_values() -> int:
    """Live Values, plus a constant: in CPython each instance of a class written in Python holds a reference to it.

    (gc.get_objects() would miss them: nodes are not tracked by the cyclic collector.)
    """
    return sys.getrefcount(Value)


def test_engine_dropped_graph_is_freed_by_reference_counting():
    """With the cyclic collector off, every node of a dropped graph (after backward and grad) is gone."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        before = _count_values()
        x = Value(0.5)
        y = x
        for _ in range(2_000):
            y = (y * 0.999).tanh() + x
        y.backward()
        grad(y, [x])
        (g,) = grad(y, [x], create_graph=True)
        assert _count_values() > before + 4_000
        del x, y, g
        assert _count_values() == before
    finally:
        if was_enabled:
            gc.enable()


def test_engine_copy_and_deepcopy_give_independent_nodes():
    """A deep copy of a graph is the same graph on new nodes: d(ab + a)/da = b + 1 there, originals untouched."""
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    ca, cb, cy = copy.deepcopy([a, b, a * b + a])
    cy.backward()
    assert (cy.data, ca.grad, cb.grad, ca.label) == (-4.0, -2.0, 2.0, "a")
    assert (a.grad, b.grad) == (0.0, 0.0)
    shallow = copy.copy(a)
    assert shallow is not a and (shallow.data, shallow.label, shallow.op) == (2.0, "a", "")


def test_engine_deepcopy_of_a_deep_graph_needs_no_deep_recursion():
    x = Value(1.0, "x")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    cy = copy.deepcopy(y)
    cy.backward()
    assert cy is not y and cy.data == y.data and x.grad == 0.0
    (cx,) = [n for n in topo_order(cy) if not n.operands]
    assert cx is not x and cx.label == "x" and cx.grad == pytest.approx(1.0001 ** 5000)


def test_engine_deepcopy_keeps_a_subclass_and_its_attributes_on_every_node():
    class Tagged(Value):
        pass

    p = Tagged(1.0, "p")
    p.m = [5.0]
    q = p * 2.0
    q.note = "doubled"
    cq = copy.deepcopy(q)
    (cp,) = cq.operands[:1]
    assert type(cq) is Tagged and cq.note == "doubled" and cp.m == [5.0] and cp.m is not p.m


def test_engine_a_subclass_keeps_its_class_through_arithmetic():
    """Value.__new__ honours cls, and an op's result takes the most derived class of its Value operands."""
    class Tagged(Value):
        pass

    t, v = Tagged(2.0, "t"), Value(3.0)
    assert type(t) is Tagged and t.label == "t"
    for result in (t * v, v * t, t + 1.0, 2.0 ** t, -t, t.tanh()):
        assert type(result) is Tagged
    with no_grad():
        assert type(v * t) is Tagged and (v * t).op == ""
    assert type(v * v) is Value
    y = t * v + t
    y.backward()
    assert (t.grad, v.grad) == (4.0, 2.0)


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_engine_leaves_pickle_with_every_protocol(protocol):
    import pickle
    w = Value(0.5, "w")
    w.grad = 1.5
    back = pickle.loads(pickle.dumps(w, protocol=protocol))
    assert (type(back), back.data, back.grad, back.label, back.op) == (Value, 0.5, 1.5, "w", "")


def test_engine_copy_of_a_computed_node_shares_its_operands():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    y = a * b
    y.label = "y"
    c = copy.copy(y)
    assert c is not y and (c.data, c.op_record, c.label) == (6.0, ops.MUL, "y") and c.operands[0] is a
    c.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)


def test_engine_pickles_leaves_and_refuses_graphs_clearly():
    import pickle

    w = Value(0.5, "w")
    w.grad = 1.5
    back = pickle.loads(pickle.dumps(w))
    assert (back.data, back.grad, back.label, back.op) == (0.5, 1.5, "w", "")
    y = w * 2.0
    with pytest.raises(TypeError, match=r"cannot pickle .*op '\*'.*autobp\.io\.save"):
        pickle.dumps(y)
    assert pickle.loads(pickle.dumps(ops.MUL)) is ops.MUL          # a built-in op pickles by name
    cube = define_op("t_cube_pickle", lambda x: x ** 3, lambda out, x: (3 * x * x,), ["3*x^2"])
    with pytest.raises(TypeError, match="user op 't_cube_pickle'"):
        pickle.dumps(cube.op)
    assert copy.deepcopy(y).op_record is ops.MUL                  # copies share the table entry

def test_value_subclass_operands_take_the_operator_path_with_its_checks():
    """A Value subclass (autobp.tape's placeholders) is an operand like a Value, '**' still checks its base."""
    class Sub(Value):
        __slots__ = ()

    s = Value(2.0)
    s.__class__ = Sub
    assert (Value(3.0) * s).data == 6.0 and (1.0 - s).data == -1.0 and (s ** s).data == 4.0
    with pytest.raises(ValueError, match="base must be > 0"):
        Value(-1.0) ** s


def test_value_signature_is_readable_by_inspect_and_help():
    """Value(data, label='') as inspect, help and IDEs read it, with or without the C helper."""
    import inspect

    from autobp.placeholders import placeholder

    assert list(inspect.signature(Value).parameters) == ["data", "label"]
    assert list(inspect.signature(type(placeholder(1.0, "x"))).parameters) == ["data", "label"]


def test_engine_a_subclass_with_more_constructor_arguments_defines_new_as_the_readme_says():
    class Sub(Value):
        def __new__(cls, data, label="", tag=None):
            return super().__new__(cls, data, label)

        def __init__(self, data, label="", tag=None):
            self.tag = tag

    s = Sub(1.0, "s", tag=3)
    assert (s.data, s.label, s.tag, type(s * 2.0)) == (1.0, "s", 3, Sub)


def test_value_sum_is_one_node_with_the_chains_floats_and_unit_partials():
    xs = [Value(0.1 * (k + 1)) for k in range(5)]
    s = Value.sum(*xs, 0.7)
    chain = xs[0] + xs[1] + xs[2] + xs[3] + xs[4] + 0.7
    assert s.op == "sum" and len(s.operands) == 6 and s.data == chain.data
    s.backward()
    assert [x.grad for x in xs] == [1.0] * 5
    with pytest.raises(TypeError, match="at least one Value"):
        Value.sum(1.0, 2.0)
