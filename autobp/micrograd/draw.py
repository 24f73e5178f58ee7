"""The lecture's `trace(root)` and `draw_dot(root)` helpers, drawn by `autobp.viz`.

micrograd's notebooks define these two helpers themselves; here they are
ready to import, with the same calls and uses::

    nodes, edges = trace(root)                    # every Value, and one (child, parent) per operand
    dot = draw_dot(root)                          # format='svg', rankdir='LR' (or 'TB')
    dot                                           # shows itself in Jupyter
    dot.render('gout')                            # writes gout (DOT text) and gout.svg

Differences, each on purpose: `trace` returns lists in a fixed order (nodes
children first, edges by operand) where the lecture returns sets, and an op
that uses one Value twice (a + a) gives two edges where the lecture's set
keeps one.  `draw_dot` draws with `autobp.viz.draw_dot` (one box per Value:
label, data, grad; one ellipse per op; both arrows of a + a), and its
keyword options pass through (`edge_derivatives=True`, `highlight=v`, ...).
The diagram shows itself in Jupyter, and its `render(...)` and `pipe()` draw
SVG even without the system Graphviz `dot`, through autobp's embedded
renderer; another format without `dot` is an error saying how to install
Graphviz (the DOT text is `.source` either way).
"""

from __future__ import annotations

from typing import Any

from autobp import viz
from autobp.engine import Value, topo_order

__all__ = ["trace", "draw_dot", "Drawing"]


def trace(root: Value) -> tuple[list[Value], list[tuple[Value, Value]]]:
    """(nodes, edges): every Value `root` depends on, children before parents, and one (child, parent) per operand.

    >>> from autobp.micrograd.engine import Value
    >>> a = Value(3.0)
    >>> nodes, edges = trace(a + a)
    >>> len(nodes), len(edges)          # a + a: one child, two edges
    (2, 2)
    """
    nodes = topo_order(root)
    return nodes, [(child, node) for node in nodes for child in node.children]


class Drawing(viz.Diagram):
    """The lecture's diagram: `render(filename)` and `pipe()` as graphviz's, and SVG without the system `dot`.

    Everything is `autobp.viz.Diagram`'s; this class only gives micrograd
    code the type its `draw_dot` returns, with the file format it was asked for.
    """


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR", **options: Any) -> Drawing:
    """The graph of `root` as a Graphviz diagram (`.source` is the DOT text; `.render(name)` writes `name.svg`).

    `format` is the file format `render` writes; `rankdir` is 'LR' (left to
    right) or 'TB' (top to bottom); `options` go to `autobp.viz.draw_dot`.
    """
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"draw_dot: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    dot = viz.draw_dot(root, rankdir=rankdir, **options)
    return Drawing(name=dot.name, format=format, graph_attr=dot.graph_attr, node_attr=dot.node_attr,
                   edge_attr=dot.edge_attr, body=list(dot.body))
