"""The four backpropagation equations BP1–BP4 in NumPy, vectorised over a batch: the engine's second opinion.

This module never imports the engine: it computes the same gradients a
different way (matrices instead of a graph of scalars), so agreement between
the two is evidence that both are right.

Notation.  `weights[l][j, k]` is w^l_jk, the weight from neuron k of the
previous layer to neuron j of layer l, and `biases[l][j]` is b^l_j.  Code
index l = 0 is the book's first weight layer (its l = 2, the book's layer 1
being the input).  For one sample, z^l = W^l a^(l−1) + b^l and a^l = σ(z^l),
with a^(−1) = x.  A batch is a matrix with one sample per row, so the code
writes z^l = a^(l−1) (W^l)ᵀ + b^l, of shape (n, n_out_l).

The loss.  C = (1/n) Σ_x C_x is the mean of the per-sample losses
  "mse":           C_x = ½ ‖a^L − y‖²
  "cross_entropy": C_x = −Σ_j y_j log softmax(z^L)_j (y one-hot); the softmax
                   belongs to the loss, so the output layer must be "linear"
                   (its activations are the logits z^L).

The error term.  `deltas[l][i]` is δ^l for sample i: δ^l_j = ∂C_x/∂z^l_j, the
*per-sample* error of the book, not divided by n.  The gradients of the mean
loss are then means over the batch:  ∂C/∂b^l = mean_x δ^l (BP3) and
∂C/∂W^l = mean_x δ^l (a^(l−1))ᵀ (BP4).  (∂C/∂z^l of the mean loss is δ^l / n.)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["ACTIVATIONS", "LOSSES", "forward", "backprop", "cost", "check_network", "check_loss"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^−z), evaluated so that e^(±z) never overflows."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """σ′(z) = σ(z)(1 − σ(z))."""
    s = _sigmoid(z)
    return s * (1.0 - s)


# name -> (σ, σ′), both functions of z
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "sigmoid": (_sigmoid, _sigmoid_prime),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),   # relu′(0) = 0, as in PyTorch
    "linear": (lambda z: z, np.ones_like),
}
LOSSES = ("mse", "cross_entropy")


def _layer_activation(l: int, n_layers: int, activation: str, output_activation: str) -> str:
    name = output_activation if l == n_layers - 1 else activation
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(map(repr, ACTIVATIONS))}")
    return name


def check_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
    """Raise ValueError unless weights[l] is (n_out, n_in), biases[l] (n_out,), the layers chain, all finite."""
    if len(weights) != len(biases):
        raise ValueError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
    if not len(weights):
        raise ValueError("no layers: weights is empty")
    for l, (w, b) in enumerate(zip(weights, biases)):
        w, b = np.asarray(w), np.asarray(b)
        if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
            raise ValueError(f"weights[{l}] must be a non-empty 2-D (n_out, n_in) array, got shape {w.shape}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"biases[{l}] must have shape ({w.shape[0]},) to match weights[{l}] "
                             f"{w.shape}, got {b.shape}")
        if l and w.shape[1] != np.shape(weights[l - 1])[0]:
            raise ValueError(f"weights[{l}] takes {w.shape[1]} inputs but layer {l - 1} has "
                             f"{np.shape(weights[l - 1])[0]} outputs")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"layer {l} has a non-finite weight or bias (nan or inf)")


def _batch(a: object, width: int, name: str) -> np.ndarray:
    """`a` as a float array of shape (n, width); a 1-D array of length `width` is one sample."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1 and a.shape[0] == width:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n_samples, {width}), got {a.shape}")
    return a


