"""The batched plan in words: each step of a traced graph, with the matrix algebra it amounts to.

`describe(plan, parameters)` is what `Tape.schedule()` prints.  Forward, one
row per array operation: the op, how many scalar nodes it runs at once, what
it reads.  A layer of an MLP reads as its matrix form —

    *     all w^l_jk · a^(l−1)_k      ┐ z^l = W^l a^(l−1) + b^l
    sum   one per neuron              ┘ (one matrix product a^(l−1) W^lᵀ)
    σ     a^l = σ(z^l)

— and the backward plan names the four equations of backpropagation where
they happen: BP1 (δ^L = ∇_a C ⊙ σ'(z^L)), BP2 (δ^l = (W^(l+1))ᵀ δ^(l+1) ⊙
σ'(z^l)), BP3 (∂C/∂b^l = δ^l) and BP4 (∂C/∂W^l = δ^l (a^(l−1))ᵀ), each
summed over the batch for the parameters.
"""

from __future__ import annotations

import re

from autobp.adjoints import Adjoints
from autobp.batching import CONSTANTS, PARAMS, Gather, Plan, Step
from autobp.engine import Value

__all__ = ["describe", "size"]


def _labels(names: list[str], what: str) -> str:
    """'w[0][0,0] … w[0][15,1]' for a run of labelled values, else how many there are."""
    if names and all(names):
        return names[0] if len(set(names)) == 1 else f"{names[0]} … {names[-1]}"
    return f"{len(names)} {what}"


class _Namer:
    """Names for what a step reads: inputs by argument, parameters by label, layers as z^l and a^l."""

    def __init__(self, plan: Plan, parameters: list[Value], rows: dict[int, int]) -> None:
        self.plan, self.parameters, self.rows = plan, parameters, rows
        self.buffer_name: dict[int, str] = {}
        for i, step in enumerate(plan.steps):
            if step.layer is not None:
                self.buffer_name[step.out] = f"a^{step.layer}" if step.kind == "map" else f"z^{step.layer}"
        for layer, i in plan.activation_of.items():
            self.buffer_name[plan.steps[i].out] = f"a^{layer}"

    def source(self, g: Gather | None) -> str:
        """What `g` reads, by name ('' for no operand)."""
        if g is None:
            return ""
        names = []
        for u, _ in g.parts:
            buf = self.plan.buffers[u]
            if u == self.plan.params_buffer:
                names.append(_labels([self.parameters[c].label for c in g.cols[g.bufs == u].tolist()], "parameters"))
            elif u == self.plan.constants_buffer:
                values = sorted({float(self.plan.constants[c]) for c in g.cols[g.bufs == u].tolist()})
                names.append(", ".join(f"{v:g}" for v in values) if len(values) <= 3 else f"{len(values)} constants")
            elif u < self.plan.n_args:
                names.append(buf.name)
            else:
                names.append(self.buffer_name.get(u, f"({self.rows[u]})"))
        return " | ".join(names)


def _layer_text(step: Step, namer: _Namer) -> tuple[str, str]:
    """The two annotations of a fused layer's rows (products, sums)."""
    l, a, n = step.layer, namer.source(step.operands[2]), len(step.labels)
    if l is None:
        return "┐ products read by their sums only: fused", "┘ z_j = Σ_k W_jk·A_jk + terms"
    return (f"┐ z^{l} = W^{l} {a} + b^{l}: one matrix product {a} (W^{l})ᵀ, W^{l} is {n}×{step.width}",
            f"┘ one sum per neuron (z^{l})")


def size(plan: Plan) -> tuple[dict[int, int], int, int]:
    """(each step buffer's display row, the number of rows, the number of scalar operations).

    A fused layer shows as two rows, its products and its sums."""
    rows: dict[int, int] = {}
    n = 0
    for step in plan.steps:
        n += 2 if step.kind == "affine" else 1
        rows[step.out] = n
    return rows, n, sum(len(s.labels) * (s.width + 1 if s.kind == "affine" else 1) for s in plan.steps)


