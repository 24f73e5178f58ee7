"""Neurons, layers and multi-layer perceptrons built from Values, micrograd-compatible.

Notation follows the matrix form of backprop: `mlp.layers[l].neurons[j].w[k]`
is w^l_jk, the weight from neuron k of the previous layer to neuron j of layer
l, and `.b` is b^l_j, so layer l computes

    z^l_j = b^l_j + Σ_k w^l_jk a^(l−1)_k,    a^l_j = σ(z^l_j)

with a^(−1) = x the input.  Code index l = 0 is the first weight layer (the
book's l = 2).  `to_numpy()` gives `weights[l]` of shape (n_out, n_in), the
arrays `autobp.matrix` works on.

Initialisation is micrograd's: each weight uniform in [−1, 1], each bias 0.
With `seed=None` the draws come from Python's global `random` module in
micrograd's order, so `random.seed(s)` before `MLP(...)` gives the same
numbers micrograd would; with an int `seed` they come from
`random.Random(seed)` and leave the global state alone.

>>> mlp = MLP(3, [4, 4, 1], seed=0)
>>> len(mlp.parameters())          # (3+1)·4 + (4+1)·4 + (4+1)·1
41
>>> out = mlp([2.0, 3.0, -1.0])
>>> out.backward()
"""

from __future__ import annotations

import numbers
import random
from typing import Callable, Sequence

import numpy as np

from autobp.engine import Value
from autobp.losses import cross_entropy_loss, hinge_loss, l2_penalty, mse_loss
from autobp.matrix import check_network   # shape checks only: matrix is numpy, never the engine
from autobp.optim import SGD

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS",
           "mse_loss", "cross_entropy_loss", "hinge_loss", "l2_penalty", "SGD"]

# σ for each activation name; "linear" is the identity, so its a is its z node.
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "tanh": Value.tanh, "sigmoid": Value.sigmoid, "relu": Value.relu, "linear": None,
}

# One sample's inputs, as a module is called on them: numbers and Values in a list, a tuple or a 1-d array.
Inputs = Sequence[float | Value] | np.ndarray


def _activation(name: object) -> Callable[[Value], Value] | None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(map(repr, ACTIVATIONS))}")
    return ACTIVATIONS[name]


def _inputs(x: Inputs, nin: int) -> list[Value | float]:
    """The input as a list of Values and floats, checked against the layer width."""
    if isinstance(x, (Value, str, bytes)) or not hasattr(x, "__len__"):
        raise TypeError(f"expected a list of {nin} numbers or Values, got {type(x).__name__}: {x!r}")
    if len(x) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(x)}")
    out: list[Value | float] = []
    for xi in x:
        if isinstance(xi, Value):
            out.append(xi)
        elif isinstance(xi, numbers.Real) and not isinstance(xi, bool):
            out.append(float(xi))     # a plain float takes the engine's fast path
        else:
            raise TypeError(f"inputs must be numbers or Values, got {type(xi).__name__}: {xi!r}")
    return out


def _unwrap(out: list[Value]) -> Value | list[Value]:
    return out[0] if len(out) == 1 else out


