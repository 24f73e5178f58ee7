"""Loss functions built from Values: mean squared error, cross-entropy, hinge, and an L2 penalty.

Every loss returns one Value, the root of a graph through the predictions, so
`loss.backward()` fills the parameters' `.grad`.  Over a batch each loss is
the *mean* of the per-sample losses C_x, as in the matrix BP formulas.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence, TypeGuard, cast, overload

from autobp.engine import Value, apply
from autobp.ops import SUM

__all__ = ["mse_loss", "cross_entropy_loss", "hinge_loss", "l2_penalty"]


def _is_sequence(x: object) -> TypeGuard[Sequence[Any]]:
    """A list over samples or outputs: anything with len() and indexing (a list, tuple or array) but a str or a Value."""
    return not isinstance(x, (Value, str, bytes)) and hasattr(x, "__len__") and hasattr(x, "__getitem__")


def _number(x: object, where: str) -> float | Value:
    """A Value as it is, a real number as a float; anything else is a TypeError naming `where`."""
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where}: expected a Value or a real number, got {type(x).__name__}: {x!r}")
    return float(x)


# Values give a Value; with numbers among the terms a lone number comes back as it is.
@overload
def _total(terms: Sequence[Value]) -> Value: ...
@overload
def _total(terms: Sequence[Value | float]) -> Value | float: ...


def _total(terms: Sequence[Value | float]) -> Value | float:
    """Σ terms as one n-ary 'sum' node (no `0 +` node): the chain's floats, one level deep for `autobp.trace`."""
    return terms[0] if len(terms) == 1 else apply(SUM, *terms)


