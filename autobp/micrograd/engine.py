"""micrograd's `Value` on autobp's engine: micrograd's API, graph and numbers, autobp's derivatives.

Swap one import and micrograd code (its package, the "building micrograd"
lectures, the LLM101n script) runs unchanged::

    from micrograd.engine import Value          # before
    from autobp.micrograd.engine import Value   # after

What is micrograd's.  `Value(data, _children=(), _op='', label='')`; `v._prev`
(the set of children); `v._op` as micrograd writes it ('+', '*', '**2',
'ReLU', 'tanh', 'exp', 'log'); `v._backward()` on one node, which adds that
node's local contributions into its children's `.grad`, as the lecture does
by hand (child.grad += ∂node/∂child · node.grad); `tanh()`, `exp()`, `log()`;
the repr `Value(data=2.0, grad=0)`; `.grad` starting at the int 0; `data` kept
as given: an int stays an int, and stays one through + - * and ** k (k >= 0
an int), and relu, as Python's int arithmetic keeps it, however large
(`Value(10) ** 400` is the exact int 10**400, which no float holds; an op that
needs a float of it, such as `* 0.5` or `tanh`, is an OverflowError naming the
op, where micrograd raises one too).  Other numbers are stored as Python
floats: a NumPy float64 is the same double, but would take every op off
autobp's fast path.  Any attribute can be set on a Value
(`p.m`, `p.v` for AdamW moments, `v._vis_color`).

Which graph.  The graph is micrograd's wherever a learner can see it: node
counts, `_op` strings, `_prev`, what the lecture prints and draws.

  case                     micrograd's graph, kept here            autobp.Value's own graph
  a constant: x * 2        2 becomes a leaf Value(2) in `_prev`    2.0 stored as a constant
  a - b                    a + (b * -1): nodes '*', '+'            one '-' node
  -b                       b * -1: a '*' node and a leaf -1        one 'neg' node
  a / b                    a * b**-1: nodes '**-1', '*'            one '/' node
  2 + x, 2 * x             x + 2, x * 2 (self first)               2 + x, 2 * x
  relu                     'ReLU'                                  'relu'

micrograd's graph is the right choice here: the lecture lists `topo`, counts
and draws nodes, and reads `_prev`, and a learner checks the picture against
the video.  It also gives micrograd's numbers: a · b**-1 rounds twice, so it
can differ from a / b in the last bit.  Each node's local derivative still
comes from autobp's op table (the entries for +, *, **, relu, tanh, exp, log)
through `autobp.engine.local_derivatives`, and `backward()` is autobp's
sweep: the one derivative written here is an int to a whole power's, k·x^(k-1)
in Python's int arithmetic as micrograd computes it (`INT_POW`), because
autobp's floats cannot hold 10 ** 400.  autobp's other methods (`sigmoid`,
`sqrt`, `abs`, `softplus`) work too and make autobp's nodes.

Where micrograd is wrong, this stays right:

- A second `backward()` adds the same gradients again, exactly as PyTorch
  does.  micrograd seeds the root with `grad = 1` but leaves every inner
  node's `.grad` from the first sweep in place, and each node passes its whole
  `.grad` on: for c = (a·a)·a at a = 3, the second sweep finds b = a·a still
  holding 3, adds 3 (b.grad = 6) and sends 2a · 6 = 36 to a, plus 9 straight
  from c: a.grad = 27 + 45 = 72.  d(a³)/da = 3a² = 27 per sweep, so the
  answer is 54, which autobp gives: its sweep keeps the gradients it passes
  on in a map of its own, never in the nodes' `.grad`.
- micrograd sorts the graph recursively and fails near 1,000 nodes deep;
  autobp's sort uses a stack, so a graph a million nodes deep works.
- `a + a` keeps both edges: `_prev` is the set {a}, as in micrograd, but
  `trace` lists two edges and `draw_dot` draws two arrows (micrograd draws
  one); the gradient is 2 in both.
- Gradients are floats (micrograd's can be ints, and its root gets the int
  1), and backward leaves no state behind in the nodes.  An int power's
  gradient is micrograd's exact int k·x^(k-1) rounded once to a float; one
  beyond a float (d/dx x**400 at x = 10 is 400·10**399, an int in micrograd)
  is an OverflowError naming the op, from backward() and from `_backward()`.
- Bad input is refused where it is made, naming the op and the value:
  `Value('3')`, nan, `x / 0`, `(-8.0) ** (1/3)` (a complex number in
  micrograd), an exponent micrograd cannot differentiate.  A Value exponent
  works (d/dy x^y = x^y ln x, for x > 0).
- A node cannot be built by hand as `Value(data, (a, b), '+')`, nor its
  `_backward` replaced: micrograd would silently give such a node no gradient
  (or run a closure autobp never calls).  A new op is `autobp.define_op`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, cast

from autobp import engine, ops
from autobp.engine import local_derivatives

__all__ = ["Value"]

_MICROGRAD_NAMES = {"relu": "ReLU"}    # autobp's op name -> micrograd's `_op`, where they differ


class Value(engine.Value):
    """micrograd's Value: one number, its gradient, and the Values it was computed from.

    Unlike autobp's Value it has a `__dict__`, so any attribute can be set on it.

    >>> a = Value(2.0, label='a')
    >>> b = a * a + 1
    >>> b.backward()
    >>> b, a.grad, b._op            # db/da = 2a
    (Value(data=5.0, grad=1.0), 4.0, '+')
    """

    _power: str     # on a node made by ** with a number exponent: micrograd's `_op` for it, '**2'

    def __new__(cls, data: Any, _children: tuple = (), _op: str = "", label: str = "") -> Value:
        if _children or _op:
            raise TypeError(
                f"Value({data!r}, {_children!r}, {_op!r}): autobp.micrograd records a node's children and op "
                "itself, with the op's derivative from autobp's table; build nodes with operators and methods "
                "(a + b, a.tanh()), and add a new op with autobp.define_op(name, forward, partials)")
        if isinstance(data, numbers.Integral) and not isinstance(data, bool):
            node = _new(super().__new__(cls, 0.0, label))
            node.data = int(data)          # micrograd keeps an int as it was given, however large: 10 ** 400 too
            return node
        return _new(super().__new__(cls, data, label))     # refuses a non-number, nan and inf, naming them

    # -- micrograd's view of the graph -----------------------------------------------------------
    @property
    def _prev(self) -> set[engine.Value]:
        """The set of Values this node was computed from (for a + a, the set {a})."""
        return set(self.children)

    @property
    def _op(self) -> str:
        """The op as micrograd writes it: '+', '*', '**2', 'ReLU', 'tanh', '' for a leaf."""
        return self.__dict__.get("_power") or _MICROGRAD_NAMES.get(self.op, self.op)

    @property
    def _backward(self) -> Callable[[], None]:
        """This node's step of the chain rule, to call by hand as the lecture does."""
        return self._add_local_contributions

    @_backward.setter
    def _backward(self, _: object) -> None:
        raise AttributeError(
            "autobp.micrograd computes a node's backward step from autobp's op table, so `_backward` "
            "cannot be replaced; add a new op with autobp.define_op(name, forward, partials)")

    def _add_local_contributions(self) -> None:
        """child.grad += ∂self/∂child · self.grad for each Value this node was computed from.

        The local derivatives ∂self/∂child are the node's op's (autobp's
        table, or INT_POW below), read by `autobp.engine.local_derivatives`; a
        leaf has nothing to pass on.  A share that overflows a float is refused
        before any is added, as `backward()` refuses it, not left as inf.
        """
        if self.op_record is None:
            return
        shares = [(child, local * self.grad) for child, local in zip(self.operands, local_derivatives(self))
                  if isinstance(child, engine.Value)]
        for child, share in shares:
            if isinstance(share, float) and not math.isfinite(share):
                inputs = ", ".join(repr(ops.value_of(a)) for a in self.operands)
                raise OverflowError(f"backward through '{self.op}' at inputs ({inputs}): the share of the "
                                    f"gradient for {child!r} is {share!r}, beyond a float")
        for child, share in shares:
            child.grad += share

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- arithmetic, in micrograd's graph; each node's op is autobp's --------------------------
    def __add__(self, other: Any) -> Value:
        return _new(super().__add__(_as_value("+", other)))

    def __radd__(self, other: Any) -> Value:        # other + self, built as self + other
        return self + other

    def __mul__(self, other: Any) -> Value:
        return _new(super().__mul__(_as_value("*", other)))

    def __rmul__(self, other: Any) -> Value:        # other * self, built as self * other
        return self * other

    def __neg__(self) -> Value:                      # -self = self * -1
        return self * -1

    def __sub__(self, other: Any) -> Value:          # self - other = self + (-other)
        return self + (-_checked("-", other))

    def __rsub__(self, other: Any) -> Value:         # other - self = (-self) + other
        return (-self) + _checked("-", other)

    def __truediv__(self, other: Any) -> Value:      # self / other = self * other**-1
        other = _checked("/", other)
        if not isinstance(other, engine.Value) and other == 0:
            raise ZeroDivisionError(f"'/': cannot divide {self.data!r} by zero")
        return self * other ** -1

    def __rtruediv__(self, other: Any) -> Value:     # other / self = self**-1 * other
        return self ** -1 * _checked("/", other)

    def __pow__(self, other: Any) -> Value:
        """self ** other: micrograd's f'**{other}' node for a number, autobp's '**' for a Value exponent.

        An int to a whole power >= 0 is Python's exact int, as in micrograd (10 ** 400 too, which no float
        holds); any other power is autobp's float power, with its errors.
        """
        if _all_ints(self.data, other) and other >= 0:
            out = _new(engine.apply(INT_POW, self, other))
        else:
            out = _new(super().__pow__(_checked("**", other)))
        if not isinstance(other, engine.Value):
            out._power = f"**{other}"
        return out

    def __rpow__(self, other: Any) -> Value:
        return _as_value("**", other) ** self

    def relu(self) -> Value:
        """max(x, 0), micrograd's 'ReLU'; the int 0 for a negative x or an int, as micrograd gives."""
        out = _new(super().relu())
        if out.data == 0 and (self.data < 0 or isinstance(self.data, int)):
            out.data = 0
        return out

    def tanh(self) -> Value:
        """tanh as the first lecture computes it, so its numbers are the lecture's to the last bit."""
        return _new(engine.apply(LECTURE_TANH, self))

    def exp(self) -> Value:
        return _new(super().exp())

    def log(self) -> Value:
        return _new(super().log())


