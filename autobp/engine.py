"""The engine: reverse-mode automatic differentiation on scalars, as a textbook would write it.

Read this file top to bottom:

1. `Value` — one number and how it was made.  Every operator and method is
   one line that hands its op (a record of `autobp.ops`) to `apply`.
2. `apply` — computes an op's number now and records a node that keeps the
   op and its operands, so the graph of the arithmetic builds itself.
3. `topo_order` — the nodes an output depends on, children before parents.
4. `local_derivatives` — ∂node/∂operand for each operand, read from the
   node's own op record.
5. `Sweep` — the one backward loop: seed ∂root/∂root = 1, then visit nodes
   parents-first and add ∂root/∂node · ∂node/∂child into each child.  The
   gradients live in a map owned by the sweep, never on the nodes, so sweeps
   can nest (a `partials` that calls `grad`) or run in two threads at once.
6. `backward`, `grad`, `no_grad`, `define_op` — the public verbs on top.

The same loop serves `backward()` (floats), `grad()` (floats) and
`grad(create_graph=True)`, where the local derivatives are themselves Values
so the gradient can be differentiated again; `autobp.explain.backward_steps`
narrates it row by row.

Speed.  When autobp was installed with a C compiler, `autobp/_node.c` makes
the nodes (outside Python's cyclic garbage collector, which has nothing to
find in a graph) and runs C twins of `apply` and of the sweep (on floats,
and building Values for create_graph=True): the same steps in the same
order, tested to give identical numbers.  That layer
is at the end of this file and a learner can skip it; with
AUTOBP_PURE_PYTHON=1 the Python written here is exactly what runs.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import numbers
import os
from contextlib import contextmanager
from contextvars import ContextVar
from operator import attrgetter
from typing import Any, Callable, Iterable, Iterator, Sequence, Union

from autobp import ops
from autobp.ops import (ABS, ADD, DIV, EXP, LOG, MUL, NEG, POW, RELU, SIGMOID, SOFTPLUS, SQRT, SUB, SUM, TANH,
                        Op, value_of)

__all__ = ["Value", "apply", "topo_order", "local_derivatives", "Sweep", "grad", "no_grad",
           "is_grad_enabled", "define_op", "COMPILED_NODES"]

Operand = Union["Value", float]    # what an op accepts: a Value, or a number (int and bool count)


class Value:
    """One scalar node of a computational graph: a number, and the op and operands that made it.

    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> c = a * b + 1
    >>> c.backward()
    >>> c.data, a.grad, b.grad      # ∂c/∂a = b, ∂c/∂b = a
    (-5.0, -3.0, 2.0)
    """

    # op_record: the `ops.Op` that made this node (None for a leaf).  operands: the op's inputs in
    # order, Values and plain floats for constants.  _id: creation number (operands are older).
    __slots__ = ("data", "grad", "label", "op_record", "operands", "_id")

    data: float
    grad: float
    label: str
    op_record: Op | None
    operands: tuple[Operand, ...]
    _id: int

    def __new__(cls, data: float, label: str = "") -> Value:
        if not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}: {label!r}")
        node = _make_node(cls, _finite_float(data, "Value()"), None, ())
        node.label = label
        return node

    # -- reading the graph --------------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the op that made this node: '+', 'tanh', ... ('' for a leaf)."""
        return "" if self.op_record is None else self.op_record.name

    @property
    def children(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in operand order (constants left out)."""
        return tuple([a for a in self.operands if isinstance(a, Value)])

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- arithmetic: each operator hands its op to `apply`; ops.py has the derivatives ---------
    def __add__(self, other: Operand) -> Value:
        """x + y.   ∂/∂x = 1, ∂/∂y = 1"""
        return apply(ADD, self, other)

    def __radd__(self, other: Operand) -> Value:
        return apply(ADD, other, self)

    def __sub__(self, other: Operand) -> Value:
        """x - y.   ∂/∂x = 1, ∂/∂y = -1"""
        return apply(SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:
        return apply(SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        """x · y.   ∂/∂x = y, ∂/∂y = x"""
        return apply(MUL, self, other)

    def __rmul__(self, other: Operand) -> Value:
        return apply(MUL, other, self)

    def __truediv__(self, other: Operand) -> Value:
        """x / y.   ∂/∂x = 1/y, ∂/∂y = -x/y²"""
        return apply(DIV, self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return apply(DIV, other, self)

    def __pow__(self, other: Operand) -> Value:
        """x ** y.   ∂/∂x = y·x^(y-1), ∂/∂y = x^y·ln x (a Value exponent needs x > 0)"""
        return apply(POW, self, other)

    def __rpow__(self, other: Operand) -> Value:
        return apply(POW, other, self)

    def __neg__(self) -> Value:
        """-x.   d/dx = -1"""
        return apply(NEG, self)

    def __abs__(self) -> Value:
        """|x|.   d/dx = sign(x), 0 at 0 as in PyTorch"""
        return apply(ABS, self)

    def exp(self) -> Value:
        """e^x.   d/dx = e^x"""
        return apply(EXP, self)

    def log(self) -> Value:
        """ln x, for x > 0.   d/dx = 1/x"""
        return apply(LOG, self)

    def tanh(self) -> Value:
        """tanh x.   d/dx = 1 - tanh²(x)"""
        return apply(TANH, self)

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^-x).   d/dx = σ(x)(1 - σ(x))"""
        return apply(SIGMOID, self)

    def relu(self) -> Value:
        """max(x, 0).   d/dx = 1 if x > 0 else 0"""
        return apply(RELU, self)

    def sqrt(self) -> Value:
        """√x, for x >= 0.   d/dx = 1/(2√x)"""
        return apply(SQRT, self)

    def abs(self) -> Value:
        """|x|.   d/dx = sign(x)"""
        return apply(ABS, self)

    def softplus(self) -> Value:
        """ln(1 + e^x).   d/dx = σ(x)"""
        return apply(SOFTPLUS, self)

    @staticmethod
    def sum(*terms: Operand) -> Value:
        """Σ terms as one node of the n-ary `sum` op, added left to right (the floats of the chain
        t0 + t1 + …, one node instead of one per +).   ∂/∂t_k = 1.  A neuron: Value.sum(b, *(w·x))."""
        if not terms or not any(isinstance(t, Value) for t in terms):
            raise TypeError(f"Value.sum needs at least one Value among its terms, got {terms!r:.80}")
        return apply(SUM, *terms)

    # -- gradients ----------------------------------------------------------------
    def backward(self) -> None:
        """Add ∂self/∂node into `node.grad` for every node `self` depends on (itself included).

        Gradients accumulate across calls, as in PyTorch: calling it twice
        doubles every `.grad`.  Set `.grad = 0.0` (or `zero_grad()` a module) to start again.
        """
        _backward(self)

    # -- copying and pickling -----------------------------------------------------
    def __getnewargs__(self) -> tuple[float]:
        """What copy and deepcopy pass to __new__ before they copy the slots (a Value needs its data)."""
        return (self.data,)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Leaves pickle (data, grad, label); a node with a graph is refused: its op may be a user function.
        (Protocols 0 and 1 get protocol 2's recipe, the one that knows about __slots__.)"""
        if self.op_record is not None:
            raise TypeError(f"cannot pickle {self!r}: it was made by op '{self.op}' and pickling a graph is not "
                            f"supported; pickle its number (v.data), or save a model with autobp.io.save")
        return super().__reduce_ex__(max(protocol, 2))

    def __copy__(self) -> Value:
        """A new node with the same number, op and operands (the graph below it is shared), grad and label."""
        copied = _make_node(type(self), self.data, self.op_record, self.operands)
        copied.grad, copied.label = self.grad, self.label
        if hasattr(self, "__dict__"):
            copied.__dict__.update(self.__dict__)
        return copied

    def __deepcopy__(self, memo: dict) -> Value:
        """The same graph on new nodes, made children first (a graph a million nodes deep needs no deep
        recursion), each with its class and the attributes of a subclass; op records are shared: they
        are immutable table entries."""
        for node in topo_order(self):
            if id(node) in memo:
                continue
            operands = tuple(memo[id(a)] if isinstance(a, Value) else a for a in node.operands)
            copied = _make_node(type(node), node.data, node.op_record, operands)
            copied.grad, copied.label = node.grad, node.label
            if hasattr(node, "__dict__"):
                copied.__dict__.update(_deepcopy(node.__dict__, memo))
            memo[id(node)] = copied
        return memo[id(self)]


def _deepcopy(x: object, memo: dict) -> Any:
    import copy
    return copy.deepcopy(x, memo)


# ---------------------------------------------------------------------------
# apply: compute an op's number now, and record how it was made
# ---------------------------------------------------------------------------

def apply(op: Op, *args: Operand) -> Value:
    """`op` applied to `args`, as a new node that remembers its op and operands.

    Numbers are constants: stored as floats, never wrapped in a Value, and
    given no gradient.  The result has the class of its Value operands (the
    most derived one, for subclasses).  Under `no_grad()`, or when every input
    is a number, the result is a leaf.  Errors name the op and the value:
    a bad operand type raises TypeError, an input outside the op's domain
    ValueError or ZeroDivisionError, a result too large for a float OverflowError.
    """
    if op.arity is not None and len(args) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} input(s), got {len(args)}")
    operands: list[Operand] = []
    numbers: list[float] = []
    cls: type[Value] | None = None          # the first Value operand's class, or a subclass of it
    for a in args:
        if isinstance(a, Value):
            numbers.append(a.data)
            if cls is None or issubclass(type(a), cls):
                cls = type(a)
        else:
            a = _constant(op, a)
            numbers.append(a)
        operands.append(a)
    data = _evaluate(op, operands, numbers)
    if cls is None:                         # numbers only
        return Value(data)
    if not _grad_enabled.get():
        return _make_node(cls, data, None, ())
    return _make_node(cls, data, op, tuple(operands))


def _evaluate(op: Op, operands: list[Operand], numbers: list[float]) -> float:
    """op.forward(*numbers), after the op's domain check on the operands; errors name the op and the nodes.

    The result must be a finite number.  An int result (from int operands, which only autobp.micrograd's
    Values hold, as micrograd does) is exact, so it is finite however large: 10 ** 400 has no float, and
    needs none.
    """
    try:
        if op.domain is not None:
            op.domain(*operands)
        out = op.forward(*numbers)
    except OverflowError as e:
        raise OverflowError(f"{_overflow_words(op, numbers, e)}{_names(operands)}") from None
    except (ValueError, ZeroDivisionError) as e:
        raise type(e)(f"{e}{_names(operands)}") from None
    if type(out) is not int and not math.isfinite(out):
        shown = ", ".join(map(repr, numbers))
        raise OverflowError(f"{op.name}({shown}) = {out!r} is not a finite number{_names(operands)}")
    return out


def _overflow_words(op: Op, numbers: list[float], e: OverflowError) -> str:
    """An op's OverflowError in words that name the op: its own words (the table's say "'**': 10.0 ** 400.0
    overflows a float"), or, where Python failed to make a float of an int (10 ** 400 * 0.5 on
    autobp.micrograd's exact ints: "int too large to convert to float"), which op and how large the int."""
    huge = [x for x in numbers if type(x) is int and not _fits_a_float(x)]
    if not huge:
        return str(e)
    return (f"'{op.name}': an input is an int of about 10^{int(math.log10(abs(huge[0])))}, too large for a float; "
            "an int stays exact only where every input is an int, through + - * and ** by a whole number >= 0")


def _fits_a_float(x: int) -> bool:
    try:
        float(x)
    except OverflowError:
        return False
    return True


def _names(operands: Sequence[object]) -> str:
    """Which labelled nodes the operands are, for an error message.

    " (node 'a')" for a one-input op; " (x is node 'a', y is node 'b')" or
    " (x and y are node 'a')" for more, the letters those of the op's formulas.
    """
    letters: dict[str, list[str]] = {}
    for k, a in enumerate(operands):
        if isinstance(a, Value) and a.label:
            letters.setdefault(a.label, []).append("xyz"[k] if k < 3 else f"input {k}")
    if not letters:
        return ""
    if len(operands) == 1:
        return f" (node {next(iter(letters))!r})"
    said = [f"{' and '.join(ks)} {'is' if len(ks) == 1 else 'are'} node {label!r}" for label, ks in letters.items()]
    return f" ({', '.join(said)})"


def _finite_float(x: object, where: str) -> float:
    """`x` as a finite float (bools count, as in Python), or a clear TypeError/ValueError naming `where`."""
    if type(x) is float and math.isfinite(x):
        return x                              # the common case, checked first (numbers.Real is slow)
    if isinstance(x, Value) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where} needs a real number, got {type(x).__name__}: {x!r}")
    try:
        f = float(x)
    except OverflowError:
        raise ValueError(f"{where} needs a finite number, got {x!r} (too large for a float)") from None
    if not math.isfinite(f):
        raise ValueError(f"{where} needs a finite number, got {f!r}")
    return f


