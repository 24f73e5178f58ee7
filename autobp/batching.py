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

Why one `sum` node per neuron.  micrograd's neuron builds z as the chain
b + w_0·x_0 + w_1·x_1 + …, nin additions deep: level by level, one layer
would take nin steps.  Reassociating the chain into a balanced tree would
cut that to log₂ nin steps, but its floats are no longer the chain's (the
additions happen in another order) and its diagram shows a tree of `+` the
learner never wrote.  The n-ary `sum` op keeps the chain's floats bit for
bit (it adds left to right), has nin + 1 nodes instead of 2·nin, draws as one
`sum` node with nin + 1 inputs, and puts a whole layer one level deep.

Two passes.  `walk` reads a graph into a `Recording`, the flat tape a trace
keeps (arrays, and no Value but the parameters); `build` groups a recording
into a `Plan`, which `autobp.tape` does at the first replay.

Kinds.  A node is *batched* when it depends on a traced input (one value per
sample) and *invariant* when it depends only on parameters and constants (one
value for the whole batch, such as an L2 penalty).  Every value lives in a
buffer: one per input argument (batch × width), the parameters, the constants,
and one per step.  A `Gather` collects a step's operand from those buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence, cast

import numpy as np

from autobp.engine import _C, Value
from autobp.ops import MUL, SUM, Op

__all__ = ["Recording", "walk", "Buffer", "Gather", "Step", "Plan", "build", "PARAMS", "CONSTANTS"]

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
    bufs: np.ndarray                             # the same, value by value: buffer and column
    cols: np.ndarray

    def __len__(self) -> int:
        return len(self.bufs)


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


def _gather(bufs: np.ndarray, cols: np.ndarray, buffers: list[Buffer], batched: bool) -> Gather:
    """The Gather that collects (bufs[i], cols[i]) in order: one take per buffer read, then at most one reordering."""
    bufs, cols = bufs.reshape(-1), cols.reshape(-1)
    if (bufs == bufs[0]).all():                         # one buffer (the common case): at most one take
        u = int(bufs[0])
        whole = len(cols) == buffers[u].size and bool((cols == np.arange(len(cols))).all())
        return Gather([(u, None if whole else cols)], None, batched, bufs, cols)
    parts, positions = [], []
    for u in np.unique(bufs).tolist():
        where = np.flatnonzero(bufs == u)
        mine = cols[where]
        whole = len(mine) == buffers[u].size and bool((mine == np.arange(len(mine))).all())
        parts.append((u, None if whole else mine))
        positions.append(where)
    at = np.concatenate(positions)
    order = None if bool((at == np.arange(len(at))).all()) else np.argsort(at, kind="stable")
    return Gather(parts, order, batched, bufs, cols)


@dataclass
class Recording:
    """A graph recorded as a flat tape, the nodes in topological order: node i's op ops[codes[i]] (codes[i] = −1
    for a leaf), its operands args[start[i]:start[i+1]] (a node's index, or −1 − k for constant k), its label
    (labels[i], where a computed node has one), and info[i] = 4·depth + 2·batched + on_params: whether it depends
    on an input (batched) or on a parameter; the parameters (the leaves that are not inputs, in node order); and
    the index of each input (in `inputs` order, −1 where fn did not use it) and of each output.  It holds no
    Value but the parameters, so the graph it was read from can go."""

    labels: dict[int, str]
    params: list[Value]
    codes: np.ndarray
    ops: list[Op]
    start: np.ndarray
    args: np.ndarray
    info: np.ndarray
    constants: list[float]
    input_at: np.ndarray
    output_at: np.ndarray

    @cached_property
    def level(self) -> np.ndarray:
        return self.info >> 2

    @cached_property
    def batched(self) -> np.ndarray:
        return (self.info & 2) > 0

    @cached_property
    def on_params(self) -> np.ndarray:
        return (self.info & 1) > 0


def walk(outputs: list[Value], inputs: dict[Value, Slot]) -> Recording:
    """The graph of the outputs as a flat tape (see `_walk_in_python`; with the C helper, its twin in
    autobp/_node.c)."""
    raw = _walk_in_python(outputs, inputs) if _C is None else _C.walk(outputs, inputs, _walk_in_python)
    labels, params, codes, ops, start, args, info, constants, input_at, output_at = raw
    return Recording(labels, params, _int64(codes), ops, _int64(start), _int64(args), _int64(info), constants,
                     _int64(input_at), _int64(output_at))


def _int64(numbers: bytes | list[int]) -> np.ndarray:
    """An int64 array of a list, or of the native-endian int64s packed in a bytes object (from C)."""
    return np.frombuffer(numbers, dtype=np.int64) if isinstance(numbers, bytes) else np.array(numbers, dtype=np.int64)


