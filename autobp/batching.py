"""Operation batching: a recorded scalar graph grouped into array steps, one array operation per step.

A traced graph (see `autobp.tape`) holds one node per scalar operation of one
sample.  Replayed over a batch node by node, it would cost one array call per
node.  As DyNet's on-the-fly operation batching (Neubig, Goldberg and Dyer
2017) and TensorFlow Fold's dynamic batching (Looks et al. 2017) do, the
plan groups the nodes that can run together — the same op, the same depth
(so no dependency between them), operands of the same kinds — into one step:

    level(node) = 1 + max(level(operand)),   leaves at level 0

For an MLP layer written with scalars, z_j = b_j + Σ_k w_jk·a_k (one n-ary
`sum` node per neuron, see `autobp.nn.Neuron`) and a_j = σ(z_j), the levels
give three steps: every product w_jk·a_k of the layer, one sum per neuron,
one activation.  When every product is read by its sum alone, the first two
steps run as one matrix product, z = a Wᵀ + b over the batch: the matrix form
z^l = W^l a^(l−1) + b^l, recovered from the scalar graph (`describe` prints
the plan with those names, and BP1–BP4 in the backward plan).

Kinds.  A node is *batched* when it depends on a traced input (one value per
sample) and *invariant* when it depends only on parameters and constants (one
value for the whole batch, such as an L2 penalty).  Every value lives in a
buffer: one per input argument (batch × width), the parameters, the constants,
and one per step.  A `Gather` collects a step's operand from those buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from autobp.engine import Value
from autobp.ops import MUL, SUM, Op

__all__ = ["Buffer", "Gather", "Step", "Plan", "build", "PARAMS", "CONSTANTS"]

Slot = tuple[int, int]          # (buffer, column)
PARAMS, CONSTANTS = "parameters", "constants"


@dataclass
class Buffer:
    """Where a set of values lives: an input argument, the parameters, the constants, or a step's results."""

    name: str
    batched: bool               # one row per sample (else one value for the batch)
    size: int


@dataclass
class Gather:
    """One operand of a step: columns taken from some buffers, concatenated, then put in the step's order."""

    parts: list[tuple[int, np.ndarray | None]]   # (buffer, its columns; None: the whole buffer in order)
    order: np.ndarray | None                     # positions in the concatenation, in step order (None: as is)
    batched: bool
    slots: list[Slot]                            # the same, slot by slot (for gradients and error messages)


@dataclass
class Step:
    """One array operation over a group of nodes.

    kind "map": `op` applied elementwise, operands[k] is input k of every node.
    kind "sum": n-ary sums of `width` terms each; operands = [invariant terms, batched terms]
      (flattened node-major, either may be None) and `term_order` puts the terms back in operand order.
    kind "affine": sums of products w·a that only that sum reads (w shared by the batch, a not), and of
      other terms: z_j = Σ(terms) + Σ_k W_jk·A_jk, operands = [invariant terms or None, W, A, batched
      terms or None]; `shared` when every sum reads the same A_k: the products are the matrix product A Wᵀ.
    """

    kind: str
    op: Op
    level: int
    out: int                   # the buffer of its results
    batched: bool
    labels: list[str]
    operands: list[Gather | None]
    width: int = 0             # terms per sum (sum), products per sum (affine)
    n_invariant: int = 0       # invariant terms per sum (sum, affine)
    n_batched: int = 0         # batched terms per sum that are not fused products (affine)
    term_order: np.ndarray | None = None
    shared: bool = False
    layer: int | None = None   # for describe: the matrix layer this step belongs to


@dataclass
class Plan:
    """The batched program of a traced graph."""

    buffers: list[Buffer]
    steps: list[Step]
    outputs: list[Slot]
    constants: np.ndarray
    n_args: int
    params_buffer: int
    constants_buffer: int
    depends_on_params: set[int] = field(default_factory=set)   # buffers with a node that depends on a parameter
    activation_of: dict[int, int] = field(default_factory=dict)  # layer -> step index of its activation