def _check_width(where: str, name: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{where}: {name} must be an int >= 1, got {n!r}")


class Module:
    """Anything with parameters: `parameters()` lists them, `zero_grad()` resets their gradients."""

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order."""
        return []

    def zero_grad(self) -> None:
        """Set `.grad = 0.0` on every parameter."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """One neuron: a = σ(z), z = b + Σ_k w_k x_k (one `sum` node).

    `rng` is the `random.Random` to draw the weights from (default: the global
    `random` module, as micrograd).
    """

    def __init__(self, nin: int, activation: str = "tanh", *, rng: random.Random | None = None) -> None:
        _check_width("Neuron", "nin", nin)
        self._sigma = _activation(activation)
        self.activation = activation
        draw = (rng or random).uniform
        self.w = [Value(draw(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)

    def forward(self, x: Sequence) -> tuple[Value, Value]:
        """(z, a): the weighted input node and the activation node (the same node when linear).

        z = Σ(b, w_0·x_0, w_1·x_1, …) is one n-ary `sum` node over the bias
        and nin products: nin + 1 nodes, no constant wrapped in a Value.  It
        adds left to right, so z is bit-for-bit micrograd's chain
        b + w_0 x_0 + w_1 x_1 + … (2·nin nodes, nin additions deep), while
        every neuron of a layer stays one level deep for `autobp.trace`'s
        batching.  `x` must already be floats and Values.
        """
        z = Value.sum(self.b, *[wk * xk for wk, xk in zip(self.w, x)])
        return z, (z if self._sigma is None else self._sigma(z))

    def __call__(self, x: Inputs) -> Value:
        return self.forward(_inputs(x, len(self.w)))[1]

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs."""

    def __init__(self, nin: int, nout: int, activation: str = "tanh", *,
                 rng: random.Random | None = None) -> None:
        _check_width("Layer", "nout", nout)
        self.neurons = [Neuron(nin, activation, rng=rng) for _ in range(nout)]
        self.activation = activation

    def forward(self, x: Sequence) -> tuple[list[Value], list[Value]]:
        """(zs, activations) of every neuron; `x` already floats and Values."""
        pairs = [n.forward(x) for n in self.neurons]
        return [z for z, _ in pairs], [a for _, a in pairs]

    def __call__(self, x: Inputs) -> Value | list[Value]:
        return _unwrap(self.forward(_inputs(x, len(self.neurons[0].w)))[1])

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(map(repr, self.neurons))}]"


class MLP(Module):
    """A multi-layer perceptron: `nin` inputs, then one layer per entry of `nouts`.

    Hidden layers use `activation`; the last layer uses `output_activation`
    (None means linear).  Parameters are labelled `w[l][j,k]` and `b[l][j]`.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "tanh",
                 output_activation: str | None = None, seed: int | None = None) -> None:
        nouts = list(nouts)
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer width")
        output_activation = "linear" if output_activation is None else output_activation
        _activation(activation)
        _activation(output_activation)
        rng = None if seed is None else random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[l], sizes[l + 1], activation if l < len(nouts) - 1 else output_activation,
                             rng=rng) for l in range(len(nouts))]
        self.nin = nin
        self.nouts = nouts
        self.activation = activation
        self.output_activation = output_activation
        for l, layer in enumerate(self.layers):
            for j, n in enumerate(layer.neurons):
                for k, w in enumerate(n.w):
                    w.label = f"w[{l}][{j},{k}]"
                n.b.label = f"b[{l}][{j}]"

    def __call__(self, x: Inputs) -> Value | list[Value]:
        return _unwrap(self.forward(x)[1][-1])

    def forward(self, x: Inputs) -> tuple[list[list[Value]], list[list]]:
        """(zs, activations) per layer, as `autobp.matrix.forward` for one sample.

        zs[l] are layer l's weighted-input nodes z^l (so ∂C/∂z^l, the δ of the
        BP equations, is `grad(C, zs[l])`); activations[0] is the input and
        activations[l + 1] layer l's output nodes.
        """
        activations: list[list] = [_inputs(x, self.nin)]     # the input's floats and Values, then Values
        zs = []
        for layer in self.layers:
            z, a = layer.forward(activations[-1])
            zs.append(z)
            activations.append(a)
        return zs, activations

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def to_numpy(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(weights, biases): weights[l][j, k] = w^l_jk of shape (n_out, n_in), biases[l] of shape (n_out,)."""
        weights = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in self.layers]
        biases = [np.array([n.b.data for n in layer.neurons]) for layer in self.layers]
        return weights, biases

    @classmethod
    def from_numpy(cls, weights: Sequence, biases: Sequence, activation: str = "tanh",
                   output_activation: str | None = None) -> MLP:
        """The MLP whose parameters are exactly `weights` and `biases` (the inverse of `to_numpy`)."""
        weights = [np.asarray(w, dtype=float) for w in weights]
        biases = [np.asarray(b, dtype=float) for b in biases]
        check_network(weights, biases)
        mlp = cls(weights[0].shape[1], [w.shape[0] for w in weights], activation, output_activation, seed=0)
        for layer, w, b in zip(mlp.layers, weights, biases):
            for n, w_row, b_j in zip(layer.neurons, w, b):
                for p, v in zip(n.w, w_row):
                    p.data = float(v)
                n.b.data = float(b_j)
        return mlp

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(map(repr, self.layers))}]"

