"""The op table on arrays: each built-in op's value and local derivatives written for any Array API library.

`RULES[op]` is the twin of an `autobp.ops` entry for `autobp.replay`, which
runs a traced graph on a whole batch: `forward(xp, *inputs)` and
`partials(xp, out, *inputs)` take arrays of the namespace `xp` (one value
per sample) and give what the scalar entry gives for each sample.  The two
copies are kept equal by tests/test_replay.py, which compares every entry
with the op table at points inside and at the edges of its domain.  A domain
error becomes nan or ±inf here; the replay then asks the engine for its own
error message.  The n-ary `sum` needs no twin: it runs as an array sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from autobp import ops

__all__ = ["ArrayRule", "RULES", "POW_VALUE_EXPONENT"]


@dataclass(frozen=True)
class ArrayRule:
    """An op on arrays: its value, and its local derivatives ∂out/∂input (an array or a number each)."""

    forward: Callable[..., Any]      # (xp, *inputs) -> out
    partials: Callable[..., tuple]   # (xp, out, *inputs) -> one local derivative per input


def _sigmoid(xp, x):
    """σ(x) = 1/(1 + e^-x) for x >= 0 and e^x/(1 + e^x) below, as ops._sigmoid: e^(±x) never overflows."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _positive(xp, x):
    return xp.astype(x > 0, x.dtype)


RULES: dict[ops.Op, ArrayRule] = {
    ops.ADD: ArrayRule(lambda xp, x, y: x + y, lambda xp, out, x, y: (1.0, 1.0)),
    ops.SUB: ArrayRule(lambda xp, x, y: x - y, lambda xp, out, x, y: (1.0, -1.0)),
    ops.MUL: ArrayRule(lambda xp, x, y: x * y, lambda xp, out, x, y: (y, x)),
    ops.DIV: ArrayRule(lambda xp, x, y: x / y, lambda xp, out, x, y: (1.0 / y, -out / y)),
    # x^y; a base <= 0 under a Value exponent is refused as the engine does (nan here, then its error)
    ops.POW: ArrayRule(lambda xp, x, y: xp.pow(x, y),
                       lambda xp, out, x, y: (y * xp.pow(x, y - 1.0),
                                              xp.where(x > 0, out * xp.log(xp.where(x > 0, x, 1.0)), 0.0))),
    ops.NEG: ArrayRule(lambda xp, x: -x, lambda xp, out, x: (-1.0,)),
    ops.EXP: ArrayRule(lambda xp, x: xp.exp(x), lambda xp, out, x: (out,)),
    ops.LOG: ArrayRule(lambda xp, x: xp.log(x), lambda xp, out, x: (1.0 / x,)),
    ops.TANH: ArrayRule(lambda xp, x: xp.tanh(x), lambda xp, out, x: (1.0 - out * out,)),
    ops.SIGMOID: ArrayRule(_sigmoid, lambda xp, out, x: (out * (1.0 - out),)),
    # maximum, not where: a nan from upstream stays nan (and is reported) instead of becoming 0
    ops.RELU: ArrayRule(lambda xp, x: xp.maximum(x, 0.0), lambda xp, out, x: (_positive(xp, x),)),
    ops.SQRT: ArrayRule(lambda xp, x: xp.sqrt(x), lambda xp, out, x: (0.5 / out,)),
    ops.ABS: ArrayRule(lambda xp, x: xp.abs(x), lambda xp, out, x: (xp.sign(x),)),
    ops.SOFTPLUS: ArrayRule(lambda xp, x: xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x))),
                            lambda xp, out, x: (_sigmoid(xp, x),)),
}
# '**' with a Value exponent: the engine refuses a base <= 0 (d/dy x^y = x^y·ln x needs ln x)
POW_VALUE_EXPONENT = ArrayRule(lambda xp, x, y: xp.where(x > 0, xp.pow(x, y), float("nan")), RULES[ops.POW].partials)