def _constant(op: Op, x: object) -> float:
    """A number operand as a float constant; anything else is a TypeError naming `op`."""
    if type(x) is float and math.isfinite(x):
        return x                              # the common case, checked first
    if not isinstance(x, numbers.Real):
        raise TypeError(f"'{op.name}': inputs must be Values or real numbers, got {type(x).__name__}: {x!r}")
    return _finite_float(x, f"'{op.name}'")


_new_id = itertools.count().__next__   # creation numbers: operands before results


def _make_node_in_python(cls: type[Value], data: float, op: Op | None, operands: tuple) -> Value:
    """A new node: its number, the op and operands that made it, grad 0, the next creation number."""
    node = object.__new__(cls)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.op_record = op
    node.operands = operands
    node._id = _new_id()
    return node


# ---------------------------------------------------------------------------
# The order of a sweep, and each node's local derivatives
# ---------------------------------------------------------------------------

def topo_order(*roots: Value) -> list[Value]:
    """Every node the roots depend on, children before parents.

    A node is always made after its operands, so its creation number is larger
    than theirs: collecting the nodes (with a stack, never recursion, so a chain
    a million deep is fine) and sorting them by that number is a topological order.
    """
    seen = set(roots)
    stack = list(roots)
    while stack:
        for child in stack.pop().operands:
            if isinstance(child, Value) and child not in seen:
                seen.add(child)
                stack.append(child)
    return sorted(seen, key=attrgetter("_id"))