def _lecture_tanh(x: float) -> float:
    """(e^2x − 1)/(e^2x + 1), the first lecture's tanh, which can differ from math.tanh in the last bit
    (0.7071067811865476 against 0.7071067811865477 for its neuron).  Beyond |x| = 20 both are ±1.0 in
    floats, and e^2x would overflow near 355: math.tanh there."""
    if abs(x) > 20.0:
        return math.tanh(x)
    e = math.exp(2 * x)
    return (e - 1) / (e + 1)


# autobp's tanh op with the lecture's floats: the same name, derivative 1 − tanh², formula and drawing
LECTURE_TANH = ops.Op("tanh", _lecture_tanh, ops.TANH.partials, ops.TANH.formulas)


def _int_power(x: int, k: float) -> int:
    """x ** k for an int x and a whole k >= 0 (the engine hands a number exponent over as a float)."""
    return x ** int(k)


def _int_power_partials(out: Any, x: Any, k: float) -> tuple:
    """∂(x^k)/∂x = k·x^(k-1) as micrograd computes it, an exact int, then rounded once to autobp's float
    gradient; the exponent is a number, whose partial nobody reads (autobp's x^k·ln x would need a float
    of x^k, which 10 ** 400 has not).  With create_graph the partials are autobp's own, on Values."""
    if isinstance(x, engine.Value):
        return ops.POW.partials(out, x, k)
    k = int(k)
    exact = k * x ** (k - 1) if k else 0
    try:
        return float(exact), 0.0
    except OverflowError:
        raise OverflowError(f"d/dx x**{k} = {k}·x**{k - 1} is about 10^{int(math.log10(abs(exact)))}, too large "
                            "for a float; autobp's gradients are floats (micrograd's can be exact ints)") from None


# autobp's ** op with Python's int arithmetic, for an int to a whole power >= 0 only: the same name,
# formula and drawing, the derivative k·x^(k-1) as micrograd computes it
INT_POW = ops.Op("**", _int_power, _int_power_partials, ops.POW.formulas)


def _checked(op: str, x: Any) -> Any:
    """`x` unchanged when it is a Value or a real number, else a TypeError naming `op`."""
    if isinstance(x, (engine.Value, numbers.Real)):
        return x
    raise TypeError(f"'{op}': inputs must be Values or real numbers, got {type(x).__name__}: {x!r}")


def _as_value(op: str, x: Any) -> engine.Value:
    """`x` as a Value: micrograd wraps a number in a leaf of its own (shown in `_prev` and drawings)."""
    x = _checked(op, x)
    return x if isinstance(x, engine.Value) else Value(x)


def _new(out: engine.Value) -> Value:
    """A node just made by autobp's engine, starting with micrograd's int 0 gradient."""
    out.grad = 0
    return cast(Value, out)      # the engine gives the result the operands' class: this Value


def _all_ints(*xs: Any) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in xs)
