"""The chain rule written out: every path from an input to the output, and both sweeps narrated.

`explain(output, wrt)` writes ∂output/∂wrt the way a worked example does by
hand.  Factors run between the Values the learner labelled: the unlabelled
nodes in between (the `- 0.5`, `** 2`, `* 0.5` of ½(o − t)²) are multiplied
through, so each factor is one "local derivative" of the page,

    ∂E/∂w6 = ∂E/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w6,

and a Value reaching the output along several paths gets one product per
path, then their sum.  When there are too many paths, they are merged at
shared nodes instead — the δ form, ∂E/∂node = Σ_parents ∂E/∂parent ·
∂parent/∂node, once per node — and the text is capped with a summary.

`backward_steps(output)` narrates `backward()`: one row per (node, child) in
the order the sweep visits them, with the local derivative's formula from the
op table, the upstream gradient and the contribution added to the child.
`forward_steps(output, wrt)` narrates the other sweep, forward mode: the
tangent ∂node/∂wrt carried from wrt up to the output in creation order.

Import the functions (`from autobp.explain import explain`), or call the
module itself: after `import autobp.explain`, `autobp.explain(E, w6)` works.
"""

from __future__ import annotations

import heapq
import re
import sys
import types
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Sequence

from autobp.engine import Sweep, Value, local_derivatives, topo_order
from autobp.graph import nodes_between

__all__ = ["explain", "backward_steps", "BackwardTrace", "BackwardStep", "forward_steps", "ForwardTrace", "ForwardStep"]


def _num(x: float, digits: int) -> str:
    """x rounded to `digits` decimal places as on the page (0.248598311, 0.3); below 0.001, `digits` significant digits."""
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.{digits}g}"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _sum(terms: list[str]) -> str:
    """'a + b - c' from the terms' texts."""
    text = terms[0]
    for t in terms[1:]:
        text += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return text


def _formula(node: Value, k: int, name_of, digits: int) -> str:
    """The op table's formula for ∂node/∂(operand k), written with the operands' names.

    A formula names the operands x, y, z; each becomes the operand's label,
    or its number when it has none.
    """
    op = node.op_record
    if op is None:
        raise ValueError(f"{node!r} is a leaf: no op, no formula")
    names = {}
    for letter, a in zip("xyz", node.operands):
        names[letter] = _num(a, digits) if type(a) is float else name_of(a)
    return re.sub(r"\b[xyz]\b", lambda m: names.get(m.group(), m.group()), op.formula(k))


def _factor(text: str) -> str:
    """`text` in parentheses unless it is a single name or number, so it reads right in a product."""
    return text if re.fullmatch(r"[\w.#]+", text) else f"({text})"


# ---------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------

@dataclass
class _Segment:
    """One factor of the written-out chain rule: ∂upper/∂lower through unlabelled nodes only."""

    lower: Value
    upper: Value
    value: float
    how: str        # the op and formula of a direct edge, or the unlabelled ops passed through


def _segments(nodes: list[Value], stops: set[Value], name_of, digits: int) -> dict[Value, list[_Segment]]:
    """For each stop (labelled node), the factors from it up to the next stops on the way to the output.

    A forward sweep from each stop L through unlabelled nodes only: the
    tangent dn/dL = Σ_children ∂n/∂child · dchild/dL, stopping at the next
    labelled node M, where it is the factor ∂M/∂L.  The work and memory are
    those of the nodes swept, so an unlabelled chain costs time linear in its length.
    """
    inside = set(nodes)
    parents: dict[Value, list[Value]] = {n: [] for n in nodes}
    locals_: dict[Value, tuple[float, ...]] = {}
    for n in nodes:
        below = [c for c in dict.fromkeys(n.children) if c in inside]
        if below:
            locals_[n] = local_derivatives(n)
            for c in below:
                parents[c].append(n)
    out: dict[Value, list[_Segment]] = {}
    for lower in nodes:
        if lower not in stops:
            continue
        tangent = {lower: 1.0}
        heap = [(p._id, p) for p in parents[lower]]
        heapq.heapify(heap)
        seen = set(parents[lower])
        segs = []
        while heap:
            _, n = heapq.heappop(heap)        # creation order: every child is finished first
            t = 0.0
            for a, local in zip(n.operands, locals_[n]):
                if type(a) is not float and a in tangent:
                    t += local * tangent[a]
            if n in stops:
                how = _how(n, lower, _between(n, lower, tangent), name_of, digits)
                segs.append(_Segment(lower, n, t, how))
                continue
            tangent[n] = t
            for p in parents[n]:
                if p not in seen:
                    seen.add(p)
                    heapq.heappush(heap, (p._id, p))
        out[lower] = segs
    return out


