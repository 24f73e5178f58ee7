"""The explorer: one self-contained HTML page that steps through a graph's forward pass and backward sweep.

`Explorer(root, render)` reads the graph (never changes it) and writes a page
with everything inside it: the Graphviz layout as inline SVG, the numbers as
JSON, and a small plain script and style sheet (`explorer.js`,
`explorer.css`, `explorer.html`: package data).  No framework, no request to
any network (a Content-Security-Policy forbids every one), so it opens from
file:// offline.  In the page a learner

- steps through the backward sweep one (node, child) contribution at a time,
  each written exactly as the rows of `autobp.explain.backward_steps`,
  ∂L/∂ab += ∂L/∂n · 1 = 0.5 × 1 = 0.5, with every gradient so far in its box
  (blank until the sweep reaches it);
- steps through the forward pass: values appear in creation order;
- clicks a Value: its paths to the output light up and `explain(output, v)`
  appears; hovers an edge: ∂node/∂child as formula and number.

Up to `max_nodes` Values the page draws every Value (`draw_dot`); above, an
overview with one box per neuron inside its layer (found by
`grouping.neuron_clusters`) or per given cluster, the other Values in blocks.
Everything the page holds grows linearly with the graph: `explain()` costs
a walk of the graph per Value, so it is included for the labelled Values
first (only for them in an overview), for at most EXPLAIN_BUDGET // (Values
in the graph) of them unless `max_explain` says otherwise.

`autobp.viz.explore` builds one; this module draws through the `render`
function it is handed (`viz.render`), so it never imports viz.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import graphviz

from autobp.engine import Value, topo_order
from autobp.explain import BackwardTrace, backward_steps, explain
from autobp.grouping import Overview, cluster_path, neuron_clusters, overview

__all__ = ["Explorer", "MAX_NODES", "MAX_VALUES", "EXPLAIN_BUDGET"]

MAX_NODES = 500              # drawn Value by Value up to here (as draw_dot's own limit)
MAX_BOXES = 120              # boxes of an overview
MAX_VALUES = 200_000         # a bigger graph is refused: the page would take seconds to open
EXPLAIN_BUDGET = 20_000      # explain() calls × Values in the graph

_SVG = "{http://www.w3.org/2000/svg}"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")    # characters XML cannot hold
_INFIX = {"+", "-", "*", "/", "**"}
# JSON inside <script>: no character that could end the element or the script
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))

Render = Callable[..., Any]


class Explorer:
    """An interactive page for `root`'s graph: `.save(path)`, `.html()`, and inline in Jupyter.

    render: `viz.render` (a Value or a Digraph in, SVG text out).
    max_nodes: above this many Values the page draws an overview of boxes.
    max_explain: how many Values get their `explain()` text (default: as
    many as EXPLAIN_BUDGET allows, labelled Values first).
    max_values: a bigger graph raises ValueError.
    Other options go to `draw_dot` (rankdir, edge_derivatives, highlight,
    params, clusters, digits, …); `show_grad` is ignored, as the page shows
    each gradient when the sweep reaches it.  An overview uses only
    rankdir, clusters and digits.
    """

    def __init__(self, root: Value, render: Render, *, max_nodes: int = MAX_NODES, max_explain: int | None = None,
                 max_values: int = MAX_VALUES, **draw_options: Any) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"explore() needs a Value, got {type(root).__name__}: {root!r}")
        order = topo_order(root)
        n = len(order)
        if n > max_values:
            raise ValueError(
                f"explore: the graph has {n:,} Values, more than max_values={max_values:,}; the page would be "
                "too slow to open. Explore a smaller graph (the loss of one sample, one neuron's output), "
                f"or raise the limit with max_values={n}.")
        draw_options.pop("show_grad", None)
        draw_options.setdefault("visit_order", True)    # '#k' in each box: what the steps call an unlabelled Value
        self.root = root
        self.digits = int(draw_options.get("digits", 4))
        self.trace = backward_steps(root)
        self.names = _names(order, self.trace)
        index = {v: i for i, v in enumerate(order)}
        given = draw_options.pop("clusters", None)
        clusters = neuron_clusters(order) if given is None else given
        groups: Overview | None = None
        notes = []
        if n <= max_nodes:
            self.view = "detail"
            svg = render(root, format="svg", show_grad=True, grads=self._final_grads(), clusters=clusters or None,
                         max_nodes=n, **draw_options)
        else:
            self.view = "overview"
            groups = overview(order, clusters, MAX_BOXES, lambda v: self.names[index[v]])
            svg = render(self._overview_dot(order, groups, str(draw_options.get("rankdir", "LR"))), format="svg")
            what = "the clusters given" if given else "the MLP's neurons inside their layers" if clusters else ""
            notes.append(_overview_note(n, max_nodes, groups, what))
        self.svg = _annotate(svg, order)
        explained = self._explain_texts(order, index, max_explain, notes)
        self.message = " ".join(notes)
        self.data = self._page_data(order, index, groups, explained)

    def _explain_texts(self, order: list[Value], index: dict[Value, int], cap: int | None,
                       notes: list[str]) -> dict[str, str]:
        """{position: explain(root, v)} for the first `cap` Values of `_explain_order` (a note when some are left out).

        By default cap = EXPLAIN_BUDGET // (Values in the graph), at least 1:
        each explain() walks the graph, so the budget keeps the total linear.
        """
        n = len(order)
        chosen = _explain_order(order, self.view == "detail")[:max(0, cap) if cap is not None
                                                               else max(1, EXPLAIN_BUDGET // n)]
        self.explain_note = ""
        if len(chosen) < n - 1:
            which = "labelled ones first" + (", only labelled ones in an overview" if self.view != "detail" else "")
            self.explain_note = (f"explain() text is included for {len(chosen)} of the {n - 1:,} Values below the "
                                 f"output ({which}; max_explain={len(chosen)}). For another Value v, run "
                                 "autobp.explain(output, v) in Python.")
            notes.append(self.explain_note)
        return {str(index[v]): explain(self.root, v) for v in chosen}

    def _page_data(self, order: list[Value], index: dict[Value, int], groups: Overview | None,
                   explained: dict[str, str]) -> dict[str, Any]:
        """Everything the page's script reads, as JSON-ready lists indexed by position in the topological order."""
        fmt, rows = self._fmt, self.trace.rows
        return {
            "view": self.view, "output": len(order) - 1, "message": self.message, "explainNote": self.explain_note,
            "names": self.names,
            "operands": [[index[a] if isinstance(a, Value) else -1 for a in v.operands] for v in order],
            "data": [v.data for v in order], "dataText": [fmt(v.data) for v in order],
            "forward": [self._forward_text(v, index) for v in order], "seedText": fmt(1.0),
            "tips": self._edge_tips(order, index) if groups is None else [], "explain": explained,
            "boxOf": groups.box_of if groups else [],
            "boxes": [{"name": b.name, "size": len(b.members)} for b in groups.boxes] if groups else [],
            "steps": {"node": [index[r.node] for r in rows], "child": [index[r.child] for r in rows],
                      "pos": [r.position for r in rows], "text": [self.trace.statement(r) for r in rows],
                      "grad": [r.child_grad for r in rows], "gradText": [fmt(r.child_grad) for r in rows]},
        }

    # -- what the page says ----------------------------------------------------
    def _fmt(self, x: float) -> str:
        """A number as the diagram's boxes show it: `digits` significant digits (draw_dot's format)."""
        return f"{x:.{self.digits}g}"

    def _final_grads(self) -> dict[Value, float]:
        """∂root/∂v after the sweep, for the Values it reaches (the boxes are sized for these, not for `.grad`)."""
        return {self.root: 1.0, **{r.child: r.child_grad for r in self.trace.rows}}

    def _forward_text(self, v: Value, index: dict[Value, int]) -> str:
        """'ab = a * b = -6': how the forward pass computed v ('a = 2 (a leaf)' for a leaf)."""
        name = self.names[index[v]]
        if not v.op:
            return f"{name} = {self._fmt(v.data)}   (a leaf: an input or a parameter)"
        args = [self.names[index[a]] if isinstance(a, Value) else self._fmt(a) for a in v.operands]
        expr = f" {v.op} ".join(args) if v.op in _INFIX and len(args) == 2 else f"{v.op}({', '.join(args)})"
        return f"{name} = {expr} = {self._fmt(v.data)}"

    def _edge_tips(self, order: list[Value], index: dict[Value, int]) -> list[list[str | None]]:
        """Per node, per operand: '∂ab/∂a = b = -3' (None for a constant), from the sweep's row for that edge.

        The sweep has a row for every (node, Value operand), so every edge has one.
        """
        rows = {(r.node, r.position): r for r in self.trace.rows}
        tips: list[list[str | None]] = []
        for v in order:
            line: list[str | None] = []
            for k, a in enumerate(v.operands):
                if not isinstance(a, Value):
                    line.append(None)
                    continue
                row = rows[(v, k)]
                formula, local = row.formula, row.local
                number = self._fmt(local)
                line.append(f"∂{self.names[index[v]]}/∂{self.names[index[a]]} = {formula}"
                            + (f" = {number}" if number != formula else ""))
            tips.append(line)
        return tips

    def _overview_dot(self, order: list[Value], groups: Overview, rankdir: str) -> graphviz.Digraph:
        """One rounded box per group (name, size, gradient status), inside its clusters; edges with their counts."""
        dot = graphviz.Digraph(name="autobp", graph_attr={"rankdir": rankdir},
                               node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff",
                                          "fontname": "Helvetica", "fontsize": "11"},
                               edge_attr={"arrowsize": "0.7", "color": "#888888"})
        subs: dict[tuple[str, ...], graphviz.Digraph] = {}
        final = self._final_grads()
        for b, box in enumerate(groups.boxes):
            for depth in range(1, len(box.path) + 1):
                if box.path[:depth] not in subs:
                    subs[box.path[:depth]] = graphviz.Digraph(
                        name=f"cluster_{len(subs)}",
                        graph_attr={"label": _dot_text(box.path[depth - 1]), "style": "rounded,dashed",
                                    "color": "#888888", "fontname": "Helvetica"})
            if len(box.members) == 1:      # the fields of draw_dot's box, sized for the final gradient
                v = order[box.members[0]]
                lines = [box.name, f"data {self._fmt(v.data)}", f"grad {self._fmt(final.get(v, 0.0))}"]
            else:
                size = len(box.members)
                lines = [box.name, f"{size:,} Values", f"grad reached: {size:,} of {size:,}"]
            (subs[box.path] if box.path else dot).node(f"g{b}", label=_dot_text(*lines))
        for path in sorted(subs, key=len, reverse=True):      # innermost first: subgraph() copies what is there
            (subs[path[:-1]] if len(path) > 1 else dot).subgraph(subs[path])
        for (a, b), count in groups.edges.items():
            dot.edge(f"g{a}", f"g{b}", penwidth=str(min(4, len(str(count)))))      # 1 to 9 edges: 1, …
        return dot

    # -- the page ---------------------------------------------------------------
    def html(self) -> str:
        """The whole page as one string: HTML with the SVG, the data, the script and the style inside."""
        script = _asset("explorer.js")
        data = json.dumps(self.data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        for char, escape in _SCRIPT_SAFE:         # str.replace: fast on the megabytes of a big graph
            data = data.replace(char, escape)
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        parts = {"TITLE": html.escape(f"autobp explorer: ∂{self.trace.output_name}"), "STYLE": _asset("explorer.css"),
                 "SCRIPT_HASH": f"'sha256-{digest}'", "SVG": self.svg, "DATA": data,
                 "SCRIPT": script}
        return re.sub(r"@@(\w+)@@", lambda m: parts[m.group(1)], _asset("explorer.html"))

    def save(self, path: str | Path) -> Path:
        """Write the page to `path` (UTF-8) and return the path."""
        target = Path(path)
        target.write_text(self.html(), encoding="utf-8", errors="backslashreplace")   # a lone surrogate in a label
        return target

    def _repr_html_(self) -> str:
        """The page in an isolated <iframe> (its scripts run, its ids and keys stay its own), for Jupyter."""
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" sandbox="allow-scripts" '
                'style="width:100%;height:640px;border:1px solid #ddd" title="autobp explorer"></iframe>')

    def __repr__(self) -> str:
        return (f"<Explorer of ∂{self.trace.output_name}: {len(self.names)} Values, {len(self.trace)} steps, "
                f"{self.view}>")