def _walk_in_python(outputs: list[Value], inputs: dict[Value, Slot]) -> tuple:
    """Every node reachable from the outputs, children before parents, in one pass (iterative, depth first).

    Returns (labels, params, codes, ops, start, args, info, constants, input_at, output_at), the labels as a
    dict and the rest as lists, for `Recording`.
    Each node is recorded once all its operands are, as `info` = 4·level + 2·batched + on_params.
    """
    index: dict[Value, int] = {}
    labels: dict[int, str] = {}
    params: list[Value] = []
    codes: list[int] = []
    ops: dict[Op, int] = {}
    info: list[int] = []
    args: list[int] = []
    start = [0]
    constants: dict[tuple[float, float], int] = {}
    add_arg = args.append

    def add(node: Value, code: int, node_info: int) -> None:
        index[node] = len(codes)
        if code >= 0 and node.label:
            labels[len(codes)] = node.label
        codes.append(code)
        info.append(node_info)
        start.append(len(args))

    def add_leaf(leaf: Value) -> None:                # an input (batched) or a parameter
        if leaf in inputs:
            add(leaf, -1, 2)
        else:
            add(leaf, -1, 1)
            params.append(leaf)

    for root in outputs:
        if root in index:
            continue
        stack = [(root, root.operands, iter(root.operands))]
        while stack:
            node, node_ops, rest = stack[-1]
            for a in rest:
                if isinstance(a, Value) and a not in index:
                    a_ops = a.operands
                    if a_ops:
                        stack.append((a, a_ops, iter(a_ops)))
                        break
                    add_leaf(a)
            else:
                stack.pop()
                top, flags = -4, 0
                for a in node_ops:
                    if not isinstance(a, Value):
                        key = (a, math.copysign(1.0, a))      # 0.0 and -0.0 are different constants
                        add_arg(-1 - constants.setdefault(key, len(constants)))
                        continue
                    j = index[a]
                    add_arg(j)
                    x = info[j]
                    if x > top:
                        top = x
                    flags |= x
                if not node_ops:                   # an output that is itself a leaf
                    add_leaf(node)
                    continue
                add(node, ops.setdefault(cast(Op, node.op_record), len(ops)), ((top >> 2) + 1 << 2) | (flags & 3))
    return (labels, params, codes, list(ops), start, args, info, [c for c, _ in constants],
            [index.get(v, -1) for v in inputs], [index[v] for v in outputs])


def _fusion_in_python(codes: np.ndarray, start: np.ndarray, args: np.ndarray, batched: np.ndarray,
                      output_at: np.ndarray, mul: int, sum_: int) -> tuple[bytes, bytes, bytes]:
    """(absorbed, fused, role), one byte per node, per node and per operand.

    A product w·a is *absorbed* into the sum that reads it (which is then *fused*) when one factor is
    batched and the other not, it is read once, by a sum, and it is not an output: an affine step then
    computes the sum's Σ_k W_jk·A_jk without a step of its own.  An operand's role is 0 for a constant,
    1 invariant, 2 batched, 3 an absorbed product.  (With the C helper, its twin autobp._node.fusion.)
    """
    codes, start, args, batched = codes.tolist(), start.tolist(), args.tolist(), batched.tolist()
    n = len(codes)
    uses, reader = [0] * n, [-1] * n
    for i in range(n):
        for j in args[start[i]:start[i + 1]]:
            if j >= 0:
                uses[j] += 1
                reader[j] = i
    outputs = set(output_at.tolist())
    absorbed, fused = bytearray(n), bytearray(n)
    for i in range(n):
        if codes[i] != mul or start[i + 1] - start[i] != 2 or not batched[i] or uses[i] != 1 or i in outputs:
            continue
        x, y = args[start[i]], args[start[i] + 1]
        if (x >= 0 and batched[x]) != (y >= 0 and batched[y]) and codes[reader[i]] == sum_:
            absorbed[i] = fused[reader[i]] = 1
    role = bytes(0 if j < 0 else 3 if absorbed[j] else 2 if batched[j] else 1 for j in args)
    return bytes(absorbed), bytes(fused), role


def _code(g: Recording, op: Op) -> int:
    """op's code in g (−2, matching no node, when no node of g has that op)."""
    return next((k for k, known in enumerate(g.ops) if known is op), -2)