def describe(plan: Plan, parameters: list[Value]) -> str:
    """The forward and the backward plan of `plan`, as text (see the module docstring)."""
    rows, n, scalar_ops = size(plan)
    namer = _Namer(plan, parameters, rows)
    last = max((s.layer for s in plan.steps if s.layer is not None), default=-1)
    args = ", ".join(f"{b.name} ({b.size})" for b in plan.buffers[:plan.n_args])
    k = len(plan.constants)
    lines = [f"inputs {args}; {len(parameters)} parameters; {k} constant{'' if k == 1 else 's'}",
             f"forward: {scalar_ops} scalar operations in {n} steps, each one array operation over the batch",
             f"{'step':>5}  {'op':<8}{'nodes':>6}  reads"]

    def row(number: int, op: str, count: int, reads: str, note: str = "") -> None:
        lines.append(f"{number:>5}  {op:<8}{count:>6}  {reads:<34} {note}".rstrip())

    for step in plan.steps:
        r = rows[step.out]
        if step.kind == "affine":
            W, A = namer.source(step.operands[1]), namer.source(step.operands[2])
            first, second = _layer_text(step, namer)
            row(r - 1, "*", len(step.labels) * step.width, f"{W} · {A}", first)
            terms = [namer.source(g) for g in (step.operands[0], step.operands[3]) if g is not None]
            bias = " + ".join([*terms, "Σ"])
            row(r, step.op.name, len(step.labels), bias, second)
        elif step.kind == "sum":
            reads = " | ".join(namer.source(g) for g in step.operands if g is not None)
            row(r, step.op.name, len(step.labels), f"Σ of {step.width}: {reads}")
        else:
            note = f"a^{step.layer} = {step.op.name}(z^{step.layer})" if step.layer is not None else ""
            row(r, step.op.name, len(step.labels), ", ".join(namer.source(g) for g in step.operands), note)

    adjoints = Adjoints(plan, "parameters")
    lines += ["", f"backward (tape.backward): ∂C/∂ of the {len(parameters)} parameters, steps in reverse; "
                  "what reaches a parameter is summed over the batch"]
    for i in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[i]
        if step.out not in adjoints.needed:
            continue
        r, l = rows[step.out], step.layer
        bp = "BP1" if l == last else "BP2"
        if step.kind == "affine" and l is not None:
            act = plan.activation_of.get(l)
            delta = f"δ^{l} = ∂C/∂z^{l}" + ("" if act is not None else f" (linear layer, σ' = 1)   {bp}")
            row(r, "sum", len(step.labels), delta + (f";  ∂C/∂b^{l} = δ^{l}   BP3" if (i, 0) in adjoints.wanted else ""))
            a = namer.source(step.operands[2])
            parts = [f"∂C/∂W^{l} = δ^{l} {a if '^' not in a else f'({a})'}ᵀ   BP4"] if (i, 1) in adjoints.wanted else []
            if (i, 2) in adjoints.wanted:
                parts.append(f"∂C/∂{a} = (W^{l})ᵀ δ^{l}   BP2's first half")
            row(r - 1, "*", len(step.labels) * step.width, ";  ".join(parts))
        elif step.kind == "map" and l is not None:
            row(r, step.op.name, len(step.labels),
                f"δ^{l} = ∂C/∂a^{l} ⊙ {step.op.name}'(z^{l})   {bp}")
        else:
            wanted = [k for k in range(len(step.operands)) if (i, k) in adjoints.wanted]
            if step.kind == "affine":
                text = "∂C/∂terms = ∂C/∂z;  ∂C/∂W = Σ_batch ∂C/∂z · A;  ∂C/∂A = ∂C/∂z · W"
            elif step.kind == "sum":
                text = "every term gets ∂C/∂out (∂Σ/∂term = 1)"
            else:
                names = {"xyz"[k]: namer.source(g) for k, g in enumerate(step.operands[:3])}
                text = ";  ".join(f"∂C/∂{names['xyz'[k]] if k < 3 else k} += ∂C/∂out · "
                                  + re.sub(r"\b[xyz]\b", lambda m: names.get(m.group(), m.group()), step.op.formula(k))
                                  for k in wanted)
            row(r, step.op.name, len(step.labels), text)
    return "\n".join(lines)