def _between(upper: Value, lower: Value, swept: dict[Value, float]) -> list[Value]:
    """The unlabelled nodes on the paths from `lower` up to `upper`, in creation order.

    `swept` holds the nodes the sweep from `lower` went through; walking down
    from `upper` inside them finds those that lead up to `upper`.
    """
    found: set[Value] = set()
    stack = [c for c in upper.children if c in swept and c is not lower]
    while stack:
        n = stack.pop()
        if n not in found:
            found.add(n)
            stack.extend(c for c in n.children if c in swept and c is not lower)
    return sorted(found, key=lambda n: n._id)


_SHOWN_OPS = 8       # a longer run of unlabelled ops is shortened in the text


def _how(upper: Value, lower: Value, between: list[Value], name_of, digits: int) -> str:
    """How ∂upper/∂lower arises: 'sigmoid: sigmoid(x)(1 - sigmoid(x))', or the ops passed through."""
    if not between:
        parts = [_formula(upper, k, name_of, digits) for k, a in enumerate(upper.operands) if a is lower]
        return f"{upper.op}: {' + '.join(parts)}"
    ops = [n.op for n in between] + [upper.op]
    if len(ops) <= _SHOWN_OPS:
        return "through " + ", ".join(ops)
    return f"through {len(ops)} ops: {', '.join(ops[:4])}, …, {', '.join(ops[-3:])}"


def explain(output: Value, wrt: Value, *, max_paths: int = 12, max_lines: int = 40, digits: int = 9,
            mode: str = "reverse") -> str:
    """∂output/∂wrt written out by the chain rule: local derivatives, one product per path, the sum.

    mode="reverse" writes each product from the output side, as backward()
    multiplies; mode="forward" writes the same product from the input side,
    as a forward sweep (`autobp.jvp`) does, and merges many paths into
    tangents ∂n/∂wrt instead of δ's.

    Factors run between labelled Values (plus `output` and `wrt`); the
    unlabelled nodes between two of them are multiplied through into one
    factor.  Factors equal to exactly 1 (a `+` on the way) are left out of
    the products.  With more than `max_paths` paths or `max_lines` local
    derivatives, the paths are merged at shared nodes instead (δ form, one
    line per node, output first), at most `max_lines` lines.  Numbers are rounded to `digits` decimal places, as
    on the page (0.248598311); those below 0.001 to `digits` significant digits.

    >>> from autobp import Value
    >>> x, w = Value(0.5, "x"), Value(-2.0, "w")
    >>> y = x * w; y.label = "y"
    >>> L = y.tanh(); L.label = "L"
    >>> print(explain(L, x).splitlines()[-1])      # (1 - tanh²(xw)) · w
    ∂L/∂x = -0.839948683
    """
    for what, v in (("output", output), ("wrt", wrt)):
        if not isinstance(v, Value):
            raise TypeError(f"explain() {what} must be a Value, got {type(v).__name__}: {v!r}")
    if mode not in ("reverse", "forward"):
        raise ValueError(f"explain() mode must be 'reverse' or 'forward', got {mode!r}")
    forward = mode == "forward"

    def name_of(v: Value) -> str:
        return v.label or ("output" if v is output else "wrt" if v is wrt else _num(v.data, digits))

    top, bottom = name_of(output), name_of(wrt)
    d = f"∂{top}/∂{bottom}"
    nodes = nodes_between(output, [wrt])
    if not nodes:
        return f"{d} = 0: {top} does not depend on {bottom}."
    if wrt is output:
        return f"{d} = 1"
    stops = {n for n in nodes if n.label or n is output or n is wrt}
    segments = _segments(nodes, stops, name_of, digits)

    # number of paths from each stop to the output, output first
    count: dict[Value, int] = {output: 1}
    for n in reversed(nodes):
        if n in stops and n is not output:
            count[n] = sum(count[s.upper] for s in segments[n])
    n_paths = count[wrt]
    side = ", forward mode (products taken from the input side)" if forward else ""
    lines = [f"{d} by the chain rule{side}: {n_paths} path{'s' if n_paths != 1 else ''} from {bottom} to {top}."]
    n_factors = sum(len(segments[n]) for n in stops if n is not output)
    if n_paths <= max_paths and n_factors <= max_lines:
        lines += _path_form(output, wrt, segments, name_of, digits, d, forward)
    else:
        why = (f"more than max_paths={max_paths} paths" if n_paths > max_paths
               else f"more than max_lines={max_lines} local derivatives")
        merged = _tangent_form if forward else _delta_form
        lines += merged(output, wrt, nodes, stops, segments, name_of, digits, why, max_lines, d)
    if stops == {output, wrt} and any("through" in s.how for s in segments[wrt]):
        lines.append(f"(Label intermediate Values, e.g. v.label = 'h', to split ∂{top}/∂{bottom} into more factors.)")
    return "\n".join(lines)


