"""autobp/_node.c, the speed layer: its twins of make_node, apply and the float sweep give what engine.py gives.

These tests skip when the helper was not built (no C compiler at install time) or is switched off
(AUTOBP_PURE_PYTHON=1); `.ci/run` checks separately that it builds, and runs the whole suite both ways.
"""

from __future__ import annotations

import gc
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobp import Value, engine, forward, ops
from autobp.engine import define_op, no_grad
from counting import Counting
from strategies import AUTOBP, programs, run

pytestmark = pytest.mark.skipif(not engine.COMPILED_NODES, reason="the C helper autobp/_node.c is not in use")
SLOTS = ("data", "grad", "label", "op_record", "operands")


def _nodes_of_every_kind() -> list[Value]:
    """A leaf, each kind of op node and a no_grad result, in the order they were made."""
    fma = define_op("t_fma3", lambda x, y, z: x * y + z, lambda out, x, y, z: (y, x, 1.0))
    a, b = Value(2.0, "a"), Value(-3.0)
    nodes = [a, b, a * b, 2 * a, a / 4, a.tanh(), -a, a ** 2, fma(a, b, 1.0)]
    with no_grad():
        nodes.append(a * b)
    return nodes


def test_compiled_nodes_and_their_operands_are_not_tracked_by_the_cyclic_collector():
    nodes = _nodes_of_every_kind()
    assert [gc.is_tracked(v) for v in nodes] == [False] * 10
    assert not any(gc.is_tracked(v.operands) for v in nodes)


def test_compiled_nodes_of_a_subclass_stay_tracked():
    """A subclass may carry a __dict__, and so a cycle: the collector must keep watching it."""
    class Tagged(Value):
        pass

    t = Tagged(1.0)
    y = t * 2
    assert type(y) is Tagged and gc.is_tracked(t) and gc.is_tracked(y)


def test_compiled_nodes_of_a_subclass_that_adds_no_storage_are_not_tracked():
    """`__slots__ = ()` (as trace's placeholders): nothing but Value's own slots, so no cycle either."""
    from autobp.placeholders import placeholder

    class Bare(Value):
        __slots__ = ()

    class Slotted(Value):
        __slots__ = ("extra",)

    b, s, p = Bare(1.0), Slotted(1.0), placeholder(1.0, "x")
    assert not gc.is_tracked(b) and not gc.is_tracked(b * 2) and not gc.is_tracked(p * 2)
    assert gc.is_tracked(s) and gc.is_tracked(s * 2)


def test_compiled_nodes_equal_python_nodes_slot_for_slot():
    x = Value(1.5)
    for op, out, operands in [(ops.MUL, 3.0, (x, 2.0)), (ops.TANH, 0.9, (x,)), (None, 7.0, ()),
                              (ops.ADD, 2.0, (1.0, x, 3.0))]:
        c = engine._C.make_node(Value, out, op, operands)
        p = engine._make_node_in_python(Value, out, op, operands)
        assert [getattr(c, s) for s in SLOTS] == [getattr(p, s) for s in SLOTS]
        assert type(c) is Value and c.op == p.op


