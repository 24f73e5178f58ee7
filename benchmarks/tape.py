"""The lower bound: the benchmark's workloads on plain Python floats, recorded on a Wengert tape.

This is what a careful programmer writes by hand when speed matters and no
autograd engine is at hand.  A tape is two parallel lists:

    vals[k]   the float value of variable k
    deps[k]   how variable k was made:
              None                      an input (a leaf),
              (i, ∂k/∂i)                one variable operand (the other a constant),
              (i, ∂k/∂i, j, ∂k/∂j)      two variable operands.

Variables are numbered in creation order, so index order is a topological
order and the reverse sweep is one loop from the output down to 0 adding
adj[k] · ∂k/∂i into adj[i] (`reverse_sweep`).  Each workload's forward pass
below is written out by hand: the float arithmetic and the local derivatives
inline, one tape entry per scalar operation (the same operations, in the same
order, as the engines build nodes), so no function call, object, type check
or dispatch is paid per operation — only the arithmetic, one small tuple and
two list appends.  Nothing here is specialised beyond that: the tape and the
sweep would serve any graph.
"""

from __future__ import annotations

from typing import Sequence


def reverse_sweep(deps: list, out: int) -> list[float]:
    """adj[k] = ∂vals[out]/∂vals[k] for every k ≤ out: one reverse pass over the tape."""
    adj = [0.0] * (out + 1)
    adj[out] = 1.0
    for k in range(out, -1, -1):
        d = deps[k]
        g = adj[k]
        if d is None or not g:        # an input, or nothing flows back through here
            continue
        if len(d) == 2:
            adj[d[0]] += d[1] * g
        else:
            i, li, j, lj = d
            adj[i] += li * g
            adj[j] += lj * g
    return adj


def chain(n: int, x0: float, a: float, b: float) -> tuple[list[float], list]:
    """W1: y ← y·a + b, n times, from the input y = x0 (variable 0); 2n operations."""
    vals, deps = [x0], [None]
    y, k = x0, 0
    for _ in range(n):
        y = y * a
        vals.append(y)
        deps.append((k, a))        # ∂(y·a)/∂y = a
        y = y + b
        vals.append(y)
        deps.append((k + 1, 1.0))  # ∂(y + b)/∂y = 1
        k += 2
    return vals, deps


def dot(a: Sequence[float], b: Sequence[float]) -> tuple[list[float], list]:
    """W2: Σ aᵢbᵢ; inputs a (variables 0..n-1) and b (n..2n-1), then 2n - 1 operations."""
    n = len(a)
    vals = [*a, *b]
    deps: list = [None] * (2 * n)
    s = a[0] * b[0]
    vals.append(s)
    deps.append((0, b[0], n, a[0]))
    k = 2 * n
    for i in range(1, n):
        ai, bi = a[i], b[i]
        p = ai * bi
        vals.append(p)
        deps.append((i, bi, n + i, ai))       # ∂(ab)/∂a = b, ∂(ab)/∂b = a
        s = s + p
        vals.append(s)
        deps.append((k, 1.0, k + 1, 1.0))     # ∂(s + p)/∂s = ∂(s + p)/∂p = 1
        k += 2
    return vals, deps


def mlp_layers(vals: list, deps: list, layers: list, x: Sequence[float], relu_last: bool) -> list[int]:
    """An MLP's forward pass for one sample, appended to the tape; returns the output indices.

    `layers[l]` is a list of neurons, each (weight indices, bias index) into
    the tape.  Neuron j computes z = b + w_0 a_0 + w_1 a_1 + … (micrograd's
    order: a '*' and a '+' per input) and relu(z), except in the last layer
    unless `relu_last`.  The first layer's inputs x are constants.
    """
    ins: list = list(x)          # floats (constants) for the first layer, then tape indices
    for l, layer in enumerate(layers):
        const_in = l == 0
        last = l == len(layers) - 1
        outs = []
        for w_idx, b_idx in layer:
            zk = b_idx
            z = vals[b_idx]
            for wk, xk in zip(w_idx, ins):
                w = vals[wk]
                if const_in:
                    p = w * xk
                    deps.append((wk, xk))
                else:
                    xv = vals[xk]
                    p = w * xv
                    deps.append((wk, xv, xk, w))
                vals.append(p)
                z = z + p
                vals.append(z)
                deps.append((zk, 1.0, len(vals) - 2, 1.0))
                zk = len(vals) - 1
            if relu_last or not last:
                vals.append(z if z > 0 else 0.0)
                deps.append((zk, 1.0 if z > 0 else 0.0))   # relu'(z) = 1 if z > 0 else 0
                zk = len(vals) - 1
            outs.append(zk)
        ins = outs
    return ins


def _sum(vals: list, deps: list, terms: list[int]) -> int:
    """Σ terms as a chain of '+' from the first term; returns the index of the sum."""
    k = terms[0]
    for t in terms[1:]:
        vals.append(vals[k] + vals[t])
        deps.append((k, 1.0, t, 1.0))
        k = len(vals) - 1
    return k


def _scale(vals: list, deps: list, k: int, c: float) -> int:
    vals.append(vals[k] * c)
    deps.append((k, c))
    return len(vals) - 1


def hinge_l2(vals: list, deps: list, scores: list[int], labels: Sequence[float],
             params: range, lam: float) -> int:
    """W3's loss: mean relu(1 − y·s) + λ Σ p², with autobp.losses' operations; returns its index."""
    terms = []
    for s, y in zip(scores, labels):
        sy = vals[s] * y
        vals.append(sy)
        deps.append((s, y))
        m = 1.0 - sy
        vals.append(m)
        deps.append((len(vals) - 2, -1.0))
        vals.append(m if m > 0 else 0.0)
        deps.append((len(vals) - 2, 1.0 if m > 0 else 0.0))
        terms.append(len(vals) - 1)
    data = _scale(vals, deps, _sum(vals, deps, terms), 1.0 / len(scores))
    squares = []
    for p in params:
        v = vals[p]
        vals.append(v * v)
        deps.append((p, v, p, v))            # p·p: both operands are p
        squares.append(len(vals) - 1)
    reg = _scale(vals, deps, _sum(vals, deps, squares), lam)
    vals.append(vals[data] + vals[reg])
    deps.append((data, 1.0, reg, 1.0))
    return len(vals) - 1


def half_squared_error(vals: list, deps: list, outs: list[int], target: Sequence[float]) -> int:
    """W4's loss: ½ Σ_j (a_j − y_j)², with autobp.losses.mse_loss's operations; returns its index."""
    terms = []
    for a, y in zip(outs, target):
        d = vals[a] - y
        vals.append(d)
        deps.append((a, 1.0))
        vals.append(d * d)
        deps.append((len(vals) - 2, d, len(vals) - 2, d))
        terms.append(len(vals) - 1)
    return _scale(vals, deps, _sum(vals, deps, terms), 0.5)