def _product(chain: list[_Segment], name_of, digits: int) -> tuple[str, str, float]:
    """The symbolic product, the numeric product (factors of exactly 1 left out), and its value."""
    value = 1.0
    for s in chain:
        value *= s.value
    shown = [s for s in chain if s.value != 1.0] or chain[:1]
    symbols = " · ".join(f"∂{name_of(s.upper)}/∂{name_of(s.lower)}" for s in shown)
    ones = [f"∂{name_of(s.upper)}/∂{name_of(s.lower)}" for s in chain if s not in shown]
    if ones:
        symbols += f"   (left out, = 1: {', '.join(ones)})"
    numbers = " × ".join(_factor(_num(s.value, digits)) for s in shown)
    return symbols, numbers, value


def _path_form(output, wrt, segments, name_of, digits, d, forward=False) -> list[str]:
    """The derivative as a sum over paths: the local derivatives used, one product per path, the total.

        ∂out/∂wrt = Σ_paths Π_(segments on the path) ∂upper/∂lower

    Each path is written output end first, as on the page: ∂E/∂out_o1 · ∂out_o1/∂net_o1 · ∂net_o1/∂w6;
    with `forward`, input end first, as a forward sweep multiplies:
    ∂net_o1/∂w6 · ∂out_o1/∂net_o1 · ∂E/∂out_o1.
    """
    chains: list[list[_Segment]] = []
    stack: list[tuple[Value, list[_Segment]]] = [(wrt, [])]
    while stack:
        node, chain = stack.pop()
        if node is output:
            chains.append(chain if forward else list(reversed(chain)))
            continue
        for s in reversed(segments[node]):
            stack.append((s.upper, chain + [s]))
    used = {}
    for chain in chains:
        for s in chain:
            used[(s.lower, s.upper)] = s
    width = max(len(f"∂{name_of(s.upper)}/∂{name_of(s.lower)}") for s in used.values())
    lines = ["", "Local derivatives:"]
    order = (lambda s: (s.lower._id, s.upper._id)) if forward else (lambda s: (-s.upper._id, -s.lower._id))
    for s in sorted(used.values(), key=order):
        factor = f"∂{name_of(s.upper)}/∂{name_of(s.lower)}"
        lines.append(f"  {factor:<{width}} = {_num(s.value, digits):<{digits + 4}}  ({s.how})")
    total, terms = 0.0, []
    for i, chain in enumerate(chains, 1):
        symbols, numbers, value = _product(chain, name_of, digits)
        route = " → ".join([name_of(wrt)] + [name_of(s.upper) for s in (chain if forward else reversed(chain))])
        product = f"{numbers} = {_num(value, digits)}" if " × " in numbers else numbers
        lines += ["", f"Path {i}: {route}", f"  {symbols}", f"  = {product}"]
        total += value
        terms.append(_num(value, digits))
    lines.append("")
    if len(chains) > 1:
        lines.append(f"{d} = {_sum(terms)} = {_num(total, digits)}")
    else:
        lines.append(f"{d} = {_num(total, digits)}")
    return lines


