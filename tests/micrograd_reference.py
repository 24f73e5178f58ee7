"""The oracle for autobp.micrograd: micrograd 0.1.0 itself, plus (clearly labelled) what its lectures add.

micrograd 0.1.0's `Value` has +, *, ** k, relu and their reflections.  The
"building micrograd" lectures and the LLM101n script also use a `label=`
argument, `tanh()`, `exp()` and `log()`.  `lecture_additions()` adds those to
micrograd's own class for the length of a block, written here from the
lectures' behaviour: each new node gets a closure `_backward` that adds its
local derivative times the node's `.grad` into its child, exactly the
mechanism micrograd uses for its own ops.  Two tanh's exist: the first
lecture's (e^2x − 1)/(e^2x + 1) and LLM101n's `math.tanh` (they can differ in
the last bit).

`lecture_trace` and `lecture_draw_dot` are the lecture notebooks' graph
helpers (walk `_prev` recursively into sets; one record box per Value and
one node per op), from the same notebooks' behaviour.

Nothing here is imported from those projects; it is test code in autobp's words.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator

import graphviz
import pytest

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")
MValue = micrograd_engine.Value

MICROGRAD = SimpleNamespace(Value=MValue, Module=micrograd_nn.Module, Neuron=micrograd_nn.Neuron,
                            Layer=micrograd_nn.Layer, MLP=micrograd_nn.MLP, name="micrograd 0.1.0")


def _lecture_tanh(x: float) -> float:
    """tanh as the first lecture computes it: (e^2x − 1)/(e^2x + 1)."""
    e = math.exp(2 * x)
    return (e - 1) / (e + 1)


def _unary(name: str, forward, local):
    """A micrograd-style method: out = forward(x); its _backward adds local(x, out) · out.grad into x.grad."""
    def method(self):
        out = MValue(forward(self.data), (self,), name)

        def _backward():
            self.grad += local(self.data, out.data) * out.grad
        out._backward = _backward
        return out
    method.__name__ = name
    return method


@contextmanager
def lecture_additions(tanh: str = "lecture") -> Iterator[None]:
    """micrograd 0.1.0's Value with `label=`, tanh, exp and log, as the lectures add them, inside the block.

    tanh="lecture" uses the first lecture's formula, tanh="math" LLM101n's math.tanh.
    """
    original_init = MValue.__init__

    def init(self, data, _children=(), _op="", label=""):
        original_init(self, data, _children, _op)
        self.label = label

    tanh_forward = _lecture_tanh if tanh == "lecture" else math.tanh
    added = {
        "__init__": init,
        "tanh": _unary("tanh", tanh_forward, lambda x, t: 1 - t ** 2),
        "exp": _unary("exp", math.exp, lambda x, e: e),
        "log": _unary("log", math.log, lambda x, out: 1 / x),
    }
    try:
        for name, method in added.items():
            setattr(MValue, name, method)
        yield
    finally:
        MValue.__init__ = original_init
        for name in ("tanh", "exp", "log"):
            delattr(MValue, name)


def lecture_trace(root) -> tuple[set, set]:
    """The lecture's trace: every node reachable through `_prev`, and the set of (child, parent) edges."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def lecture_draw_dot(root) -> graphviz.Digraph:
    """The lecture's diagram: a record box per Value, a node per op feeding it, an edge per (child, parent)."""
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    nodes, edges = lecture_trace(root)
    for n in nodes:
        dot.node(str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape="record")
        if n._op:
            dot.node(str(id(n)) + n._op, label=n._op)
            dot.edge(str(id(n)) + n._op, str(id(n)))
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    return dot