def forward(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray,
            activation: str = "sigmoid", output_activation: str = "sigmoid"
            ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(zs, activations) for a batch: zs[l] = z^l, activations[0] = x, activations[l + 1] = σ(z^l).

    z^l = a^(l−1) (W^l)ᵀ + b^l, one sample per row, so zs[l] has shape (n, n_out_l).

    >>> zs, acts = forward([np.eye(2)], [np.zeros(2)], np.array([[0.0, 2.0]]), output_activation="linear")
    >>> acts[-1]
    array([[0., 2.]])
    """
    check_network(weights, biases)
    a = _batch(x, np.shape(weights[0])[1], "x")
    zs, activations = [], [a]
    for l, (w, b) in enumerate(zip(weights, biases)):
        sigma, _ = ACTIVATIONS[_layer_activation(l, len(weights), activation, output_activation)]
        z = a @ np.asarray(w, dtype=float).T + b
        a = sigma(z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z), row by row: z_j − m − log Σ_i e^(z_i − m), with m = max_i z_i.

    Shifting by the row max m changes nothing mathematically and keeps every e^(z_i − m) ≤ 1.
    """
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def check_loss(loss: str, output_activation: str) -> None:
    """Raise ValueError for an unknown loss, or cross-entropy on an output layer that is not linear."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))}")
    if loss == "cross_entropy" and output_activation != "linear":
        raise ValueError(f"loss 'cross_entropy' applies the softmax itself, so output_activation must be "
                         f"'linear' (the logits), got {output_activation!r}")


def cost(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray,
         activation: str = "sigmoid", output_activation: str = "sigmoid", loss: str = "mse") -> float:
    """The mean loss C = (1/n) Σ_x C_x of the batch (see the module docstring for C_x)."""
    check_loss(loss, output_activation)
    zs, activations = forward(weights, biases, x, activation, output_activation)
    y = _batch(y, activations[-1].shape[1], "y")
    if loss == "mse":
        return float(0.5 * np.sum((activations[-1] - y) ** 2) / len(y))
    return float(-np.sum(y * _log_softmax(zs[-1])) / len(y))


def backprop(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray,
             activation: str = "sigmoid", output_activation: str = "sigmoid", loss: str = "mse"
             ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(nabla_w, nabla_b, deltas): gradients of the mean loss, and every layer's δ, by BP1–BP4.

    nabla_w[l] has the shape of weights[l], nabla_b[l] of biases[l], and
    deltas[l] is (n, n_out_l), one per-sample δ^l = ∂C_x/∂z^l per row.

    >>> w, b = [np.array([[2.0]])], [np.array([0.0])]
    >>> nabla_w, nabla_b, deltas = backprop(w, b, [[3.0]], [[1.0]], output_activation="linear")
    >>> nabla_w[0], nabla_b[0]          # C = ½(2·3 − 1)²: ∂C/∂w = 5·3, ∂C/∂b = 5
    (array([[15.]]), array([5.]))
    """
    check_loss(loss, output_activation)
    zs, activations = forward(weights, biases, x, activation, output_activation)
    n_layers, n = len(weights), activations[0].shape[0]
    y = _batch(y, activations[-1].shape[1], "y")
    if y.shape[0] != n:
        raise ValueError(f"x has {n} samples but y has {y.shape[0]}")
    prime = [ACTIVATIONS[_layer_activation(l, n_layers, activation, output_activation)][1]
             for l in range(n_layers)]
    if loss == "mse":
        # BP1: δ^L = ∇_a C ⊙ σ′(z^L), with ∇_a C_x = a^L − y for C_x = ½‖a^L − y‖²
        delta = (activations[-1] - y) * prime[-1](zs[-1])
    else:
        # BP1 for softmax + negative log-likelihood: δ^L = softmax(z^L) − y
        delta = np.exp(_log_softmax(zs[-1])) - y
    deltas = [delta]
    for l in range(n_layers - 1, 0, -1):
        # BP2: δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ′(z^l); rows are samples, so δ W instead of Wᵀ δ
        delta = (delta @ np.asarray(weights[l], dtype=float)) * prime[l - 1](zs[l - 1])
        deltas.insert(0, delta)
    # BP3: ∂C/∂b^l = δ^l, averaged over the batch
    nabla_b = [d.mean(axis=0) for d in deltas]
    # BP4: ∂C/∂w^l_jk = δ^l_j a^(l−1)_k, i.e. δ^l (a^(l−1))ᵀ, averaged over the batch
    nabla_w = [d.T @ a / n for d, a in zip(deltas, activations[:-1])]
    return nabla_w, nabla_b, deltas
