"""Hypothesis strategies: finite floats and random expression DAGs over the built-in op table.

A DAG is a `Program`: `n_inputs` input slots followed by steps `(op name, args)`,
each arg either `("node", i)` (an earlier node, so one node can feed several
later ones, or one op twice as in a + a) or `("const", c)` (a plain number, on
either side).  Every op gets an input that is safe by construction — log of
exp(t), softplus(t) or t·t + 1; sqrt of t·t + 0.5; division by y·y + 1; a Value
exponent only on a positive base — so the same program can be run by any
backend (`run`) and compared: autobp Values, HIPS autograd, plain `math`.

While a program is drawn, its values are followed with `MATH` (closed forms in
plain `math`, independent of autobp); a node whose magnitude passes `BOUND` is
squashed by log(t·t + 1), so nothing overflows and every derivative is finite.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Callable

from hypothesis import strategies as st

from autobp.engine import apply
from autobp.ops import OPS


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


# Python's arithmetic operators: the same functions on floats, on Values and on autograd's traced arrays.
ARITHMETIC: dict[str, Callable] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "neg": operator.neg,
}

# Each built-in op's closed form in plain math (the oracle for forward values).
MATH: dict[str, Callable[..., float]] = {
    **ARITHMETIC,
    "exp": math.exp,
    "log": math.log,
    "tanh": lambda x: (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1) if abs(x) < 20 else math.copysign(1.0, x),
    "sigmoid": _sigmoid,
    "relu": lambda x: max(x, 0.0),
    "sqrt": lambda x: x ** 0.5,
    "abs": lambda x: x if x >= 0 else -x,
    "softplus": lambda x: math.log1p(math.exp(x)) if x < 30 else x + math.log1p(math.exp(-x)),
    "sum": lambda *xs: math.fsum(xs),
}

# autobp through its public surface: operators and methods, constants on either side.
AUTOBP: dict[str, Callable] = {
    **ARITHMETIC,
    **{name: (lambda name: lambda x: getattr(x, name)())(name)
       for name in ("exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt", "softplus")},
    "sum": lambda *xs: apply(OPS["sum"], *xs),
}


BOUND = 30.0          # magnitudes above this are squashed by log(t·t + 1)
KINKS = ("relu", "abs")  # ops whose derivative jumps at 0 (finite differences must not straddle it)

finite = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.1, max_value=4.0, allow_nan=False, allow_infinity=False)
nonzero = st.one_of(st.floats(min_value=0.1, max_value=3.0), st.floats(min_value=-3.0, max_value=-0.1))


@dataclass(frozen=True)
class Program:
    """A random expression DAG: inputs, then steps (op name, args); the last node is the output."""

    inputs: tuple[float, ...]
    steps: tuple[tuple[str, tuple[tuple[str, float | int], ...]], ...]

    @property
    def size(self) -> int:
        return len(self.inputs) + len(self.steps)


def run(program: Program, inputs, backend: dict[str, Callable]) -> list:
    """Every node's value when `program` runs on `inputs` with `backend` (op name -> callable)."""
    nodes = list(inputs)
    for name, args in program.steps:
        nodes.append(backend[name](*(nodes[a] if kind == "node" else a for kind, a in args)))
    return nodes


def autobp_function(program: Program, outputs: list[int] | None = None) -> Callable:
    """f(*xs): `program` on autobp Values, returning its last node, or the nodes `outputs` (indices) as a list."""
    def f(*xs):
        nodes = run(program, list(xs), AUTOBP)
        return nodes[-1] if outputs is None else [nodes[k] for k in outputs]
    return f


