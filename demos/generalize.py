"""§7 Written with scalars, run as matrices: a Value MLP traced once trains like the matrix program.

An MLP of scalar Values computes, per neuron, z_j = b_j + Σ_k w_jk a_k and
a_j = σ(z_j).  `autobp.trace` records that graph for one sample, then groups
its nodes into array steps: every product w_jk·a_k of a layer at once, one
sum per neuron, one activation — the matrix form z = W a + b, found in the
scalar graph rather than written by hand.  Its backward plan is BP1–BP4.

The demo prints that plan, then trains the traced MLP on the 8×8 digits
with the classic schedule (30 epochs, batches of 10, η = 3.0) from the same
initial weights and the same shuffles as `autobp.network.Network`, and
compares time, held-out accuracy and the final weights.

Run: python demos/generalize.py   or   autobp demo generalize
"""

from __future__ import annotations

import sys
import time

import numpy as np

from autobp import datasets, trace
from autobp.network import Network
from autobp.nn import MLP, mse_loss
from autobp.tape import Tape

BP = ["BP1  δ^L = ∇_a C ⊙ σ'(z^L)                 (the output layer's error)",
      "BP2  δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l)   (the error moves back one layer)",
      "BP3  ∂C/∂b^l = δ^l",
      "BP4  ∂C/∂W^l = δ^l (a^(l−1))ᵀ"]


def traced_mlp(net: Network) -> tuple[MLP, Tape]:
    """A Value MLP with `net`'s weights and its per-sample loss ½‖a − y‖², traced on one sample."""
    mlp = MLP.from_numpy(net.weights, net.biases, activation="sigmoid", output_activation="sigmoid")
    n_in, n_out = net.sizes[0], net.sizes[-1]
    tape = trace(lambda x, y: mse_loss([mlp(x)], [y]), [0.0] * n_in, [0.0] * n_out)
    return mlp, tape


def train_traced(tape: Tape, X: np.ndarray, Y: np.ndarray, epochs: int, batch: int, eta: float,
                 rng: np.random.Generator) -> None:
    """Mini-batch SGD on the tape, W ← W − η ∂C/∂W with C the batch mean; shuffles drawn from `rng`.

    The parameters stay in an array during training and go back into the Values at the end.
    """
    theta = tape.read_parameters()
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start:start + batch]
            _, g = tape.value_and_grad(X[rows], Y[rows], params=theta)
            theta -= eta * g
    tape.write_parameters(theta)


def compare(X_train, y_train, X_test, y_test, epochs: int = 30, batch: int = 10, eta: float = 3.0,
            seed: int = 0) -> dict:
    """Train Network and the traced Value MLP from the same start with the same shuffles; time both."""
    net, twin = Network([X_train.shape[1], 30, 10], seed=seed), Network([X_train.shape[1], 30, 10], seed=seed)
    mlp, tape = traced_mlp(net)
    Y = datasets.one_hot(y_train, 10)
    start = time.perf_counter()
    net.sgd((X_train, Y), epochs, batch, eta)
    network_s = time.perf_counter() - start
    start = time.perf_counter()
    train_traced(tape, X_train, Y, epochs, batch, eta, twin.rng)     # twin.rng: the same shuffles as net's
    traced_s = time.perf_counter() - start
    outputs = trace(lambda x: mlp(x), [0.0] * X_train.shape[1])
    weights, biases = mlp.to_numpy()
    return {"network_s": network_s, "traced_s": traced_s,
            "network_accuracy": net.evaluate(X_test, y_test) / len(y_test),
            "traced_accuracy": float((np.asarray(outputs(X_test)).argmax(axis=1) == y_test).mean()),
            "weight_difference": max(float(np.abs(a - b).max()) for a, b in
                                     zip(weights + biases, net.weights + net.biases)),
            "schedule": tape.schedule()}


def main() -> None:
    """Print the schedule beside BP1–BP4, train both ways on the digits, compare."""
    try:
        X, y = datasets.load_digits()
    except ImportError as e:
        sys.exit(f"generalize demo: {e}")
    X_train, y_train, X_test, y_test = datasets.split(X, y, 0.25, seed=0)
    result = compare(X_train, y_train, X_test, y_test)
    print("A [64, 30, 10] sigmoid MLP of Values, ½‖a − y‖², traced on one sample. Its plan:\n")
    print(result["schedule"])
    print("\nThe four equations the backward plan names:")
    print("\n".join(f"  {line}" for line in BP))
    print(f"\nTrained on {len(y_train)} 8×8 digits, 30 epochs, batches of 10, η = 3.0, "
          "from the same weights and shuffles:")
    print(f"  network.Network (BP1–BP4 in NumPy): {result['network_s']:.2f} s, "
          f"held-out accuracy {result['network_accuracy']:.1%}")
    print(f"  traced Value MLP (autobp.trace):   {result['traced_s']:.2f} s, "
          f"held-out accuracy {result['traced_accuracy']:.1%}")
    print(f"  largest difference between their final weights: {result['weight_difference']:.1e}")


if __name__ == "__main__":
    main()
