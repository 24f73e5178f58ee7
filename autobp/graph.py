"""Read-only questions about a Value's graph that the tools (viz, explain) share.

`nodes_between(output, sources)` finds the part of the graph the chain rule
runs through: the nodes on some path from a source up to the output.
`local_derivatives(node)` (from the engine, re-exported here) evaluates the
node's own op record, ∂node/∂operand for each operand, at the current data.
"""

from __future__ import annotations

from typing import Iterable

from autobp.engine import Value, local_derivatives, topo_order

__all__ = ["nodes_between", "local_derivatives"]


def nodes_between(output: Value, sources: Iterable[Value]) -> list[Value]:
    """The Values on some path from one of `sources` up to `output` (both ends included), in topological order.

    A node is on such a path when it is a source or one of its children is.
    `topo_order` lists children before parents, so one pass decides every
    node.  Empty when `output` depends on none of the sources.

    >>> from autobp import Value
    >>> a, b, c = Value(1.0, "a"), Value(2.0, "b"), Value(3.0, "c")
    >>> [v.label or v.op for v in nodes_between(a * b + c, [b])]
    ['b', '*', '+']
    """
    order = topo_order(output)
    on_path = set(sources)
    for node in order:
        if not on_path.isdisjoint(node.operands):       # constants (floats) are never on a path
            on_path.add(node)
    return [n for n in order if n in on_path]