def local_derivatives(node: Value, create_graph: bool = False) -> tuple:
    """∂node/∂operand for each operand of a computed node, from the node's own op record.

    The op's `partials(out, *inputs)` gets floats, or with create_graph=True
    the Values themselves, so the derivatives come back as graph nodes.
    Constants count as operands: the tuple lines up with `node.operands`.

    >>> local_derivatives(Value(2.0) * Value(-3.0))      # ∂(ab)/∂a = b, ∂(ab)/∂b = a
    (-3.0, 2.0)
    """
    op = node.op_record
    if op is None:
        raise ValueError(f"local_derivatives: {node!r} is a leaf; it has no operands")
    try:
        if create_graph:
            partials = op.partials(node, *node.operands)
        else:
            partials = op.partials(node.data, *[a.data if isinstance(a, Value) else a for a in node.operands])
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        raise _backward_error(node, e) from e
    if len(partials) != len(node.operands):
        raise TypeError(f"op '{op.name}': partials returned {len(partials)} derivative(s) "
                        f"for {len(node.operands)} input(s)")
    if create_graph:                # a number among Values is multiplied in as a constant, which must be finite
        for p in partials:
            if type(p) is float and not math.isfinite(p):
                raise _backward_error(node, OverflowError(f"its partials gave {p!r}: a local derivative "
                                                          f"overflowed a float (e.g. 1/x at a tiny x)"))
    return tuple(partials)


