"""autobp.trace: a traced graph replayed on a batch equals the Value graph, sample by sample, and BP1–BP4.

Three independent computations meet here: the engine (one graph per sample,
backward()), the replay (one array operation per step), and the matrix
equations of `autobp.matrix` (no graph at all).  NumPy, PyTorch and Dask run
the same replay.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autobp import Value, grad
from autobp.datasets import one_hot
from autobp.matrix import backprop
from autobp.nn import MLP, cross_entropy_loss, hinge_loss, l2_penalty, mse_loss
from autobp.tape import Tape, TraceError, trace
from strategies import ARITHMETIC, programs, run
from together import run_together

BACKENDS = ["numpy", "torch", "dask"]


def as_backend(name: str, a: np.ndarray):
    """`a` as an array of the backend `name` (skipped when that library is not installed)."""
    if name == "torch":
        torch = pytest.importorskip("torch")
        return torch.asarray(a, dtype=torch.float64)
    if name == "dask":
        da = pytest.importorskip("dask.array")
        return da.from_array(a, chunks=(max(1, len(a) // 2), *a.shape[1:]))
    return a


def close(got, want, rel: float = 1e-12) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rel, atol=rel * scale)


# ---------------------------------------------------------------------------
# Random MLPs, activations, losses and batch sizes: replay == Value graph == BP1–BP4
# ---------------------------------------------------------------------------

ACTS = ["tanh", "sigmoid", "relu", "linear"]


@st.composite
def networks(draw):
    """(mlp, loss kind, X, Y): a small random MLP, a loss, and a batch for it."""
    nin = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["mse", "hinge", "cross_entropy"]))
    if kind == "hinge":
        widths[-1] = 1
    if kind == "cross_entropy":
        widths[-1] = max(widths[-1], 2)
    act = draw(st.sampled_from(ACTS[:3]))
    out_act = "linear" if kind != "mse" else draw(st.sampled_from(ACTS))
    mlp = MLP(nin, widths, activation=act, output_activation=out_act, seed=draw(st.integers(0, 10**6)))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    n = draw(st.integers(1, 7))
    X = rng.normal(size=(n, nin))
    if kind == "mse":
        Y = rng.normal(size=(n, widths[-1]))
    elif kind == "hinge":
        Y = rng.choice([-1.0, 1.0], size=n)
    else:
        Y = one_hot(rng.integers(0, widths[-1], size=n), widths[-1])
    return mlp, kind, X, Y


def sample_loss(mlp: MLP, kind: str):
    """The per-sample loss C_x(x, y), written with the library's losses (y traced too)."""
    def outputs(x):
        out = mlp(x)
        return out if isinstance(out, list) else [out]

    if kind == "mse":
        return lambda x, y: mse_loss([outputs(x)], [y])
    if kind == "hinge":
        return lambda x, y: hinge_loss([mlp(x)], [y])
    # cross-entropy with a one-hot y: −Σ_i y_i log softmax(z)_i = Σ_i y_i · C(z, i)
    return lambda x, y: sum(yi * cross_entropy_loss(outputs(x), i) for i, yi in enumerate(y))


def traced_loss(mlp: MLP, kind: str, X: np.ndarray, Y: np.ndarray):
    """(the per-sample loss, its tape), traced at examples shaped like one sample of X and Y."""
    f = sample_loss(mlp, kind)
    return f, trace(f, [0.0] * X.shape[1], [0.0] * Y.shape[1] if Y.ndim == 2 else 0.0)


