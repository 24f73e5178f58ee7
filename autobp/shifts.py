"""f at nearby points: the evaluations every finite difference needs, each with the kink signs it saw.

A finite difference compares f (or its gradient) at shifted inputs x + d.
`values_at` evaluates f at a list of such points and `gradients_at` also takes
the engine's gradient there; both move each input's `.data` and put it back.
At every point they record the sign of the input of each relu/abs node: a
difference whose points disagree with the base point's signs straddles a kink,
where f has no derivative.  (A graph without relu or abs nodes at x is
taken to have none at the nearby points either, so their signs are not
looked for there.)
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

from autobp.engine import Value, grad, topo_order
from autobp.ops import sign
from autobp.stepsize import output_of

__all__ = ["KINK_OPS", "kink_nodes", "kink_signs", "kinks_at", "values_at", "gradients_at"]

KINK_OPS = frozenset({"relu", "abs"})   # ops whose derivative jumps where their input is 0

Shift = Mapping[int, float]             # input index -> how far its .data moves


def kink_nodes(out: Value) -> list[Value]:
    """The relu/abs nodes in the graph of `out`, in topological order."""
    return [n for n in topo_order(out) if n.op in KINK_OPS and n.children]


def kink_signs(nodes: Sequence[Value]) -> tuple[float, ...]:
    """The sign of each kink node's input: which side of each kink we are on."""
    return tuple(sign(n.children[0]) for n in nodes)


def kinks_at(nodes: Sequence[Value], eps: float) -> list[str]:
    """The kink nodes whose input is within eps of 0, described for the report."""
    return [f"{n.op} of {n.children[0].data:.3g}" + (f" at node {n.label!r}" if n.label else "")
            for n in nodes if abs(n.children[0].data) <= eps]


@contextmanager
def _moved(leaves: Sequence[Value], names: Sequence[str], shift: Shift) -> Iterator[None]:
    """Inside the block each leaves[i].data is moved by shift[i]; f failing there names the point."""
    saved = {i: leaves[i].data for i in shift}
    try:
        for i, d in shift.items():
            leaves[i].data = saved[i] + d
        yield
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        moved = ", ".join(f"{names[i]} = {saved[i]!r} moved by {d:+.3g}" for i, d in shift.items())
        raise type(e)(f"gradcheck: f fails at a nearby point ({moved}): {e}") from None
    finally:
        for i, x in saved.items():
            leaves[i].data = x


def values_at(f: Callable[..., Value], leaves: Sequence[Value], names: Sequence[str],
              shifts: Sequence[Shift], watch_kinks: bool = True) -> list[tuple[float, tuple]]:
    """(f, kink signs) at each point x + shift, one evaluation of f per point.

    With watch_kinks=False (f's graph at x has no relu or abs) the signs are
    not looked for, which saves a walk over each graph: () every time.
    """
    results = []
    for shift in shifts:
        with _moved(leaves, names, shift):
            out = output_of(f, leaves)
            results.append((out.data, kink_signs(kink_nodes(out)) if watch_kinks else ()))
    return results


def gradients_at(f: Callable[..., Value], leaves: Sequence[Value], names: Sequence[str],
                 shifts: Sequence[Shift], watch_kinks: bool = True) -> list[tuple[float, tuple, list[float]]]:
    """(f, kink signs, the engine's gradient) at each point x + shift."""
    results = []
    for shift in shifts:
        with _moved(leaves, names, shift):
            out = output_of(f, leaves)
            signs = kink_signs(kink_nodes(out)) if watch_kinks else ()
            results.append((out.data, signs, [g.data for g in grad(out, leaves)]))
    return results
