"""Stochastic gradient descent with momentum and weight decay, with PyTorch's update rule."""

from __future__ import annotations

import math
import numbers
from typing import Iterable

from autobp.engine import Value, no_grad

__all__ = ["SGD"]


def _hyper(name: str, x: object, *, positive: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x) \
            or (x <= 0 if positive else x < 0):
        raise ValueError(f"SGD: {name} must be a finite number {'> 0' if positive else '>= 0'}, got {x!r}")
    return float(x)


class SGD:
    """Gradient descent on a list of parameter Values, updating `.data` in place.

    For each parameter p with gradient g = p.grad (torch.optim.SGD, dampening 0):

        g ← g + weight_decay · p          (L2 decay folded into the gradient)
        v ← g on the first step, else v ← momentum · v + g
        p ← p − lr · v                    (v is g itself when momentum = 0)

    The parameters stay the same Value objects, so a model keeps using them.

    >>> from autobp import Value
    >>> w = Value(1.0); w.grad = 0.5
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step(); opt.step(); round(w.data, 6)    # 1 − 0.1·0.5 − 0.1·(0.9·0.5 + 0.5)
    0.855
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD: got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"SGD: parameters must be Values, got {type(p).__name__}: {p!r}")
        self.lr = _hyper("lr", lr, positive=True)
        self.momentum = _hyper("momentum", momentum)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.velocity: list[float] | None = None   # the momentum buffers, made on the first step

    def step(self) -> None:
        """One update of every parameter from its current `.grad`."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        with no_grad():
            if mu:
                first = self.velocity is None
                v = self.velocity = [0.0] * len(self.params) if self.velocity is None else self.velocity
                for i, p in enumerate(self.params):
                    g = p.grad + wd * p.data if wd else p.grad
                    v[i] = g if first else mu * v[i] + g
                    p.data -= lr * v[i]
            else:
                for p in self.params:
                    p.data -= lr * (p.grad + wd * p.data if wd else p.grad)
        for i, p in enumerate(self.params):
            if not math.isfinite(p.data):
                raise OverflowError(f"SGD.step: parameter {i}{f' {p.label!r}' if p.label else ''} became "
                                    f"{p.data!r} (gradient {p.grad!r}); lower the learning rate")

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0.0 before the next backward()."""
        for p in self.params:
            p.grad = 0.0