def _asset(name: str) -> str:
    """One of the page's package-data files (explorer.html, .js, .css)."""
    return (resources.files("autobp") / name).read_text(encoding="utf-8")


def _names(order: list[Value], trace: BackwardTrace) -> list[str]:
    """Every Value's name as `backward_steps` writes it: its label, L for an unlabelled output, else #k (visited k-th)."""
    index = {v: i for i, v in enumerate(order)}
    names = [""] * len(order)
    for r in trace.rows:
        names[index[r.node]], names[index[r.child]] = r.node_name, r.child_name
    names[-1] = trace.output_name
    return [name or v.label or f"#{len(order) - i}" for i, (name, v) in enumerate(zip(names, order))]


def _explain_order(order: list[Value], unlabelled: bool) -> list[Value]:
    """The Values whose explain() text a page includes, first first: labelled leaves, other labelled Values,
    then (if `unlabelled`) the rest from the output down.  Not the output itself (∂L/∂L = 1)."""
    below = order[:-1]
    rest = [v for v in reversed(below) if not v.label] if unlabelled else []
    return [v for v in below if v.label and not v.op] + [v for v in below if v.label and v.op] + rest


def _dot_text(*lines: str) -> graphviz.quoting.NoHtml:
    """Lines as one plain Graphviz label: backslashes and & kept as typed, control characters as spaces."""
    clean = (re.sub(r"[\x00-\x1f\x7f]", " ", s).replace("\\", "\\\\").replace("&", "&amp;") for s in lines)
    return graphviz.nohtml("\\n".join(clean))