def _delta_form(output, wrt, nodes, stops, segments, name_of, digits, why, max_lines, d) -> list[str]:
    """The derivative with paths merged at shared nodes, one line per labelled node, output first:

        δ(output) = 1,   δ(n) = Σ over n's next labelled nodes p of δ(p) · ∂p/∂n,   ∂output/∂wrt = δ(wrt)

    where δ(n) = ∂output/∂n.  The same sum as the path form, in a number of lines that grows
    with the nodes rather than the paths; at most `max_lines`, the rest summarised in one line.
    """
    top = name_of(output)
    lines = ["", f"Too long to list path by path ({why}), so the paths are merged at shared nodes (δ form):",
             f"∂{top}/∂n = Σ over n's next labelled nodes p of ∂{top}/∂p · ∂p/∂n, output first.", ""]
    delta: dict[Value, float] = {output: 1.0}
    body = [f"∂{top}/∂{top} = 1"]
    for n in reversed(nodes):
        if n not in stops or n is output:
            continue
        segs = segments[n]
        delta[n] = sum(delta[s.upper] * s.value for s in segs)
        symbols = " + ".join(f"∂{name_of(s.upper)}/∂{name_of(n)}" if s.upper is output else
                             f"∂{top}/∂{name_of(s.upper)} · ∂{name_of(s.upper)}/∂{name_of(n)}" for s in segs)
        numbers = _sum([_num(s.value, digits) if s.upper is output else
                        f"{_num(delta[s.upper], digits)} × {_factor(_num(s.value, digits))}" for s in segs])
        body.append(_equation([f"∂{top}/∂{name_of(n)}", symbols, numbers, _num(delta[n], digits)]))
    lines += ["  " + b for b in _capped(body, max_lines)]
    lines += ["", f"{d} = {_num(delta[wrt], digits)}"]
    return lines


def _tangent_form(output, wrt, nodes, stops, segments, name_of, digits, why, max_lines, d) -> list[str]:
    """The derivative with paths merged at shared nodes, one line per labelled node, input first:

        ẇrt = 1,   ṅ = Σ over n's previous labelled nodes c of ċ · ∂n/∂c,   ∂output/∂wrt = ȯutput

    where ṅ = ∂n/∂wrt, the tangent a forward sweep carries: the δ form's sum, taken from the other end.
    """
    bottom = name_of(wrt)
    lines = ["", f"Too long to list path by path ({why}), so the paths are merged at shared nodes "
                 f"(tangent form):",
             f"∂n/∂{bottom} = Σ over n's previous labelled nodes c of ∂c/∂{bottom} · ∂n/∂c, "
             f"input first.", ""]
    incoming: dict[Value, list[_Segment]] = {}
    for segs in segments.values():
        for seg in segs:
            incoming.setdefault(seg.upper, []).append(seg)
    tangent: dict[Value, float] = {wrt: 1.0}
    body = [f"∂{bottom}/∂{bottom} = 1"]
    for n in nodes:
        if n not in stops or n is wrt:
            continue
        segs = sorted(incoming[n], key=lambda seg: seg.lower._id)
        tangent[n] = sum(tangent[seg.lower] * seg.value for seg in segs)
        symbols = " + ".join(f"∂{name_of(n)}/∂{bottom}" if seg.lower is wrt else
                             f"∂{name_of(seg.lower)}/∂{bottom} · ∂{name_of(n)}/∂{name_of(seg.lower)}"
                             for seg in segs)
        numbers = _sum([_num(seg.value, digits) if seg.lower is wrt else
                        f"{_num(tangent[seg.lower], digits)} × {_factor(_num(seg.value, digits))}" for seg in segs])
        body.append(_equation([f"∂{name_of(n)}/∂{bottom}", symbols, numbers, _num(tangent[n], digits)]))
    lines += ["  " + b for b in _capped(body, max_lines)]
    lines += ["", f"{d} = {_num(tangent[output], digits)}"]
    return lines


def _equation(parts: list[str]) -> str:
    """'a = b = c', leaving out a part equal to the one before it."""
    return " = ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])


def _capped(body: list[str], max_lines: int) -> list[str]:
    """At most max_lines lines: the first ones, a line saying how many are hidden, and the last."""
    if len(body) <= max_lines:
        return body
    hidden = len(body) - max_lines
    return body[:max_lines - 1] + [f"… {hidden} more labelled nodes not shown (max_lines={max_lines}); "
                                   f"explain a nearer Value, or label fewer intermediate nodes.", body[-1]]


# ---------------------------------------------------------------------------
# backward_steps
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BackwardStep:
    """One (node, child) step of the backward sweep: ∂L/∂child += ∂L/∂node · ∂node/∂child."""

    step: int
    node: Value
    child: Value
    position: int          # which operand of node the child is (0 = x, 1 = y, ...)
    node_name: str
    child_name: str
    op: str
    formula: str           # ∂node/∂child as text, with the operands' names
    local: float           # its value
    upstream: float        # ∂L/∂node
    contribution: float    # upstream · local, added to ∂L/∂child
    child_grad: float      # ∂L/∂child after this step


