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

`backward_steps(output)` and `forward_steps(output, wrt)`, the two sweeps
narrated row by row, live in `autobp.steps` and are importable from here.

Import the functions (`from autobp.explain import explain`), or call the
module itself: after `import autobp.explain`, `autobp.explain(E, w6)` works.
"""

from __future__ import annotations

import heapq
import sys
import types
from typing import Callable, NamedTuple

from autobp.engine import Value, local_derivatives
from autobp.graph import nodes_between
from autobp.notation import factor, formula, number, signed_sum
from autobp.steps import BackwardStep, BackwardTrace, ForwardStep, ForwardTrace, backward_steps, forward_steps

__all__ = ["explain", "backward_steps", "BackwardTrace", "BackwardStep", "forward_steps", "ForwardTrace", "ForwardStep"]


# ---------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------

class _Segment(NamedTuple):
    """One factor of the written-out chain rule: ∂upper/∂lower through unlabelled nodes only."""

    lower: Value
    upper: Value
    value: float
    swept: dict[Value, float]       # the nodes the sweep from `lower` went through (none for a direct edge)

    def how(self, name_of, digits: int) -> str:
        """The op and formula of a direct edge, or the unlabelled ops passed through (written only for the
        factors shown)."""
        return _how(self.upper, self.lower, self.swept, name_of, digits)


_NOTHING_SWEPT: dict[Value, float] = {}      # (read, never written)


def _segments(nodes: list[Value], stops: set[Value]) -> dict[Value, list[_Segment]]:
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
        below = [c for c in dict.fromkeys(n.operands) if c in inside]     # constants (floats) are never inside
        if below:
            locals_[n] = local_derivatives(n)
            for c in below:
                parents[c].append(n)
    def tangent_of(n: Value, tangent: dict[Value, float]) -> float:
        t = 0.0
        for a, local in zip(n.operands, locals_[n]):
            if type(a) is not float and a in tangent:
                t += local * tangent[a]
        return t

    out: dict[Value, list[_Segment]] = {}
    for lower in nodes:
        if lower not in stops:
            continue
        tangent = {lower: 1.0}
        if stops.issuperset(parents[lower]):      # only direct edges (a labelled chain): nothing to sweep
            out[lower] = [_Segment(lower, p, tangent_of(p, tangent), _NOTHING_SWEPT) for p in parents[lower]]
            continue
        heap = [(p._id, p) for p in parents[lower]]
        heapq.heapify(heap)
        seen = set(parents[lower])
        segs = []
        while heap:
            _, n = heapq.heappop(heap)        # creation order: every child is finished first
            t = tangent_of(n, tangent)
            if n in stops:              # (the sweep only adds later nodes, so `tangent` may be read later)
                segs.append(_Segment(lower, n, t, tangent))
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
    stack = [c for c in upper.operands if c in swept and c is not lower]        # constants are never swept
    while stack:
        n = stack.pop()
        if n not in found:
            found.add(n)
            stack.extend(c for c in n.operands if c in swept and c is not lower)
    return sorted(found, key=lambda n: n._id)


_SHOWN_OPS = 8       # a longer run of unlabelled ops is shortened in the text


def _how(upper: Value, lower: Value, swept: dict[Value, float], name_of, digits: int) -> str:
    """How ∂upper/∂lower arises: 'sigmoid: sigmoid(x)(1 - sigmoid(x))', or the ops passed through."""
    between = _between(upper, lower, swept)
    if not between:
        parts = [formula(upper, k, name_of, digits) for k, a in enumerate(upper.operands) if a is lower]
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
        return v.label or ("output" if v is output else "wrt" if v is wrt else number(v.data, digits))

    top, bottom = name_of(output), name_of(wrt)
    d = f"∂{top}/∂{bottom}"
    nodes = nodes_between(output, [wrt])
    if not nodes:
        return f"{d} = 0: {top} does not depend on {bottom}."
    if wrt is output:
        return f"{d} = 1"
    stops = {n for n in nodes if n.label or n is output or n is wrt}
    segments = _segments(nodes, stops)

    # number of paths from each stop to the output, output first
    count: dict[Value, int] = {output: 1}
    for n in reversed(nodes):
        if n in stops and n is not output:
            count[n] = sum([count[s.upper] for s in segments[n]])
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
    if stops == {output, wrt} and any("through" in s.how(name_of, digits) for s in segments[wrt]):
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
    numbers = " × ".join(factor(number(s.value, digits)) for s in shown)
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
        lines.append(f"  {factor:<{width}} = {number(s.value, digits):<{digits + 4}}  ({s.how(name_of, digits)})")
    total, terms = 0.0, []
    for i, chain in enumerate(chains, 1):
        symbols, numbers, value = _product(chain, name_of, digits)
        route = " → ".join([name_of(wrt)] + [name_of(s.upper) for s in (chain if forward else reversed(chain))])
        product = f"{numbers} = {number(value, digits)}" if " × " in numbers else numbers
        lines += ["", f"Path {i}: {route}", f"  {symbols}", f"  = {product}"]
        total += value
        terms.append(number(value, digits))
    lines.append("")
    if len(chains) > 1:
        lines.append(f"{d} = {signed_sum(terms)} = {number(total, digits)}")
    else:
        lines.append(f"{d} = {number(total, digits)}")
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
    order = [n for n in reversed(nodes) if n in stops and n is not output]
    for n in order:
        delta[n] = sum([delta[s.upper] * s.value for s in segments[n]])

    def line(n: Value) -> str:
        segs = segments[n]
        symbols = " + ".join(f"∂{name_of(s.upper)}/∂{name_of(n)}" if s.upper is output else
                             f"∂{top}/∂{name_of(s.upper)} · ∂{name_of(s.upper)}/∂{name_of(n)}" for s in segs)
        numbers = signed_sum([number(s.value, digits) if s.upper is output else
                        f"{number(delta[s.upper], digits)} × {factor(number(s.value, digits))}" for s in segs])
        return _equation([f"∂{top}/∂{name_of(n)}", symbols, numbers, number(delta[n], digits)])

    lines += ["  " + b for b in _capped([f"∂{top}/∂{top} = 1"], order, line, max_lines)]
    lines += ["", f"{d} = {number(delta[wrt], digits)}"]
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
    order = [n for n in nodes if n in stops and n is not wrt]
    for n in order:
        incoming[n].sort(key=lambda seg: seg.lower._id)
        tangent[n] = sum(tangent[seg.lower] * seg.value for seg in incoming[n])

    def line(n: Value) -> str:
        segs = incoming[n]
        symbols = " + ".join(f"∂{name_of(n)}/∂{bottom}" if seg.lower is wrt else
                             f"∂{name_of(seg.lower)}/∂{bottom} · ∂{name_of(n)}/∂{name_of(seg.lower)}"
                             for seg in segs)
        numbers = signed_sum([number(seg.value, digits) if seg.lower is wrt else
                        f"{number(tangent[seg.lower], digits)} × {factor(number(seg.value, digits))}" for seg in segs])
        return _equation([f"∂{name_of(n)}/∂{bottom}", symbols, numbers, number(tangent[n], digits)])

    lines += ["  " + b for b in _capped([f"∂{bottom}/∂{bottom} = 1"], order, line, max_lines)]
    lines += ["", f"{d} = {number(tangent[output], digits)}"]
    return lines


def _equation(parts: list[str]) -> str:
    """'a = b = c', leaving out a part equal to the one before it."""
    return " = ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])


def _capped(first: list[str], nodes: list[Value], line: Callable[[Value], str], max_lines: int) -> list[str]:
    """At most max_lines lines, `first` then one per node: the first ones, a line saying how many are
    hidden, and the last.  Only the lines shown are written (a long labelled chain has 10⁵ of them)."""
    total = len(first) + len(nodes)
    if total <= max_lines:
        return first + [line(n) for n in nodes]
    shown = max(max_lines - 1 - len(first), 0)
    hidden = total - max_lines
    return (first + [line(n) for n in nodes[:shown]])[:max_lines - 1] + [
        f"… {hidden} more labelled nodes not shown (max_lines={max_lines}); "
        f"explain a nearer Value, or label fewer intermediate nodes.", line(nodes[-1])]


class _CallableModule(types.ModuleType):
    """Makes `autobp.explain(output, wrt)` work as API.md writes it."""

    def __call__(self, output: Value, wrt: Value, **options) -> str:
        return explain(output, wrt, **options)


sys.modules[__name__].__class__ = _CallableModule
