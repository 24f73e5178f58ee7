"""An oracle for the tests: an MLP's forward pass in plain NumPy, written without autobp.

Layer l computes a^l = σ(a^(l−1) Wᵀ + b) for a batch with one sample per row
(a 1-D input is one sample); the last layer uses `output_activation`.
"""

from __future__ import annotations

import numpy as np

SIGMA = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
         "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def forward(weights, biases, X, activation="sigmoid", output_activation="sigmoid") -> np.ndarray:
    """The output activations for input X, given weights[l] of shape (n_out, n_in) and biases[l] (n_out,)."""
    a = np.asarray(X, dtype=float)
    for l, (W, b) in enumerate(zip(weights, biases)):
        a = SIGMA[output_activation if l == len(weights) - 1 else activation](a @ W.T + b)
    return a