def _overview_note(n: int, max_nodes: int, groups: Overview, what: str) -> str:
    """The page's message about an overview: why, what a box is, what still works."""
    parts = [what] if what else []
    if groups.blocked:
        parts.append(f"{groups.blocked:,} {'other ' if what else ''}Values in blocks of consecutive ones")
    how = f" ({', and '.join(parts)})" if parts else ""
    return (f"This graph has {n:,} Values, more than max_nodes={max_nodes}, so it is drawn as {len(groups.boxes)} "
            f"boxes{how} and the page stays responsive. Stepping, gradients and paths still cover "
            f"every Value: click a box to list its Values. To draw every Value, pass max_nodes={n} (the layout "
            "is slow past a few thousand), or draw a smaller graph.")


def _annotate(svg: str, order: list[Value]) -> str:
    """Graphviz's SVG, re-serialised (so every label is escaped once more) with ids and classes for the script.

    Detail view: value boxes `v3` (their last two texts are the data and grad
    fields), op ellipses `v3_op`, constants `v3_op_c1`; each edge says which
    node and operand position it carries (data-n, data-k).  Overview: boxes
    `g0`, `g1`, …  Titles are dropped (the script shows its own tooltips).
    """
    tree = ET.fromstring(_NOT_XML.sub("\ufffd", svg))
    used: dict[tuple[int, int], int] = {}          # (child, node) edges seen, for a + a
    for g in tree.iter(_SVG + "g"):
        title = g.find(_SVG + "title")
        name = (title.text or "") if title is not None else ""
        kind = g.get("class")
        if kind == "node":
            m = re.fullmatch(r"([vg])(\d+)(_op(?:_c(\d+))?)?", name)
            if not m:
                continue
            g.set("id", name)
            texts = g.findall(_SVG + "text")
            if m.group(1) == "g":
                g.set("class", "node box")
                g.set("data-b", m.group(2))
                if len(texts) >= 3:
                    texts[-2].set("class", "data")
                    texts[-1].set("class", "grad")
                continue
            g.set("data-i", m.group(2))
            g.set("class", "node " + ("const" if m.group(4) else "op" if m.group(3) else "value"))
            if not m.group(3) and len(texts) >= 2:
                texts[-2].set("class", "data")
                texts[-1].set("class", "grad")
        elif kind == "edge" and "->" in name:
            a, b = name.split("->", 1)
            g.set("data-from", a)
            g.set("data-to", b)
            value_edge = re.fullmatch(r"v(\d+)", a) and re.fullmatch(r"v(\d+)_op", b)
            if value_edge:
                c, n = int(a[1:]), int(b[1:-3])
                nth = used.get((c, n), 0)
                used[(c, n)] = nth + 1
                positions = [k for k, x in enumerate(order[n].operands) if x is order[c]]
                g.set("data-n", str(n))
                g.set("data-k", str(positions[min(nth, len(positions) - 1)]))
    for parent in tree.iter():
        for title in parent.findall(_SVG + "title"):
            parent.remove(title)
    for element in tree.iter():          # plain tag names under one xmlns, as SVG inside HTML is written
        element.tag = element.tag.removeprefix(_SVG)
    tree.set("xmlns", _SVG[1:-1])
    return ET.tostring(tree, encoding="unicode")