def engine_mean(mlp, kind, X, Y):
    """The mean loss over the batch as one Value graph, and every parameter's gradient by backward()."""
    f = sample_loss(mlp, kind)
    mlp.zero_grad()
    loss = sum(f(list(x), y.tolist() if np.ndim(y) else float(y)) for x, y in zip(X, Y)) * (1.0 / len(X))
    loss.backward()
    return loss.data, [p.grad for p in mlp.parameters()]


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=12)
@given(net=networks())
def test_replay_equals_value_graph_and_bp_equations(backend, net):
    mlp, kind, X, Y = net
    f, tape = traced_loss(mlp, kind, X, Y)
    per_sample = [f(list(x), y.tolist() if Y.ndim == 2 else float(y)).data for x, y in zip(X, Y)]
    Xb, Yb = as_backend(backend, X), as_backend(backend, Y)
    close(np.asarray(tape(Xb, Yb)), per_sample)

    mean, engine = engine_mean(mlp, kind, X, Y)
    mlp.zero_grad()
    out = tape.backward(Xb, Yb, reduce="mean")
    close(np.mean(np.asarray(out)), mean)
    close([p.grad for p in mlp.parameters()], engine)
    if kind in ("mse", "cross_entropy"):                 # BP1–BP4, no graph at all
        weights, biases = mlp.to_numpy()
        nabla_w, nabla_b, _ = backprop(weights, biases, X, Y, mlp.activation, mlp.output_activation, kind)
        by_formulas = [g for w, b in zip(nabla_w, nabla_b) for j in range(len(b)) for g in (*w[j], b[j])]
        close([p.grad for p in mlp.parameters()], by_formulas, rel=1e-10)


@settings(max_examples=25)
@given(net=networks())
def test_one_sample_replayed_equals_backward_and_a_batch_equals_the_loop(net):
    mlp, kind, X, Y = net
    f, tape = traced_loss(mlp, kind, X, Y)
    loop = []
    for i in range(len(X)):
        mlp.zero_grad()
        tape.backward(X[i:i + 1], Y[i:i + 1], reduce="sum")
        replayed = [p.grad for p in mlp.parameters()]
        _, engine = engine_mean(mlp, kind, X[i:i + 1], Y[i:i + 1])
        close(replayed, engine)
        loop.append(engine)
    mlp.zero_grad()
    tape.backward(X, Y, reduce="sum")
    close([p.grad for p in mlp.parameters()], np.sum(loop, axis=0))


@settings(max_examples=25)
@given(net=networks())
def test_grad_gives_per_sample_gradients_with_respect_to_the_inputs(net):
    mlp, kind, X, Y = net
    f, tape = traced_loss(mlp, kind, X, Y)
    gx, gy = tape.grad(X, Y)
    for i, (x, y) in enumerate(zip(X, Y)):
        xs = [Value(v) for v in x]
        ys = [Value(v) for v in y] if Y.ndim == 2 else Value(float(y))
        want = grad(f(xs, ys), xs + (ys if Y.ndim == 2 else [ys]))
        close([*gx[i], *(gy[i] if Y.ndim == 2 else [gy[i]])], [g.data for g in want])


AUTOBP = {**ARITHMETIC, **{name: (lambda name: lambda x: getattr(x, name)())(name)
                           for name in ("exp", "log", "tanh", "sigmoid", "relu", "abs", "sqrt", "softplus")}}


def _sum(*xs):
    from autobp.engine import apply
    from autobp.ops import SUM
    return apply(SUM, *xs)


@settings(max_examples=60)
@given(program=programs(), data=st.data())
def test_random_dags_replay_like_the_engine(program, data):
    """Every op of the table, reuse, constants on either side: values and input gradients sample by sample.

    1e-9 relative: NumPy's exp/log/tanh may differ from the C library's by an ulp, and a random DAG
    can amplify that (cancellations); an MLP agrees to 1e-12 (above).
    """
    backend = {**AUTOBP, "sum": _sum}

    def f(xs):
        return run(program, xs, backend)[-1]

    tape = trace(f, list(program.inputs))
    shifts = data.draw(st.lists(st.floats(-1e-3, 1e-3), min_size=3 * len(program.inputs),
                                max_size=3 * len(program.inputs)))
    X = np.array(program.inputs) + np.reshape(shifts, (3, len(program.inputs)))
    values = tape(X)
    (gx,) = tape.grad(X)
    for i, x in enumerate(X):
        xs = [Value(v) for v in x]
        out = f(xs)
        want = [g.data for g in grad(out, xs)] if out.op else [float(v is out) for v in xs]
        close(values[i], out.data, rel=1e-9)
        close(gx[i], want, rel=1e-9)


# ---------------------------------------------------------------------------
# Parameters, invariant parts, reduce, outputs
# ---------------------------------------------------------------------------

