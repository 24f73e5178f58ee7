"""autobp.explain: the chain rule written out, checked against hand arithmetic; backward_steps against backward()."""

import math
import re

import pytest

import autobp.explain
from autobp import Value, examples
from autobp.explain import BackwardTrace, backward_steps, explain

# WORKED_EXAMPLES §2 by plain math: the oracle for every number below
I1, I2, T1, T2 = 0.02, 0.04, 0.5, 0.9
W = dict(w1=0.25, w2=0.25, w3=0.15, w4=0.20, w5=0.30, w6=0.35, w7=0.40, w8=0.35, b1=0.4, b2=0.7)


def sig(z):
    return 1 / (1 + math.exp(-z))


H1 = sig(W["w1"] * I1 + W["w2"] * I2 + W["b1"])
H2 = sig(W["w3"] * I1 + W["w4"] * I2 + W["b1"])
O1 = sig(W["w5"] * H1 + W["w6"] * H2 + W["b2"])
O2 = sig(W["w7"] * H1 + W["w8"] * H2 + W["b2"])


def page(x):
    """A number as the page prints it: 9 decimal places, trailing zeros dropped."""
    return f"{x:.9f}".rstrip("0").rstrip(".")


def two_two_two():
    """The 2-2-2 network built with Values, labelled as on the page (E_o1, E_o2 left unlabelled)."""
    v = {k: Value(x, k) for k, x in W.items()}
    i1, i2 = Value(I1, "i1"), Value(I2, "i2")

    def lab(node, name):
        node.label = name
        v[name] = node
        return node

    for h, (wa, wb) in {"h1": ("w1", "w2"), "h2": ("w3", "w4")}.items():
        lab(lab(v[wa] * i1 + v[wb] * i2 + v["b1"], f"net_{h}").sigmoid(), f"out_{h}")
    for o, (wa, wb) in {"o1": ("w5", "w6"), "o2": ("w7", "w8")}.items():
        lab(lab(v[wa] * v["out_h1"] + v[wb] * v["out_h2"] + v["b2"], f"net_{o}").sigmoid(), f"out_{o}")
    lab(0.5 * (v["out_o1"] - T1) ** 2 + 0.5 * (v["out_o2"] - T2) ** 2, "E")
    return v


def test_explain_w6_reproduces_the_worked_example():
    g = two_two_two()
    text = explain(g["E"], g["w6"])
    assert "0.248598311 × 0.18819888 × 0.601327636 = 0.028133669" in text        # WORKED_EXAMPLES §2
    # the same from the closed form (out_o1 − t)·out_o1(1 − out_o1)·out_h2
    d1, s1 = O1 - T1, O1 * (1 - O1)
    assert f"{page(d1)} × {page(s1)} × {page(H2)} = {page(d1 * s1 * H2)}" in text
    assert "∂E/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w6" in text                 # ½(o − t)² as one factor
    assert "1 path from w6 to E" in text and "Path 2" not in text
    assert text.splitlines()[-1] == f"∂E/∂w6 = {page(d1 * s1 * H2)}"


def test_explain_w1_gives_one_line_per_path_through_o1_and_o2():
    g = two_two_two()
    text = explain(g["E"], g["w1"])
    s1, s2, sh1 = O1 * (1 - O1), O2 * (1 - O2), H1 * (1 - H1)
    via_o1 = (O1 - T1) * s1 * W["w5"] * sh1 * I1
    via_o2 = (O2 - T2) * s2 * W["w7"] * sh1 * I1
    assert "2 paths from w1 to E" in text
    assert "Path 1: w1 → net_h1 → out_h1 → net_o1 → out_o1 → E" in text
    assert "Path 2: w1 → net_h1 → out_h1 → net_o2 → out_o2 → E" in text
    assert f"= {page(O1 - T1)} × {page(s1)} × 0.3 × {page(sh1)} × 0.02 = {via_o1:.9g}" in text
    assert f"= ({page(O2 - T2)}) × {page(s2)} × 0.4 × {page(sh1)} × 0.02 = {via_o2:.9g}" in text
    assert text.splitlines()[-1] == f"∂E/∂w1 = {via_o1:.9g} - {-via_o2:.9g} = {via_o1 + via_o2:.9g}"


