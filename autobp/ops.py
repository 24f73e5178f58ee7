"""The op table: every scalar operation's value and local derivatives, side by side.

Each `Op` says how to compute an operation on floats (`forward`) and what its
local derivatives are (`partials`).  `partials(out, *inputs)` is written with
plain arithmetic and the helpers below, so the *same* function gives floats
when the backward sweep passes floats and builds a graph when
`grad(..., create_graph=True)` passes Values: higher derivatives need no second
rule.  The engine's backward, `grad`, `autobp.viz` and `autobp.explain` all read
this table; no other module holds derivative math.

`forward` raises on a bad domain with a message naming the op and the value.

One op is variadic: `sum`, Σ_k x_k over any number of inputs, each with
∂/∂x_k = 1.  `autobp.nn.Neuron` builds its weighted input z = b + Σ_k w_k·x_k
as one `sum` node over the bias and the products, instead of micrograd's
chain of nin two-input additions (see `autobp.tape` for why that matters).
Its forward adds left to right, so z is bit-for-bit the chain's float.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

__all__ = [
    "Op", "OPS", "BUILTIN_OPS", "BUILTIN_NAMES", "register", "builtin",
    "ADD", "SUB", "MUL", "DIV", "POW", "NEG", "SUM",
    "EXP", "LOG", "TANH", "SIGMOID", "RELU", "SQRT", "ABS", "SOFTPLUS",
    "value_of", "exp_", "log_", "sigmoid_", "step", "sign",
]


@dataclass(frozen=True, eq=False, slots=True)
class Op:
    """One scalar operation: how to compute it and its local derivatives.

    A variadic op (`variadic=True`, such as an n-ary sum) takes any number of
    inputs and has one formula, which holds for every input.
    """

    name: str                      # what Value.op shows: "+", "/", "tanh"
    forward: Callable[..., float]  # floats in, float out; raises on a bad domain
    partials: Callable[..., tuple]  # (out, *inputs) -> one ∂out/∂input per input
    formulas: tuple[str, ...]      # the same partials as text, for explain and viz
    domain: Callable[..., None] | None = None   # (*operands) -> None; raises ValueError where the op is undefined
    variadic: bool = False         # any number of inputs, all with formulas[0]

    @property
    def arity(self) -> int | None:
        """Number of inputs, one per local derivative (None for a variadic op)."""
        return None if self.variadic else len(self.formulas)

    def formula(self, k: int) -> str:
        """∂out/∂(input k) as text, the operands named x, y, z in order."""
        return self.formulas[0] if self.variadic else self.formulas[k]

    def __copy__(self) -> Op:
        return self                # a table entry is immutable: copies of a graph share it

    def __deepcopy__(self, memo: dict) -> Op:
        return self

    def __reduce__(self) -> tuple:
        """A built-in op pickles as its name; a user op cannot (its functions may be lambdas)."""
        if OPS.get(self.name) is not self or self.name not in BUILTIN_NAMES:
            raise TypeError(f"cannot pickle the user op {self.name!r}: its functions may be lambdas; "
                            f"define it again after loading")
        return (builtin, (self.name,))


def builtin(name: str) -> Op:
    """The built-in op called `name` (how a pickled op is found again)."""
    if name not in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is not a built-in op")
    return OPS[name]


def register(op: Op) -> Op:
    """Add a user op to the table under its name; a user op may be redefined, a built-in one not."""
    if op.name in BUILTIN_NAMES:
        raise ValueError(f"{op.name!r} is a built-in op; choose another name")
    OPS[op.name] = op
    return op


# ---------------------------------------------------------------------------
# Helpers that accept a float or a Value, so one `partials` serves both sweeps.
# ---------------------------------------------------------------------------

def _is_number(x: Any) -> bool:
    """True for a plain number (a constant), False for a Value."""
    return isinstance(x, (int, float))


def _constant_beside(x: Any, y: Any) -> bool:
    """x is a number constant and y a Value: with create_graph an op's partials get its operands as they
    are, so this is a constant operand, whose derivative nobody reads (constants get no gradient) and which
    is not computed: it could overflow where the used one does not.  (A float sweep passes numbers for
    every operand and computes both; a float that overflows there is inf, unread.)"""
    return _is_number(x) and not _is_number(y)


def value_of(x: Any) -> float:
    """The number inside `x`: `x.data` for a Value, `x` itself for a float."""
    return x if isinstance(x, (int, float)) else x.data


def exp_(x):
    """e^x of a float or a Value."""
    return math.exp(x) if isinstance(x, (int, float)) else x.exp()


def log_(x):
    """ln x of a float or a Value."""
    return _log(x) if isinstance(x, (int, float)) else x.log()


def sigmoid_(x):
    """σ(x) of a float or a Value."""
    return _sigmoid(x) if isinstance(x, (int, float)) else x.sigmoid()


def step(x) -> float:
    """Heaviside step, 1.0 for x > 0 else 0.0: relu'(x), with relu'(0) = 0 as in PyTorch.

    It returns a plain constant: the step's own derivative is 0 almost everywhere.
    """
    return 1.0 if value_of(x) > 0 else 0.0


def sign(x) -> float:
    """sign(x) as a constant, with sign(0) = 0: abs'(x), as in PyTorch."""
    v = value_of(x)
    return 1.0 if v > 0 else -1.0 if v < 0 else 0.0


# ---------------------------------------------------------------------------
# Forward functions that need a domain check (the rest are operator/math).
# ---------------------------------------------------------------------------

def _div(x: float, y: float) -> float:
    if y == 0:
        raise ZeroDivisionError(f"'/': cannot divide {x!r} by zero")
    return x / y


