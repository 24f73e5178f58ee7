"""Forward mode and curvature: jvp, vjp, Hessian-vector products, Hessians and Jacobians.

Reverse mode (`backward`, `grad`) carries ∂output/∂node from the output down
to the inputs.  Forward mode carries the other half of the chain rule, the
tangent ṅ = ∂node/∂(direction), from the inputs up, in creation order:

    ẋ_i = u_i for each input,   ṅ = Σ_k ∂n/∂a_k · ȧ_k  over n's operands a_k

so one forward sweep gives J·u (a Jacobian-vector product, `jvp`) where one
backward sweep gives vᵀJ (`vjp`).  Both read the same local derivatives, each
node's own op record through `engine.local_derivatives`: forward mode needs no
new rule, only a second sweep.  With create_graph=True the tangents are Values
(a graph), so the sweeps compose: `hvp` is forward-over-reverse, a tangent
sweep through the graph that grad(..., create_graph=True) builds, H·v for a
small constant times the cost of one gradient.

Every function takes `f(*values)` and a list of inputs (numbers, which become
leaves, or Values, used as they are) and returns Values, as `grad` does:
detached leaves by default, graphs with create_graph=True.
"""

from __future__ import annotations

import math
import numbers
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, cast, overload

from autobp.engine import _C, Value, grad, is_grad_enabled, local_derivatives, topo_order

__all__ = ["jvp", "vjp", "hvp", "hessian", "jacobian", "forward_sweep", "Linearization", "seeds_for"]

Number = float | Value


class Linearization:
    """A built graph with every node's local derivatives evaluated: what each tangent sweep multiplies by.

    The local derivatives do not depend on the direction, so several forward
    sweeps (the n columns of a Jacobian or a Hessian) evaluate them once, when
    the first sweep needs them.  They are evaluated output first, the order in
    which the backward sweep meets the nodes, so a failing partial raises the
    error the backward sweep raises.  With the C helper, `push` runs on floats
    in autobp/_node.c, which evaluates them as it goes and hands anything
    unusual back to `push_in_python`.
    """

    def __init__(self, outputs: Sequence[Value], create_graph: bool = False, caller: str = "jvp") -> None:
        self.outputs = list(outputs)
        self.create_graph = create_graph
        self.caller = caller              # the function its errors name (hvp and hessian sweep a gradient)

    @cached_property
    def steps(self) -> list[tuple[Value, tuple, tuple]]:
        """(node, operands, local derivatives) for every computed node, in creation order."""
        steps = []
        for node in reversed(topo_order(*self.outputs)):
            operands = node.operands
            if not operands:                  # a leaf
                continue
            locals_ = local_derivatives(node, self.create_graph)
            if len(locals_) != len(operands):
                raise TypeError(f"op '{node.op}': partials returned {len(locals_)} derivative(s) "
                                f"for {len(operands)} input(s)")
            steps.append((node, operands, locals_))
        steps.reverse()                       # creation order: operands before results
        return steps

    def tangents(self, seeds: Mapping[Value, Number]) -> dict[Value, Number]:
        """ṅ for every node that depends on a seeded node: ṅ = seed(n) + Σ_k ∂n/∂a_k · ȧ_k.

        A seed adds to what flows into its node, so a seeded node that is
        itself computed also passes on its operands' tangents, as `grad`
        counts every path.
        """
        tangents: dict[Value, Number] = dict(seeds)
        for _ in self.sweep(tangents):
            pass
        return tangents

    def sweep(self, tangents: dict[Value, Number]) -> Iterator[tuple[Value, int, Value, Any]]:
        """The tangent sweep, in creation order, on `tangents` (seeded by the caller, filled in here).

        Yields (node, k, child, local) after adding ∂node/∂child · child's tangent into node's, for
        each operand a seeded node reaches: the rows `autobp.steps.forward_steps` narrates.  `local`
        is what the op's partials returned (a number, or a Value with create_graph), as in `Sweep`.
        """
        for node, operands, locals_ in self.steps:
            for k, (a, local) in enumerate(zip(operands, locals_)):
                if not isinstance(a, Value):
                    continue                  # a constant: no tangent
                ta = tangents.get(a)          # None: a node the seeds do not reach
                if ta is not None:
                    t = tangents.get(node)
                    tangents[node] = local * ta if t is None else t + local * ta
                    yield node, k, a, local

    def push(self, seeds: Mapping[Value, Number]) -> list[Value]:
        """One forward sweep: the tangent of each output (Values; a graph when create_graph)."""
        if self.create_graph or _C is None:
            out = self.push_in_python(seeds)
        else:                                 # the C twin of push_in_python (autobp/_node.c), same floats
            out = _C.float_push(self.outputs, dict(seeds), self.push_in_python)
        return [t if isinstance(t, Value) else Value(t) for t in out]

    def push_in_python(self, seeds: Mapping[Value, Number]) -> list[Number]:
        """The tangent of each output (0.0 where the seeds do not reach), which must be finite floats."""
        tangents = self.tangents(seeds)
        out = [tangents.get(y, 0.0) for y in self.outputs]
        if not self.create_graph:
            for y, t in zip(self.outputs, out):
                if not isinstance(t, Value) and not math.isfinite(t):
                    raise _nonfinite_tangent(self.steps, tangents, y, self.caller)
        return out

    def matrix(self, inputs: Sequence[Value]) -> list[list[Value]]:
        """M[k][j] = ∂output_k/∂inputs[j]: one forward sweep per input, a column each."""
        columns = [self.push({x: 1.0}) for x in inputs]
        return [list(row) for row in zip(*columns)]