def test_parameters_are_read_afresh_so_an_optimizer_step_is_seen():
    w = Value(2.0, "w")
    tape = trace(lambda x: w * x, 0.0)
    assert tape(np.array([1.0, 3.0])).tolist() == [2.0, 6.0]
    w.data = -1.0
    assert tape(np.array([1.0, 3.0])).tolist() == [-1.0, -3.0]
    assert tape.parameters == [w]


def test_a_computed_value_fn_captured_is_replayed_from_its_leaves():
    """w2 = w·w was made before the trace: the tape reads the graph behind it, so w is the parameter."""
    w = Value(2.0, "w")
    w2 = w * w
    tape = trace(lambda x: w2 * x + w, 0.0)
    assert tape.parameters == [w]
    w.data = 3.0
    assert tape(np.array([1.0, 2.0])).tolist() == [12.0, 21.0]
    tape.backward(np.array([1.0, 2.0]), reduce="sum")
    assert w.grad == (2 * 3.0 * 1 + 1) + (2 * 3.0 * 2 + 1)


def test_a_trace_keeps_a_flat_tape_and_groups_it_at_the_first_replay():
    """trace records; the plan (operation batching) is built at the first use, as jax.jit compiles at the first
    call, and the graph fn built is not kept: nothing reachable from the tape is a traced value."""
    import gc
    import types

    from autobp.placeholders import _Placeholder

    mlp = MLP(3, [4, 1], seed=0)
    tape = trace(lambda x, y: mse_loss([mlp(x)], [[y]]), [0.1, 0.2, 0.3], 0.5)
    assert tape._plan is None
    seen, todo = set(), [tape]
    while todo:                                 # what the tape holds (classes and modules are not its data)
        obj = todo.pop()
        if id(obj) not in seen and not isinstance(obj, (type, types.ModuleType)):
            seen.add(id(obj))
            assert not isinstance(obj, _Placeholder)
            todo.extend(gc.get_referents(obj))
    assert len(tape.parameters) == len(set(tape.parameters)) and set(tape.parameters) == set(mlp.parameters())
    X, Y = np.array([[1.0, -2.0, 0.5], [0.0, 0.3, -1.0]]), np.array([0.25, -0.5])
    assert tape(X, Y).tolist() == [mse_loss([mlp(x)], [[y]]).data for x, y in zip(X.tolist(), Y.tolist())]
    assert tape._plan is not None and tape._recording is None


def test_threads_that_first_use_a_tape_together_share_one_plan(monkeypatch):
    """The plan is built once; the other threads wait for it (the recording is dropped once it is built)."""
    import time

    from autobp import batching

    built = []

    def slow_build(*args):
        built.append(1)
        time.sleep(0.05)                          # wide enough for every thread to ask meanwhile
        return build(*args)

    build = batching.build
    monkeypatch.setattr(batching, "build", slow_build)
    w = Value(2.0, "w")
    tape = trace(lambda x: (w * x).tanh(), 0.0)
    X = np.array([0.5, -1.0])
    results: list[list[float]] = []
    errors = run_together(lambda: results.append(tape(X).tolist()), 4)
    assert errors == [] and built == [1] and results == [[np.tanh(1.0), np.tanh(-2.0)]] * 4


def test_what_fn_computes_and_drops_is_not_on_the_tape():
    """Nodes no output depends on (and the parameters and constants only they read) are left out."""
    w, unused = Value(2.0, "w"), Value(5.0, "unused")

    def f(x):
        (unused * x + 7.5).tanh()                   # computed, then dropped
        return w * x

    tape = trace(f, 0.0)
    assert tape.parameters == [w] and tape.plan.constants.size == 0
    assert repr(tape) == "<Tape: 1 inputs, 1 parameters, 1 operations in 1 steps>"
    assert tape(np.array([1.5])).tolist() == [3.0]