class _Builder:
    """Appends steps to a program while following its values in plain math."""

    def __init__(self, inputs: tuple[float, ...]) -> None:
        self.inputs = inputs
        self.values = list(inputs)
        self.steps: list = []
        self.usable = list(range(len(inputs)))   # nodes later steps may read: inputs and squashed results

    def add(self, name: str, *args) -> int:
        """Append name(*args); args are node indices (int) or ("const", c); returns the new node."""
        spec = tuple(("node", a) if isinstance(a, int) else a for a in args)
        floats = [self.values[a] if kind == "node" else a for kind, a in spec]
        self.steps.append((name, spec))
        self.values.append(MATH[name](*floats))
        return len(self.values) - 1

    def square_plus(self, t: int, c: float) -> int:
        """t·t + c (c > 0): a positive node built from t."""
        return self.add("+", self.add("*", t, t), ("const", c))

    def squash(self, t: int) -> int:
        """t, or log(t·t + 1) repeated until |value| <= BOUND; the result becomes usable."""
        while abs(self.values[t]) > BOUND:
            t = self.add("log", self.square_plus(t, 1.0))
        self.usable.append(t)
        return t

    def program(self) -> Program:
        return Program(self.inputs, tuple(self.steps))


UNARY = ("neg", "exp", "tanh", "sigmoid", "relu", "abs", "softplus")
# One way of applying each op with a safe input; every built-in op appears.
SHAPES = ("binary", "twice", "const_left", "const_right", "log_exp", "log_softplus", "log_square",
          "sqrt", "div", "div_const", "pow_int", "pow_real", "pow_value", "pow_const_base", "sum", *UNARY)


@st.composite
def programs(draw, max_inputs: int = 4, max_steps: int = 14) -> Program:
    """A random expression DAG over every built-in op, with reuse of nodes and constants."""
    inputs = tuple(draw(st.lists(finite, min_size=1, max_size=max_inputs)))
    b = _Builder(inputs)
    n_steps = draw(st.integers(min_value=1, max_value=max_steps))
    node = st.integers(min_value=0, max_value=10**6)

    def pick() -> int:
        return b.usable[draw(node) % len(b.usable)]

    for _ in range(n_steps):
        shape = draw(st.sampled_from(SHAPES))
        t = pick()
        if shape == "binary":
            out = b.add(draw(st.sampled_from(["+", "-", "*"])), t, pick())
        elif shape == "twice":                      # one node used twice by one op
            out = b.add(draw(st.sampled_from(["+", "-", "*"])), t, t)
        elif shape == "const_left":
            out = b.add(draw(st.sampled_from(["+", "-", "*"])), ("const", draw(finite)), t)
        elif shape == "const_right":
            out = b.add(draw(st.sampled_from(["+", "-", "*"])), t, ("const", draw(finite)))
        elif shape == "log_exp":
            out = b.add("log", b.add("exp", t))
        elif shape == "log_softplus":
            out = b.add("log", b.add("softplus", t))
        elif shape == "log_square":
            out = b.add("log", b.square_plus(t, 1.0))
        elif shape == "sqrt":
            out = b.add("sqrt", b.square_plus(t, 0.5))
        elif shape == "div":
            numerator = ("const", draw(finite)) if draw(st.booleans()) else pick()
            out = b.add("/", numerator, b.square_plus(t, 1.0))
        elif shape == "div_const":
            out = b.add("/", t, ("const", draw(nonzero)))
        elif shape == "pow_int":                    # any sign of base, whole exponent
            out = b.add("**", t, ("const", float(draw(st.sampled_from([2, 3])))))
        elif shape == "pow_real":                   # positive base, real number exponent
            out = b.add("**", b.square_plus(t, 1.0), ("const", draw(finite)))
        elif shape == "pow_value":                  # positive base, Value exponent
            out = b.add("**", b.square_plus(t, 1.0), pick())
        elif shape == "pow_const_base":             # constant base, Value exponent
            out = b.add("**", ("const", draw(positive)), t)
        elif shape == "sum":                        # the n-ary sum, with a repeated node and a constant
            out = b.add("sum", t, pick(), t, ("const", draw(finite)), pick())
        else:                                       # one of UNARY, on any usable node
            out = b.add(shape, t)
        b.squash(out)
    # The output depends on the last node; mix in one more node so several paths meet.
    b.squash(b.add("+", b.usable[-1], pick()))
    return b.program()