def _backward_error(node: Value, e: Exception) -> Exception:
    """The error `e` from the chain rule at `node`, with the op, its inputs and the node's label named."""
    ins = ", ".join(repr(value_of(a)) for a in node.operands)
    where = f" (node {node.label!r})" if node.label else ""
    return type(e)(f"backward through '{node.op}' at inputs ({ins}){where}: {e}")


# ---------------------------------------------------------------------------
# The backward sweep: one loop, its state in a map of its own
# ---------------------------------------------------------------------------

class Sweep:
    """One reverse-mode sweep from `root`: `grads[node]` becomes ∂root/∂node.

    Iterating runs the chain rule and yields one step per (node, Value operand):

        ∂root/∂child += ∂root/∂node · ∂node/∂child

    visiting nodes in reverse topological order, so a node's gradient is
    complete before it is passed on.  The gradients are floats, or Values
    (create_graph=True) built by the same arithmetic, which can be
    differentiated again.  Nothing is written on the nodes.
    """

    def __init__(self, root: Value, create_graph: bool = False) -> None:
        self.root = root
        self.create_graph = create_graph
        self.grads: dict[Value, Any] = {root: Value(1.0) if create_graph else 1.0}

    def __iter__(self) -> Iterator[tuple[Value, int, Value, Any]]:
        """Run the sweep; yield (node, k, child, local) after adding the k-th operand's share."""
        grads = self.grads
        for node in reversed(topo_order(self.root)):
            if node.op_record is None:
                continue                                    # a leaf: nothing below it
            g = grads[node]                                 # complete: every parent came first
            for k, (child, local) in enumerate(zip(node.operands, local_derivatives(node, self.create_graph))):
                if isinstance(child, Value):                # constants get no gradient
                    grads[child] = _add_share(grads.get(child), local, g, node, child)
                    yield node, k, child, local

    def run(self) -> dict[Value, Any]:
        """Run the whole sweep; the map node -> ∂root/∂node."""
        for _ in self:
            pass
        return self.grads


