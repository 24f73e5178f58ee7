"""micrograd's code and notebooks run on micrograd 0.1.0 and on autobp.micrograd: every printed number compared.

The flows are in tests/micrograd_flows.py.  Where autobp cannot be
bit-identical, the tolerance says why:

- a gradient is a sum over paths, and the two engines add the paths in
  different orders (micrograd's order even changes from run to run: it
  walks Python sets of nodes hashed by address), so gradients agree to a
  few units in the last place, and training runs, which feed them back, to
  ~1e-12 relative;
- tanh: the first lecture computes (e^2x − 1)/(e^2x + 1), autobp `math.tanh`.

Every flow runs live on both APIs; the two long ones (the demo's 100 steps
and the LLM101n script's) also run in full against micrograd's own run,
recorded in tests/golden/micrograd_runs.json, because micrograd takes
minutes for them.
"""

from __future__ import annotations

import gc
import json
import math
import random
from numbers import Number
from pathlib import Path

import pytest

import autobp.micrograd as ours
from autobp.micrograd import trace
from micrograd_flows import (flow_demo, flow_lecture_first_half, flow_lecture_second_half, flow_llm101n,
                             flow_test_file, flow_trace_notebook, yin_yang, XorShiftRNG)
from micrograd_reference import MICROGRAD, lecture_additions, lecture_trace

GOLDEN = Path(__file__).resolve().parent / "golden"
GRADIENT_SUMS = 1e-13      # the same sums of path products, added in another order
TRAINING = 1e-12           # ... fed back through 20-100 steps of training


def assert_same_rows(theirs, mine, rel: float = 0.0) -> None:
    """Same rows in the same order; numbers equal (or within `rel`), strings and booleans identical."""
    assert [what for what, _ in mine] == [what for what, _ in theirs]
    for (what, a), (_, b) in zip(theirs, mine):
        _assert_same(what, a, b, rel)


def _assert_same(what: str, a, b, rel: float) -> None:
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), what
        for x, y in zip(a, b):
            _assert_same(what, x, y, rel)
    elif isinstance(a, Number) and not isinstance(a, bool):
        assert isinstance(b, Number) and not isinstance(b, bool), what
        assert b == pytest.approx(a, rel=rel, abs=rel), f"{what}: micrograd {a!r}, autobp {b!r}"
    else:
        assert b == a, f"{what}: micrograd {a!r}, autobp {b!r}"


# ---------------------------------------------------------------------------
# micrograd's test file
# ---------------------------------------------------------------------------

def test_micrograd_test_file_same_values_and_gradients():
    theirs, mine = flow_test_file(MICROGRAD), flow_test_file(ours)
    assert_same_rows(theirs, mine, rel=GRADIENT_SUMS)
    assert dict(mine)["sanity y"] == dict(theirs)["sanity y"] and dict(mine)["more_ops g"] == dict(theirs)["more_ops g"]


def test_micrograd_test_file_against_hips_autograd():
    """The second oracle micrograd's tests use PyTorch for; here HIPS autograd (float64), on the same expressions."""
    anp = pytest.importorskip("autograd.numpy")
    from autograd import grad as agrad

    def sanity(x):
        z = 2 * x + 2 + x
        q = anp.maximum(z, 0) + z * x
        h = anp.maximum(z * z, 0)
        return h + q + q * x

    def more_ops(a, b):
        c = a + b
        d = a * b + b ** 3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + anp.maximum(b + a, 0)
        d = d + 3 * d + anp.maximum(b - a, 0)
        f = (c - d) ** 2
        return f / 2.0 + 10.0 / f

    rows = dict(flow_test_file(ours))
    assert rows["sanity y"] == sanity(-4.0) and rows["sanity dy/dx"] == agrad(sanity)(-4.0)
    assert rows["more_ops g"] == pytest.approx(more_ops(-4.0, 2.0), rel=1e-14)
    assert rows["more_ops dg/da"] == pytest.approx(agrad(more_ops, 0)(-4.0, 2.0), rel=1e-12)
    assert rows["more_ops dg/db"] == pytest.approx(agrad(more_ops, 1)(-4.0, 2.0), rel=1e-12)


# ---------------------------------------------------------------------------
# demo.ipynb
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moons():
    """The notebook's data: make_moons(100, noise=0.1) after seeding NumPy with 1337; y in {-1, 1}."""
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    np.random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    return X, y * 2 - 1


def _demo(mg, moons, steps, boundary=False):
    random.seed(1337)
    return flow_demo(mg, *moons, steps=steps, boundary=boundary)


def test_micrograd_demo_first_steps_print_micrograd_numbers(moons):
    theirs, mine = _demo(MICROGRAD, moons, 2), _demo(ours, moons, 2)
    assert_same_rows(theirs, mine, rel=TRAINING)
    shown = dict(mine)
    assert shown["first loss, printed"] == "Value(data=0.8958441028683222, grad=0)"    # as the notebook prints
    assert shown["number of parameters"] == 337 and shown["step 0 accuracy %"] == 50.0


@pytest.fixture(scope="module")
def recorded():
    """micrograd's own runs of the long flows, recorded by tests/golden/regenerate_micrograd.py."""
    record = json.loads((GOLDEN / "micrograd_runs.json").read_text(encoding="utf-8"))
    assert record["engine"] == "micrograd 0.1.0"
    return record