def _pow(x: float, y: float) -> float:
    """x ** y; 0 to a negative power is a ZeroDivisionError, as Python's own float ** says."""
    try:
        return math.pow(x, y)
    except ValueError:
        if x == 0:
            raise ZeroDivisionError(f"'**': {x!r} ** {y!r} divides by zero (0 to a negative power)") from None
        raise ValueError(f"'**': {x!r} ** {y!r} is undefined (a negative base needs a whole-number "
                         "exponent)") from None
    except OverflowError:
        raise OverflowError(f"'**': {x!r} ** {y!r} overflows a float") from None


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp: input {x!r} is too large, e^x overflows a float (x must be < 709.78)") from None


def _log(x: float) -> float:
    if x <= 0:
        raise ValueError(f"log: input must be > 0, got {x!r}")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: input must be >= 0, got {x!r}")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    """σ(x) = 1/(1 + e^-x), evaluated so that e^(±x) never overflows."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), which never overflows."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sum(*xs: float) -> float:
    """x0 + x1 + … + xn, added left to right: the same float as the chain ((x0 + x1) + x2) + …."""
    if not xs:
        raise TypeError("sum: needs at least one input")
    total = xs[0]
    for x in xs[1:]:
        total += x
    return total


# ---------------------------------------------------------------------------
# Partials that need more than one expression.
# ---------------------------------------------------------------------------

def _pow_partials(out, x, y):
    """∂(x^y)/∂x = y·x^(y-1);  ∂(x^y)/∂y = x^y·ln x.

    For y = 0 and y = 1 the first partial is the constant 0 or 1: written as
    y·x^(y-1) it would evaluate 0·0^-1 at x = 0 (d/dx x^0), and its own
    derivative 1·0·x^-1 (d²/dx² x^1).  ln x exists only for x > 0: the domain
    rule refuses a Value exponent on a base x <= 0, so the 0.0 branch is
    reached only for a number exponent, whose partial nobody reads.
    """
    dx = 0.0 if _constant_beside(x, y) else float(y) if _is_number(y) and y in (0, 1) else y * _power(x, y - 1)
    return (dx, 0.0 if _constant_beside(y, x) or value_of(x) <= 0 else out * log_(x))


def _power(x: Any, p: Any) -> Any:
    """x ** p; on floats the table's own `_pow` (its words for 0 to a negative power, as a Value gets), and
    an overflow gives inf, as float * and / do."""
    if not (_is_number(x) and _is_number(p)):
        return x ** p
    try:
        return _pow(x, p)
    except OverflowError:
        return math.inf


def _quotient(x: Any, y: Any) -> Any:
    """x / y; on floats the table's own `_div`, so a division by zero says what a Value's says."""
    return _div(x, y) if _is_number(x) and _is_number(y) else x / y


def _pow_domain(x, y) -> None:
    """A Value exponent needs a base > 0: its partial x^y·ln x exists only there."""
    if not _is_number(y) and value_of(x) <= 0:
        raise ValueError(f"'**': with a Value exponent the base must be > 0 (d/dy x^y = x^y·ln x), "
                         f"got {value_of(x)!r}; use a number exponent instead")


# ---------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------

ADD = Op("+", operator.add, lambda out, x, y: (1.0, 1.0), ("1", "1"))
SUB = Op("-", operator.sub, lambda out, x, y: (1.0, -1.0), ("1", "-1"))
MUL = Op("*", operator.mul, lambda out, x, y: (y, x), ("y", "x"))
DIV = Op("/", _div, lambda out, x, y: (1 / y, 0.0 if _constant_beside(y, x) else -out / y), ("1/y", "-x/y^2"))
POW = Op("**", _pow, _pow_partials, ("y*x^(y-1)", "x^y*ln(x)"), domain=_pow_domain)
NEG = Op("neg", operator.neg, lambda out, x: (-1.0,), ("-1",))
EXP = Op("exp", _exp, lambda out, x: (out,), ("exp(x)",))
LOG = Op("log", _log, lambda out, x: (1 / x,), ("1/x",))
TANH = Op("tanh", math.tanh, lambda out, x: (1 - out * out,), ("1 - tanh(x)^2",))
SIGMOID = Op("sigmoid", _sigmoid, lambda out, x: (out * (1 - out),), ("sigmoid(x)*(1 - sigmoid(x))",))
RELU = Op("relu", lambda x: x if x > 0 else 0.0, lambda out, x: (step(x),), ("1 if x > 0 else 0",))
SQRT = Op("sqrt", _sqrt, lambda out, x: (_quotient(0.5, out),), ("1/(2*sqrt(x))",))
ABS = Op("abs", abs, lambda out, x: (sign(x),), ("sign(x)",))
SOFTPLUS = Op("softplus", _softplus, lambda out, x: (sigmoid_(x),), ("sigmoid(x)",))
# The n-ary sum Σ_k x_k, one node however many terms: a neuron's z = b + Σ_k w_k·x_k.  ∂/∂x_k = 1 for every k.
SUM = Op("sum", _sum, lambda out, *xs: (1.0,) * len(xs), ("1",), variadic=True)

BUILTIN_OPS: tuple[Op, ...] = (ADD, SUB, MUL, DIV, POW, NEG, EXP, LOG, TANH, SIGMOID, RELU, SQRT, ABS, SOFTPLUS,
                               SUM)
BUILTIN_NAMES: frozenset[str] = frozenset(op.name for op in BUILTIN_OPS)
OPS: dict[str, Op] = {op.name: op for op in BUILTIN_OPS}   # every op by name: these and define_op's
