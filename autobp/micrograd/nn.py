"""micrograd's `Module`, `Neuron`, `Layer` and `MLP`, built from `autobp.micrograd.engine.Value`.

These are micrograd's models, not autobp's (`autobp.nn.MLP` defaults to tanh):

    Neuron(nin, nonlin=True)     a = relu(z) if nonlin else z,  z = b + w_0 x_0 + w_1 x_1 + ...
    Layer(nin, nout, **kwargs)   nout neurons made with the same kwargs
    MLP(nin, nouts)              ReLU hidden layers and a linear output layer

Initialisation is micrograd's: every weight is `random.uniform(-1, 1)` from
Python's global `random` module, drawn layer by layer, neuron by neuron, in
input order, and every bias the int 0; so after `random.seed(s)` an MLP
holds exactly the numbers micrograd's would.  `parameters()` lists them in
the same order, and the reprs are micrograd's (`ReLUNeuron(2)`,
`LinearNeuron(16)`, `Layer of [...]`, `MLP of [...]`).  One difference:
micrograd silently ignores inputs beyond a neuron's `nin` (zip stops at the
shorter list); here the wrong number of inputs is a ValueError.

>>> import random
>>> random.seed(1337)
>>> model = MLP(2, [16, 16, 1])
>>> model.layers[1].neurons[0], len(model.parameters())
(ReLUNeuron(16), 337)
"""

from __future__ import annotations

import numbers
import random
from typing import Any, Sequence

from autobp import engine
from autobp.micrograd.engine import Value

__all__ = ["Module", "Neuron", "Layer", "MLP"]


class Module:
    """Anything with parameters: `parameters()` lists them, `zero_grad()` sets each `.grad` to micrograd's int 0."""

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        return []


def _count(where: str, name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{where}: {name} must be an int >= 1, got {n!r}")
    return int(n)


class Neuron(Module):
    """One neuron: z = b + Σ_k w_k x_k (summed in that order), then relu(z) if `nonlin`."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(_count("Neuron", "nin", nin))]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Any] | Value) -> Value:
        xs = [x] if isinstance(x, engine.Value) else list(x)      # one input may come as a lone Value
        if len(xs) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(xs)}")
        act = sum((wi * xi for wi, xi in zip(self.w, xs)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same inputs; one output comes back as a Value, several as a list."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(_count("Layer", "nout", nout))]

    def __call__(self, x: Sequence[Any] | Value) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """`nin` inputs, then one layer per entry of `nouts`: ReLU hidden layers, a linear last layer."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sizes = [nin, *nouts]
        if len(sizes) < 2:
            raise ValueError("MLP: nouts must list at least one layer width")
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(sizes) - 2) for i in range(len(sizes) - 1)]

    def __call__(self, x: Sequence[Any] | Value) -> Value | list[Value]:
        out = self.layers[0](x)            # __init__ made at least one layer
        for layer in self.layers[1:]:
            out = layer(out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