@pytest.fixture
def collector_paused():
    """Pause Python's cyclic garbage collector for a long autobp.micrograd run (3× faster, same numbers).

    A micrograd Value has a __dict__, so the collector keeps scanning the
    graph; but the graph has no cycles, so reference counting alone frees
    every step's graph.  (Never around a micrograd run: its closures make cycles.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.slow
def test_micrograd_demo_all_100_steps_and_the_decision_boundary(recorded, collector_paused):
    np = pytest.importorskip("numpy")
    demo = recorded["demo"]
    random.seed(1337)
    mine = flow_demo(ours, np.array(demo["X"]), np.array(demo["y"]), steps=100, boundary=True)
    assert_same_rows([tuple(row) for row in demo["rows"]], mine, rel=TRAINING)
    assert dict(mine)["step 99 accuracy %"] == 100.0


# ---------------------------------------------------------------------------
# trace_graph.ipynb
# ---------------------------------------------------------------------------

def test_micrograd_trace_notebook_draws_the_same_graphs():
    theirs, mine = flow_trace_notebook(MICROGRAD, lecture_trace), flow_trace_notebook(ours, trace)
    assert_same_rows(theirs, mine, rel=GRADIENT_SUMS)


def test_micrograd_trace_notebook_renders_the_neuron(tmp_path, monkeypatch):
    """The notebook's last cell, dot.render('gout'): DOT text in gout, the picture in gout.svg."""
    monkeypatch.chdir(tmp_path)
    random.seed(1337)
    out = ours.Neuron(2)([ours.Value(1.0), ours.Value(-2.0)])
    out.backward()
    dot = ours.draw_dot(out)
    assert dot.render("gout") == "gout.svg"
    assert (tmp_path / "gout").read_text() == dot.source
    assert (tmp_path / "gout.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


# ---------------------------------------------------------------------------
# The two lectures
# ---------------------------------------------------------------------------

def test_micrograd_lecture_first_half_step_by_step():
    with lecture_additions(tanh="lecture"):
        theirs = flow_lecture_first_half(MICROGRAD)
    mine = flow_lecture_first_half(ours)
    assert_same_rows(theirs, mine, rel=GRADIENT_SUMS)
    shown = dict(mine)
    assert shown["L"] == -8.0 and shown["d(a + a)/da"] == shown["d(a + a)/da by hand"] == 2.0
    assert shown["grads by hand"] == shown["grads by backward"]       # _backward() node by node is backward()


def test_micrograd_lecture_second_half_exp_div_and_the_mlp():
    with lecture_additions(tanh="lecture"):
        theirs = flow_lecture_second_half(MICROGRAD, lecture_trace)
    mine = flow_lecture_second_half(ours, trace)
    assert_same_rows(theirs, mine, rel=TRAINING)
    shown = dict(mine)
    assert shown["exp/div: grads"] == pytest.approx(shown["tanh: grads"], abs=1e-15)
    # micrograd's graph: n's 2 '*' and 2 '+'; 2·n a '*' and a leaf 2; e - 1 and e + 1 a '+' and a leaf each;
    # the division a '**-1' and a '*': 5 leaves + 3 constant leaves + 10 ops
    assert shown["exp/div: ops"] == ["*", "*", "*", "*", "**-1", "+", "+", "+", "+", "exp"]
    assert shown["exp/div: nodes"] == 18


# ---------------------------------------------------------------------------
# The LLM101n script
# ---------------------------------------------------------------------------

def test_micrograd_llm101n_rng_and_data_are_the_scripts():
    """The flow's xorshift* RNG against the same recurrence in NumPy's wrapping uint64; the yin-yang split and classes."""
    np = pytest.importorskip("numpy")
    state, ours_rng, draws = np.uint64(42), XorShiftRNG(42), []
    with np.errstate(over="ignore"):
        for _ in range(1000):
            state ^= state >> np.uint64(12)
            state ^= state << np.uint64(25)
            state ^= state >> np.uint64(27)
            draws.append(int((state * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(32)))
    assert [ours_rng.u32() for _ in range(1000)] == draws
    train, val, test = yin_yang(XorShiftRNG(42), n=30)
    assert (len(train), len(val), len(test)) == (24, 3, 3)
    assert [c for _, c in train[:6]] == [0, 1, 2, 0, 1, 2]
    assert all(-2 <= x <= 2 and -2 <= y <= 2 for (x, y), _ in train + val + test)


def test_micrograd_llm101n_script_first_steps():
    with lecture_additions(tanh="math"):
        theirs = flow_llm101n(MICROGRAD, steps=12)
    mine = flow_llm101n(ours, steps=12)
    assert_same_rows(theirs, mine, rel=TRAINING)


@pytest.mark.slow
def test_micrograd_llm101n_script_all_100_steps(recorded, collector_paused):
    mine = flow_llm101n(ours)
    assert_same_rows([tuple(row) for row in recorded["llm101n"]["rows"]], mine, rel=TRAINING)
    assert math.isfinite(dict(mine)["step 100 train loss"])


def test_micrograd_lecture_neuron_is_the_lectures_to_the_last_bit():
    """tanh as the lecture computes it: o = 0.7071067811865476 (math.tanh gives …477) and its gradients."""
    from micrograd_flows import _lecture_neuron
    with lecture_additions(tanh="lecture"):
        g = _lecture_neuron(MICROGRAD)
        o = g["n"].tanh()
        o.backward()
        theirs = [o.data] + [g[k].grad for k in ("n", "x1", "w1", "x2", "w2", "b")]
    g = _lecture_neuron(ours)
    o = g["n"].tanh()
    o.backward()
    mine = [o.data] + [g[k].grad for k in ("n", "x1", "w1", "x2", "w2", "b")]
    assert mine == theirs and o.data == 0.7071067811865476 and o._op == "tanh"
