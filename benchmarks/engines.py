"""The engines under test, behind one small interface, so every workload runs the same code on each.

An engine gives: `leaf(x)` (an input node), `data(v)` / `grad(v)` as floats,
`backward(v)`, `mlp(nin, nouts, init)` (hidden layers relu, output linear,
parameters set to the floats `init` in micrograd's order: layer by layer,
neuron by neuron, weights then bias), `hinge_l2` and `half_squared_error`
(the losses of W3 and W4), `zero_grad` and `sgd` (p ← p − lr·∂L/∂p).

autobp runs its public API (`autobp.nn.MLP`, `hinge_loss`, `l2_penalty`,
`mse_loss`, `SGD`).  micrograd 0.1.0 runs its own `micrograd.nn.MLP`, with
the losses written in its arithmetic as autobp.losses computes them (same
operations, same order).  PyTorch, when importable, runs 0-dim float64
tensors through the same generic code.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Sequence


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Raise Python's recursion limit to at least `limit` inside the block (micrograd only)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _total(terms: list):
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def generic_hinge_l2(scores: list, labels: Sequence[float], params: list, lam: float):
    """mean relu(1 − y·s) + λ Σ p², in the operations autobp.losses uses."""
    data = _total([(1.0 - s * y).relu() for s, y in zip(scores, labels)]) * (1.0 / len(scores))
    return data + _total([p * p for p in params]) * lam


def generic_half_squared_error(outs: list, target: Sequence[float]):
    """½ Σ_j (a_j − y_j)², in the operations autobp.losses.mse_loss uses."""
    terms = []
    for a, y in zip(outs, target):
        d = a - y
        terms.append(d * d)
    return _total(terms) * 0.5


class _ScalarValues:
    """What autobp and micrograd share: nodes with `.data` and `.grad`, MLPs returning a node or a list."""

    @staticmethod
    def data(v) -> float:
        return v.data

    @staticmethod
    def grad(v) -> float:
        return v.grad

    @staticmethod
    def outputs(model, x: Sequence[float]) -> list:
        out = model(x)
        return out if isinstance(out, list) else [out]

    @staticmethod
    def _with_params(model, init: list[float]):
        """`model` with its parameters set to `init` (micrograd's order); returns (model, parameters)."""
        params = model.parameters()
        for p, x in zip(params, init, strict=True):
            p.data = x
        return model, params


class Autobp(_ScalarValues):
    """autobp through its public API."""

    name = "autobp"

    def __init__(self) -> None:
        from autobp import Value, engine, nn
        self.leaf, self.nn = Value, nn
        self.compiled_nodes = engine.COMPILED_NODES     # False without autobp/_node.c, or with AUTOBP_PURE_PYTHON=1

    @staticmethod
    def backward(v) -> None:
        v.backward()

    def mlp(self, nin: int, nouts: list[int], init: list[float]):
        return self._with_params(self.nn.MLP(nin, nouts, activation="relu", seed=0), init)

    def hinge_l2(self, scores: list, labels: Sequence[float], params: list, lam: float):
        return self.nn.hinge_loss(scores, labels) + self.nn.l2_penalty(params, lam)

    def half_squared_error(self, outs: list, target: Sequence[float]):
        return self.nn.mse_loss([outs], [target])

    @staticmethod
    def zero_grad(params: list) -> None:
        for p in params:
            p.grad = 0.0

    def sgd(self, params: list, lr: float):
        return self.nn.SGD(params, lr=lr).step


class Micrograd(_ScalarValues):
    """micrograd 0.1.0: its Value and its nn.MLP; its recursive backward gets a raised recursion limit."""

    name = "micrograd"

    def __init__(self) -> None:
        from micrograd import engine, nn
        self.leaf, self.nn = engine.Value, nn
        self.depth_limit = 10_000     # recursion limit for backward(), raised by the caller for deep graphs

    def backward(self, v) -> None:
        with recursion_limit(self.depth_limit):
            v.backward()

    def mlp(self, nin: int, nouts: list[int], init: list[float]):
        return self._with_params(self.nn.MLP(nin, nouts), init)

    hinge_l2 = staticmethod(generic_hinge_l2)
    half_squared_error = staticmethod(generic_half_squared_error)

    @staticmethod
    def zero_grad(params: list) -> None:
        for p in params:
            p.grad = 0

    @staticmethod
    def sgd(params: list, lr: float):
        def step() -> None:
            for p in params:
                p.data -= lr * p.grad
        return step


class Torch:
    """PyTorch on 0-dim float64 tensors, through the same generic code."""

    name = "torch"

    def __init__(self) -> None:
        import torch
        self.torch = torch

    def leaf(self, x: float):
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    @staticmethod
    def data(v) -> float:
        return v.item()

    @staticmethod
    def grad(v) -> float:
        return 0.0 if v.grad is None else v.grad.item()

    @staticmethod
    def backward(v) -> None:
        v.backward()

    def mlp(self, nin: int, nouts: list[int], init: list[float]):
        it = iter(init)
        sizes = [nin, *nouts]
        layers = [[([self.leaf(next(it)) for _ in range(sizes[l])], self.leaf(next(it)))
                   for _ in range(sizes[l + 1])] for l in range(len(nouts))]
        params = [p for layer in layers for w, b in layer for p in (*w, b)]
        return layers, params

    @staticmethod
    def outputs(layers, x: Sequence[float]) -> list:
        for l, layer in enumerate(layers):
            out = []
            for w, b in layer:
                z = b
                for wk, xk in zip(w, x):
                    z = z + wk * xk
                out.append(z.relu() if l < len(layers) - 1 else z)
            x = out
        return x

    hinge_l2 = staticmethod(generic_hinge_l2)
    half_squared_error = staticmethod(generic_half_squared_error)

    @staticmethod
    def zero_grad(params: list) -> None:
        for p in params:
            p.grad = None

    def sgd(self, params: list, lr: float):
        def step() -> None:
            with self.torch.no_grad():
                for p in params:
                    p -= lr * p.grad
        return step


def available() -> list:
    """The engines to run: autobp and micrograd (the `bench` extra), and PyTorch when installed."""
    engines = [Autobp(), Micrograd()]
    try:
        engines.append(Torch())
    except ImportError:
        pass
    return engines