def test_a_part_shared_by_the_batch_is_computed_once_and_its_gradient_summed():
    """An L2 penalty inside the per-sample loss: the mean over the batch counts it once."""
    mlp = MLP(2, [3, 1], seed=1)
    params = mlp.parameters()
    tape = trace(lambda x: mlp(x) * mlp(x) + l2_penalty(params, 0.1), [0.0, 0.0])
    X = np.array([[0.5, -1.0], [1.0, 2.0], [0.0, 0.3]])
    mlp.zero_grad()
    tape.backward(X, reduce="mean")
    replayed = [p.grad for p in params]
    mlp.zero_grad()
    total = sum(mlp(list(x)) * mlp(list(x)) for x in X) * (1 / 3) + l2_penalty(params, 0.1)
    total.backward()
    close(replayed, [p.grad for p in params])
    assert "sum" in tape.schedule()


def test_reduce_sum_is_the_batch_size_times_mean():
    w = Value(0.5)
    tape = trace(lambda x: (w * x).tanh(), 0.0)
    X = np.array([0.1, 0.2, 0.3, 0.4])
    tape.backward(X, reduce="mean")
    mean = w.grad
    w.grad = 0.0
    tape.backward(X, reduce="sum")
    assert w.grad == pytest.approx(4 * mean, rel=1e-15)
    with pytest.raises(ValueError, match="reduce must be 'mean' or 'sum'"):
        tape.backward(X, reduce="max")


def test_a_list_of_outputs_comes_back_as_columns_and_backward_needs_one():
    mlp = MLP(3, [4, 2], seed=0)
    tape = trace(lambda x: mlp(x), [0.0, 0.0, 0.0])
    X = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    close(tape(X), [[v.data for v in mlp(list(x))] for x in X])
    with pytest.raises(ValueError, match="a single Value per sample"):
        tape.backward(X)


def test_user_defined_ops_replay_through_the_engine():
    from autobp import define_op
    cube = define_op("tape_cube", lambda x: x ** 3, lambda out, x: (3 * x * x,), ["3*x^2"])
    w = Value(1.5)
    tape = trace(lambda x: cube(w * x), 0.0)
    X = np.array([0.5, -1.0, 2.0])
    close(tape(X), [(1.5 * x) ** 3 for x in X])
    tape.backward(X, reduce="sum")
    close(w.grad, sum(3 * (1.5 * x) ** 2 * x for x in X))


# ---------------------------------------------------------------------------
# The schedule reads as the matrix form
# ---------------------------------------------------------------------------

def test_schedule_of_an_mlp_names_the_matrix_form_and_bp1_to_bp4():
    mlp = MLP(2, [16, 16, 1], activation="relu", seed=0)
    text = trace(lambda x, y: hinge_loss([mlp(x)], [y]), [0.0, 0.0], 1.0).schedule()
    lines = text.splitlines()
    forward = lines[:lines.index("")]
    assert [line.split()[1:3] for line in forward[3:9]] == [
        ["*", "32"], ["sum", "16"], ["relu", "16"], ["*", "256"], ["sum", "16"], ["relu", "16"]]
    for piece in ["z^0 = W^0 x + b^0", "W^0 is 16×2", "a^0 = relu(z^0)", "z^1 = W^1 a^0 + b^1",
                  "w[1][0,0] … w[1][15,15] · a^0", "z^2 = W^2 a^1 + b^2"]:
        assert piece in text
    backward = "\n".join(lines[lines.index(""):])
    for piece in ["BP1", "δ^1 = ∂C/∂a^1 ⊙ relu'(z^1)   BP2", "∂C/∂b^0 = δ^0   BP3", "∂C/∂W^0 = δ^0 xᵀ   BP4",
                  "∂C/∂a^0 = (W^1)ᵀ δ^1"]:
        assert piece in backward
    assert "∂C/∂x" not in backward.replace("∂C/∂x +", "")      # no gradient flows into the inputs


# ---------------------------------------------------------------------------
# Honest limits: branches while tracing, bad batches, non-finite numbers
# ---------------------------------------------------------------------------

def _branch_on_truth(x):
    if x:                                      # the line the error must name
        return x * 2
    return x


def _branch_on_data(x):
    return x * 2 if x.data > 0 else x * 3      # the line the error must name


def _branch_on_comparison(x):
    return max(x, 0.0)                         # the line the error must name