class BackwardTrace:
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
                               _formula(node, k, name_of, self.digits), local, upstream, local * upstream,
                               sweep.grads[child])

    @cached_property
    def rows(self) -> list[BackwardStep]:
        """Every row, in order (computed once, on first use)."""
        return list(iter(self))        # iter(): list(self) would ask len(self), which asks for the rows

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<BackwardTrace of ∂{self.output_name}>"

    def statement(self, row: BackwardStep) -> str:
        """'∂L/∂a += ∂L/∂c · b = 1 × -3 = -3' for one row."""
        L, n = self.output_name, self.digits
        return (f"∂{L}/∂{row.child_name} += ∂{L}/∂{row.node_name} · {_factor(row.formula)}"
                f" = {_num(row.upstream, n)} × {_factor(_num(row.local, n))} = {_num(row.contribution, n)}")

    def __str__(self) -> str:
        n, L = self.digits, self.output_name
        header = ("step", "node", "op", "child", "∂node/∂child", f"∂{L}/∂node", "contribution", f"∂{L}/∂child so far")
        body = [(str(r.step), r.node_name, r.op, r.child_name, _num(r.local, n), _num(r.upstream, n),
                 self.statement(r), _num(r.child_grad, n)) for r in self]
        return _table(f"Backward sweep from {L}: seed ∂{L}/∂{L} = 1, nodes in reverse topological order",
                      header, body)


def _table(title: str, header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """The title, then header and rows in left-aligned columns."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join([title] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *body]])


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
class ForwardStep:
    """One (node, child) step of the tangent sweep: ∂node/∂x += ∂child/∂x · ∂node/∂child."""

    step: int
    node: Value
    child: Value
    position: int          # which operand of node the child is (0 = x, 1 = y, ...)
    node_name: str
    child_name: str
    op: str
    formula: str           # ∂node/∂child as text, with the operands' names
    local: float           # its value
    tangent: float         # ∂child/∂x, the child's tangent
    contribution: float    # tangent · local, added to ∂node/∂x
    node_tangent: float    # ∂node/∂x after this step


class ForwardTrace:
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
        tangent: dict[Value, float] = {self.wrt: 1.0}
        step = 0
        for node in nodes_between(self.output, [self.wrt]):
            if node is self.wrt:
                continue
            total = 0.0
            for k, (a, local) in enumerate(zip(node.operands, local_derivatives(node), strict=True)):
                if not isinstance(a, Value) or a not in tangent:     # a constant, or not reached from wrt
                    continue
                contribution = tangent[a] * local
                total += contribution
                step += 1
                yield ForwardStep(step, node, a, k, self._name(node), self._name(a), node.op,
                                  _formula(node, k, self._name, self.digits), local, tangent[a], contribution, total)
            tangent[node] = total

    @cached_property
    def rows(self) -> list[ForwardStep]:
        """Every row, in order (computed once, on first use)."""
        return list(iter(self))        # iter(): list(self) would ask len(self), which asks for the rows

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<ForwardTrace of ∂{self.output_name}/∂{self.wrt_name}>"

    def statement(self, row: ForwardStep) -> str:
        """'∂c/∂a += ∂a/∂a · b = 1 × (-3) = -3' for one row."""
        x, n = self.wrt_name, self.digits
        return (f"∂{row.node_name}/∂{x} += ∂{row.child_name}/∂{x} · {_factor(row.formula)}"
                f" = {_num(row.tangent, n)} × {_factor(_num(row.local, n))} = {_num(row.contribution, n)}")

    def __str__(self) -> str:
        n, x = self.digits, self.wrt_name
        header = ("step", "node", "op", "child", "∂node/∂child", f"∂child/∂{x}", "contribution",
                  f"∂node/∂{x} so far")
        body = [(str(r.step), r.node_name, r.op, r.child_name, _num(r.local, n), _num(r.tangent, n),
                 self.statement(r), _num(r.node_tangent, n)) for r in self]
        return _table(f"Forward sweep along {x}: seed ∂{x}/∂{x} = 1, nodes in creation (topological) order",
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


class _CallableModule(types.ModuleType):
    """Makes `autobp.explain(output, wrt)` work as API.md writes it."""

    def __call__(self, output: Value, wrt: Value, **options) -> str:
        return explain(output, wrt, **options)


sys.modules[__name__].__class__ = _CallableModule
