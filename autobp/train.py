"""A small training loop for autobp MLPs: mini-batches, early stopping, L2, and random restarts.

The everyday craft around gradient descent, in one function:

- mini-batch SGD: each epoch shuffles the training samples and takes one
  step per batch of `batch_size` (the whole set when None);
- L2 regularisation: each batch minimises C + λ Σ_p p² over all parameters;
- a validation split with early stopping: after every epoch the held-out
  loss is measured; training stops after `patience` epochs without a new
  best, and the weights of the best epoch are put back;
- random restarts: train `restarts` networks from different seeds and keep
  the one with the best monitored loss;
- a traced mode: the per-sample loss traced once and replayed on every batch
  as array operations (`autobp.trace`), the parameters kept in an array.

The monitored loss is the validation loss when there is a validation split,
else the training loss.  Losses in the history are the data loss only (no
L2 term), measured after each epoch on the whole set.  Nothing is printed:
pass `callback` to watch progress (the command line draws a tqdm bar with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Protocol, Sequence, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from autobp.datasets import one_hot, split
from autobp.engine import Value, no_grad
from autobp.losses import cross_entropy_loss, hinge_loss, l2_penalty, mse_loss
from autobp.nn import Module
from autobp.optim import SGD
from autobp.tape import trace

__all__ = ["fit", "History", "Progress", "Model", "predict", "accuracy", "LOSSES"]

LOSSES = ("mse", "hinge", "cross_entropy")


class Model(Protocol):
    """What `fit` trains and `predict` calls: an MLP, or any Module called on one sample's inputs.

    It is called on a list of floats, or (fit(traced=True)) of the placeholder Values `trace` passes.
    """

    def __call__(self, x: Sequence[float | Value], /) -> Value | list[Value]: ...

    def parameters(self) -> list[Value]: ...


ModuleT = TypeVar("ModuleT", bound=Module)     # the model's own class, which fit returns


class Progress(NamedTuple):
    """What `callback` receives after every epoch."""

    restart: int          # 0 … restarts − 1
    epoch: int            # 1 … epochs
    loss: float           # training data loss after this epoch
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None


@dataclass
class History:
    """Per-epoch numbers of the run that was kept, and how the restarts compared."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int = 0            # the epoch whose weights were kept (0: the initial weights)
    best_loss: float = float("inf")   # the monitored loss of those weights
    stopped_early: bool = False
    restart: int = 0               # which restart was kept
    restart_scores: list[float] = field(default_factory=list)   # best monitored loss of each restart


def _outputs(model: Model, X: np.ndarray) -> list[list[Value]]:
    """The model's outputs for every row of X, each as a list of Values."""
    rows = []
    for x in X.tolist():                      # plain floats take the engine's fast path
        out = model(x)
        rows.append(out if isinstance(out, list) else [out])
    return rows


def _data_loss(kind: str, outputs: list[list[Value]], y: np.ndarray) -> Value:
    """The mean loss over samples; y holds class indices (0/1 for one output)."""
    labels = y.tolist()
    if kind == "hinge":
        return hinge_loss([o[0] for o in outputs], [2 * c - 1 for c in labels])
    if kind == "cross_entropy":
        return cross_entropy_loss(outputs, labels)
    if len(outputs[0]) == 1:
        return mse_loss(outputs, [[c] for c in labels])
    return mse_loss(outputs, one_hot(y, len(outputs[0])).tolist())


def _classes(kind: str, outputs: list[list[Value]]) -> np.ndarray:
    """Predicted classes: argmax for several outputs; for one, score > 0 (hinge) or > ½ (mse)."""
    return _classes_of(kind, np.array([[v.data for v in o] for o in outputs]))


def _classes_of(kind: str, scores: np.ndarray) -> np.ndarray:
    """`_classes` from the outputs as an array, one row per sample."""
    if scores.shape[1] > 1:
        return scores.argmax(axis=1)
    return (scores[:, 0] > (0.0 if kind == "hinge" else 0.5)).astype(np.int64)


def predict(model: Model, X: ArrayLike, loss: str = "mse") -> np.ndarray:
    """The class the model picks for each row of X (decided as for `loss`)."""
    with no_grad():
        return _classes(loss, _outputs(model, np.asarray(X, dtype=float)))


def accuracy(model: Model, X: ArrayLike, y: ArrayLike, loss: str = "mse") -> float:
    """The fraction of rows of X whose predicted class is y."""
    return float((predict(model, X, loss) == np.asarray(y)).mean())


