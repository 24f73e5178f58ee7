"""autobp.optim.SGD against a hand computation of PyTorch's SGD formulas."""

from __future__ import annotations

import pytest

from autobp import Value
from autobp.nn import SGD


def _torch_sgd(p, grads, lr, momentum, weight_decay):
    """torch.optim.SGD's update written out (dampening 0, no nesterov), one list of grads per step."""
    p = list(p)
    buf = None
    for g in grads:
        d = [gi + weight_decay * pi for gi, pi in zip(g, p)]
        if momentum:
            buf = d if buf is None else [momentum * b + di for b, di in zip(buf, d)]
            d = buf
        p = [pi - lr * di for pi, di in zip(p, d)]
    return p


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.1), (0.5, 0.01)])
def test_sgd_matches_pytorch_formulas(momentum, weight_decay):
    start = [1.0, -2.0, 0.5]
    grads = [[0.3, -0.1, 2.0], [0.2, 0.4, -1.0], [-0.5, 0.0, 0.25]]
    params = [Value(x) for x in start]
    opt = SGD(params, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    ids = [id(p) for p in params]
    for g in grads:
        opt.zero_grad()
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
    assert [p.data for p in params] == pytest.approx(_torch_sgd(start, grads, 0.1, momentum, weight_decay),
                                                     rel=1e-15)
    assert [id(p) for p in params] == ids       # updated in place


def test_sgd_step_builds_no_graph_and_zero_grad_resets():
    w = Value(2.0)
    (w * w).backward()
    opt = SGD([w], lr=0.25)
    opt.step()
    assert w.data == 1.0 and w.op == "" and w.children == ()
    opt.zero_grad()
    assert w.grad == 0.0


@pytest.mark.parametrize("kwargs, match", [({"lr": 0}, "lr must be a finite number > 0"),
                                           ({"lr": 0.1, "momentum": -1}, "momentum"),
                                           ({"lr": 0.1, "weight_decay": float("nan")}, "weight_decay")])
def test_sgd_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD([Value(1.0)], **kwargs)


def test_sgd_rejects_an_empty_or_non_value_parameter_list():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="float"):
        SGD([1.0], lr=0.1)


def test_sgd_names_a_parameter_that_overflows():
    w = Value(1.0, "w")
    w.grad = 1e308
    with pytest.raises(OverflowError, match="parameter 0 'w' became"):
        SGD([w], lr=1e10).step()
