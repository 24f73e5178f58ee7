"""explain(mode="forward") and forward_steps: the same derivatives as the reverse forms and the engine."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobp import Value, grad, jvp
from autobp.engine import topo_order
from autobp.examples import tanh_neuron, two_two_two
from autobp.explain import backward_steps, explain, forward_steps
from strategies import AUTOBP, programs, run


def _tanh_graph():
    g = tanh_neuron(c=6.881373587019543)
    return g["a"], g["b"], g["c"], g["L"]


# -- explain(mode="forward") -------------------------------------------------------------

def test_forward_explain_w6_multiplies_the_worked_example_from_the_input_side():
    g = two_two_two()
    text = explain(g["E"], g["w6"], mode="forward")
    lines = text.splitlines()
    assert lines[0] == ("∂E/∂w6 by the chain rule, forward mode (products taken from the input side): "
                        "1 path from w6 to E.")
    assert "  ∂net_o1/∂w6 · ∂out_o1/∂net_o1 · ∂E_o1/∂out_o1   (left out, = 1: ∂E/∂E_o1)" in lines
    assert "  = 0.601327636 × 0.18819888 × 0.248598311 = 0.028133669" in lines
    assert lines[-1] == "∂E/∂w6 = 0.028133669" == explain(g["E"], g["w6"]).splitlines()[-1]
    start = lines.index("Local derivatives:") + 1
    local = [line.split()[0] for line in lines[start:lines.index("", start)]]
    assert local == ["∂net_o1/∂w6", "∂out_o1/∂net_o1", "∂E_o1/∂out_o1", "∂E/∂E_o1"]     # input side first


def test_forward_explain_w1_lists_both_paths_and_the_same_sum():
    g = two_two_two()
    forward, reverse = explain(g["E"], g["w1"], mode="forward"), explain(g["E"], g["w1"])
    assert forward.count("Path ") == reverse.count("Path ") == 2
    assert forward.splitlines()[-1] == reverse.splitlines()[-1]
    assert "  = 0.02 × 0.239537538 × 0.3 × 0.18819888 × 0.248598311 = 6.72419098e-05" in forward.splitlines()


def test_forward_explain_tangent_form_merges_paths_and_agrees_with_the_engine():
    g = two_two_two()
    text = explain(g["E"], g["b1"], mode="forward", max_paths=2)
    assert "(tangent form)" in text
    lines = text.splitlines()
    assert "  ∂b1/∂b1 = 1" in lines
    assert ("  ∂net_o1/∂b1 = ∂out_h1/∂b1 · ∂net_o1/∂out_h1 + ∂out_h2/∂b1 · ∂net_o1/∂out_h2 = "
            "0.239537538 × 0.3 + 0.23973271 × 0.35 = 0.15576771") in lines
    (want,) = grad(g["E"], [g["b1"]])
    assert lines[-1] == f"∂E/∂b1 = {want.data:.9f}" == explain(g["E"], g["b1"], max_paths=2).splitlines()[-1]


def test_forward_explain_caps_a_long_chain():
    x = Value(0.5, "x")
    y = x
    for k in range(60):
        y = (y * 0.9 + 0.1).tanh()
        y.label = f"y{k}"
    text = explain(y, x, mode="forward", max_lines=10)
    lines = text.splitlines()
    assert "(tangent form)" in text and "… 51 more labelled nodes not shown (max_lines=10)" in text
    assert sum(line.startswith("  ") for line in lines) == 10 + 1              # 10 lines and the "…" line
    assert float(lines[-1].split(" = ")[1]) == pytest.approx(grad(y, [x])[0].data, rel=1e-8)


def test_explain_refuses_an_unknown_mode():
    a, _, _, L = _tanh_graph()
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward', got 'sideways'"):
        explain(L, a, mode="sideways")


# -- forward_steps ------------------------------------------------------------------------

def test_forward_steps_table_for_tanh_ab_plus_c():
    a, _, _, L = _tanh_graph()
    assert str(forward_steps(L, a)) == "\n".join([
        "Forward sweep along a: seed ∂a/∂a = 1, nodes in creation (topological) order",
        "step  node  op    child  ∂node/∂child  ∂child/∂a  contribution                                        "
        "∂node/∂a so far",
        "1     ab    *     a      -3            1          ∂ab/∂a += ∂a/∂a · b = 1 × (-3) = -3                 -3",
        "2     n     +     ab     1             -3         ∂n/∂a += ∂ab/∂a · 1 = -3 × 1 = -3                   -3",
        "3     L     tanh  n      0.5           -3         ∂L/∂a += ∂n/∂a · (1 - tanh(n)^2) = -3 × 0.5 = -1.5  -1.5",
    ])


def test_forward_steps_a_plus_a_gives_two_rows_and_constants_none():
    x = Value(1.5, "x")
    y = x * x + 2.0
    y.label = "y"
    rows = forward_steps(y, x).rows
    assert [(r.node_name, r.child_name, r.position) for r in rows] == [("#2", "x", 0), ("#2", "x", 1), ("y", "#2", 0)]
    assert rows[-1].node_tangent == 3.0


def test_forward_steps_skips_nodes_that_do_not_depend_on_wrt():
    a, b, c, L = _tanh_graph()
    rows = forward_steps(L, c).rows
    assert [r.node_name for r in rows] == ["n", "L"]
    assert forward_steps(L, Value(1.0)).rows == [] and forward_steps(L, L).rows == []


def test_forward_steps_narrates_jvp_s_sweep_and_fails_as_it_does():
    """The rows are those of the tangent sweep jvp runs (Linearization.sweep), streamed one by one; where a
    partial fails (sqrt'(0)), forward_steps raises what jvp raises, before any row, as jvp evaluates the local
    derivatives output first, the order of the backward sweep."""
    x = Value(0.0, "x")
    y = (x * 2.0 + 1.0).tanh() * 0.0 + (x * 1.0).sqrt()
    with pytest.raises(ZeroDivisionError, match="sqrt") as narrated:
        next(iter(forward_steps(y, x)))
    with pytest.raises(ZeroDivisionError, match="sqrt") as swept:
        jvp(lambda v: (v * 2.0 + 1.0).tanh() * 0.0 + (v * 1.0).sqrt(), [0.0], [1.0])
    assert str(narrated.value).split(": ")[0] == str(swept.value).split(": ")[0]
    z = Value(0.5, "z")
    w = (z * 2.0 + 1.0).tanh() + (z * 3.0).sqrt()
    rows = iter(forward_steps(w, z))
    first = next(rows)                                # one row at a time, not a list
    assert (first.child, first.local) == (z, 2.0) and first.node_tangent == 2.0
    assert sum(1 for _ in rows) == 6                   # +1, tanh, ·3, sqrt, and the final + twice


@settings(max_examples=50)
@given(programs(), st.data())
def test_forward_steps_end_at_the_gradient_and_visit_in_creation_order(program, data):
    leaves = [Value(v) for v in program.inputs]
    out = run(program, leaves, AUTOBP)[-1]
    wrt = leaves[data.draw(st.integers(0, len(leaves) - 1))]
    trace = forward_steps(out, wrt)
    tangent = {wrt: 1.0}
    position = {n: k for k, n in enumerate(topo_order(out))}
    last = -1
    for r in trace:
        assert position[r.node] >= last
        last = position[r.node]
        assert r.tangent == tangent[r.child] and r.contribution == r.tangent * r.local
        tangent[r.node] = r.node_tangent
    want = grad(out, [wrt])[0].data
    got = tangent.get(out, 1.0 if out is wrt else 0.0)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12 * max(1.0, abs(want)))
    u = [1.0 if x is wrt else 0.0 for x in leaves]
    assert got == pytest.approx(jvp(lambda *xs: run(program, list(xs), AUTOBP)[-1], leaves, u)[1].data,
                                rel=1e-15, abs=1e-300)


def test_forward_and_backward_steps_reach_the_same_number():
    g = two_two_two()
    forward = forward_steps(g["E"], g["w5"]).rows[-1].node_tangent
    backward = sum(r.contribution for r in backward_steps(g["E"]).rows if r.child is g["w5"])
    assert forward == pytest.approx(backward, rel=1e-15)
    assert math.isfinite(forward)


def test_forward_steps_needs_values():
    with pytest.raises(TypeError, match="forward_steps\\(\\) wrt must be a Value, got float"):
        forward_steps(Value(1.0), 1.0)
