"""autobp/_node.c, the C twin of engine._record: same nodes, untracked by the cyclic GC; and the pure-Python fallback."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autobp import Value, engine, ops
from autobp.engine import apply, define_op, no_grad

ROOT = Path(__file__).resolve().parents[1]
PURE = os.environ.get("AUTOBP_PURE_PYTHON", "") not in ("", "0")
compiled = pytest.mark.skipif(PURE, reason="AUTOBP_PURE_PYTHON is set: the C helper is off")
SLOTS = ("data", "grad", "label", "_op", "_x", "_y", "_g")


def test_compiled_helper_is_used_unless_pure_python_is_asked_for():
    """A failed build of _node.c would silently cost 1.5-2x: installing with a C compiler must give the C helper."""
    assert engine.COMPILED_NODES is not PURE, (
        "autobp/_node.c was not built: install with a C compiler (pip install -e . builds it)")


def _nodes_of_every_kind() -> list[Value]:
    """A leaf, each kind of op node and a no_grad result, in the order they were made."""
    fma = define_op("fma3", lambda x, y, z: x * y + z, lambda out, x, y, z: (y, x, 1.0))
    a, b = Value(2.0, "a"), Value(-3.0)
    nodes = [a, b, a * b, 2 * a, a / 4, a.tanh(), -a, apply(ops.POW, a, 2), fma(a, b, 1.0)]
    with no_grad():
        nodes.append(a * b)
    return nodes


@compiled
def test_compiled_nodes_are_not_tracked_by_the_cyclic_collector():
    assert [gc.is_tracked(v) for v in _nodes_of_every_kind()] == [False] * 10


@compiled
def test_compiled_nodes_equal_python_nodes_slot_for_slot():
    """_node.new(op, out, x, y) fills the slots exactly as engine._record_in_python does."""
    x = Value(1.5)
    for op, out, a, b in [(ops.MUL, 3.0, x, 2.0), (ops.TANH, 0.9, x, None), (None, 7.0, None, None),
                          (ops.ADD, 2.0, 1.0, (x, 3.0))]:
        c, p = engine._record(op, out, a, b), engine._record_in_python(op, out, a, b)
        assert [getattr(c, s) for s in SLOTS] == [getattr(p, s) for s in SLOTS]
        assert type(c) is Value and c.op == p.op


def test_compiled_nodes_creation_numbers_increase_across_every_way_of_making_a_node():
    ids = [v._id for v in _nodes_of_every_kind()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_compiled_nodes_held_objects_survive_a_collection():
    """An untracked node counts as a root: what only it refers to (here a user op record and its tuple
    of operands) is not freed by gc.collect()."""
    f = define_op("add3", lambda x, y, z: x + y + z, lambda out, x, y, z: (1.0, 1.0, 1.0))
    a, b = Value(1.0), Value(2.0)
    y = f(a, b, 3.0) * a
    del f
    ops.OPS.pop("add3")
    gc.collect()
    y.backward()
    assert (y.data, y.op, y.children[0].op, a.grad, b.grad) == (6.0, "*", "add3", 7.0, 1.0)


@compiled
def test_compiled_nodes_bind_refuses_a_class_without_the_slots():
    from autobp import _node

    class Loose:
        data = grad = label = _op = _x = _y = _g = _id = None

    with pytest.raises(TypeError, match=r"Loose\.data must be one of its own __slots__"):
        _node.bind(Loose)
    with pytest.raises(TypeError, match="needs a class"):
        _node.bind(Value(1.0))
    with pytest.raises(TypeError, match="takes 4 arguments"):
        _node.new(ops.ADD, 1.0)
    assert type(Value(1.0) * 2) is Value          # a refused bind leaves the engine's binding alone


@pytest.mark.skipif(PURE, reason="this is the run that sets AUTOBP_PURE_PYTHON")
def test_compiled_nodes_engine_tests_pass_in_pure_python():
    """The engine's own tests and the autograd oracle, again with AUTOBP_PURE_PYTHON=1 (the fallback)."""
    files = ["test_engine.py", "test_ops.py", "test_grad.py", "test_errors.py", "test_define_op.py",
             "test_compiled_nodes.py", "oracle"]
    env = {**os.environ, "AUTOBP_PURE_PYTHON": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          *(str(ROOT / "tests" / f) for f in files)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]     # 5 would mean no tests ran