def test_compiled_nodes_creation_numbers_increase_across_every_way_of_making_a_node():
    ids = [v._id for v in _nodes_of_every_kind()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_compiled_nodes_held_objects_survive_a_collection():
    """An untracked node counts as a root: what only it refers to (a user op record) is not freed by gc.collect()."""
    f = define_op("t_add3", lambda x, y, z: x + y + z, lambda out, x, y, z: (1.0, 1.0, 1.0))
    a, b = Value(1.0), Value(2.0)
    y = f(a, b, 3.0) * a
    del f
    ops.OPS.pop("t_add3")
    gc.collect()
    y.backward()
    assert (y.data, y.op, y.children[0].op, a.grad, b.grad) == (6.0, "*", "t_add3", 7.0, 1.0)


def test_compiled_nodes_bind_and_make_node_refuse_bad_arguments():
    from autobp import _node

    class Loose:
        data = grad = label = op_record = operands = _id = None

    with pytest.raises(TypeError, match=r"Loose\.data must be one of its own __slots__"):
        _node.bind(Loose, ops.Op, engine._grad_enabled, engine._apply_in_python, engine._float_sweep_in_python,
                   engine._topo_order_in_python, engine._backward_in_python, engine._graph_sweep_in_python,
                   ops.MUL, ops.ADD)
    with pytest.raises(TypeError, match="needs a class"):
        _node.bind(Value(1.0), ops.Op, engine._grad_enabled, engine._apply_in_python, engine._float_sweep_in_python,
                   engine._topo_order_in_python, engine._backward_in_python, engine._graph_sweep_in_python,
                   ops.MUL, ops.ADD)
    with pytest.raises(TypeError, match="ContextVar"):
        _node.bind(Value, ops.Op, object(), engine._apply_in_python, engine._float_sweep_in_python,
                   engine._topo_order_in_python, engine._backward_in_python, engine._graph_sweep_in_python,
                   ops.MUL, ops.ADD)
    with pytest.raises(TypeError, match="takes 4 arguments"):
        _node.make_node(Value, 1.0)
    with pytest.raises(TypeError, match="takes 10 arguments"):
        _node.bind(Value)
    with pytest.raises(TypeError, match="subclass"):
        _node.make_node(int, 1.0, None, ())
    assert type(Value(1.0) * 2) is Value          # a refused bind leaves the engine's binding alone


# -- the twins give what the Python reference gives ----------------------------------------------

def _outcome(make):
    """('ok', result) or ('error', type, message)."""
    try:
        return ("ok", make())
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        return ("error", type(e), str(e))


def _build(program, inputs):
    xs = [Value(v, f"x{i}") for i, v in enumerate(inputs)]
    return xs, run(program, xs, AUTOBP)


def _same_numbers(a: list[float], b: list[float]) -> bool:
    """Equal bit for bit (nan never occurs: autobp refuses it)."""
    return [math.copysign(1.0, x) * abs(x) for x in a] == [math.copysign(1.0, x) * abs(x) for x in b]


@settings(max_examples=150)
@given(programs())
def test_compiled_apply_and_sweep_equal_the_python_reference_on_random_graphs(program):
    inputs = program.inputs                 # where the program is defined by construction
    _, compiled_nodes = _build(program, inputs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(engine, "apply", engine._apply_in_python)
        _, python_nodes = _build(program, inputs)
    assert _same_numbers([n.data for n in compiled_nodes], [n.data for n in python_nodes])
    assert [n.op for n in compiled_nodes] == [n.op for n in python_nodes]
    assert engine._C.topo_order(compiled_nodes[-1], compiled_nodes[0]) == \
        engine._topo_order_in_python(compiled_nodes[-1], compiled_nodes[0])
    c_sweep = _outcome(lambda: engine._C.float_sweep(compiled_nodes[-1]))
    py_sweep = _outcome(lambda: engine._float_sweep_in_python(compiled_nodes[-1]))
    assert c_sweep[0] == py_sweep[0]
    if c_sweep[0] == "ok":
        assert list(c_sweep[1]) == list(py_sweep[1])               # same nodes, in the same order
        assert _same_numbers(list(c_sweep[1].values()), list(py_sweep[1].values()))
    else:
        assert c_sweep == py_sweep


@pytest.mark.parametrize("make", [
    lambda: Value(-2.0, "x").log(), lambda: Value(3.0, "x") / Value(0.0, "d"), lambda: Value(0.0, "z") ** -1,
    lambda: Value(-1.0, "b") ** Value(0.5), lambda: Value(710.0).exp(), lambda: Value(1e308) * 10,
    lambda: Value(1.0) * "a", lambda: Value(1.0) + float("nan"), lambda: Value(2.0) * (1 << 1100),
    lambda: Value(2.0) * True, lambda: Value(2.0) + 3, lambda: ops.ADD.forward(1.0, 2.0) + Value(1.0),
], ids=["log", "div0", "pow0", "value-exponent", "exp", "overflow", "str", "nan", "bigint", "bool", "int", "float"])
def test_compiled_apply_gives_the_python_result_or_error(make, monkeypatch):
    compiled = _outcome(make)
    monkeypatch.setattr(engine, "apply", engine._apply_in_python)
    python = _outcome(make)
    if compiled[0] == "ok":
        shape = [(type(a), ops.value_of(a)) for a in compiled[1].operands]
        assert python[0] == "ok" and compiled[1].data == python[1].data
        assert shape == [(type(a), ops.value_of(a)) for a in python[1].operands]
    else:
        assert compiled == python


def test_compiled_sweep_falls_back_to_python_for_errors_and_unusual_partials():
    x = Value(1e-320, "x")
    for y, error in [(x.log(), OverflowError), (Value(0.0, "z").sqrt() * 2, ZeroDivisionError)]:
        c, py = _outcome(lambda: engine._C.float_sweep(y)), _outcome(lambda: engine._float_sweep_in_python(y))
        assert c == py and c[1] is error
    odd = define_op("t_odd_partials", lambda x: 2 * x, lambda out, x: [2], ["2"])    # a list holding an int
    a = Value(3.0)
    y = odd(a) * a                                       # y = 2a², ∂y/∂a = 4a = 12
    c, py = engine._C.float_sweep(y), engine._float_sweep_in_python(y)
    assert c == py and c[a] == 12.0



def test_compiled_topo_order_is_the_python_order_and_hands_odd_roots_back():
    a = Value(1.0)
    b = a * 2 + a
    c = (b * a).tanh()
    for roots in [(c,), (b, c), (a,), (c, c), ()]:
        assert engine._C.topo_order(*roots) == engine._topo_order_in_python(*roots)
    for odd in (3, None):
        with pytest.raises(AttributeError) as c_error:
            engine._C.topo_order(odd)
        with pytest.raises(AttributeError) as python_error:
            engine._topo_order_in_python(odd)
        assert str(c_error.value) == str(python_error.value)


@settings(max_examples=100)
@given(programs())
def test_compiled_backward_adds_what_the_python_backward_adds(program):
    """engine._backward in C and in Python: the same .grad on every node, bit for bit, and from a non-zero start."""
    _, nodes = _build(program, program.inputs)
    grads = []
    for backward in (engine._C.backward, engine._backward_in_python):
        for n in nodes:
            n.grad = 0.25
        backward(nodes[-1])
        grads.append([n.grad for n in nodes])
    assert _same_numbers(grads[0], grads[1])


def test_compiled_backward_on_a_subclass_with_an_int_grad_goes_through_its_attribute():
    """A subclass may keep .grad as an int (micrograd does) or behind a property: the C twin adds as Python does."""
    class Counted(Value):
        adds = 0

        @property
        def grad(self):
            return Value.grad.__get__(self)

        @grad.setter
        def grad(self, value):
            Counted.adds += 1
            Value.grad.__set__(self, value)

    a = Counted(3.0)
    a.grad = 0
    y = a * a
    Counted.adds = 0
    engine._C.backward(y)
    assert (a.grad, Counted.adds) == (6.0, 2)        # a and y, each through the property


# -- the twins of the create_graph sweep and of forward mode -------------------------------------

def _same_graph_sweep(c: dict, py: dict) -> None:
    """The same nodes in the same order, each mapped to a Value of the same float made by the same op."""
    assert list(c) == list(py)
    assert _same_numbers([v.data for v in c.values()], [v.data for v in py.values()])
    assert [v.op for v in c.values()] == [v.op for v in py.values()]


@settings(max_examples=150)
@given(programs(), st.lists(st.one_of(st.none(), st.floats(-2.0, 2.0)), min_size=4, max_size=4))
def test_compiled_graph_sweep_and_forward_mode_equal_the_python_reference_on_random_graphs(program, u):
    """grad(create_graph=True)'s sweep, the float tangent sweep and hvp's floats: bit for bit, or the same error.

    A direction component None leaves that input unseeded: nodes with no tangent take other branches.
    """
    xs, nodes = _build(program, program.inputs)
    out = nodes[-1]
    c_grads, py_grads = _outcome(lambda: engine._C.graph_sweep(out)), _outcome(lambda: engine._graph_sweep_in_python(out))
    assert c_grads[0] == py_grads[0]
    if c_grads[0] == "ok":
        _same_graph_sweep(c_grads[1], py_grads[1])
    else:
        assert c_grads == py_grads
    seeds = {x: ui for x, ui in zip(xs, u) if ui is not None}
    linear = forward.Linearization([out, *nodes[len(xs):-1:3]])
    c_push = _outcome(lambda: engine._C.float_push(linear.outputs, dict(seeds), linear.push_in_python))
    assert _comparable(c_push) == _comparable(_outcome(lambda: linear.push_in_python(seeds)))
    c_hvp = _outcome(lambda: engine._C.float_hvp(out, xs, seeds, forward._hvp_in_python))
    assert _comparable(c_hvp) == _comparable(_outcome(lambda: forward._hvp_in_python(out, xs, seeds)))


def _comparable(outcome):
    """An outcome whose floats compare bit for bit (the sign of a zero included)."""
    return ("ok", [math.copysign(1.0, x) * abs(x) for x in outcome[1]]) if outcome[0] == "ok" else outcome


def _every_op(x: Value, y: Value, z: Value) -> Value:
    """One graph through every built-in op, with a Value exponent, a shared node and an n-ary sum."""
    s = x * y
    terms = [s.tanh(), s.sigmoid(), (y / x).exp(), (z * z + 1.0).log(), (x - y).softplus(), z.sqrt(), abs(y),
             x.relu(), -z, x ** 3, (z * z + 1.0) ** y, 2.0 ** x]
    return engine.apply(ops.SUM, *terms) * s


def test_compiled_forward_mode_takes_the_common_path_through_every_built_in_op():
    """No hand-back on ordinary graphs (else the tests above would compare Python with itself)."""
    xs = [Value(0.5, "x"), Value(-1.5, "y"), Value(2.0, "z")]
    out = _every_op(*xs)
    for u in ([0.3, -1.1, 0.7], [0.3, None, None], [None, -1.1, 0.7]):    # None: that input is not seeded
        seeds = {x: ui for x, ui in zip(xs, u) if ui is not None}
        push, hvp = Counting(forward.Linearization([out]).push_in_python), Counting(forward._hvp_in_python)
        assert engine._C.float_push([out], dict(seeds), push) == forward.Linearization([out]).push_in_python(seeds)
        assert engine._C.float_hvp(out, xs, seeds, hvp) == forward._hvp_in_python(out, xs, seeds)
        assert push.calls == hvp.calls == 0
    _same_graph_sweep(engine._C.graph_sweep(out), engine._graph_sweep_in_python(out))


def test_compiled_forward_mode_hands_unusual_graphs_back_to_python():
    """Errors, an int local derivative, a subclass node and a seed that is not a float go to the original."""
    bad_partial = define_op("t_bad_hvp_partial", lambda x: 2.0 * x, lambda out, x: (2,), ["2"])
    x, y = Value(1e-320, "x"), Value(3.0, "y")
    for out, xs in [(x.log() * y, [x, y]), (bad_partial(y) * y, [y]), (micrograd_value(2.0) * y, [y])]:
        seeds = forward.seeds_for(xs, [1.0] * len(xs))
        fallback = Counting(forward._hvp_in_python)
        outcome = _outcome(lambda: engine._C.float_hvp(out, xs, seeds, fallback))
        assert fallback.calls == 1
        assert _comparable(outcome) == _comparable(_outcome(lambda: forward._hvp_in_python(out, xs, seeds)))
    fallback = Counting(forward.Linearization([y * y]).push_in_python)
    assert engine._C.float_push([y * y], {y: 1}, fallback) == [6.0] and fallback.calls == 1


def micrograd_value(data: float) -> Value:
    from autobp.micrograd import Value as MicrogradValue
    return MicrogradValue(data)


def test_grad_with_create_graph_makes_no_node_for_a_local_derivative_of_one():
    """∂(x + y)/∂x is the seed itself, not a node 1·seed: the sum's and add's shares pass g on as it is."""
    x, y = Value(2.0), Value(3.0)
    dx, dy = engine.grad(x + y + x * y, [x, y], create_graph=True)
    assert (dx.data, dy.data) == (4.0, 3.0)
    assert len(engine.topo_order(dx)) == 4 and dx.op == "+"     # 1 + y·1: the seed, y, y·seed and the add


def test_compiled_hvp_reads_the_seed_of_a_leaf_that_only_a_partials_returns():
    """A user op whose partials return an outer Value w: w is not in f's graph, yet the reference seeds it."""
    w = Value(1.25, "w")
    scale = define_op("t_scale_by_w", lambda x: 1.25 * x, lambda out, x: (w if isinstance(x, Value) else 1.25,), ["w"])
    x = Value(0.75, "x")
    out = scale(x) * x
    seeds = {x: 0.3, w: 0.7}
    fallback = Counting(forward._hvp_in_python)
    assert engine._C.float_hvp(out, [x, w], seeds, fallback) == forward._hvp_in_python(out, [x, w], seeds)
    assert fallback.calls == 0


# -- the twin of the trace's walk -----------------------------------------------------------------

def _walks(outputs, inputs):
    """(the C walk, the Python walk), with the C walk's packed int64 arrays unpacked to lists."""
    import numpy as np
    from autobp import batching

    c = [np.frombuffer(x, dtype=np.int64).tolist() if isinstance(x, bytes) else x
         for x in engine._C.walk(outputs, inputs, batching._walk_in_python)]
    return c, list(batching._walk_in_python(outputs, inputs))


@settings(max_examples=100)
@given(programs())
def test_compiled_walk_equals_the_python_walk_on_random_graphs(program):
    """The same nodes in the same order, with the same codes, operands, levels, kinds and constants."""
    xs, nodes = _build(program, program.inputs)
    inputs = {x: (0, k) for k, x in enumerate(xs[:-1])}         # the last input counts as a parameter
    outputs = [nodes[-1], nodes[len(nodes) // 2], nodes[-1]]
    c, python = _walks(outputs, inputs)
    assert c == python


def test_compiled_walks_that_reuse_the_last_walks_table_equal_the_python_walk():
    """The C walk keeps its emptied node table for the next walk (or frees it when far too big): a walk after
    a bigger one, after a smaller one and after a hand-back that failed sees only its own nodes."""
    def chain(n, x):
        v = x
        for k in range(n):
            v = v * 1.5 + x if k % 2 else (v - 0.25).tanh()
        return v

    x = Value(0.5, "x")
    for n in (3000, 10, 10, 3000, 3000, 1):
        c, python = _walks([chain(n, x)], {x: (0, 0)})
        assert c == python and len(c[2]) == len(python[2]) > n
    odd = engine._make_node_in_python(Value, 2.0, ops.MUL, (chain(3000, x), 4))   # an int constant: handed back

    def failing(outputs, inputs):
        raise RuntimeError("the fallback failed")
    with pytest.raises(RuntimeError, match="the fallback failed"):
        engine._C.walk([odd], {x: (0, 0)}, failing)
    c, python = _walks([chain(20, x)], {x: (0, 0)})
    assert c == python


def test_compiled_walk_of_a_traced_mlp_and_its_hand_backs():
    from autobp import batching
    from autobp.nn import MLP, mse_loss
    from autobp.placeholders import placeholder

    mlp = MLP(5, [4, 3], seed=1)
    xs, ys = [placeholder(0.5, f"x{k}") for k in range(5)], [placeholder(0.0, f"y{k}") for k in range(3)]
    loss = mse_loss([mlp(xs)], [ys])
    inputs = {**{x: (0, k) for k, x in enumerate(xs)}, **{y: (1, k) for k, y in enumerate(ys)}, Value(2.0): (0, 0)}
    c, python = _walks([loss, xs[0]], inputs)
    assert c == python and python[8][-1] == -1              # an input fn did not use is found nowhere
    odd = engine._make_node_in_python(Value, 2.0, ops.MUL, (xs[0], 4))    # an int constant: handed back
    walked = Counting(batching._walk_in_python)
    engine._C.walk([odd], inputs, walked)
    assert walked.calls == 1


# -- a traced input's operators as C slots ------------------------------------------------------------

def _node_of(make):
    """(class, data, op, operands' data) of make(), or (error type, message)."""
    try:
        v = make()
    except Exception as e:                                   # noqa: BLE001 — the error is what is compared
        return type(e), str(e)
    data = Value.__dict__["data"].__get__            # the slot itself: a placeholder refuses user reads
    return type(v), data(v), v.op, tuple(data(a) if isinstance(a, Value) else a for a in v.operands)


@pytest.mark.parametrize("expression", [
    "w + x", "x + w", "x + 2.0", "2 + x", "w - x", "x - w", "3.0 - x", "x - 1", "w * x", "x * w", "x * x",
    "2.5 * x", "x * 4", "w / x", "x / w", "1 / x", "x / 0.5", "x ** 2", "2 ** x", "w ** x", "x ** w", "-x",
    "abs(x)", "x + 'a'", "'a' * x", "x / 0", "(-x) ** 0.5", "pow(x, 2, 3)", "x * None",
])
def test_a_traced_input_computes_like_a_value(expression):
    """The C slots of trace's placeholders make what Value's operators make, in the same operand order,
    with the result a placeholder too, or raise the same error."""
    from autobp.placeholders import placeholder

    w, v = Value(1.5), Value(0.75, "x")
    x = placeholder(0.75, "x")
    traced = _node_of(lambda: eval(expression, {}, {"w": w, "x": x}))
    plain = _node_of(lambda: eval(expression, {}, {"w": w, "x": v}))
    if traced[0] is not Value and isinstance(traced[0], type) and issubclass(traced[0], Value):
        assert traced[0] is type(x) and plain[0] is Value
        traced, plain = traced[1:], plain[1:]
    if expression.startswith("pow("):                # a TypeError both ways, each in Python's own words
        traced, plain = traced[:1], plain[:1]
    assert traced == plain


# -- the twin of the plan's fusion analysis ------------------------------------------------------------

def _fusions(outputs, inputs):
    """(the C fusion, the Python fusion) of the walked graph, with MUL and SUM's codes."""
    from autobp import batching

    g = batching.walk(outputs, inputs)
    arrays = (g.codes, g.start, g.args, g.batched, g.output_at,
              batching._code(g, ops.MUL), batching._code(g, ops.SUM))
    return engine._C.fusion(*arrays), batching._fusion_in_python(*arrays)


@settings(max_examples=100)
@given(programs())
def test_compiled_fusion_equals_the_python_fusion_on_random_graphs(program):
    xs, nodes = _build(program, program.inputs)
    inputs = {x: (0, k) for k, x in enumerate(xs[:-1])}
    c, python = _fusions([nodes[-1], nodes[len(nodes) // 2]], inputs)
    assert c == python


def test_compiled_fusion_of_mlps_absorbs_each_layers_products():
    from autobp.nn import MLP, l2_penalty, mse_loss
    from autobp.placeholders import placeholder

    mlp = MLP(5, [4, 3], seed=1)
    xs, ys = [placeholder(0.5, f"x{k}") for k in range(5)], [placeholder(0.0, f"y{k}") for k in range(3)]
    out = mlp(xs)
    loss = mse_loss([out], [ys]) + l2_penalty(mlp.parameters(), 0.1) + 2.0 * xs[0]
    inputs = {**{x: (0, k) for k, x in enumerate(xs)}, **{y: (1, k) for k, y in enumerate(ys)}}
    (absorbed, fused, role), python = _fusions([loss, out[0]], inputs)
    assert (absorbed, fused, role) == python
    assert absorbed.count(1) == 5 * 4 + 4 * 3 and fused.count(1) == 4 + 3    # every w·a, every neuron's sum
    assert set(role) == {0, 1, 2, 3}


def test_compiled_fusion_refuses_arrays_that_do_not_fit():
    import numpy as np

    one = np.array([-1], dtype=np.int64)
    with pytest.raises(ValueError, match="must index the nodes"):
        engine._C.fusion(one, np.array([0, 1]), np.array([5]), np.array([True]), np.array([0]), 0, 1)
    with pytest.raises(ValueError, match="8-byte items"):
        engine._C.fusion(one.astype(np.int32), np.array([0, 0]), one[:0], np.array([True]), np.array([0]), 0, 1)
    with pytest.raises(TypeError, match="takes 7 arguments"):
        engine._C.fusion(one)