_W = Value(-1.5)


def _branch_on_a_computed_value(x):
    h = (_W * x).tanh()                        # a parameter times an input: still a traced value
    return h * 2 if h.data > 0 else h          # the line the error must name


def _branch_on_equality(x):
    return x * 2.0 if x == 1.0 else x          # the line the error must name


def _branch_on_inequality(x):
    return x * 2.0 if x != 1.0 else x          # the line the error must name


def _branch_on_membership(x):
    return x * 2.0 if x in (1.0, 2.0) else x * 3.0      # the line the error must name


def _convert_to_float(x):
    return x * float(x)                        # the line the error must name


def _round_it(x):
    return x * round(x)                        # the line the error must name


@pytest.mark.parametrize("fn, what, line", [
    (_convert_to_float, "converts to a number", "float(x)"),
    (_round_it, "converts to a number", "round(x)"),
    (_branch_on_equality, "compares", "x == 1.0"),
    (_branch_on_inequality, "compares", "x != 1.0"),
    (_branch_on_membership, "compares", "x in (1.0, 2.0)"),
    (_branch_on_truth, "tests the truth of", "if x:"),
    (_branch_on_a_computed_value, "reads .data of", "h.data > 0"),
    (_branch_on_data, "reads .data of", "x.data > 0"),
    (_branch_on_comparison, "compares", "max(x, 0.0)"),
])
def test_branching_on_a_traced_input_fails_while_tracing_naming_the_line(fn, what, line):
    with pytest.raises(TraceError) as info:
        trace(fn, 1.0)
    message = str(info.value)
    assert what in message and line in message and "test_tape.py" in message


def test_trace_refuses_bad_examples_and_outputs():
    with pytest.raises(TypeError, match="example x must be a number or a list of numbers, got str"):
        trace(lambda x: x, "3")
    with pytest.raises(TypeError, match=r"example x\[1\] must be a number"):
        trace(lambda x: x[0], [1.0, None])
    with pytest.raises(TypeError, match="must return a Value or a non-empty list of Values"):
        trace(lambda x: 3.0, 1.0)


@pytest.mark.parametrize("examples, match", [
    (([0.5, float("nan")], 1.0), r"trace: example x\[1\] must be a finite number, got nan"),
    ((float("inf"), 1.0), r"trace: example x must be a finite number, got inf"),
    (([0.5], [2, float("-inf")]), r"trace: example y\[1\] must be a finite number, got -inf"),
    (([0.5], 10 ** 400), r"trace: example y must be a finite number, got 1000"),
])
def test_a_non_finite_example_is_named(examples, match):
    with pytest.raises(ValueError, match=match):
        trace(lambda x, y: x[0] * y if isinstance(x, list) else x * y, *examples)


@pytest.fixture
def small_tape() -> Tape:
    w = Value(0.5)
    return trace(lambda x, y: (w * x[0] + x[1] - y).tanh(), [0.0, 0.0], 0.0)


@pytest.mark.parametrize("args, error, match", [
    ((np.zeros((3, 2)),), TypeError, r"takes 2 batched argument\(s\) \(x \(batch, 2\), y \(batch,\)\), got 1"),
    ((np.zeros((3, 3)), np.zeros(3)), ValueError, r"argument 'x' must have shape \(batch, 2\).*got \(3, 3\)"),
    ((np.zeros((3, 2)), np.zeros((3, 1))), ValueError, r"argument 'y' must have shape \(batch,\)"),
    ((np.zeros((3, 2)), np.zeros(4)), ValueError, "argument 'y' has 4 samples, the first argument 3"),
    ((np.array([[0.0, 1.0], [np.nan, 0.0]]), np.zeros(2)), ValueError,
     "argument 'x' has a non-finite number at sample 1, position 0: nan"),
    ((np.zeros((2, 2)), np.array([0.0, np.inf])), ValueError, "argument 'y' has a non-finite number at sample 1: inf"),
    ((np.zeros((2, 2)), ["a", "b"]), TypeError, "argument 'y' must be an array"),
    ((np.zeros((0, 2)), np.zeros(0)), ValueError, r"the batch is empty \(argument 'x' has 0 samples\)"),
])
def test_bad_batches_raise_clear_errors_naming_the_argument(small_tape, args, error, match):
    with pytest.raises(error, match=match):
        small_tape(*args)


