"""The classic mini-batch SGD network in NumPy, its gradients from `autobp.matrix.backprop` (no engine).

`Network([n_in, hidden, n_out])` is the textbook program: sigmoid layers,
weights and biases drawn from a standard Gaussian, trained by mini-batch
stochastic gradient descent on the quadratic cost, reporting after each epoch
how many test samples it classifies correctly (argmax of the output).  Each
mini-batch is one vectorised call to `backprop`, whose gradients are those of
the mean loss over the batch, so the update W ← W − η·mean_x ∂C_x/∂W is the
book's W ← W − (η/m) Σ_x ∂C_x/∂W.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from autobp.matrix import backprop, check_loss, check_network, forward

__all__ = ["Network"]


def _labels(y: np.ndarray, n_out: int, name: str) -> np.ndarray:
    """Class indices from int labels of shape (n,) or one-hot rows of shape (n, n_out)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == n_out:
        return y.argmax(axis=1)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and ((0 <= y) & (y < n_out)).all():
        return y
    raise ValueError(f"{name} must be int labels in [0, {n_out}) of shape (n,) or one-hot rows of shape "
                     f"(n, {n_out}), got an array of shape {y.shape} and dtype {y.dtype}")


def _pair(data: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (x, y) of arrays with one sample per row")
    x, y = np.asarray(data[0], dtype=float), np.asarray(data[1])
    if x.ndim != 2 or len(y) != len(x):
        raise ValueError(f"{name}: x must be 2-D with one sample per row and y one entry per sample, "
                         f"got shapes {x.shape} and {y.shape}")
    return x, y


class Network:
    """A fully connected network trained by mini-batch SGD; `weights[l]` is (n_out, n_in).

    >>> net = Network([2, 3, 1], seed=0)
    >>> [w.shape for w in net.weights], [b.shape for b in net.biases]
    ([(3, 2), (1, 3)], [(3,), (1,)])
    """

    def __init__(self, sizes: Sequence[int], seed: int | None = None, activation: str = "sigmoid",
                 output_activation: str = "sigmoid", loss: str = "mse") -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in sizes):
            raise ValueError(f"Network: sizes must list at least two layer widths >= 1, got {sizes!r}")
        self.rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.activation, self.output_activation, self.loss = activation, output_activation, loss
        # Gaussian initialisation N(0, 1), as in the classic program
        self.biases = [self.rng.standard_normal(n) for n in sizes[1:]]
        self.weights = [self.rng.standard_normal((n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        check_loss(loss, output_activation)
        forward(self.weights, self.biases, np.zeros((1, sizes[0])), **self._kwargs)   # checks the activations

    @property
    def _kwargs(self) -> dict[str, str]:
        """The activation keywords of `autobp.matrix`, read from the attributes (one copy of the truth)."""
        return {"activation": self.activation, "output_activation": self.output_activation}

    def to_numpy(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(weights, biases), copies, in the layout of `autobp.matrix` and `MLP.to_numpy`."""
        return [w.copy() for w in self.weights], [b.copy() for b in self.biases]

    @classmethod
    def from_numpy(cls, weights: Sequence, biases: Sequence, activation: str = "sigmoid",
                   output_activation: str = "sigmoid", loss: str = "mse") -> Network:
        """The network with exactly these weights and biases."""
        weights = [np.array(w, dtype=float) for w in weights]
        biases = [np.array(b, dtype=float) for b in biases]
        check_network(weights, biases)
        net = cls([weights[0].shape[1], *(w.shape[0] for w in weights)], seed=0, activation=activation,
                  output_activation=output_activation, loss=loss)
        net.weights, net.biases = weights, biases
        return net

    def feedforward(self, x: np.ndarray) -> np.ndarray:
        """The output activations a^L for a batch x of shape (n, n_in)."""
        return forward(self.weights, self.biases, x, **self._kwargs)[1][-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The predicted class of each sample: argmax of its output."""
        return self.feedforward(x).argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> int:
        """How many samples are classified correctly (y: int labels or one-hot rows)."""
        return int((self.predict(x) == _labels(y, self.sizes[-1], "y")).sum())

    def update_mini_batch(self, x: np.ndarray, y: np.ndarray, eta: float) -> None:
        """One gradient step W ← W − η ∂C/∂W, b ← b − η ∂C/∂b on the batch's mean loss."""
        nabla_w, nabla_b, _ = backprop(self.weights, self.biases, x, y, loss=self.loss, **self._kwargs)
        for w, b, nw, nb in zip(self.weights, self.biases, nabla_w, nabla_b):
            w -= eta * nw
            b -= eta * nb

    def sgd(self, training_data: tuple, epochs: int, mini_batch_size: int, eta: float,
            test_data: tuple | None = None,
            on_epoch: Callable[[int, int, int], None] | None = None) -> list[int]:
        """Train by mini-batch SGD; return the number of correct test predictions after each epoch.

        `training_data` is (x, y): x of shape (n, n_in), y one-hot rows (n, n_out)
        or int labels (n,).  `test_data` is (x, labels) the same way; without it
        the returned list is empty.  Each epoch shuffles the training set with
        the network's seeded generator.  `on_epoch(epoch, correct, total)` is
        called after each epoch with test data (e.g. to print "Epoch 0: 9129 / 10000").
        """
        x, y = _pair(training_data, "training_data")
        if y.ndim == 1:
            y = np.eye(self.sizes[-1])[_labels(y, self.sizes[-1], "training_data labels")]
        if test_data is not None:
            tx, ty = _pair(test_data, "test_data")
        for name, v in (("epochs", epochs), ("mini_batch_size", mini_batch_size)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"sgd: {name} must be an int >= 1, got {v!r}")
        if not eta > 0:
            raise ValueError(f"sgd: eta must be > 0, got {eta!r}")
        history = []
        for epoch in range(epochs):
            order = self.rng.permutation(len(x))
            for start in range(0, len(x), mini_batch_size):
                batch = order[start:start + mini_batch_size]
                self.update_mini_batch(x[batch], y[batch], eta)
            if test_data is not None:
                history.append(self.evaluate(tx, ty))
                if on_epoch is not None:
                    on_epoch(epoch, history[-1], len(tx))
        return history
