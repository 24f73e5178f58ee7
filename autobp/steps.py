"""Both sweeps narrated, one row per (node, operand): `backward_steps` and `forward_steps`.

`backward_steps(output)` narrates `backward()`: the rows come from the
engine's own `Sweep`, one per (node, child) in the order the sweep adds them,
with the local derivative's formula from the op table, the upstream gradient
and the contribution added to the child.  `forward_steps(output, wrt)`
narrates the other sweep, forward mode: the rows come from
`autobp.forward.Linearization`'s tangent sweep, ∂node/∂wrt carried from wrt
up to the output in creation order.  Both stream their rows.

Both are importable from `autobp.explain` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Generic, Iterator, TypeVar

from autobp.engine import Sweep, Value, topo_order
from autobp.forward import Linearization
from autobp.notation import factor, formula, number, table

__all__ = ["backward_steps", "BackwardTrace", "BackwardStep", "forward_steps", "ForwardTrace", "ForwardStep"]


# ---------------------------------------------------------------------------
# backward_steps
# ---------------------------------------------------------------------------

Row = TypeVar("Row")


class _Narration(Generic[Row]):
    """Rows that `__iter__` streams, computed afresh each time; `.rows` keeps them once read."""

    def __iter__(self) -> Iterator[Row]:
        raise NotImplementedError

    @cached_property
    def rows(self) -> list[Row]:
        """Every row, in order (computed once, on first use)."""
        return list(iter(self))        # iter(): list(self) would ask len(self), which asks for the rows

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class _Step:
    """What a row of either sweep says about its (node, child) edge."""

    step: int
    node: Value
    child: Value
    position: int          # which operand of node the child is (0 = x, 1 = y, ...)
    node_name: str
    child_name: str
    op: str
    formula: str           # ∂node/∂child as text, with the operands' names
    local: float           # its value


@dataclass(frozen=True)
class BackwardStep(_Step):
    """One (node, child) step of the backward sweep: ∂L/∂child += ∂L/∂node · ∂node/∂child."""

    upstream: float        # ∂L/∂node
    contribution: float    # upstream · local, added to ∂L/∂child
    child_grad: float      # ∂L/∂child after this step


class BackwardTrace(_Narration[BackwardStep]):
    """The backward sweep from one output, step by step; iterate it (or read `.rows`), or print it.

    Iterating runs the sweep afresh and yields each row as it is computed,
    so a graph of millions of nodes can be narrated without holding its rows.
    """

    def __init__(self, output: Value, digits: int) -> None:
        self.output = output
        self.digits = digits
        self.output_name = output.label or "L"

    def __iter__(self) -> Iterator[BackwardStep]:
        """The rows, one per (node, Value operand), in the order `backward()` adds them."""
        order = topo_order(self.output)
        visit = {v: len(order) - i for i, v in enumerate(order)}      # 1 for the output, as draw_dot numbers them

        def name_of(v: Value) -> str:
            return v.label or ("L" if v is self.output else f"#{visit[v]}")

        sweep = Sweep(self.output)
        for step, (node, k, child, local) in enumerate(sweep, 1):
            upstream = sweep.grads[node]
            yield BackwardStep(step, node, child, k, name_of(node), name_of(child), node.op,
                               formula(node, k, name_of, self.digits), local, upstream, local * upstream,
                               sweep.grads[child])

    def __repr__(self) -> str:
        return f"<BackwardTrace of ∂{self.output_name}>"

    def statement(self, row: BackwardStep) -> str:
        """'∂L/∂a += ∂L/∂c · b = 1 × -3 = -3' for one row."""
        L, n = self.output_name, self.digits
        return (f"∂{L}/∂{row.child_name} += ∂{L}/∂{row.node_name} · {factor(row.formula)}"
                f" = {number(row.upstream, n)} × {factor(number(row.local, n))} = {number(row.contribution, n)}")

    def __str__(self) -> str:
        n, L = self.digits, self.output_name
        header = ("step", "node", "op", "child", "∂node/∂child", f"∂{L}/∂node", "contribution", f"∂{L}/∂child so far")
        body = [(str(r.step), r.node_name, r.op, r.child_name, number(r.local, n), number(r.upstream, n),
                 self.statement(r), number(r.child_grad, n)) for r in self]
        return table(f"Backward sweep from {L}: seed ∂{L}/∂{L} = 1, nodes in reverse topological order",
                     header, body)


def backward_steps(output: Value, *, digits: int = 6) -> BackwardTrace:
    """Narrate `output.backward()`: one row per (node, child), streamed in visiting order.

    The rows come from the engine's own sweep (`autobp.engine.Sweep`), the
    loop `backward()` runs: seed ∂L/∂L = 1, take the nodes in reverse
    topological order, and for each Value operand add ∂L/∂node · ∂node/∂child
    into ∂L/∂child — so the numbers are backward()'s, in its order.
    Unlabelled nodes are named #k, the k-th node visited (as `draw_dot(visit_order=True)`).

    >>> from autobp import Value
    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> c = a * b; c.label = "c"
    >>> trace = backward_steps(c)
    >>> print(trace.statement(trace.rows[0]))
    ∂c/∂a += ∂c/∂c · b = 1 × (-3) = -3
    """
    if not isinstance(output, Value):
        raise TypeError(f"backward_steps() needs a Value, got {type(output).__name__}: {output!r}")
    return BackwardTrace(output, digits)


# ---------------------------------------------------------------------------
# forward_steps
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ForwardStep(_Step):
    """One (node, child) step of the tangent sweep: ∂node/∂x += ∂child/∂x · ∂node/∂child."""

    tangent: float         # ∂child/∂x, the child's tangent
    contribution: float    # tangent · local, added to ∂node/∂x
    node_tangent: float    # ∂node/∂x after this step


class ForwardTrace(_Narration[ForwardStep]):
    """The tangent sweep along one input, step by step; iterate it (or read `.rows`), or print it.

    Iterating runs the sweep afresh and yields each row as it is computed, so
    a long graph can be narrated without holding its rows.
    """

    def __init__(self, output: Value, wrt: Value, digits: int) -> None:
        self.output = output
        self.wrt = wrt
        self.digits = digits
        order = topo_order(output)
        self._visit = {v: len(order) - i for i, v in enumerate(order)}    # backward()'s visiting number
        self.output_name = self._name(output)
        self.wrt_name = self._name(wrt)

    def _name(self, v: Value) -> str:
        """The label, else L for the output, #k as in backward_steps, or x for an input outside the graph."""
        return v.label or ("L" if v is self.output else f"#{self._visit[v]}" if v in self._visit else "x")

    def __iter__(self) -> Iterator[ForwardStep]:
        """The rows, one per (node, operand reached from wrt), in creation order: ṅ += ċ · ∂n/∂c."""
        tangents: dict = {self.wrt: 1.0}
        sweep = Linearization([self.output]).sweep(tangents)
        for step, (node, k, child, local) in enumerate(sweep, 1):
            yield ForwardStep(step, node, child, k, self._name(node), self._name(child), node.op,
                              formula(node, k, self._name, self.digits), local, tangents[child],
                              local * tangents[child], tangents[node])

    def __repr__(self) -> str:
        return f"<ForwardTrace of ∂{self.output_name}/∂{self.wrt_name}>"

    def statement(self, row: ForwardStep) -> str:
        """'∂c/∂a += ∂a/∂a · b = 1 × (-3) = -3' for one row."""
        x, n = self.wrt_name, self.digits
        return (f"∂{row.node_name}/∂{x} += ∂{row.child_name}/∂{x} · {factor(row.formula)}"
                f" = {number(row.tangent, n)} × {factor(number(row.local, n))} = {number(row.contribution, n)}")

    def __str__(self) -> str:
        n, x = self.digits, self.wrt_name
        header = ("step", "node", "op", "child", "∂node/∂child", f"∂child/∂{x}", "contribution",
                  f"∂node/∂{x} so far")
        body = [(str(r.step), r.node_name, r.op, r.child_name, number(r.local, n), number(r.tangent, n),
                 self.statement(r), number(r.node_tangent, n)) for r in self]
        return table(f"Forward sweep along {x}: seed ∂{x}/∂{x} = 1, nodes in creation (topological) order",
                     header, body)


def forward_steps(output: Value, wrt: Value, *, digits: int = 6) -> ForwardTrace:
    """Narrate the forward (tangent) sweep of ∂output/∂wrt: one row per (node, child), in creation order.

    The sweep seeds ∂x/∂x = 1 at x = wrt, then takes the nodes that depend on
    x in creation order and for each operand adds ∂child/∂x · ∂node/∂child
    into ∂node/∂x — what `autobp.jvp` computes along the direction e_x.  The
    last row's tangent is ∂output/∂wrt, the number backward() puts in wrt.grad.
    Operands that do not depend on x (constants included) add nothing and
    get no row.  Unlabelled nodes are named #k as in `backward_steps`.

    >>> from autobp import Value
    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> c = a * b; c.label = "c"
    >>> trace = forward_steps(c, a)
    >>> print(trace.statement(trace.rows[0]))
    ∂c/∂a += ∂a/∂a · b = 1 × (-3) = -3
    """
    for what, v in (("output", output), ("wrt", wrt)):
        if not isinstance(v, Value):
            raise TypeError(f"forward_steps() {what} must be a Value, got {type(v).__name__}: {v!r}")
    return ForwardTrace(output, wrt, digits)
