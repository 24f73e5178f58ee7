"""§1 the a·b neuron: the demo's numbers against hand arithmetic."""

import pytest

from autobp.demos import neuron
from autobp.examples import neuron as build_neuron


@pytest.mark.parametrize("a, b", [(5.0, 6.0), (-5.0, -6.0)])
def test_neuron_gradient_nudge_in_turn_reaches_30_616036(a, b):
    na, nb, f = neuron.gradient_nudge_in_turn(a, b)
    assert na == pytest.approx(a + 0.01 * b, rel=1e-15)
    assert nb == pytest.approx(b + 0.01 * na, rel=1e-15)
    assert f == pytest.approx(30.616036, abs=1e-9)


@pytest.mark.parametrize("a, b", [(5.0, 6.0), (-5.0, -6.0)])
def test_neuron_gradient_nudge_together_reaches_30_613(a, b):
    na, nb, f = neuron.gradient_nudge_together(a, b)
    assert (abs(na), abs(nb)) == pytest.approx((5.06, 6.05), rel=1e-15)
    assert f == pytest.approx(30.613, abs=1e-9)


def test_neuron_random_nudge_depends_on_signs():
    import random
    rng = random.Random(1)
    for _ in range(20):
        up_before, up_after = neuron.random_nudge(5.0, 6.0, rng)
        down_before, down_after = neuron.random_nudge(-5.0, -6.0, rng)
        assert up_after > up_before
        assert down_after < down_before


@pytest.mark.parametrize("a, b", [(5.0, 6.0), (-5.0, -6.0), (2.5, -0.5)])
def test_neuron_gradients_are_the_other_input(a, b):
    """f = a·b: ∂f/∂a = b and ∂f/∂b = a, for any signs."""
    g = build_neuron(a, b)
    g["f"].backward()
    assert (g["f"].data, g["a"].grad, g["b"].grad) == (a * b, b, a)
    assert [g[k].label for k in ("a", "b", "f")] == ["a", "b", "f"]


@pytest.mark.parametrize("a, b, sign", [(5.0, 6.0, 1.0), (-5.0, -6.0, -1.0)])
def test_neuron_updates_match_hand_arithmetic(a, b, sign):
    """In turn: a = ±5.06, then b = ±(6 + 0.01·5.06) = ±6.0506; together: a = ±5.06, b = ±6.05."""
    na, nb, _ = neuron.gradient_nudge_in_turn(a, b)
    assert (na, nb) == (pytest.approx(sign * 5.06, rel=1e-15), pytest.approx(sign * 6.0506, rel=1e-15))
    na, nb, _ = neuron.gradient_nudge_together(a, b)
    assert (na, nb) == (pytest.approx(sign * 5.06, rel=1e-15), pytest.approx(sign * 6.05, rel=1e-15))