def test_explain_shared_bias_sums_four_paths():
    g = two_two_two()
    text = explain(g["E"], g["b1"])
    d_out = [(O1 - T1) * O1 * (1 - O1), (O2 - T2) * O2 * (1 - O2)]
    w_from = {"h1": (W["w5"], W["w7"]), "h2": (W["w6"], W["w8"])}
    expected = sum(d_out[k] * w_from[h][k] * hs * (1 - hs) for h, hs in (("h1", H1), ("h2", H2)) for k in range(2))
    assert "4 paths from b1 to E" in text and "Path 4:" in text
    assert text.splitlines()[-1].endswith(f"= {page(expected)}")


def test_explain_delta_form_merges_paths_and_agrees():
    g = two_two_two()
    text = explain(g["E"], g["w1"], max_paths=1)
    assert "δ form" in text and "Path 1" not in text
    s1, s2, sh1 = O1 * (1 - O1), O2 * (1 - O2), H1 * (1 - H1)
    d_out_h1 = (O1 - T1) * s1 * W["w5"] + (O2 - T2) * s2 * W["w7"]
    assert re.search(rf"^  ∂E/∂out_h1 = .* = {page(d_out_h1)}$", text, re.M)
    assert text.count("∂E/∂out_h1 =") == 1                                       # once per node
    assert text.splitlines()[-1] == f"∂E/∂w1 = {d_out_h1 * sh1 * I1:.9g}"


def test_explain_caps_a_long_chain_with_a_summary():
    x = Value(0.5, "x")
    y = x
    for k in range(100):                                 # 100 labelled links: too many factors to list
        y = (y * 0.99 + y.tanh() * 0.01)
        y.label = f"y{k}"
    text = explain(y, x, max_lines=10)
    assert "more labelled nodes not shown (max_lines=10)" in text
    assert len(text.splitlines()) < 20
    # the sum still is the full derivative: compare with a central difference
    def f(x0):
        for _ in range(100):
            x0 = x0 * 0.99 + math.tanh(x0) * 0.01
        return x0
    want = (f(0.5 + 1e-6) - f(0.5 - 1e-6)) / 2e-6
    got = float(text.splitlines()[-1].split("= ")[-1])
    assert got == pytest.approx(want, rel=1e-7)


def test_explain_edge_cases_and_errors():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    assert explain(x * 2.0, y) == "∂output/∂y = 0: output does not depend on y."
    assert explain(x, x) == "∂x/∂x = 1"
    # no labelled intermediates: one factor, with a hint to label more
    text = explain((x * x).exp(), x)
    assert f"∂output/∂x = {page(2 * 2.0 * math.exp(4.0))}" in text and "Label intermediate Values" in text
    with pytest.raises(TypeError, match="wrt must be a Value, got float"):
        explain(x, 2.0)


def test_explain_module_is_callable_as_api_md_writes_it():
    g = two_two_two()
    assert autobp.explain(g["E"], g["w6"]) == explain(g["E"], g["w6"])


def test_explain_with_the_examples_builder():
    g = examples.two_two_two()
    assert "0.248598311 × 0.18819888 × 0.601327636 = 0.028133669" in explain(g["E"], g["w6"])


# -- backward_steps ----------------------------------------------------------------

