"""§6 moons: accuracy checked by a NumPy forward pass; the first step against HIPS autograd; the PNG."""


import re

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from autobp import datasets
from autobp.demos import moons as demo
from autobp.extras import install_hint
from autobp.nn import MLP
from numpy_mlp import forward as numpy_forward


@pytest.mark.slow
def test_moons_reaches_full_training_accuracy():
    model, history = demo.train(steps=50)       # half the demo's 100 steps already separates the moons
    X, y = datasets.moons(100, noise=0.1, seed=0)
    assert ((numpy_forward(*model.to_numpy(), X, "relu", "linear")[:, 0] > 0) == y).all()
    assert history[-1][1] < history[0][1] / 10


def test_moons_first_step_is_gradient_descent_on_hinge_plus_l2():
    X, y = datasets.moons(100, noise=0.1, seed=0)
    weights, biases = MLP(2, [16, 16, 1], activation="relu", seed=0).to_numpy()
    shapes = [a.shape for pair in zip(weights, biases) for a in pair]
    theta = np.concatenate([a.ravel() for pair in zip(weights, biases) for a in pair])

    def objective(theta):
        parts, i = [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            parts.append(anp.reshape(theta[i:i + n], shape))
            i += n
        a = X
        for l in range(3):
            z = anp.dot(a, parts[2 * l].T) + parts[2 * l + 1]
            a = z if l == 2 else anp.maximum(z, 0.0)
        hinge = anp.mean(anp.maximum(0.0, 1 - (2 * y - 1) * a[:, 0]))
        return hinge + demo.L2 * anp.sum(theta ** 2)

    model, history = demo.train(steps=1)
    assert history[0][1] == pytest.approx(float(objective(theta)), rel=1e-12)
    stepped = theta - 1.0 * autograd.grad(objective)(theta)     # lr 1.0 at step 0
    new_w, new_b = model.to_numpy()
    got = np.concatenate([a.ravel() for pair in zip(new_w, new_b) for a in pair])
    np.testing.assert_allclose(got, stepped, rtol=1e-10, atol=1e-13)


def test_moons_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    model, _ = demo.train(steps=2)
    path = tmp_path / "boundary.png"
    demo.plot_boundary(model, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_moons_plot_without_matplotlib_says_what_to_install(hide_package):
    hide_package("matplotlib")
    with pytest.raises(ImportError, match="plotting needs matplotlib: " + re.escape(install_hint("plot"))):
        demo.plot_boundary(MLP(2, [16, 16, 1], activation="relu", seed=0), "unused.png")


def test_moons_without_matplotlib_says_so_before_training(hide_package, monkeypatch):
    hide_package("matplotlib")
    monkeypatch.setattr(demo, "train", lambda *args, **kwargs: pytest.fail("trained before refusing to plot"))
    with pytest.raises(SystemExit, match="moons demo: plotting needs matplotlib: " + re.escape(install_hint("plot"))):
        demo.main("moons.png")


def test_moons_suggests_a_plot_command_that_works_outside_a_clone(monkeypatch, capsys):
    one_step = demo.train
    monkeypatch.setattr(demo, "train", lambda **options: one_step(steps=1, **options))
    demo.main()
    hint = capsys.readouterr().out.splitlines()[-1]
    assert "demos/moons.py" not in hint
    module = re.search(r"python -m ([\w.]+) moons\.png", hint).group(1)
    assert module == demo.__name__ == "autobp.demos.moons"      # the installed package's module

def test_moons_traced_takes_the_same_steps():
    """demo moons --traced: one tape replayed on the batch; the same losses, accuracies and weights."""
    graphs, history = demo.train(steps=8)
    traced, traced_history = demo.train(steps=8, traced=True)
    np.testing.assert_allclose([h[1] for h in traced_history], [h[1] for h in history], rtol=1e-12)
    assert [h[2] for h in traced_history] == [h[2] for h in history]
    for a, b in zip(traced.to_numpy()[0] + traced.to_numpy()[1], graphs.to_numpy()[0] + graphs.to_numpy()[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