def _add_share(before: Any, local: Any, g: Any, node: Value, child: Value) -> Any:
    """before + local · g: one path's share added to ∂root/∂child, which must stay a finite number.

    A local derivative that is the number 1 (each operand of + and of an n-ary sum) passes g on as it
    is: 1 · g is g, and with create_graph that is one graph node fewer per operand.
    """
    try:
        share = g if type(local) in (float, int) and local == 1 else local * g
        total = share if before is None else before + share              # Values refuse to overflow...
    except (OverflowError, TypeError) as e:                             # (TypeError: partials gave None, a str…)
        raise _backward_error(node, e) from None
    if type(total) is not float and not isinstance(total, Value):
        total = _real(total, local, node)             # a user op's partials gave a numpy float, an int, a complex…
    if type(total) is float and not math.isfinite(total):               # ...floats overflow to inf
        raise _backward_error(node, OverflowError(
            f"the gradient reaching {child!r} is {total!r}: a local derivative or the gradient overflowed "
            f"a float (e.g. 1/x at a tiny x)"))
    return total


def _real(total: Any, local: Any, node: Value) -> float:
    """A gradient that is not a float, as a float: a real number is converted (gradients are floats);
    anything else (a complex derivative, from a float ** of a negative base) is refused, naming the op."""
    if isinstance(total, numbers.Real):
        return float(total)
    kind = "a complex number" if isinstance(total, complex) else f"a {type(total).__name__}"
    raise _backward_error(node, (ValueError if isinstance(total, complex) else TypeError)(
        f"its partials gave {local!r}, which makes the gradient {kind}; a derivative must be a real number"))


def _float_sweep_in_python(root: Value) -> dict[Value, float]:
    """∂root/∂node as floats for every node `root` depends on."""
    return Sweep(root).run()


def _graph_sweep_in_python(root: Value) -> dict[Value, Value]:
    """∂root/∂node as Values (graphs of their own) for every node `root` depends on."""
    return Sweep(root, create_graph=True).run()


def _backward_in_python(root: Value) -> None:
    """`root.backward()`: the float sweep, each ∂root/∂node added into node.grad."""
    for node, g in _float_sweep(root).items():
        node.grad += g


def grad(output: Value, inputs: Value | Iterable[Value], create_graph: bool = False) -> list[Value]:
    """∂output/∂x for each x in `inputs`, leaving every `.grad` untouched.

    With create_graph=False the results are detached leaves (numbers only).
    With create_graph=True they are Values built from graph ops, so they can
    be differentiated again: grad(grad(f, [x], True)[0], [x]) is d²f/dx².
    An input that `output` does not depend on gets a gradient of 0.

    >>> x = Value(3.0)
    >>> (dx,) = grad(x ** 3, [x], create_graph=True)
    >>> dx.data, grad(dx, [x])[0].data     # 3x², 6x
    (27.0, 18.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad() output must be a Value, got {type(output).__name__}")
    inputs = [inputs] if isinstance(inputs, Value) else list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad() inputs must be Values, got {type(x).__name__}: {x!r}")
    if create_graph:
        grads = _graph_sweep(output)
        return [grads.get(x) or Value(0.0) for x in inputs]
    floats = _float_sweep(output)
    return [Value(floats.get(x, 0.0)) for x in inputs]


# ---------------------------------------------------------------------------
# Grad mode (per thread) and user-defined ops
# ---------------------------------------------------------------------------

# Whether operations record a graph.  A context variable is per thread (a new thread starts with the
# default) and per asyncio task, so a `no_grad()` in one never silences another, as PyTorch's grad mode.
_grad_enabled: ContextVar[bool] = ContextVar("autobp_grad_enabled", default=True)


def is_grad_enabled() -> bool:
    """False inside `no_grad()` (in this thread)."""
    return _grad_enabled.get()


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block (in this thread) operations build no graph: every result is a leaf.

    >>> w = Value(1.0)
    >>> with no_grad():
    ...     w2 = w * 2
    >>> w2.op, w2.children
    ('', ())
    """
    token = _grad_enabled.set(False)
    try:
        yield
    finally:
        _grad_enabled.reset(token)