def test_a_domain_error_in_one_sample_is_the_engines_error_naming_the_sample():
    w = Value(1.0, "w")
    tape = trace(lambda x: (w * x).log(), 1.0)
    with pytest.raises(ValueError, match=r"log: input must be > 0, got -2.0 \(sample 2 of the batch"):
        tape(np.array([1.0, 3.0, -2.0]))
    tape2 = trace(lambda x: (w * x).exp().tanh(), 1.0)      # exp overflows, tanh would hide it as 1.0
    with pytest.raises(OverflowError, match=r"exp: .*too large.*sample 1"):
        tape2(np.array([1.0, 1000.0]))


@pytest.mark.parametrize("base, exponent, error, message", [
    (-2.0, 3.0, ValueError, "with a Value exponent the base must be > 0"),
    (0.0, 2.0, ValueError, "with a Value exponent the base must be > 0"),
])
def test_a_power_with_a_traced_exponent_raises_the_engines_domain_error(base, exponent, error, message):
    tape = trace(lambda x, y: x ** y, 2.0, 3.0)
    with pytest.raises(error, match=message):
        (Value(base) ** Value(exponent))
    with pytest.raises(error, match=f"{message}.*sample 0 of the batch"):
        tape(np.array([base]), np.array([exponent]))


def test_a_power_with_a_number_exponent_raises_the_engines_error_not_the_value_exponents():
    tape = trace(lambda x: x ** 0.5, 4.0)
    with pytest.raises(ZeroDivisionError, match=r"backward through '\*\*'.*0.0 \*\* -0.5 divides by zero"
                                                 r".*sample 0 of the batch"):
        tape.grad(np.array([0.0]))
    with pytest.raises(ValueError, match=r"-4.0 \*\* 0.5 is undefined.*sample 0 of the batch"):
        tape(np.array([-4.0]))


def test_a_gradient_that_overflows_is_an_error_not_a_nan():
    w = Value(1.0)
    tape = trace(lambda x: (w * x).sqrt(), 1.0)
    with pytest.raises(ZeroDivisionError, match=r"backward through 'sqrt'.*sample 1"):
        tape.backward(np.array([4.0, 0.0]))


def test_trace_inside_no_grad_is_refused():
    from autobp import no_grad
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        trace(lambda x: x * 2, 1.0)


# ---------------------------------------------------------------------------
# Dask: a batch chunked along the batch axis, evaluated by a LocalCluster's workers
# ---------------------------------------------------------------------------

@pytest.mark.slow
def test_dask_distributed_local_cluster_gives_numpys_gradients():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    mlp = MLP(8, [6, 3], activation="tanh", seed=2)
    f = sample_loss(mlp, "mse")
    tape = trace(f, [0.0] * 8, [0.0] * 3)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(64, 8)), rng.normal(size=(64, 3))
    mlp.zero_grad()
    tape.backward(X, Y)
    by_numpy = [p.grad for p in mlp.parameters()]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        Xd, Yd = da.from_array(X, chunks=(16, 8)), da.from_array(Y, chunks=(16, 3))
        mlp.zero_grad()
        out = tape.backward(Xd, Yd)
        assert isinstance(out, da.Array) and out.chunks[0] == (16, 16, 16, 16)
        close([p.grad for p in mlp.parameters()], by_numpy)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_and_input_gradients_come_back_in_the_callers_library(backend):
    mlp = MLP(3, [4, 1], activation="tanh", seed=5)
    tape = trace(lambda x: mlp(x), [0.0, 0.0, 0.0])
    X = np.random.default_rng(5).normal(size=(6, 3))
    Xb = as_backend(backend, X)
    out, (gx,) = tape(Xb), tape.grad(Xb)
    assert type(out) is type(Xb) and type(gx) is type(Xb)
    close(np.asarray(out), [mlp(list(x)).data for x in X])
    for i, x in enumerate(X):
        xs = [Value(v) for v in x]
        close(np.asarray(gx)[i], [g.data for g in grad(mlp(xs), xs)])