def _nonfinite_tangent(steps: list, tangents: dict, output: Value, caller: str) -> OverflowError:
    """Name the first node (creation order) whose tangent left the floats."""
    bad = next((node for node, _, _ in steps if node in tangents and not math.isfinite(tangents[node])), output)
    graph = " (a node of the gradient's graph, which it sweeps)" if caller in ("hvp", "hessian") else ""
    return OverflowError(f"{caller}: the tangent of {bad!r} through '{bad.op}'{graph} is {tangents.get(bad)!r}; "
                         f"a local derivative overflowed a float (e.g. 1/x at a tiny x)")


def forward_sweep(outputs: Value | Sequence[Value], seeds: Mapping[Value, Number],
                  create_graph: bool = False) -> list[Value]:
    """The tangent sweep on a graph already built: ∂output/∂(direction) for each output.

    `seeds` maps input nodes to their tangents u_i; the result is Σ_i ∂y/∂x_i · u_i
    for each output y, as `grad` is for one output on a built graph.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> [t.data for t in forward_sweep(a * b, {a: 1.0})]      # ∂(ab)/∂a = b
    [-3.0]
    """
    outputs = _outputs(outputs, "forward_sweep")
    clean = {}
    for x, u in seeds.items():
        if not isinstance(x, Value):
            raise TypeError(f"forward_sweep: seeds must map Values to tangents, got a key {type(x).__name__}: {x!r}")
        clean[x] = _tangent(u, create_graph, "forward_sweep")
    return Linearization(outputs, create_graph).push(clean)


# ---------------------------------------------------------------------------
# Checking arguments
# ---------------------------------------------------------------------------

