"""§7 generalize: a traced Value MLP trains like Network (BP1–BP4 in NumPy), and its schedule reads as matrices."""

import numpy as np
import pytest

from autobp import datasets

pytest.importorskip("sklearn", reason="the 8×8 digits ship with scikit-learn: pip install 'autobp[data]'")
from autobp.demos import digits, generalize  # noqa: E402


def test_traced_mlp_follows_network_step_for_step():
    """Same start, same shuffles, 2 epochs: the weights agree to rounding, so do the held-out predictions."""
    X_train, y_train, X_test, y_test = digits.held_out_digits()
    result = generalize.compare(X_train, y_train, X_test, y_test, epochs=2)
    assert result["weight_difference"] < 1e-10
    assert result["traced_accuracy"] == result["network_accuracy"] > 0.8
    for piece in ["z^0 = W^0 x + b^0", "W^0 is 30×64", "a^0 = sigmoid(z^0)", "z^1 = W^1 a^0 + b^1",
                  "BP1", "BP2", "BP3", "BP4"]:
        assert piece in result["schedule"]


@pytest.mark.slow
def test_generalize_demo_prints_both_trainers_at_95_percent(capsys):
    generalize.main()
    out = capsys.readouterr().out
    accuracies = [float(line.rsplit("accuracy ", 1)[1].rstrip("%")) for line in out.splitlines()
                  if "held-out accuracy" in line]
    assert len(accuracies) == 2 and min(accuracies) >= 95.0
    assert "BP4  ∂C/∂W^l = δ^l (a^(l−1))ᵀ" in out


def test_digits_traced_prints_the_same_epochs_as_network():
    X_train, y_train, X_test, y_test = digits.held_out_digits()
    _, by_network = digits.train_digits(X_train, y_train, X_test, y_test, epochs=3)
    _, by_tape = digits.train_digits_traced(X_train, y_train, X_test, y_test, epochs=3)
    assert by_tape == by_network
    assert datasets.one_hot(y_train, 10).shape == (len(y_train), 10)