def test_sums_of_fewer_than_8_terms_and_elementwise_steps_are_the_engines_floats():
    """NumPy adds fewer than 8 terms left to right, like the n-ary sum; from 8 on it sums pairwise (1e-16 apart)."""
    from autobp.engine import apply
    from autobp.ops import SUM
    rng = np.random.default_rng(0)
    w = Value(0.3)
    for k in range(1, 6):                      # k products, w and x[0]: k + 2 terms
        tape = trace(lambda x: apply(SUM, *[x[i] * x[(i + 1) % k] - x[i] / 3.0 for i in range(k)], w, x[0]),
                     [0.0] * k)
        X = rng.normal(size=(50, k)) * 10.0 ** rng.integers(-5, 5, size=(50, k))
        engine = [apply(SUM, *[Value(x[i]) * x[(i + 1) % k] - x[i] / 3.0 for i in range(k)], w, x[0]).data
                  for x in X]
        assert tape(X).tolist() == engine


def _positional(a, b, /, c, *args, d=1, **kw):
    return a


class _Callable:
    def method(self, p, q):
        return p

    def __call__(self, u, v):
        return u


def test_argument_names_read_from_the_code_are_those_inspect_gives():
    """trace names a batch's arguments after fn's parameters; a plain function's are read from its code."""
    import functools
    import inspect

    from autobp.tape import _arg_names

    @functools.wraps(_positional)
    def wrapped(*args, **kwargs):
        return _positional(*args, **kwargs)

    def by_inspect(fn, n):
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return [names[i] if i < len(names) else f"arg{i}" for i in range(n)]

    for fn in (_positional, lambda x, y=2.0: x, _Callable().method, _Callable(), wrapped,
               functools.partial(_positional, 1.0), lambda *xs: xs[0]):
        assert _arg_names(fn, 4) == by_inspect(fn, 4)
    assert _arg_names(_positional, 4) == ["a", "b", "c", "arg3"]
    assert _arg_names(max, 2) == ["arg0", "arg1"]                   # no signature to read


def test_tape_and_trace_error_are_importable_from_autobp():
    import autobp
    from autobp.tape import Tape, TraceError
    assert autobp.Tape is Tape and autobp.TraceError is TraceError
    assert {"trace", "Tape", "TraceError"} <= set(autobp.__all__)


def test_a_list_output_is_named_as_such_by_the_gradient_methods():
    tape = trace(lambda x: [x * 2.0], 1.0)
    for call, name in ((tape.grad, "grad"), (tape.backward, "backward"), (tape.value_and_grad, "value_and_grad")):
        with pytest.raises(ValueError, match=f"tape.{name} needs fn to return a single Value.*a list of 1 Value$"):
            call(np.array([1.0, 2.0]))


def test_value_and_grad_with_params_of_the_wrong_length_names_them():
    w = Value(2.0)
    tape = trace(lambda x: w * x, 1.0)
    with pytest.raises(ValueError, match="params has 2 numbers for the tape's 1 parameters"):
        tape.value_and_grad(np.array([1.0]), params=[1.0, 2.0])


def test_placeholders_still_work_as_dict_keys_and_compare_to_values_by_identity():
    seen = {}

    def fn(x):
        y = x * 2.0
        seen[y] = 1                                 # hashing and dict lookups among Values stay allowed
        assert y in seen and (y == y) and not (y == x) and y != x
        return y

    assert np.asarray(trace(fn, 1.0)(np.array([3.0]))).tolist() == [6.0]


def test_a_captured_computed_value_is_recomputed_from_its_leaves_as_the_readme_says():
    p = Value(3.0, "p")
    q = p * 2.0
    tape = trace(lambda x: x * q, 1.0)
    p.data = 5.0
    assert np.asarray(tape(np.array([1.0]))).tolist() == [10.0]     # q recomputed from p: 5 · 2
    assert q.data == 6.0                                           # the Value q keeps its old number
    tape.backward(np.array([1.0]))
    assert (p.grad, q.grad) == (2.0, 0.0)