def _as_value(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _mean(terms: Sequence[Value | float], n: int, scale: float = 1.0) -> Value:
    """(scale/n) Σ terms, as one Value: the batch mean of n samples' summed terms."""
    return _as_value(_total(terms) * (scale / n))


def _samples(where: str, preds: object, targets: object, pred_noun: str, target_noun: str
             ) -> tuple[Sequence, Sequence]:
    """`preds` and `targets` as two equally long, non-empty lists over samples (a lone Value is one sample).

    The nouns name the two arguments in the error messages ("scores", "labels").
    """
    if isinstance(preds, Value):
        preds, targets = [preds], [targets]
    if not _is_sequence(preds) or not _is_sequence(targets):
        raise TypeError(f"{where}: {pred_noun} and {target_noun} must be lists over samples, "
                        f"got {type(preds).__name__} and {type(targets).__name__}")
    if len(preds) != len(targets):
        raise ValueError(f"{where}: {len(preds)} {pred_noun} but {len(targets)} {target_noun}")
    if not len(preds):
        raise ValueError(f"{where}: no samples (empty {pred_noun})")
    return preds, targets


def mse_loss(preds: Sequence, targets: Sequence) -> Value:
    """Half the squared error, summed over outputs and averaged over samples.

    C = (1/n) Σ_x ½ Σ_j (a_j(x) − y_j(x))²

    `preds` is a list over samples; each sample is a list of output Values, or
    a single Value for a one-output network (what `MLP.__call__` returns).
    `targets` has the same shape, in numbers.  A lone Value with a number
    target is one sample with one output.  ∂C/∂a_j(x) = (a_j − y_j)/n.

    >>> from autobp import Value
    >>> a, b = Value(3.0), Value(1.0)
    >>> mse_loss([[a, b]], [[1.0, 1.0]]).data     # ½((3−1)² + 0²)
    2.0
    >>> mse_loss([a, b], [1.0, 2.0]).data          # two samples: (½·4 + ½·1)/2
    1.25
    """
    preds, targets = _samples("mse_loss", preds, targets, "predictions", "targets")
    terms = []
    for i, (a, y) in enumerate(zip(preds, targets)):
        a = list(a) if _is_sequence(a) else [a]
        y = list(y) if _is_sequence(y) else [y]
        if len(a) != len(y):
            raise ValueError(f"mse_loss: sample {i} has {len(a)} outputs but {len(y)} targets")
        for aj, yj in zip(a, y):
            d = _number(aj, "mse_loss prediction") - _number(yj, "mse_loss target")
            terms.append(d * d)      # d·d rather than d**2: one cheap '*' node, same gradient 2d
    return _mean(terms, len(preds), 0.5)


def _cross_entropy_one(logits: Sequence, target: object) -> Value:
    """logsumexp(z) − z_t (or − Σ_i t_i z_i for a row t), logsumexp(z) = log Σ_i e^(z_i − m) + m, m = max_i z_i."""
    z = [_number(zi, "cross_entropy_loss logit") for zi in logits]
    if not z:
        raise ValueError("cross_entropy_loss: no logits")
    if isinstance(target, Value):
        raise TypeError(f"cross_entropy_loss: a class index must be an int, got {target!r}; for a target that is a "
                        "Value (traced by autobp.trace, say) give it as a one-hot row [t_0, …, t_(K−1)]")
    if _is_sequence(target):
        if len(target) != len(z):
            raise ValueError(f"cross_entropy_loss: the target has {len(target)} entries for {len(z)} logits")
        row = [_number(ti, "cross_entropy_loss target") for ti in target]
    elif isinstance(target, bool) or not isinstance(target, numbers.Integral) or not 0 <= int(target) < len(z):
        raise ValueError(f"cross_entropy_loss: target_index must be an int in [0, {len(z)}), got {target!r}")
    else:
        row = []
    # shift by max(logits) (a constant) so exp never overflows; the shift cancels in the gradient
    m = max(zi.data if isinstance(zi, Value) else zi for zi in z)
    s = _total([_as_value(zi - m).exp() for zi in z])
    target_logit = _total([ti * zi for ti, zi in zip(row, z)]) if row else z[int(cast(int, target))]
    return s.log() + m - target_logit


def cross_entropy_loss(logits: Sequence, target: int | Sequence) -> Value:
    """Softmax followed by the negative log-likelihood of the target class, computed stably.

    C = −log( e^(z_t) / Σ_i e^(z_i) ) = logsumexp(z) − z_t,  ∂C/∂z_i = softmax(z)_i − [i = t]

    The target is a class index t, or a row of K numbers or Values, one-hot or
    probabilities (C = logsumexp(z) − Σ_i t_i z_i, as PyTorch's class
    probabilities): the form a target traced by `autobp.trace` takes.
    logsumexp is evaluated as m + log Σ_i e^(z_i − m) with m = max z, so
    logits of ±1000 give a finite loss and exact gradients.  With a list of
    logit lists and one target per list it returns the mean over samples.

    >>> from autobp import Value
    >>> z = [Value(1000.0), Value(-1000.0)]
    >>> loss = cross_entropy_loss(z, 1); loss.backward()
    >>> loss.data, z[0].grad, z[1].grad
    (2000.0, 1.0, -1.0)
    """
    if _is_sequence(logits) and len(logits) and all(_is_sequence(row) for row in logits):    # a batch
        if not _is_sequence(target) or len(logits) != len(target):
            raise ValueError(f"cross_entropy_loss: a batch needs one logit list per target index, got "
                             f"{len(logits)} for {len(target) if _is_sequence(target) else type(target).__name__}")
        return _mean([_cross_entropy_one(row, t) for row, t in zip(logits, target)], len(target))
    if not _is_sequence(logits):
        raise TypeError(f"cross_entropy_loss: logits must be a list of Values, got {type(logits).__name__}")
    return _cross_entropy_one(logits, target)


def hinge_loss(scores: Sequence, labels: Sequence) -> Value:
    """The SVM max-margin loss: the mean over samples of relu(1 − y·s), labels y = ±1.

    C = (1/n) Σ_x max(0, 1 − y_x s_x)

    `scores` is a list with one score Value per sample (a one-element list is
    also accepted); `labels` the matching −1/+1 numbers, or Values (a label
    traced by `autobp.trace`, one per sample of a batch) used as they are.

    >>> from autobp import Value
    >>> hinge_loss([Value(2.0), Value(0.5)], [1, 1]).data     # (0 + 0.5)/2
    0.25
    """
    scores, labels = _samples("hinge_loss", scores, labels, "scores", "labels")
    terms = []
    for s, y in zip(scores, labels):
        if _is_sequence(s):
            if len(s) != 1:
                raise ValueError(f"hinge_loss: one score per sample, got {len(s)}")
            s = s[0]
        if not isinstance(y, Value):       # a Value label (e.g. traced by autobp.trace) is used as it is
            if isinstance(y, bool) or not isinstance(y, numbers.Real) or y not in (-1, 1):
                raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y!r}")
            y = float(y)
        margin = 1.0 - _number(s, "hinge_loss score") * y
        terms.append(_as_value(margin).relu())
    return _mean(terms, len(scores))


def l2_penalty(params: Iterable[Value], lam: float) -> Value:
    """L2 regularisation λ Σ_p p², over exactly the parameters given.

    Pass `model.parameters()` to penalise weights and biases alike (as the
    classic micrograd moons demo does), or a list of weights only.
    ∂/∂p = 2λp.

    >>> from autobp import Value
    >>> l2_penalty([Value(1.0), Value(-2.0)], 0.1).data
    0.5
    """
    params = list(params)
    if not params:
        raise ValueError("l2_penalty: no parameters")
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
        raise ValueError(f"l2_penalty: lam must be a number >= 0, got {lam!r}")
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"l2_penalty: parameters must be Values, got {type(p).__name__}: {p!r}")
    return _total([p * p for p in params]) * float(lam)
