"""autobp.train: steps against HIPS autograd, mini-batch counts, early stopping, restarts, the callback."""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import autobp.train as train
from autobp import Value, datasets
from autobp.matrix import backprop
from autobp.nn import MLP, Module
from autobp.train import fit


def _flat(net):
    return np.array([p.data for p in net.parameters()])


def _loss_221(theta, X, y, kind, l2):
    """The 2-2-1 network's mean loss plus l2·Σθ², theta in MLP.parameters() order."""
    W1, b1 = anp.reshape(theta[:6], (2, 3))[:, :2], anp.reshape(theta[:6], (2, 3))[:, 2]
    W2, b2 = theta[6:8], theta[8]
    h = 1 / (1 + anp.exp(-(anp.dot(X, W1.T) + b1)))
    s = anp.dot(h, W2) + b2
    if kind == "hinge":
        data = anp.mean(anp.maximum(0.0, 1 - (2 * y - 1) * s))
    else:
        data = anp.mean(0.5 * (1 / (1 + anp.exp(-s)) - y) ** 2)
    return data + l2 * anp.sum(theta ** 2)


@pytest.mark.parametrize("kind, out", [("mse", "sigmoid"), ("hinge", None)])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_fit_full_batch_epoch_is_one_gradient_step(kind, out, l2):
    X, y = datasets.xor(8, noise=0.3, seed=2)
    net = MLP(2, [2, 1], activation="sigmoid", output_activation=out, seed=3)
    theta = _flat(net)
    fit(net, X, y, loss=kind, epochs=1, lr=0.3, l2=l2)
    expected = theta - 0.3 * autograd.grad(_loss_221)(theta, X, y.astype(float), kind, l2)
    np.testing.assert_allclose(_flat(net), expected, rtol=1e-12, atol=1e-15)


def test_fit_mse_with_several_outputs_steps_towards_one_hot_targets():
    # the oracle: BP1–BP4 in NumPy on ½‖a − onehot(y)‖², averaged over the batch
    X, y = datasets.blobs(9, centers=3, seed=1)
    net = MLP(2, [4, 3], activation="tanh", seed=2)
    weights, biases = net.to_numpy()
    nabla_w, nabla_b, _ = backprop(weights, biases, X, np.eye(3)[y], "tanh", "linear")
    fit(net, X, y, loss="mse", epochs=1, lr=0.1)
    new_w, new_b = net.to_numpy()
    for got, start, g in zip(new_w + new_b, weights + biases, nabla_w + nabla_b):
        np.testing.assert_allclose(got, start - 0.1 * g, rtol=1e-12, atol=1e-15)


def test_fit_takes_one_step_per_mini_batch(monkeypatch):
    steps = []

    class CountingSGD(train.SGD):
        def step(self):
            steps.append(1)
            super().step()

    monkeypatch.setattr(train, "SGD", CountingSGD)
    X, y = datasets.xor(10, noise=0.1)
    fit(MLP(2, [1], seed=0), X, y, epochs=3, batch_size=4)
    assert len(steps) == 3 * 3             # batches of 4, 4, 2


def test_fit_cross_entropy_multi_class_learns_blobs():
    X, y = datasets.blobs(60, centers=np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]]), std=0.5, seed=0)
    net, history = fit(MLP(2, [3], seed=0), X, y, loss="cross_entropy", epochs=30, lr=0.5)
    assert history.accuracy[-1] == 1.0
    assert history.loss[-1] < history.loss[0]


def test_fit_early_stopping_keeps_the_best_weights():
    X, y = datasets.xor(40, noise=0.3, seed=0)
    net, h = fit(MLP(2, [6, 1], activation="tanh", output_activation="sigmoid", seed=1), X, y,
                 epochs=200, lr=2.0, batch_size=4, val_fraction=0.25, patience=5, seed=0)
    assert h.stopped_early and len(h.loss) == h.best_epoch + 5 < 200
    assert h.best_loss == min(h.val_loss) == h.val_loss[h.best_epoch - 1]
    # the returned weights are the best epoch's: recompute the validation loss independently
    _, _, X_val, y_val = datasets.split(X, y, 0.25, seed=0)
    a = np.array([net(list(x)).data for x in X_val.tolist()])
    assert np.mean(0.5 * (a - y_val) ** 2) == pytest.approx(h.best_loss, rel=1e-12)


