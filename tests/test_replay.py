"""Each op's array twin in autobp.array_ops.RULES against the op table: the same values and local derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from autobp import Value
from autobp.engine import apply, local_derivatives
from autobp.ops import BUILTIN_NAMES, OPS
from autobp.array_ops import RULES
from test_ops import DOMAINS

xp = pytest.importorskip("array_api_compat").array_namespace(np.zeros(1))
TWINS = [name for name in BUILTIN_NAMES if OPS[name] in RULES]
CASES = [(name, x) for name in TWINS for x in DOMAINS[name]] + [
    ("relu", (0.0,)), ("abs", (0.0,)), ("sigmoid", (-800.0,)), ("sigmoid", (800.0,)), ("softplus", (-800.0,)),
    ("softplus", (800.0,)), ("**", (-2.0, 3.0)), ("**", (0.0, 2.0))]


def test_every_builtin_op_but_the_sum_has_an_array_twin():
    """The n-ary sum runs as an array sum (a step of its own); every other built-in op has a rule."""
    assert set(BUILTIN_NAMES) - set(TWINS) == {"sum"}


@pytest.mark.parametrize("name, x", CASES, ids=[f"{n}{x}" for n, x in CASES])
def test_array_rule_matches_the_op_table(name, x):
    op, rule = OPS[name], RULES[OPS[name]]
    arrays = [np.array([v]) for v in x]
    out = rule.forward(xp, *arrays)
    constant_exponent = name == "**" and x[0] <= 0      # the engine takes only a number exponent there
    node = apply(op, Value(x[0]), x[1]) if constant_exponent else apply(op, *(Value(v) for v in x))
    assert out[0] == pytest.approx(node.data, rel=1e-15, abs=1e-300)
    locals_ = rule.partials(xp, out, *arrays)
    engine = local_derivatives(node)
    for k, (got, want) in enumerate(zip(locals_, engine, strict=True)):
        if constant_exponent and k == 1:
            continue                     # ∂/∂y of a number exponent on a base <= 0: nobody reads it
        assert float(np.asarray(got).reshape(-1)[0]) == pytest.approx(want, rel=1e-14, abs=1e-300), (name, k)
