"""The engine: `Value` nodes, the iterative backward sweep, `grad`, `no_grad` and `define_op`.

A Value stores its number, its op (a record from `autobp.ops`) and its
operands: other Values, or plain floats for constants.  Nothing else — no
closure, no set of children — so a node is one small object that reference
counting frees as soon as the graph is dropped, and the cyclic garbage
collector has one object per node to trace, not three.

Each node also carries a creation number.  A node is always created after its
operands, so sorting the nodes reachable from the output by that number is a
topological order: no recursion anywhere, and a chain a million nodes deep is
as easy as a short one.

Because a graph has no reference cycles, CPython's cyclic garbage collector
has nothing to find in it, yet by default it rescans every live node again and
again while a graph grows.  So nodes are made by `_record`: the Python
function `_record_in_python` or, when the package was built with its C helper
(`autobp/_node.c`), a C twin that also leaves the node untracked by that
collector, 1.5x faster on small graphs and 2-3x on large ones.
AUTOBP_PURE_PYTHON=1 in the environment keeps the Python version.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
import operator
import os
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Sequence

from autobp import ops
from autobp.ops import Op

__all__ = ["Value", "apply", "topo_order", "local_derivatives", "grad", "no_grad", "is_grad_enabled", "define_op"]

_new_id = itertools.count().__next__   # creation numbers: operands before results
_grad_enabled = True


def _finite_float(x: object, where: str) -> float:
    """`x` as a finite float, or a clear TypeError/ValueError naming `where`."""
    if isinstance(x, Value) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where} needs a real number, got {type(x).__name__}: {x!r}")
    try:
        f = float(x)
    except OverflowError:
        raise ValueError(f"{where} needs a finite number, got {x!r} (too large for a float)") from None
    if not math.isfinite(f):
        raise ValueError(f"{where} needs a finite number, got {f!r}")
    return f


class Value:
    """One scalar node of a computational graph.

    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> c = a * b + 1
    >>> c.backward()
    >>> c.data, a.grad, b.grad      # ∂c/∂a = b, ∂c/∂b = a
    (-5.0, -3.0, 2.0)
    """

    # _x, _y: the operands (a Value, or a float for a constant).  _y is None for
    # a one-input op and a tuple of the remaining operands for ops of three or
    # more inputs.  _id: creation number.  _g: scratch gradient of a running
    # sweep (None outside one, which also marks "not yet visited").
    __slots__ = ("data", "grad", "label", "_op", "_x", "_y", "_id", "_g")

    def __new__(cls, data: float, label: str = "") -> Value:
        data = _finite_float(data, "Value()")
        if not isinstance(label, str):
            raise TypeError(f"Value() label must be a str, got {type(label).__name__}: {label!r}")
        node = _leaf(data)
        node.label = label
        return node

    def __getnewargs__(self) -> tuple[float]:
        """What copy and deepcopy pass to __new__ before they copy the slots (a Value needs its data)."""
        return (self.data,)

    # -- the graph, read-only --------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the op that made this node ('' for a leaf)."""
        return "" if self._op is None else self._op.name

    @property
    def op_record(self) -> Op | None:
        """The op table entry that made this node (None for a leaf): what every tool reads."""
        return self._op

    @property
    def operands(self) -> tuple:
        """Inputs in operand order: Values, and floats for constants."""
        if self._op is None:
            return ()
        y = self._y
        if y is None:
            return (self._x,)
        if type(y) is tuple:
            return (self._x, *y)
        return (self._x, y)

    @property
    def children(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in operand order."""
        return tuple(a for a in self.operands if type(a) is not float)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    # -- gradients ---------------------------------------------------------------
    def backward(self) -> None:
        """Add ∂self/∂node into `node.grad` for every node reachable from `self`.

        The sweep seeds ∂self/∂self = 1 and visits nodes in reverse
        topological order, adding grad(node) · ∂node/∂child into each child.
        Gradients accumulate across calls, as in PyTorch: calling it twice
        doubles every `.grad`.
        """
        for node in _float_sweep(self):
            node.grad += node._g
            node._g = None

    # operators and methods are attached below, from the op table


# ---------------------------------------------------------------------------
# Building nodes
# ---------------------------------------------------------------------------

def _record_in_python(op: Op | None, out: float, x: object, y: object) -> Value:
    """A new node holding `out`, made by `op` from operands x (and y).

    `_record` is this function, or its C twin autobp._node.new when that was built.
    """
    node = object.__new__(Value)
    node.data = out
    node.grad = 0.0
    node.label = ""
    node._op = op
    node._x = x
    node._y = y
    node._g = None
    node._id = _new_id()
    return node


def _compiled_record() -> Callable | None:
    """autobp._node.new bound to Value: `_record` in C, the node left untracked by the cyclic collector.

    None when the C helper was not built (no compiler at install time) or
    AUTOBP_PURE_PYTHON is set to anything but "" or "0".
    """
    if os.environ.get("AUTOBP_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from autobp import _node
    except ImportError:
        return None
    _node.bind(Value)
    return _node.new


_record = _compiled_record() or _record_in_python
COMPILED_NODES = _record is not _record_in_python     # True: nodes come from autobp/_node.c, untracked by the GC


def _leaf(out: float) -> Value:
    """A new leaf holding `out`: no op, no operands (an input, or an op's result under `no_grad`)."""
    return _record(None, out, None, None)


def _node_name(v: object) -> str:
    return f" (node {v.label!r})" if isinstance(v, Value) and v.label else ""


def _forward(op: Op, args: Sequence[object], floats: Sequence[float]) -> float:
    """op.forward(*floats), checked: errors and non-finite results name the op."""
    where = "".join(map(_node_name, args))
    try:
        out = op.forward(*floats)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        raise type(e)(f"{e}{where}") from None
    if not math.isfinite(out):
        shown = ", ".join(map(repr, floats))
        raise OverflowError(f"{op.name}({shown}) = {out!r} is not a finite number{where}")
    return out


def _constant(x: object) -> float:
    """A number operand (bools count, as in Python), stored as a float; NotImplemented for anything else."""
    if not isinstance(x, numbers.Real):
        return NotImplemented
    return _finite_float(x, "a constant operand")


def apply(op: Op, *args: object) -> Value:
    """op(*args): the result as a graph node when any argument is a Value.

    Numbers are constants (stored as floats, never wrapped in a Value).
    Anything else raises TypeError naming the op and the type.
    """
    if op.arity is not None and len(args) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} input(s), got {len(args)}")
    operands, floats = [], []
    for a in args:
        if isinstance(a, Value):
            operands.append(a)
            floats.append(a.data)
        else:
            c = _constant(a)
            if c is NotImplemented:
                raise TypeError(f"{op.name}: inputs must be Values or real numbers, got {type(a).__name__}: {a!r}")
            operands.append(c)
            floats.append(c)
    if op is ops.POW and isinstance(operands[1], Value) and floats[0] <= 0:
        raise ValueError(f"'**': with a Value exponent the base must be > 0 (d/dy x^y = x^y·ln x), "
                         f"got {floats[0]!r}{_node_name(operands[0])}; use a number exponent instead")
    out = _forward(op, operands, floats)
    if not _grad_enabled or all(type(a) is float for a in operands):
        return _leaf(out)
    if len(operands) == 1:
        return _record(op, out, operands[0], None)
    if len(operands) == 2:
        return _record(op, out, operands[0], operands[1])
    return _record(op, out, operands[0], tuple(operands[1:]))


def _binary_slow(op: Op, x: object, y: object, other: object) -> Value:
    """`_binary`'s general path: number types other than float and int, bad operands, errors."""
    if type(other) is float:
        _finite_float(other, f"'{op.name}'")        # nan or ±inf: a ValueError naming the op
    elif not isinstance(other, Value) and _constant(other) is NotImplemented:
        return NotImplemented
    return apply(op, x, y)


def _binary(op: Op, reflected: bool = False) -> Callable:
    """The operator method for a two-input op (`__mul__`, or `__rmul__` when reflected).

    This is the hot path of every graph, so it is written for speed: the
    common operands (a Value, a finite float, an int) are read with exact type
    tests and `op.forward` is called directly.  Anything unusual — other
    number types, nan or inf constants, a domain error, an overflow, `**` with
    a Value exponent — goes through `apply`, which raises the error naming the op and the value.
    Unknown operand types return NotImplemented, so Python raises its usual
    TypeError naming the operator and both types.
    """
    forward = op.forward
    value_exponent_checked = op is ops.POW      # apply checks the base of a Value exponent

    def method(self: Value, other: object) -> Value:
        t = type(other)
        if t is Value:
            od = other.data
        elif t is float and not other - other:     # finite: nan - nan and inf - inf are nan
            od = other
        elif t is int and -_INT_LIMIT < other < _INT_LIMIT:
            other = od = float(other)               # constants are stored as floats
        else:
            return _binary_slow(op, other if reflected else self, self if reflected else other, other)
        if reflected:                               # pairs, not 4-tuples: no tuple is built
            x, y = other, self
            xd, yd = od, self.data
        else:
            x, y = self, other
            xd, yd = self.data, od
        if value_exponent_checked and type(y) is Value:
            return apply(op, x, y)
        try:
            out = forward(xd, yd)
        except (ValueError, ZeroDivisionError, OverflowError):
            return apply(op, x, y)                  # raises again, naming the op and the nodes
        if out - out:                               # overflowed to ±inf: let apply explain
            return apply(op, x, y)
        if not _grad_enabled:
            return _leaf(out)
        return _record(op, out, x, y)

    x, y = ("other", "self") if reflected else ("self", "other")
    method.__doc__ = (f"{x} {op.name} {y}, recorded as op '{op.name}' with x = {x}, y = {y}: "
                      f"∂/∂x = {op.formulas[0]}, ∂/∂y = {op.formulas[1]}.")
    return method


_INT_LIMIT = 2 ** 1023     # ints inside this range convert to a finite float


def _unary(op: Op) -> Callable:
    """The method for a one-input op, e.g. `Value.tanh`: `op.forward` directly, `apply` for errors."""
    forward = op.forward

    def method(self: Value) -> Value:
        try:
            out = forward(self.data)
        except (ValueError, ZeroDivisionError, OverflowError):
            return apply(op, self)                  # raises again, naming the op and the node
        if out - out or not _grad_enabled:          # not finite (apply explains), or a leaf
            return apply(op, self)
        return _record(op, out, self, None)

    method.__doc__ = f"{op.name}(self), recorded as op '{op.name}': d/dx = {op.formulas[0]}."
    return method


def _attach(name: str, method: Callable) -> None:
    """Install `method` on Value under `name` (and name it so in tracebacks and help())."""
    method.__name__, method.__qualname__ = name, f"Value.{name}"
    setattr(Value, name, method)


for _name, _op in [("add", ops.ADD), ("sub", ops.SUB), ("mul", ops.MUL),
                   ("truediv", ops.DIV), ("pow", ops.POW)]:
    _attach(f"__{_name}__", _binary(_op))
    _attach(f"__r{_name}__", _binary(_op, reflected=True))
_attach("__neg__", _unary(ops.NEG))
for _op in (ops.EXP, ops.LOG, ops.TANH, ops.SIGMOID, ops.RELU, ops.SQRT, ops.ABS, ops.SOFTPLUS):
    _attach(_op.name, _unary(_op))
Value.__abs__ = Value.abs
del _name, _op


# ---------------------------------------------------------------------------
# Topological order and the two sweeps
# ---------------------------------------------------------------------------

# The sort key of a topological order: a node's creation number (a C getter, not a Python call per node).
_creation_order = operator.attrgetter("_id")


def topo_order(*roots: Value) -> list[Value]:
    """Every node reachable from the roots, children before parents (iterative)."""
    seen = set(roots)
    stack = list(roots)
    while stack:
        for child in stack.pop().operands:      # not .children: no tuple built per node, 4x faster
            if type(child) is not float and child not in seen:     # constants are floats
                seen.add(child)
                stack.append(child)
    return sorted(seen, key=_creation_order)


def _float_sweep(root: Value) -> list[Value]:
    """Run the float backward sweep from `root`; return the nodes it reached.

    On return each reached node's `_g` holds ∂root/∂node; the caller reads it
    and resets `_g` to None.  This is `backward()`'s fast path: floats only,
    the scratch gradient in a slot instead of a dict.
    """
    if root._g is not None:
        raise RuntimeError("backward() is already running on this graph (called from inside a partials function?)")
    # Collect the reachable nodes; `_g is None` means "not seen yet".  Leaves go
    # to their own list: they need no sorting and no visit in the sweep.  The
    # loop walks `nodes` while appending to it (a list iterator also yields the
    # items appended during the loop), so no separate stack is needed, and it
    # reads _x and _y directly instead of building a tuple of children per node.
    root._g = 0.0
    nodes, leaves = ([], [root]) if root._op is None else ([root], [])
    try:
        for node in nodes:
            x = node._x
            if type(x) is not float and x._g is None:
                x._g = 0.0
                (leaves if x._op is None else nodes).append(x)
            y = node._y
            if y is None or type(y) is float:
                continue
            if type(y) is tuple:          # an op of three or more inputs
                for child in y:
                    if type(child) is not float and child._g is None:
                        child._g = 0.0
                        (leaves if child._op is None else nodes).append(child)
            elif y._g is None:
                y._g = 0.0
                (leaves if y._op is None else nodes).append(y)
        nodes.sort(key=_creation_order, reverse=True)     # parents before children
        root._g = 1.0
        for node in nodes:
            g = node._g
            if g == 0.0:                  # nothing flows back through here
                continue
            op, x, y = node._op, node._x, node._y
            if y is None:
                (lx,) = op.partials(node.data, x.data)
                x._g += lx * g
            elif type(y) is tuple:
                _nary_float_step(node, g)
            elif type(x) is float:        # constant op Value: constants get no gradient
                _, ly = op.partials(node.data, x, y.data)
                y._g += ly * g
            elif type(y) is float:        # Value op constant
                lx, _ = op.partials(node.data, x.data, y)
                x._g += lx * g
            else:
                lx, ly = op.partials(node.data, x.data, y.data)
                x._g += lx * g
                y._g += ly * g
        nodes += leaves
    except BaseException as e:
        for n in (*nodes, *leaves):
            n._g = None
        if isinstance(e, (ValueError, TypeError, ZeroDivisionError, OverflowError)):
            raise _backward_error(node, e) from e
        raise
    for leaf in leaves:
        if leaf._g - leaf._g:         # inf or nan: every overflow upstream ends up in a leaf
            raise _nonfinite_gradient(nodes)
    return nodes


def _nonfinite_gradient(nodes: list[Value]) -> OverflowError:
    """Reset the sweep and name the first node (parents first) whose gradient left the floats."""
    bad = next(n for n in nodes if n._g - n._g)
    g = bad._g
    for n in nodes:
        n._g = None
    parent = next((p for p in nodes if p._op is not None and bad in p.children), None)
    via = f" through '{parent.op}'" if parent is not None else ""
    return OverflowError(f"backward: the gradient reaching {bad!r} is {g!r}{via}; a local derivative "
                         f"overflowed a float (e.g. 1/x at a tiny x)")


def _nary_float_step(node: Value, g: float) -> None:
    """The float sweep's step for an op of three or more inputs (user ops): child._g += local · g."""
    args = node.operands
    locals_ = node._op.partials(node.data, *(a if type(a) is float else a.data for a in args))
    for a, local in zip(args, locals_, strict=True):
        if type(a) is not float:
            a._g += local * g


def _backward_error(node: Value, e: Exception) -> Exception:
    """The error `e` raised inside the local derivative of `node`, with the op and inputs named."""
    ins = ", ".join(repr(a if type(a) is float else a.data) for a in node.operands)
    return type(e)(f"backward through '{node.op}' at inputs ({ins}){_node_name(node)}: {e}")


def local_derivatives(node: Value, create_graph: bool = False) -> tuple:
    """∂node/∂operand for each operand of a computed node, from the node's own op record.

    Floats by default; Values (a graph) with create_graph=True.  Constants
    count as operands, so the tuple lines up with `node.operands`.  An error
    in the op's partials is raised as the backward sweep raises it.

    >>> local_derivatives(Value(2.0) * Value(-3.0))
    (-3.0, 2.0)
    """
    args = node.operands if create_graph else [a if type(a) is float else a.data for a in node.operands]
    try:
        return tuple(node._op.partials(node if create_graph else node.data, *args))
    except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
        raise _backward_error(node, e) from e


def _graph_sweep(root: Value, wanted: set[Value]) -> dict[Value, Value]:
    """∂root/∂node as Values (a graph that can be differentiated again).

    The same op partials as the float sweep, called with the nodes themselves.
    """
    grads: dict[Value, Value] = {root: Value(1.0)}
    order = topo_order(root)
    # Only nodes on a path to a wanted input need a gradient.
    needed = set(wanted)
    for node in order:
        if any(c in needed for c in node.children):
            needed.add(node)
    for node in reversed(order):
        g = grads.get(node)
        if g is None or node._op is None:
            continue
        args = node.operands
        try:
            locals_ = node._op.partials(node, *args)
            for a, local in zip(args, locals_, strict=True):
                if type(a) is not float and a in needed:
                    contrib = local * g
                    grads[a] = grads[a] + contrib if a in grads else contrib
        except (ValueError, TypeError, ZeroDivisionError, OverflowError) as e:
            raise _backward_error(node, e) from e
    return grads


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
        grads = _graph_sweep(output, set(inputs))
        return [grads[x] if x in grads else Value(0.0) for x in inputs]
    nodes = _float_sweep(output)
    try:
        return [Value(0.0 if x._g is None else x._g) for x in inputs]
    finally:
        for n in nodes:
            n._g = None


# ---------------------------------------------------------------------------
# no_grad and user-defined ops
# ---------------------------------------------------------------------------

def is_grad_enabled() -> bool:
    """False inside `no_grad()`."""
    return _grad_enabled


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block operations build no graph: every result is a leaf.

    >>> w = Value(1.0)
    >>> with no_grad():
    ...     w2 = w * 2
    >>> w2.op, w2.children
    ('', ())
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


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
    partials as text; the arity is the number of formulas (default 1 input).

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

    def call(*args: object) -> Value:
        return apply(op, *args)

    call.__name__ = name
    call.__doc__ = f"User-defined op {name!r}; partials: {', '.join(formulas)}"
    call.op = op
    return call