def _evaluate(model: Model, kind: str, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(data loss, accuracy) on a whole set, without building a graph."""
    with no_grad():
        outputs = _outputs(model, X)
        return _data_loss(kind, outputs, y).data, float((_classes(kind, outputs) == y).mean())


def _check(X: np.ndarray, y: np.ndarray, loss: str, epochs: int, batch_size: int | None,
           patience: int | None, restarts: int) -> None:
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or not len(X):
        raise ValueError(f"fit: X must be (n_samples, n_features) and y (n_samples,), got {X.shape} and {y.shape}")
    if loss not in LOSSES:
        raise ValueError(f"fit: unknown loss {loss!r}; choose one of {', '.join(map(repr, LOSSES))}")
    for name, n in (("epochs", epochs), ("restarts", restarts), ("batch_size", batch_size), ("patience", patience)):
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"fit: {name} must be an integer >= 1, got {n!r}")


def fit(model: ModuleT | Callable[[int], ModuleT], X: ArrayLike, y: ArrayLike, *, loss: str = "mse",
        epochs: int = 100, lr: float = 0.1, momentum: float = 0.0, batch_size: int | None = None,
        l2: float = 0.0, val_fraction: float = 0.0, patience: int | None = None, restarts: int = 1,
        seed: int = 0, callback: Callable[[Progress], None] | None = None,
        traced: bool = False) -> tuple[ModuleT, History]:
    """Train a model by mini-batch SGD; return the kept model and its history.

    `model` is a Module, or a function seed → Module (needed for restarts > 1;
    restart r uses seed + r).  `X` is (n_samples, n_features); `y` holds class
    indices (0/1 with one output).  `loss` is "mse" (½(a − y)², one-hot for
    several outputs), "hinge" (one output, labels mapped to ±1) or
    "cross_entropy" (one logit per class).  `val_fraction` > 0 holds out
    that share of the samples (seeded) for early stopping; `patience` stops a
    run after that many epochs without a better monitored loss.

    `traced=True` traces the per-sample loss once (`autobp.trace`) and replays
    it on each mini-batch as array operations: the same gradients to about
    1e-15, the same steps, many times faster on large networks.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    _check(X, y, loss, epochs, batch_size, patience, restarts)
    if restarts > 1 and isinstance(model, Module):
        raise ValueError("fit: restarts > 1 needs a function seed → model, to build a fresh network per restart")
    X_val = y_val = None
    if val_fraction:
        X, y, X_val, y_val = split(X, y, val_fraction, seed)
    best: tuple[History, ModuleT] | None = None
    scores = []
    for r in range(restarts):
        net = model if isinstance(model, Module) else model(seed + r)
        if not callable(net):
            raise TypeError(f"fit: the model must be called on a sample's inputs (a Module with __call__, such as an "
                            f"MLP), got {type(net).__name__}, which has no __call__")
        history = _train_one(net, X, y, X_val, y_val, loss, epochs, lr, momentum, batch_size, l2,
                             patience, np.random.default_rng([seed, r]),
                             None if callback is None else lambda *a, r=r: callback(Progress(r, *a)), traced)
        history.restart = r
        scores.append(history.best_loss)
        if best is None or history.best_loss < best[0].best_loss:
            best = (history, net)
    assert best is not None             # restarts >= 1 (checked above)
    history, net = best
    history.restart_scores = scores
    return net, history


class _Graphs:
    """Mini-batch SGD steps and evaluation with one Value graph per batch: the engine, as written."""

    def __init__(self, net: Model, kind: str, lr: float, momentum: float, l2: float, X: np.ndarray) -> None:
        self.net, self.kind, self.l2 = net, kind, l2
        self.opt = SGD(net.parameters(), lr=lr, momentum=momentum)

    def step(self, X: np.ndarray, y: np.ndarray) -> None:
        objective = _data_loss(self.kind, _outputs(self.net, X), y)
        if self.l2:
            objective = objective + l2_penalty(self.opt.params, self.l2)
        self.opt.zero_grad()
        objective.backward()
        self.opt.step()

    def sync(self) -> None:
        """The parameters live in the Values already."""

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        return _evaluate(self.net, self.kind, X, y)


def _targets(kind: str, y: np.ndarray, n_out: int) -> np.ndarray:
    """Per-sample targets as the traced loss reads them: ±1 (hinge), one-hot rows, or the 0/1 class (one output)."""
    if kind == "hinge":
        return 2.0 * y - 1.0
    return one_hot(y, n_out) if n_out > 1 else y[:, None].astype(float)


def _sample_loss(kind: str, model: Model) -> Callable:
    """C_x(x, t), the per-sample loss whose batch mean is `_data_loss`, with the target t traced too."""
    def outputs(x):
        out = model(x)
        return out if isinstance(out, list) else [out]

    if kind == "mse":
        return lambda x, t: mse_loss([outputs(x)], [t])
    if kind == "hinge":
        return lambda x, t: hinge_loss([outputs(x)[0]], [t])
    return lambda x, t: cross_entropy_loss(outputs(x), t)          # t: the one-hot row


class _Traced:
    """The same steps on a per-sample loss traced once (`autobp.trace`) and replayed on each batch.

    The parameters live in an array during an epoch and go back into the Values at `sync`;
    the update is `SGD`'s: v ← g (first step) or μv + g, p ← p − lr·v, with g += 2·l2·p.
    """

    def __init__(self, net: Model, kind: str, lr: float, momentum: float, l2: float, X: np.ndarray) -> None:
        x0 = X[0].tolist()
        first = net(x0)
        self.n_out = len(first) if isinstance(first, list) else 1
        self.kind, self.lr, self.momentum, self.l2 = kind, lr, momentum, l2
        self.loss = trace(_sample_loss(kind, net), x0, _targets(kind, np.zeros(1, dtype=int), self.n_out)[0].tolist())
        self.outputs = trace(lambda x: net(x), x0)
        self.params = net.parameters()
        where = {p: i for i, p in enumerate(self.params)}
        self.at = np.array([where[p] for p in self.loss.parameters if p in where], dtype=np.int64)
        if len(self.at) != len(self.loss.parameters):
            raise ValueError("fit(traced=True): the loss reads Values that are not the model's parameters")
        self.theta = np.array([p.data for p in self.params])
        self.velocity: np.ndarray | None = None

    def step(self, X: np.ndarray, y: np.ndarray) -> None:
        _, g_tape = self.loss.value_and_grad(X, _targets(self.kind, y, self.n_out), params=self.theta[self.at])
        g = np.zeros_like(self.theta)
        g[self.at] = g_tape
        if self.l2:
            g += 2.0 * self.l2 * self.theta          # ∂(λ Σ p²)/∂p
        if self.momentum:
            self.velocity = g if self.velocity is None else self.momentum * self.velocity + g
            g = self.velocity
        self.theta = self.theta - self.lr * g
        if not np.isfinite(self.theta).all():
            raise OverflowError("fit: a parameter became non-finite; lower the learning rate")

    def sync(self) -> None:
        for p, v in zip(self.params, self.theta.tolist()):
            p.data = v

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        loss = float(np.mean(self.loss(X, _targets(self.kind, y, self.n_out))))
        scores = np.asarray(self.outputs(X)).reshape(len(X), self.n_out)
        return loss, float((_classes_of(self.kind, scores) == y).mean())


def _train_one(net: Model, X, y, X_val, y_val, kind, epochs, lr, momentum, batch_size, l2,
               patience, rng, report, traced) -> History:
    """One run: epochs of shuffled mini-batch steps, tracking and restoring the best weights."""
    params = net.parameters()
    steps = (_Traced if traced else _Graphs)(net, kind, lr, momentum, l2, X)
    history = History()
    batch = batch_size or len(X)
    monitored = steps.evaluate(*((X_val, y_val) if X_val is not None else (X, y)))[0]
    best_loss, best_weights, waited = monitored, [p.data for p in params], 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start:start + batch]
            steps.step(X[rows], y[rows])
        steps.sync()
        train_loss, train_acc = steps.evaluate(X, y)
        history.loss.append(train_loss)
        history.accuracy.append(train_acc)
        val_loss = val_acc = None
        if X_val is not None:
            val_loss, val_acc = steps.evaluate(X_val, y_val)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc)
        if report:
            report(epoch, train_loss, train_acc, val_loss, val_acc)
        monitored = train_loss if val_loss is None else val_loss
        if monitored < best_loss:
            best_loss, best_weights, waited = monitored, [p.data for p in params], 0
            history.best_epoch = epoch
        else:
            waited += 1
            if patience is not None and waited >= patience:
                history.stopped_early = True
                break
    for p, w in zip(params, best_weights):     # keep the best epoch's weights
        p.data = w
    history.best_loss = best_loss
    return history