def test_fit_restarts_keep_the_best_run():
    built = []

    def make(seed):
        built.append(MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=seed))
        return built[-1]

    X, y = datasets.xor()
    net, h = fit(make, X, y, epochs=300, lr=2.0, restarts=3, seed=6)
    assert len(built) == 3 and len(h.restart_scores) == 3
    assert h.restart_scores[0] > min(h.restart_scores)     # seed 6 stalls, so keeping run 0 would be wrong
    assert net is built[h.restart]
    assert h.restart_scores[h.restart] == min(h.restart_scores) == h.best_loss
    assert h.best_loss == pytest.approx(train._evaluate(net, "mse", X, y)[0], rel=1e-12)


def test_fit_reports_every_epoch_to_the_callback():
    seen = []
    X, y = datasets.xor(12, noise=0.1)
    fit(lambda s: MLP(2, [1], seed=s), X, y, epochs=4, restarts=2, val_fraction=0.25, callback=seen.append)
    assert [(p.restart, p.epoch) for p in seen] == [(r, e) for r in range(2) for e in range(1, 5)]
    assert all(p.val_loss is not None and 0 <= p.accuracy <= 1 for p in seen)


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "l1"}, "unknown loss 'l1'"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"restarts": 2}, "restarts > 1 needs a function"),
])
def test_fit_rejects_bad_arguments(kwargs, message):
    X, y = datasets.xor()
    with pytest.raises(ValueError, match=message):
        fit(MLP(2, [1], seed=0), X, y, **kwargs)


def test_fit_rejects_mismatched_data():
    with pytest.raises(ValueError, match="n_samples"):
        fit(MLP(2, [1], seed=0), np.zeros((4, 2)), np.zeros(3))


class _Weights(Module):
    """Parameters, but no __call__: nothing fit could train."""

    def parameters(self):
        return [Value(1.0)]


@pytest.mark.parametrize("model", [_Weights(), lambda seed: _Weights()])
def test_fit_names_a_model_it_cannot_call(model):
    X, y = datasets.xor()
    with pytest.raises(TypeError, match="fit: the model must be called on a sample's inputs .* got _Weights"):
        fit(model, X, y)


@pytest.mark.parametrize("kind, out_act, n_out, options", [
    ("mse", "sigmoid", 1, dict(momentum=0.9, l2=0.01, batch_size=3)),
    ("mse", None, 3, dict(batch_size=4, val_fraction=0.25, patience=2)),
    ("hinge", None, 1, dict(l2=1e-3)),
    ("cross_entropy", None, 3, dict(momentum=0.5, batch_size=5)),
])
def test_fit_traced_takes_the_same_steps_as_the_graphs(kind, out_act, n_out, options):
    """traced=True replays one traced per-sample loss on every mini-batch: same history, same weights."""
    X, y = datasets.blobs(24, centers=max(n_out, 2), seed=4)
    runs = []
    for traced in (False, True):
        net = MLP(2, [5, n_out], activation="tanh", output_activation=out_act, seed=6)
        seen = []
        _, history = fit(net, X, y, loss=kind, epochs=6, lr=0.2, seed=1, traced=traced,
                         callback=lambda p: seen.append(p), **options)
        runs.append((_flat(net), history, seen))
    (w0, h0, p0), (w1, h1, p1) = runs
    np.testing.assert_allclose(w1, w0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h1.loss, h0.loss, rtol=1e-10)
    assert h1.accuracy == h0.accuracy and h1.best_epoch == h0.best_epoch and len(p1) == len(p0)