def test_backward_steps_contributions_sum_to_backward_grads():
    g = two_two_two()
    trace = backward_steps(g["E"])
    assert isinstance(trace, BackwardTrace)
    sums = {}
    for row in trace.rows:
        sums[row.child] = sums.get(row.child, 0.0) + row.contribution
        assert row.contribution == row.upstream * row.local
    g["E"].backward()
    leaves = [v for v in g.values() if not v.op]
    for leaf in leaves:
        assert sums[leaf] == leaf.grad, leaf.label                    # the same arithmetic, in the same order
    assert g["w6"].grad == pytest.approx((O1 - T1) * O1 * (1 - O1) * H2, rel=1e-12)


def test_backward_steps_visits_in_reverse_topological_order():
    g = two_two_two()
    trace = backward_steps(g["E"])
    ids = [row.node._id for row in trace.rows]
    assert ids == sorted(ids, reverse=True)
    assert trace.rows[0].node is g["E"] and trace.rows[0].upstream == 1.0
    # b2 is used by both output neurons: two rows add into it, the second gives the total
    b2_rows = [r for r in trace.rows if r.child is g["b2"]]
    assert len(b2_rows) == 2 and b2_rows[1].child_grad == b2_rows[0].contribution + b2_rows[1].contribution


def test_backward_steps_rows_and_table_text():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b + a
    c.label = "c"
    trace = backward_steps(c)
    rows = [(r.node_name, r.op, r.child_name, r.formula, r.local, r.upstream) for r in trace.rows]
    assert rows == [("c", "+", "#2", "1", 1.0, 1.0), ("c", "+", "a", "1", 1.0, 1.0),
                    ("#2", "*", "a", "b", -3.0, 1.0), ("#2", "*", "b", "a", 2.0, 1.0)]
    assert trace.rows[2].child_grad == 1.0 - 3.0                       # ∂c/∂a = b + 1
    text = str(trace)
    assert "∂c/∂a += ∂c/∂#2 · b = 1 × (-3) = -3" in text
    assert text.splitlines()[1].split()[:4] == ["step", "node", "op", "child"]
    assert len(text.splitlines()) == 2 + 4


def test_backward_steps_a_plus_a_and_constants():
    a = Value(3.0, "a")
    y = a + a
    y.label = "y"
    assert [r.child_name for r in backward_steps(y).rows] == ["a", "a"]
    z = a * 2.0
    z.label = "z"
    (row,) = backward_steps(z).rows                   # no row for the constant 2
    assert (row.formula, row.local) == ("2", 2.0)


def _peak_bytes(work) -> int:
    """The peak of memory traced by tracemalloc while `work()` runs."""
    import tracemalloc

    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _unlabelled_chain(n: int) -> tuple[Value, Value]:
    x = Value(0.5, "x")
    y = x
    for _ in range(n):
        y = y * 0.999 + 0.001
    return x, y


def test_explain_memory_grows_linearly_with_an_unlabelled_chain():
    """4× the nodes must take about 4× the memory, not 16× (the path text names the ops once, capped)."""
    small, large = _unlabelled_chain(1_000), _unlabelled_chain(4_000)
    peak_small = _peak_bytes(lambda: explain(small[1], small[0]))
    peak_large = _peak_bytes(lambda: explain(large[1], large[0]))
    assert peak_large < 6 * peak_small, (peak_small, peak_large)
    text = explain(large[1], large[0])
    assert f"∂output/∂x = {page(0.999 ** 4_000)}" in text.splitlines()
    assert "(through 8000 ops: *, +, *, +, …, +, *, +)" in text


def test_backward_steps_streams_its_rows():
    """The first row comes before the sweep has gone further: only the output's partials have run."""
    calls = []
    double = autobp.define_op("t_double_counted", lambda x: 2 * x,
                              lambda out, x: calls.append(x) or (2.0,), ["2"])
    x = Value(1.0, "x")
    y = x
    for _ in range(50):
        y = double(y)
    rows = iter(backward_steps(y))
    first = next(rows)
    assert (first.node, first.local, len(calls)) == (y, 2.0, 1)
    assert sum(1 for _ in rows) == 49 and len(calls) == 50