def build(g: Recording, input_slots: Sequence[Slot], arg_names: Sequence[str], arg_widths: Sequence[int]) -> Plan:
    """The plan of a recorded graph (see the module docstring); input k sits at input_slots[k], (argument,
    position).  The parameters buffer holds g.params in order."""
    N, n_args = len(g.codes), len(arg_widths)
    P, C = n_args, n_args + 1
    leaf = g.codes < 0
    param_idx = np.flatnonzero(leaf & ~g.batched)
    buffers = [Buffer(name, True, w) for name, w in zip(arg_names, arg_widths)]
    buffers += [Buffer(PARAMS, False, len(g.params)), Buffer(CONSTANTS, False, len(g.constants))]
    slot_buf, slot_col = np.full(N, -1, dtype=np.int64), np.full(N, -1, dtype=np.int64)
    slot_buf[param_idx], slot_col[param_idx] = P, np.arange(len(g.params))
    at_input = np.array(input_slots, dtype=np.int64).reshape(-1, 2)      # (buffer, column) each
    used = g.input_at >= 0
    slot_buf[g.input_at[used]], slot_col[g.input_at[used]] = at_input[used, 0], at_input[used, 1]

    # the products to fuse (w·a, one factor batched, read once, by a sum) and the role of every operand
    out_idx = g.output_at
    fusion = _fusion_in_python if _C is None else _C.fusion
    absorbed, fused, role = (np.frombuffer(b, dtype=np.uint8) for b in fusion(
        g.codes, g.start, g.args, g.batched, out_idx, _code(g, MUL), _code(g, SUM)))
    absorbed, fused = absorbed.view(bool), fused.view(bool)
    roles = role.tobytes()

    groups: dict[tuple, list[int]] = {}
    grouped = np.flatnonzero(~leaf & ~absorbed)           # the computed nodes that get a step
    for i, level, code, batched, begin, end, is_fused in zip(
            grouped.tolist(), g.level[grouped].tolist(), g.codes[grouped].tolist(), g.batched[grouped].tolist(),
            g.start[grouped].tolist(), g.start[grouped + 1].tolist(), fused[grouped].tolist()):
        groups.setdefault((level, code, batched, roles[begin:end], is_fused), []).append(i)

    # every step's buffer first (operands come from lower levels), then where each operand is read from
    ordered = sorted(groups.items(), key=lambda kv: kv[0][0])
    for out, (_, nodes) in enumerate(ordered, len(buffers)):
        slot_buf[nodes], slot_col[nodes] = out, np.arange(len(nodes))
    k = len(g.constants)                      # (buffer, column) of every operand: constant c is "node" N + c
    at_row = np.where(g.args >= 0, g.args, N - 1 - g.args)
    arg_buf = np.concatenate([slot_buf, np.full(k, C)])[at_row]
    arg_col = np.concatenate([slot_col, np.arange(k)])[at_row]

    steps: list[Step] = []
    for (lv, _, is_batched, kinds, is_affine), nodes in ordered:
        idx = np.array(nodes)
        op, out = g.ops[g.codes[nodes[0]]], len(buffers)
        buffers.append(Buffer(f"step {len(steps) + 1}", is_batched, len(nodes)))
        labels = [g.labels.get(i, "") for i in nodes]
        at = g.start[idx][:, None]
        role_of = np.frombuffer(kinds, dtype=np.uint8)
        inv_pos, bat_pos = np.flatnonzero(role_of < 2), np.flatnonzero(role_of == 2)

        def gather(positions: np.ndarray, batched: bool) -> Gather | None:
            return _gather(arg_buf[at + positions], arg_col[at + positions], buffers, batched) \
                if len(positions) else None

        if is_affine:
            products = g.args[at + np.flatnonzero(role_of == 3)]      # (n, K) node indices
            x_first = role[g.start[products]] == 2                # the batched factor comes first
            w_pos = g.start[products] + x_first                 # the factor shared by the batch
            a_pos = g.start[products] + ~x_first                # the batched factor
            a_buf, a_col = arg_buf[a_pos], arg_col[a_pos]
            shared = bool((a_buf == a_buf[0]).all() and (a_col == a_col[0]).all())
            step = Step("affine", op, lv, out, True, labels,
                        [gather(inv_pos, False), _gather(arg_buf[w_pos], arg_col[w_pos], buffers, False),
                         _gather(a_buf[0] if shared else a_buf, a_col[0] if shared else a_col, buffers, True),
                         gather(bat_pos, True)],
                        width=products.shape[1], n_invariant=len(inv_pos), n_batched=len(bat_pos), shared=shared)
        elif op.variadic:
            bat_pos = np.flatnonzero(role_of >= 2)
            order = np.concatenate([inv_pos, bat_pos])
            step = Step("sum", op, lv, out, is_batched, labels, [gather(inv_pos, False), gather(bat_pos, True)],
                        width=len(kinds), n_invariant=len(inv_pos),
                        term_order=None if (order == np.arange(len(order))).all() else np.argsort(order))
        else:
            step = Step("map", op, lv, out, is_batched, labels,
                        [gather(np.array([k]), r == 2) for k, r in enumerate(kinds)])
        steps.append(step)
    plan = Plan(buffers, steps, list(zip(slot_buf[out_idx].tolist(), slot_col[out_idx].tolist())),
                np.array(g.constants, dtype=float), n_args, P, C)
    plan.depends_on_params = {P} | set(slot_buf[g.on_params & ~leaf & ~absorbed].tolist())
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