def _as_list(items: object, what: str, where: str) -> list:
    """A list, tuple or 1-d array (anything iterable but a string or a Value) as a list."""
    if isinstance(items, (Value, str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{where}: {what} must be a list of numbers or Values, got {type(items).__name__}: {items!r}")
    return list(items)


def _leaves(inputs: Iterable[Number], where: str) -> list[Value]:
    """The inputs as Values: a number becomes a leaf labelled x0, x1, …; a Value is used as it is."""
    _refuse_no_grad(where)
    return [x if isinstance(x, Value) else Value(x, f"x{i}") for i, x in enumerate(_as_list(inputs, "inputs", where))]


def _refuse_no_grad(where: str) -> None:
    """Inside no_grad() f (or a pullback's Σ v_k·out_k) would build no graph and every derivative would
    come out 0: refused instead."""
    if not is_grad_enabled():
        raise RuntimeError(f"{where}: inside no_grad() f builds no graph, so there is nothing to "
                           f"differentiate; call {where} outside the no_grad() block")


def _tangent(u: object, create_graph: bool, where: str) -> Number:
    """A direction component: a finite number (float), or a Value (kept as a node with create_graph)."""
    if type(u) is float and math.isfinite(u):
        return u                              # the common case first
    if isinstance(u, Value):
        return u if create_graph else u.data
    if isinstance(u, numbers.Real) and math.isfinite(u):
        return float(u)
    raise TypeError(f"{where}: a direction component must be a finite number or a Value, "
                    f"got {type(u).__name__}: {u!r}")


def _direction(v: object, n: int, create_graph: bool, where: str, name: str, of: str = "inputs") -> list[Number]:
    """The direction `name`: one component for each of the n inputs (or outputs)."""
    components = _as_list(v, "the direction", where)
    if len(components) != n:
        count = f"{len(components)} component" + ("" if len(components) == 1 else "s")
        raise ValueError(f"{where}: {name} has {count} for {n} {of}")
    return [_tangent(u, create_graph, where) for u in components]


def _outputs(out: object, where: str) -> list[Value]:
    """f's result as a list of Values (a Value or a list/tuple of Values)."""
    outs = [out] if isinstance(out, Value) else list(out) if isinstance(out, (list, tuple)) else None
    if outs is None or not all(isinstance(y, Value) for y in outs):
        bad = out if outs is None else next(y for y in outs if not isinstance(y, Value))
        raise TypeError(f"{where}: f must return a Value or a list of Values, got {type(bad).__name__}: {bad!r}")
    return outs


def _scalar(out: object, where: str) -> Value:
    if not isinstance(out, Value):
        raise TypeError(f"{where}: f must return one Value, got {type(out).__name__}: {out!r}")
    return out


def seeds_for(leaves: Sequence[Value], direction: Sequence[Number]) -> dict[Value, Number]:
    """{input: tangent} for Linearization.push; an input given twice gets the sum, as `grad` counts it
    once per position."""
    seeds: dict[Value, Number] = {}
    for x, u in zip(leaves, direction):
        seeds[x] = seeds[x] + u if x in seeds else u
    return seeds


# ---------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------

# jvp and vjp return what f returns: one Value, or one per output (overloads tell a type checker which)
@overload
def jvp(f: Callable[..., Value], primals: Iterable[Number], tangents: Iterable[Number],
        create_graph: bool = False) -> tuple[Value, Value]: ...
@overload
def jvp(f: Callable[..., Sequence[Value]], primals: Iterable[Number], tangents: Iterable[Number],
        create_graph: bool = False) -> tuple[list[Value], list[Value]]: ...


def jvp(f: Callable[..., Value | Sequence[Value]], primals: Iterable[Number], tangents: Iterable[Number],
        create_graph: bool = False) -> tuple[Value, Value] | tuple[list[Value], list[Value]]:
    """Forward mode: f at the primals and its derivative along the tangents, J·u.

    Returns (out, tangent_out), where out = f(*primals) and tangent_out =
    Σ_i ∂out/∂x_i · u_i, a Value (or lists of both when f returns a list).
    Tangents may be Values: with create_graph=True, tangent_out is a graph of
    the primals and the tangents, so it can be differentiated again.

    >>> out, t = jvp(lambda x, y: x * y + x.exp(), [1.0, 2.0], [1.0, 0.0])
    >>> round(t.data, 6)                                     # ∂/∂x (xy + eˣ) = y + eˣ
    4.718282
    """
    leaves = _leaves(primals, "jvp")
    direction = _direction(tangents, len(leaves), create_graph, "jvp", "tangents")
    out = f(*leaves)
    outs = _outputs(out, "jvp")
    tangent_out = Linearization(outs, create_graph).push(seeds_for(leaves, direction))
    return (out, tangent_out[0]) if isinstance(out, Value) else (outs, tangent_out)


@overload
def vjp(f: Callable[..., Value], primals: Iterable[Number],
        create_graph: bool = False) -> tuple[Value, Callable[[Number], list[Value]]]: ...
@overload
def vjp(f: Callable[..., Sequence[Value]], primals: Iterable[Number],
        create_graph: bool = False) -> tuple[Sequence[Value], Callable[[Sequence[Number]], list[Value]]]: ...


def vjp(f: Callable[..., Value | Sequence[Value]], primals: Iterable[Number], create_graph: bool = False
        ) -> tuple[Value | Sequence[Value], Callable[..., list[Value]]]:
    """Reverse mode as a function: (out, pullback), pullback(v) = vᵀJ = Σ_k v_k ∇out_k.

    `v` is one number (or Value) when f returns a Value, else one per output.
    Each call of pullback is one backward sweep (through Σ_k v_k·out_k).

    >>> out, pullback = vjp(lambda x, y: [x * y, x + y], [3.0, 4.0])
    >>> [g.data for g in pullback([1.0, 10.0])]              # (y + 10, x + 10)
    [14.0, 13.0]
    """
    leaves = _leaves(primals, "vjp")
    out = f(*leaves)
    outs = _outputs(out, "vjp")

    def pullback(v: Number | Sequence[Number]) -> list[Value]:
        _refuse_no_grad("vjp pullback")
        vs = _direction([v] if isinstance(out, Value) else v, len(outs), create_graph, "vjp pullback", "v", "outputs")
        if not outs:                             # vᵀJ of a function with no outputs
            return [Value(0.0) for _ in leaves]
        combined = outs[0] * vs[0]
        for y, vk in zip(outs[1:], vs[1:]):
            combined = combined + y * vk
        return grad(combined, leaves, create_graph=create_graph)

    return out, pullback


def hvp(f: Callable[..., Value], inputs: Iterable[Number], v: Iterable[Number],
        create_graph: bool = False) -> list[Value]:
    """The Hessian of f times v, H·v, by forward-over-reverse.

    One gradient as a graph (grad(..., create_graph=True)), then one tangent
    sweep through it along v: the cost of a few gradients, never n of them.
    With the C helper and create_graph=False, autobp/_node.c computes the
    same floats without making the gradient's graph: a tangent sweep of f's
    graph, then a reverse sweep carrying each adjoint n̄ with its tangent,
    ā˙ += n̄˙·∂n/∂a + n̄·(∂n/∂a)˙, the multiplies and adds those nodes would do.

    >>> [h.data for h in hvp(lambda x, y: x * x * y, [3.0, 2.0], [1.0, 0.0])]   # H = [[2y, 2x], [2x, 0]]
    [4.0, 6.0]
    """
    leaves = _leaves(inputs, "hvp")
    seeds = seeds_for(leaves, _direction(v, len(leaves), create_graph, "hvp", "v"))
    out = _scalar(f(*leaves), "hvp")
    if create_graph:
        return Linearization(grad(out, leaves, create_graph=True), create_graph=True, caller="hvp").push(seeds)
    if _C is None:
        return [Value(t) for t in _hvp_in_python(out, leaves, seeds)]
    # the C twin (autobp/_node.c) computes the floats the reference's nodes would hold, without making them;
    # a finite float's leaf is made directly (Value() would check it again: about 15% of hvp's time on W7's MLP)
    make = _C.make_node
    return [make(Value, t, None, ()) if type(t) is float and math.isfinite(t) else Value(t)
            for t in _C.float_hvp(out, leaves, seeds, _hvp_in_python)]


def _hvp_in_python(out: Value, leaves: list[Value], seeds: dict[Value, Number]) -> list[float]:
    """H·u as floats: the gradient as a graph, then one tangent sweep through it along u."""
    return cast("list[float]", Linearization(grad(out, leaves, create_graph=True), caller="hvp").push_in_python(seeds))


def hessian(f: Callable[..., Value], inputs: Iterable[Number], create_graph: bool = False) -> list[list[Value]]:
    """The n × n Hessian ∂²f/∂x_i∂x_j as n Hessian-vector products, H·e_j column by column.

    The gradient graph and its local derivatives are built once and swept n
    times.  Symmetric to rounding: H_ij and H_ji come from different sweeps.

    >>> [[h.data for h in row] for row in hessian(lambda x, y: x * x * y, [3.0, 2.0])]
    [[4.0, 6.0], [6.0, 0.0]]
    """
    leaves = _leaves(inputs, "hessian")
    gradient = grad(_scalar(f(*leaves), "hessian"), leaves, create_graph=True)
    return Linearization(gradient, create_graph, caller="hessian").matrix(leaves)


def jacobian(f: Callable[..., Value | Sequence[Value]], inputs: Iterable[Number], mode: str = "auto",
             create_graph: bool = False) -> list[list[Value]]:
    """The m × n Jacobian ∂out_k/∂x_i of f: ℝⁿ → ℝᵐ (m = 1 when f returns one Value).

    mode="forward": n tangent sweeps, one column each; mode="reverse": m
    backward sweeps, one row each; "auto" takes the fewer sweeps.

    >>> [[d.data for d in row] for row in jacobian(lambda x, y: [x * y, x + y], [3.0, 4.0])]
    [[4.0, 3.0], [1.0, 1.0]]
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
    leaves = _leaves(inputs, "jacobian")
    outs = _outputs(f(*leaves), "jacobian")
    if mode == "reverse" or mode == "auto" and len(outs) < len(leaves):
        return [grad(y, leaves, create_graph=create_graph) for y in outs]
    return Linearization(outs, create_graph).matrix(leaves)