def _parameter_names(name: str, forward: Callable) -> list[str]:
    """The input names of `forward`, which fix a user op's arity when no formulas are given."""
    try:
        params = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        raise TypeError(f"define_op {name!r}: cannot read the inputs of forward; pass formulas, one per input") from None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"define_op {name!r}: forward takes *args; pass formulas, one per input")
    return [p.name for p in params]


def define_op(name: str, forward: Callable[..., float], partials: Callable[..., tuple],
              formulas: Sequence[str] | None = None) -> Callable[..., Value]:
    """A new scalar op in the same table as the built-in ones.

    `forward(*floats) -> float`; `partials(out, *inputs) -> tuple`, one local
    derivative per input, written with arithmetic (and `autobp.ops` helpers)
    so it works on floats and on Values — then the op is differentiated to any
    order, drawn and explained like a built-in one.  `formulas` is the same
    partials as text; the arity is the number of formulas (default: forward's inputs).

    >>> cube = define_op("cube", lambda x: x ** 3, lambda out, x: (3 * x ** 2,), ["3*x^2"])
    >>> y = cube(Value(2.0)); y.backward(); y.op, y.data
    ('cube', 8.0)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define_op: name must be an identifier such as 'cube', got {name!r}")
    if not callable(forward) or not callable(partials):
        raise TypeError(f"define_op {name!r}: forward and partials must be callables")
    if formulas is None:
        formulas = tuple(f"d{name}/d{p}" for p in _parameter_names(name, forward))
    formulas = tuple(formulas)
    if not formulas or not all(isinstance(f, str) for f in formulas):
        raise TypeError(f"define_op {name!r}: formulas must be strings, one per input")
    op = ops.register(Op(name, forward, partials, formulas))

    def call(*args: Operand) -> Value:
        return apply(op, *args)

    call.__name__ = name
    call.__doc__ = f"User-defined op {name!r}; partials: {', '.join(formulas)}"
    call.op = op  # type: ignore[attr-defined]    # Python functions take attributes; mypy's Callable types have none
    return call


# ---------------------------------------------------------------------------
# The speed layer (a learner may skip this): the C twins from autobp/_node.c
# ---------------------------------------------------------------------------

def _compiled() -> Any:
    """autobp._node bound to this module, or None (not built, or AUTOBP_PURE_PYTHON set to anything but "" or "0")."""
    if os.environ.get("AUTOBP_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        _node = importlib.import_module("autobp._node")
    except ImportError:
        return None
    _node.bind(Value, Op, _grad_enabled, _apply_in_python, _float_sweep_in_python, _topo_order_in_python,
               _backward_in_python, _graph_sweep_in_python, MUL, ADD)
    return _node


# With the C helper, `apply`, `topo_order`, node making, both sweeps and backward() are its twins;
# each hands anything unusual back to the Python above, so results and errors are the same either way.
_apply_in_python = apply
_topo_order_in_python = topo_order
_C = _compiled()
COMPILED_NODES = _C is not None     # True: autobp/_node.c makes the nodes, applies ops and runs the sweeps
if _C is not None:
    apply = _C.apply                                              # noqa: F811
    topo_order = _C.topo_order                                    # noqa: F811
    _make_node = _C.make_node
    _float_sweep = _C.float_sweep
    _graph_sweep = _C.graph_sweep
    _backward = _C.backward
else:
    _make_node = _make_node_in_python
    _float_sweep = _float_sweep_in_python
    _graph_sweep = _graph_sweep_in_python
    _backward = _backward_in_python
