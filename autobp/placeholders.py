"""Placeholders: the Values a traced function runs on, which refuse to steer Python while it is traced.

A trace (`autobp.tape`) records the operations that ran at the example, not
the Python that chose them.  So a placeholder raises `TraceError`, naming the
user's file and line, when user code tests its truth (`if x:`), compares it
(`x > 0`, `max(x, 0)`, `x == 1.0`, `x in (1.0, 2.0)`), converts it
(`float(x)`) or reads its `.data`: each would be a decision baked in at the
example for every sample.  The engine's own modules read `.data`
to compute, which is allowed.  A placeholder is a Value subclass, and the
engine gives an op's result the most derived class of its operands, so every
value computed from an input is a placeholder too, and guarded as well.
"""

from __future__ import annotations

import linecache
import sys
from contextlib import contextmanager
from typing import Iterator, Sequence, cast

from autobp.engine import _C, Value, _make_node
from autobp.ops import ABS, ADD, DIV, MUL, NEG, POW, SUB

__all__ = ["TraceError", "placeholder", "standing_in"]


class TraceError(TypeError):
    """A traced function branched on a traced value (which a trace cannot record)."""


_DATA = Value.__dict__["data"]       # Value's own storage of .data, under the property below
_ENGINE = frozenset({"autobp.engine", "autobp.ops", "autobp.losses", "autobp.nn"})   # they compute, not decide


def _branch_error(what: str, depth: int) -> TraceError:
    """The error for user code that `what` a placeholder, naming the file, line and its text."""
    frame = sys._getframe(depth)
    code = frame.f_code.co_filename
    text = linecache.getline(code, frame.f_lineno).strip()
    return TraceError(f"trace: {code}, line {frame.f_lineno} {what} a traced value:\n    {text}\n"
                      "A trace records the operations that ran at the example, not Python's decisions, so this "
                      "one would be baked in for every sample. Write it with ops (relu, abs, ...), or call the "
                      "function on Values without trace.")


class _Placeholder(Value):
    """A traced input: a Value that refuses to steer Python while the function is traced."""

    __slots__ = ()

    @property
    def data(self) -> float:
        if sys._getframe(1).f_globals.get("__name__") not in _ENGINE:
            raise _branch_error("reads .data of", 2)
        return _DATA.__get__(self)

    @data.setter
    def data(self, value: float) -> None:
        _DATA.__set__(self, value)

    def __bool__(self) -> bool:
        raise _branch_error("tests the truth of", 2)

    def _compare(self, other: object) -> bool:
        raise _branch_error("compares", 2)

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __eq__(self, other: object) -> bool:
        """Values compare by identity (dicts of nodes need it); `x == 1.0` or `x in (1.0, 2.0)` decides."""
        if isinstance(other, Value):
            return self is other
        raise _branch_error("compares", 2)

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Value):
            return self is not other
        raise _branch_error("compares", 2)

    __hash__ = Value.__hash__

    def _convert(self, *args: object) -> float:
        raise _branch_error("converts to a number", 2)

    __float__ = __int__ = __index__ = __round__ = _convert


if _C is not None:     # the C helper's slots for + - * / ** - abs(): they call apply as Value's methods do
    _C.fast_operators(_Placeholder, ADD, SUB, MUL, DIV, POW, NEG, ABS)


def placeholder(x: float, label: str) -> _Placeholder:
    """A traced input holding the example value x, a finite float (`autobp.tape` checks the examples)."""
    node = cast(_Placeholder, _make_node(_Placeholder, x, None, ()))
    node.label = label
    return node


@contextmanager
def standing_in(values: Sequence[Value]) -> Iterator[bool]:
    """Inside the block the given Values are placeholders, so a function run on them raises TraceError where
    it reads `.data`, tests truth, compares or converts them, as under `trace` (the Values are the same
    objects: a function that captured them, not only one given them, is guarded too).  Yields True; yields
    False and changes nothing when a value is of another class than Value (a subclass's layout and methods
    are its own)."""
    if any(type(v) is not Value for v in values):
        yield False
        return
    for v in values:
        v.__class__ = _Placeholder
    try:
        yield True
    finally:
        for v in values:
            v.__class__ = Value