def _gather(slots: Sequence[Slot], buffers: list[Buffer], batched: bool) -> Gather:
    """The Gather that collects `slots`, in order: one take per buffer read, then at most one reordering."""
    bufs = np.fromiter((b for b, _ in slots), dtype=np.int64, count=len(slots))
    cols = np.fromiter((c for _, c in slots), dtype=np.int64, count=len(slots))
    parts, positions = [], []
    for u in dict.fromkeys(bufs.tolist()):
        where = np.flatnonzero(bufs == u)
        mine = cols[where]
        whole = len(mine) == buffers[u].size and bool((mine == np.arange(len(mine))).all())
        parts.append((u, None if whole else mine))
        positions.append(where)
    at = np.concatenate(positions)
    order = None if bool((at == np.arange(len(at))).all()) else np.argsort(at, kind="stable")
    return Gather(parts, order, batched, list(slots))


def _fusable(a: object, batched: dict, uses: dict, outputs: set) -> bool:
    """Is `a` a product w·a (one factor shared by the batch, one not) that only one sum reads?"""
    if type(a) is float or not batched[a] or a.op_record is not MUL or uses[a] != 1 or a in outputs:
        return False
    x, y = a.operands
    return (type(x) is not float and batched[x]) != (type(y) is not float and batched[y])


def _factors(product: Value, batched: dict) -> tuple:
    """(the factor shared by the batch, the batched factor) of a fusable product."""
    x, y = product.operands
    return (y, x) if type(x) is not float and batched[x] else (x, y)


