"""Code a user writes against autobp, for a type checker: tests/test_typing.py runs mypy (strict) on it.

Each `assert_type(expr, T)` is an error for mypy unless expr's type is exactly T (an `Any`, say, where
autobp should give a Value), and a no-op when Python runs it; test_typing also runs `use_everything()`,
so every line here is real, working usage.  Not collected by pytest (no test_ prefix).
"""

# mypy: disallow-any-generics, disallow-subclassing-any, disallow-untyped-calls, disallow-untyped-defs
# mypy: disallow-incomplete-defs, check-untyped-defs, disallow-untyped-decorators, warn-unused-ignores
# mypy: warn-return-any, no-implicit-reexport, strict-equality, extra-checks

from __future__ import annotations

from typing import Callable, assert_type

import numpy as np

from autobp import Value, define_op, grad, hessian, hvp, jacobian, jvp, no_grad, trace, vjp
from autobp.engine import is_grad_enabled
from autobp.explain import BackwardTrace, ForwardTrace, backward_steps, explain, forward_steps
from autobp.gradcheck import GradcheckReport, gradcheck
from autobp.nn import MLP, SGD, Module, cross_entropy_loss, hinge_loss, l2_penalty, mse_loss
from autobp.train import History, fit, predict
from autobp.viz import draw_dot, render


def arithmetic() -> tuple[Value, Value, Value]:
    """Values with ints and floats on either side of every operator, and the elementwise methods."""
    a, b = Value(2.0, "a"), Value(-3, "b")
    for v in (a + 1, 1 + a, a + 1.5, 1.5 + a, a + b,
              a - 1, 1 - a, a - 0.5, 0.5 - a, a - b,
              a * 2, 2 * a, a * 0.5, 0.5 * a, a * b,
              a / 2, 2 / a, a / 0.5, 0.5 / a, a / b,
              a ** 2, 2 ** a, a ** 0.5, 0.5 ** a, a ** b,
              -a, abs(b), b.abs(), a.exp(), a.log(), a.tanh(), a.sigmoid(), b.relu(), a.sqrt(), a.softplus()):
        assert_type(v, Value)
    total = sum([a * a, b * b, a * b], Value(0.0))
    assert_type(total, Value)
    c = (a * b + 1).tanh()
    c.label = "c"
    c.backward()
    assert_type(c.data, float)
    assert_type(a.grad, float)
    assert_type(c.op, str)
    assert_type(c.children, tuple[Value, ...])
    assert_type(c.operands, tuple[Value | float, ...])
    return a, b, c


def gradients(a: Value, b: Value, c: Value) -> None:
    assert_type(grad(c, [a, b]), list[Value])
    (dc_da,) = grad(c, a, create_graph=True)
    assert_type(grad(dc_da, [a])[0].data, float)
    with no_grad():
        assert_type(is_grad_enabled(), bool)
        assert (a * 2).op == ""
    cube = define_op("cube", lambda x: x ** 3, lambda out, x: (3 * x ** 2,), ["3*x^2"])
    assert_type(cube(a), Value)
    assert_type(cube(2.0), Value)


def forward_mode() -> None:
    def f(x: Value, y: Value) -> Value:
        return x * y + x.exp()

    def g(x: Value, y: Value) -> list[Value]:
        return [x * y, x + y]

    out, t = jvp(f, [1.0, 2], [1.0, 0.0])
    assert_type(out, Value)
    assert_type(t, Value)
    outs, ts = jvp(g, [1.0, 2.0], [1, 0])
    assert_type(outs, list[Value])
    assert_type(ts, list[Value])
    y, pullback = vjp(f, [3.0, 4.0])
    assert_type(pullback(1.0), list[Value])
    ys, pullback_many = vjp(g, [3.0, 4.0])
    assert_type(pullback_many([1.0, 10.0]), list[Value])
    assert_type(hvp(f, [3.0, 2.0], [1.0, 0.0]), list[Value])
    assert_type(hessian(f, [3.0, 2.0]), list[list[Value]])
    assert_type(jacobian(g, [3.0, 4.0], mode="forward"), list[list[Value]])


def networks() -> MLP:
    mlp = MLP(2, [4, 1], activation="relu", seed=0)
    xs: list[list[float]] = [[2.0, 3.0], [1.0, -1.0], [0.5, 1.0]]
    ys = [1.0, -1.0, 1.0]
    out = mlp(xs[0])
    assert_type(out, Value | list[Value])      # one Value for one output neuron, else a list
    assert isinstance(out, Value)
    assert_type(out, Value)
    mlp(np.array([0.5, -0.5]))                  # a row of an array is an input too
    mlp([Value(1.0), 2])
    opt = SGD(mlp.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        scores = [mlp(x) for x in xs]
        loss = hinge_loss(scores, ys) + l2_penalty(mlp.parameters(), 1e-4)
        assert_type(loss, Value)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert_type(mse_loss(scores, ys), Value)
    assert_type(cross_entropy_loss([Value(1.0), Value(-1.0)], 0), Value)
    module: Module = mlp
    module.zero_grad()
    weights, biases = mlp.to_numpy()
    assert_type(MLP.from_numpy(weights, biases, activation="relu"), MLP)
    return mlp


def training() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = [0, 1, 1, 0]

    def make(seed: int) -> MLP:
        return MLP(2, [3, 1], output_activation="sigmoid", seed=seed)

    net, history = fit(make(0), X, y, epochs=2)
    assert_type(net, MLP)
    assert_type(history, History)
    best, _ = fit(make, X.tolist(), y, epochs=2, restarts=2, traced=True)
    assert_type(best, MLP)
    assert_type(predict(best, X), np.ndarray)


def tools(a: Value, c: Value, mlp: MLP) -> None:
    assert_type(explain(c, a), str)
    steps = backward_steps(c)
    assert_type(steps, BackwardTrace)
    assert_type(steps.rows[0].node_name, str)
    assert_type(forward_steps(c, a), ForwardTrace)
    report = gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.0])
    assert_type(report, GradcheckReport)
    assert report.passed
    dot = draw_dot(c)
    assert "digraph" in dot.source
    assert_type(render(c, format="dot"), str | bytes)
    score: Callable[[list[Value]], Value | list[Value]] = mlp
    tape = trace(score, [0.0, 0.0])
    assert tape(np.zeros((5, 2))).shape == (5,)
    assert_type(tape.schedule(), str)


def use_everything() -> None:
    a, b, c = arithmetic()
    gradients(a, b, c)
    forward_mode()
    mlp = networks()
    training()
    tools(a, c, mlp)
