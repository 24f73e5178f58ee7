"""Which Values belong together in a drawing: an MLP's neurons and layers, and the boxes of a large graph's overview.

`neuron_clusters(order)` finds the neurons of any `autobp.nn.MLP` in a graph
from its parameter labels alone (w[l][j,k], b[l][j]).  A neuron computes

    z = Σ(b, w_0·x_0, w_1·x_1, …),   a = σ(z),

so a node belongs to neuron (l, j) when it is one of its parameters, a
product w·x of one of its weights with a non-parameter, a `sum` (or, built by
hand as a chain, a `+`) of its open nodes one of which is such a product, or
an activation (tanh, sigmoid, relu) of one of its open sums, which closes it:
whatever uses `a` belongs to the next layer or to the loss.  One pass over
the graph in topological order.

`overview(order, clusters, max_boxes)` is what the explorer draws when a
graph is too big to draw node by node: one box per innermost cluster, one
box for the output, and the other Values one box each, or, when there are
too many of them, in blocks of consecutive Values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

from autobp.engine import Value

__all__ = ["neuron_clusters", "cluster_path", "overview", "Overview", "Box"]

_PARAMETER = re.compile(r"[wb]\[(\d+)\]\[(\d+)(?:,\d+)?\]")
ACTIVATIONS = {"tanh", "sigmoid", "relu"}


def cluster_path(key: Hashable) -> tuple[str, ...]:
    """A `clusters` key as a path of names: 'h1' → ('h1',); ('layer 1', 'neuron 0') stays as it is."""
    return tuple(str(k) for k in key) if isinstance(key, tuple) else (str(key),)


def neuron_clusters(order: Sequence[Value]) -> dict[tuple[str, str], list[Value]]:
    """{('layer l', 'neuron j'): the Values of that neuron} for the MLP parameters found in `order`.

    `order` is a topological order (children first), as `topo_order` gives.
    Empty when no Value carries an MLP parameter label.

    >>> from autobp.nn import MLP
    >>> from autobp.engine import topo_order
    >>> out = MLP(2, [1], output_activation="tanh", seed=0)([1.0, 2.0])
    >>> {k: len(v) for k, v in neuron_clusters(topo_order(out)).items()}   # w0, w1, b, 2 products, the sum, tanh
    {('layer 0', 'neuron 0'): 7}
    """
    params: dict[Value, tuple[int, int]] = {}
    for v in order:
        m = _PARAMETER.fullmatch(v.label) if not v.op else None
        if m:
            params[v] = (int(m.group(1)), int(m.group(2)))
    owner: dict[Value, tuple[int, int]] = dict(params)
    products: set[Value] = set()     # w·x nodes
    closed: set[Value] = set()       # activations: the neuron's output
    for v in order:
        if not v.op or v in params:
            continue
        kids = v.children
        if v.op == "*":
            mine = [params[c] for c in kids if c in params]
            if len(mine) == 1 and len(v.operands) == 2:        # w·x, never w·w (an L2 term)
                owner[v] = mine[0]
                products.add(v)
        elif v.op == "sum" or v.op == "+" and len(kids) == 2 == len(v.operands):
            neurons = {owner.get(c) for c in kids}
            if (len(kids) == len(v.operands) and len(neurons) == 1 and None not in neurons
                    and not closed.intersection(kids) and not products.isdisjoint(kids)):
                owner[v] = owner[kids[0]]
        elif v.op in ACTIVATIONS and len(kids) == 1:
            (z,) = kids
            if z in owner and z not in params and z not in products and z not in closed:
                owner[v] = owner[z]
                closed.add(v)
    clusters: dict[tuple[int, int], list[Value]] = {}
    for v in order:
        if v in owner:
            clusters.setdefault(owner[v], []).append(v)
    return {(f"layer {l}", f"neuron {j}"): members for (l, j), members in sorted(clusters.items())}


@dataclass
class Box:
    """One box of an overview: a cluster, a block of consecutive Values, or a single Value."""

    name: str
    path: tuple[str, ...]         # the clusters it sits in, outermost first ('' names none)
    members: list[int] = field(default_factory=list)     # positions in the topological order


@dataclass
class Overview:
    """The boxes of an overview, the box of every Value, and the edges between boxes with their counts."""

    boxes: list[Box]
    box_of: list[int]
    edges: dict[tuple[int, int], int]
    blocked: int                  # how many Values went into blocks (0: every loose Value has its own box)


def overview(order: Sequence[Value], clusters: Mapping[Any, Iterable[Value]] | None,
             max_boxes: int, name_of: Callable[[Value], str]) -> Overview:
    """Group a topological order into at most about `max_boxes` boxes (see the module docstring).

    Clusters become boxes only when there are at most max_boxes // 2 of them
    (else their nodes count as loose).  A Value in several clusters goes to
    the first, as in `draw_dot`.  The output (the last Value), when in no
    cluster, has a box of its own.
    """
    index = {v: i for i, v in enumerate(order)}
    box_of = [-1] * len(order)
    boxes: list[Box] = []
    keyed = list((clusters or {}).items())
    if len(keyed) <= max_boxes // 2:
        for key, members in keyed:
            path = cluster_path(key)
            box = Box(" / ".join(path), path[:-1])
            for v in members:
                i = index.get(v)
                if i is not None and box_of[i] < 0:
                    box_of[i] = len(boxes)
                    box.members.append(i)
            if box.members:
                boxes.append(box)
    root = len(order) - 1
    loose = [i for i in range(root) if box_of[i] < 0]
    budget = max(1, max_boxes - len(boxes) - 1)
    size = 1 if len(loose) <= budget else math.ceil(len(loose) / budget)
    for start in range(0, len(loose), size):
        chunk = loose[start:start + size]
        name = name_of(order[chunk[0]]) if size == 1 else f"{name_of(order[chunk[0]])} … {name_of(order[chunk[-1]])}"
        for i in chunk:
            box_of[i] = len(boxes)
        boxes.append(Box(name, (), chunk))
    if box_of[root] < 0:
        box_of[root] = len(boxes)
        boxes.append(Box(name_of(order[root]), (), [root]))
    edges: dict[tuple[int, int], int] = {}
    for i, v in enumerate(order):
        for c in v.children:
            pair = (box_of[index[c]], box_of[i])
            if pair[0] != pair[1]:
                edges[pair] = edges.get(pair, 0) + 1
    return Overview(boxes, box_of, edges, len(loose) if size > 1 else 0)