def build(order: list[Value], operands_of: dict[Value, tuple], inputs: dict[Value, Slot],
          arg_names: Sequence[str], arg_widths: Sequence[int], params: list[Value],
          outputs: list[Value]) -> Plan:
    """Group the nodes of `order` (children before parents) into steps; see the module docstring."""
    n_args = len(arg_widths)
    buffers = [Buffer(name, True, w) for name, w in zip(arg_names, arg_widths)]
    buffers += [Buffer(PARAMS, False, len(params)), Buffer(CONSTANTS, False, 0)]
    P, C = n_args, n_args + 1
    slot: dict[Value, Slot] = dict(inputs)
    slot.update((p, (P, k)) for k, p in enumerate(params))
    constants: dict[tuple[float, float], int] = {}
    level: dict[Value, int] = {v: 0 for v in slot}
    batched: dict[Value, bool] = {v: s[0] < n_args for v, s in slot.items()}
    on_params: dict[Value, bool] = {v: s[0] == P for v, s in slot.items()}
    uses: dict[Value, int] = dict.fromkeys(order, 0)
    computed = [v for v in order if v not in slot]
    for v in computed:
        lv, b, dp = 0, False, False
        for a in operands_of[v]:
            if type(a) is float:
                continue
            uses[a] += 1
            lv = max(lv, level[a])
            b = b or batched[a]
            dp = dp or on_params[a]
        level[v], batched[v], on_params[v] = lv + 1, b, dp
    out_set = set(outputs)
    for v in outputs:
        uses[v] += 1

    # fuse products into the sums that alone read them (kind "p"); group the rest by (level, op, kinds)
    fused: set[Value] = set()
    absorbed: set[Value] = set()
    for v in computed:
        if v.op_record is SUM and batched[v]:
            products = [a for a in operands_of[v] if _fusable(a, batched, uses, out_set)]
            if products:
                fused.add(v)
                absorbed.update(products)
    groups: dict[tuple, list[Value]] = {}
    for v in computed:
        if v in absorbed:
            continue
        kinds = tuple("c" if type(a) is float else "p" if a in absorbed else "b" if batched[a] else "i"
                      for a in operands_of[v])
        groups.setdefault((level[v], id(v.op_record), batched[v], kinds, v in fused), []).append(v)

    def slot_of(a: float | Value) -> Slot:
        if type(a) is float:
            key = (a, math.copysign(1.0, a))        # 0.0 and -0.0 are different constants
            if key not in constants:
                constants[key] = len(constants)
            return (C, constants[key])
        return slot[a]

    steps: list[Step] = []
    for (lv, _, is_batched, kinds, is_affine), nodes in sorted(groups.items(), key=lambda kv: kv[0][0]):
        op = nodes[0].op_record
        out = len(buffers)
        buffers.append(Buffer(f"step {len(steps) + 1}", is_batched, len(nodes)))
        labels = [v.label for v in nodes]
        inv_pos = [k for k, kind in enumerate(kinds) if kind in "ic"]
        if is_affine:
            bat_pos = [k for k, kind in enumerate(kinds) if kind == "b"]
            pairs = [[_factors(operands_of[v][k], batched) for k, kind in enumerate(kinds) if kind == "p"]
                     for v in nodes]
            terms = [slot_of(operands_of[v][k]) for v in nodes for k in inv_pos]
            bat_terms = [slot_of(operands_of[v][k]) for v in nodes for k in bat_pos]
            w = [slot_of(f) for row in pairs for f, _ in row]
            a_rows = [[slot_of(x) for _, x in row] for row in pairs]
            shared = all(row == a_rows[0] for row in a_rows)
            a = a_rows[0] if shared else [s for row in a_rows for s in row]
            step = Step("affine", op, lv, out, True, labels,
                        [_gather(terms, buffers, False) if terms else None, _gather(w, buffers, False),
                         _gather(a, buffers, True), _gather(bat_terms, buffers, True) if bat_terms else None],
                        width=len(a_rows[0]), n_invariant=len(inv_pos), n_batched=len(bat_pos), shared=shared)
        elif op.variadic:
            bat_pos = [k for k, kind in enumerate(kinds) if kind in "bp"]
            inv = [slot_of(operands_of[v][k]) for v in nodes for k in inv_pos]
            bat = [slot_of(operands_of[v][k]) for v in nodes for k in bat_pos]
            at = np.array(inv_pos + bat_pos)
            step = Step("sum", op, lv, out, is_batched, labels,
                        [_gather(inv, buffers, False) if inv else None, _gather(bat, buffers, True) if bat else None],
                        width=len(kinds), n_invariant=len(inv_pos),
                        term_order=None if (at == np.arange(len(at))).all() else np.argsort(at))
        else:
            step = Step("map", op, lv, out, is_batched, labels,
                        [_gather([slot_of(v_ops[k]) for v_ops in (operands_of[v] for v in nodes)], buffers,
                                 kinds[k] == "b") for k in range(len(kinds))])
        for j, v in enumerate(nodes):
            slot[v] = (out, j)
        steps.append(step)
    buffers[C].size = len(constants)
    plan = Plan(buffers, steps, [slot_of(v) for v in outputs], np.array([c for c, _ in constants], dtype=float),
                n_args, P, C)
    plan.depends_on_params = {P} | {slot[v][0] for v in computed if on_params[v] and v in slot}
    _find_layers(plan)
    return plan


def _find_layers(plan: Plan) -> None:
    """Number the matrix layers (affine steps whose W is parameters and A one whole buffer) and their activations."""
    layer = 0
    for i, step in enumerate(plan.steps):
        if step.kind == "affine" and step.shared:
            step.layer = layer
            for later, nxt in enumerate(plan.steps[i + 1:], i + 1):
                g = nxt.operands[0] if nxt.kind == "map" and len(nxt.operands) == 1 else None
                if g is not None and [b for b, _ in g.parts] == [step.out] and nxt.op.name in ACTIVATION_NAMES:
                    nxt.layer = layer
                    plan.activation_of[layer] = later
                    break
            layer += 1


ACTIVATION_NAMES = ("tanh", "sigmoid", "relu", "softplus")
