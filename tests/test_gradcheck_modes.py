"""gradcheck's directional mode and its Hessian-vector-product second order: closed forms, how many
times f is evaluated, negative controls, kinks, and the report."""

import math

import pytest
from hypothesis import given, settings

from autobp import Value, define_op
from autobp.directional import directions_for
from autobp.gradcheck import GradcheckError, gradcheck
from autobp.ops import value_of
from counting import Counting
from strategies import AUTOBP, programs, run


def _tanh_abc(a, b, c):
    return (a * b + c).tanh()


def _sum_of_squares(*xs):
    total = xs[0] * xs[0]
    for x in xs[1:]:
        total = total + x * x.tanh()
    return total


def _square(name, partial):
    return define_op(name, lambda x: x * x, lambda out, x: (partial(x),), ["2*x"])


# -- directional: what is compared -----------------------------------------------------

def test_directional_rows_are_the_directional_derivative_three_ways():
    inputs = [2.0, -3.0, 10.0]
    report = gradcheck(_tanh_abc, inputs, mode="directional")
    L = math.tanh(2.0 * -3.0 + 10.0)
    gradient = [(1 - L * L) * -3.0, (1 - L * L) * 2.0, 1 - L * L]
    directions = directions_for(gradient, 3, seed=0)
    assert report.passed and report.mode == "directional"
    assert [r.name for r in report.rows] == ["u1: jvp", "u1: vjp", "u2: jvp", "u2: vjp", "u3: jvp", "u3: vjp"]
    assert [r.index for r in report.rows] == [1, 1, 2, 2, 3, 3]
    for k, u in enumerate(directions):
        exact = sum(g * ui for g, ui in zip(gradient, u))
        jvp_row, vjp_row = report.rows[2 * k], report.rows[2 * k + 1]
        assert jvp_row.analytic == pytest.approx(exact, rel=1e-12)
        assert vjp_row.analytic == pytest.approx(exact, rel=1e-12)
        assert jvp_row.numeric == vjp_row.numeric == pytest.approx(exact, rel=1e-6)


def test_directional_first_direction_has_the_gradient_signs_and_the_seed_decides_the_rest():
    gradient = [3.0, -1.0, 0.0, -2.5]
    u = directions_for(gradient, 3, seed=7)
    assert [math.copysign(1, x) for x in u[0]] == [1, -1, 1, -1]
    assert all(0.5 <= abs(x) <= 1.5 for x in u[0])
    assert u == directions_for(gradient, 3, seed=7) != directions_for(gradient, 3, seed=8)


@pytest.mark.parametrize("n", [3, 40])
def test_directional_evaluates_f_a_constant_number_of_times(n):
    f = Counting(_sum_of_squares)
    report = gradcheck(f, [0.1 * (i + 1) for i in range(n)], mode="directional", directions=2)
    assert report.passed
    assert f.calls == 1 + 2 * 2                    # the point itself, then x ± h·u for each direction
    f2 = Counting(_sum_of_squares)
    gradcheck(f2, [0.1 * (i + 1) for i in range(n)], mode="directional", directions=2, order=2)
    assert f2.calls == 1 + 2 * 2 + 2 * 2           # and x ± h₂·u for the second differences


@pytest.mark.parametrize("n", [3, 12])
def test_full_order_2_evaluates_f_linearly_and_second_differences_quadratically(n):
    inputs = [0.1 * (i + 1) for i in range(n)]
    full = Counting(_sum_of_squares)
    assert gradcheck(full, inputs, order=2).passed
    # f is built at x and once more on placeholders: its 2n first-order shifts are replayed from that graph as
    # one batch (autobp.fdbatch); the Hessian's 2n points need the gradient there, so f is built at each
    assert full.calls == 2 + 2 * n
    table = Counting(_sum_of_squares)
    assert gradcheck(table, inputs, order=2, mode="second_differences").passed
    assert table.calls == 2 + 4 * n * n            # and the 4n² points of the Hessian's stencils


def test_full_order_2_hessian_from_hvps_matches_the_closed_form_in_both_modes():
    # f = a²b + tanh(a)·b: H = [[2b − 2 th (1 − th²) b, 2a + 1 − th²], [·, 0]]
    a, b = 0.6, -1.4
    th = math.tanh(a)
    want = {(0, 0): 2 * b - 2 * th * (1 - th * th) * b, (0, 1): 2 * a + 1 - th * th,
            (1, 0): 2 * a + 1 - th * th, (1, 1): 0.0}
    for mode in ("full", "second_differences"):
        report = gradcheck(lambda a, b: a * a * b + a.tanh() * b, [a, b], order=2, mode=mode)
        assert report.passed, str(report)
        second = {r.index: r for r in report.rows if r.order == 2}
        for index, value in want.items():
            assert second[index].analytic == pytest.approx(value, rel=1e-12, abs=1e-15)
            assert second[index].numeric == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_directional_order_2_compares_u_h_u_with_second_differences_of_f():
    report = gradcheck(lambda a, b: a * a * b, [1.5, -2.0], mode="directional", order=2, directions=2)
    H = [[-4.0, 3.0], [3.0, 0.0]]
    gradient = [2 * 1.5 * -2.0, 1.5 * 1.5]
    second = [r for r in report.rows if r.order == 2]
    assert [r.name for r in second] == ["u1: uᵀHu", "u2: uᵀHu"]
    for r, u in zip(second, directions_for(gradient, 2, seed=0)):
        exact = sum(u[i] * H[i][j] * u[j] for i in range(2) for j in range(2))
        assert r.analytic == pytest.approx(exact, rel=1e-12)
        assert r.numeric == pytest.approx(exact, rel=1e-4)
    assert report.passed


# -- negative controls, in both modes ----------------------------------------------------

@pytest.mark.parametrize("mode", ["full", "directional"])
def test_a_one_percent_error_in_a_partial_fails_at_the_defaults(mode):
    good = _square(f"gcm_good_{mode}", lambda x: 2 * x)
    bad = _square(f"gcm_101_{mode}", lambda x: 2.02 * x)
    assert gradcheck(lambda a: good(a), [1.5], mode=mode).passed
    assert not gradcheck(lambda a: bad(a), [1.5], mode=mode).passed
    assert gradcheck(lambda a, b: good(a) * b + b.tanh(), [1.5, 2.0], mode=mode).passed
    report = gradcheck(lambda a, b: bad(a) * b + b.tanh(), [1.5, 2.0], mode=mode)
    assert not report.passed
    if mode == "directional":
        assert "u1: jvp" in {r.name for r in report.failures} and "u1: vjp" in {r.name for r in report.failures}


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_a_wrong_define_op_partial_fails_and_is_listed_worst_first(mode):
    bad = _square(f"gcm_wrong_{mode}", lambda x: 3 * x)
    inputs = [Value(1.0, "w"), Value(2.0, "v"), Value(0.5, "u")]
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda w, v, u: bad(w) + v * u, inputs, raise_exception=True, mode=mode)
    table = str(info.value).splitlines()[1:]
    assert table[1].split()[-1] == "FAIL"
    assert (table[0].split()[0] == "direction") == (mode == "directional")
    assert [v.data for v in inputs] == [1.0, 2.0, 0.5] and [v.grad for v in inputs] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_order_2_catches_a_partial_that_drops_its_own_derivative(mode):
    frozen = _square(f"gcm_frozen_{mode}", lambda x: 2 * value_of(x))
    assert gradcheck(lambda a: frozen(a) * a, [1.5], mode=mode).passed
    report = gradcheck(lambda a: frozen(a) * a, [1.5], order=2, mode=mode)
    assert not report.passed and all(r.order == 2 for r in report.failures)


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
def test_order_2_catches_a_partial_right_at_the_point_wrong_around_it(mode):
    odd = _square(f"gcm_odd_{mode}", lambda x: 2 * x * x * x)     # = 2x at x = 1, derivative 6x² ≠ 2
    assert gradcheck(lambda a: odd(a), [1.0], mode="full" if mode == "second_differences" else mode).passed
    assert not gradcheck(lambda a: odd(a), [1.0], order=2, mode=mode).passed


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
@pytest.mark.parametrize("f, inputs", [(lambda x, y: x * y * 300, [1.0, 2.0]), (lambda x, y: x * y * 1e6, [1.0, 2.0]),
                                       (lambda x, y: x ** 4 * y, [100.0, 1.0])], ids=["xy300", "xy1e6", "x4at100"])
def test_order_2_allows_the_second_differences_own_rounding_error(f, inputs, mode):
    """(f(x+h) − 2f(x) + f(x−h))/h² carries a rounding error of about ε·|f|/h²: with |f| in the hundreds and
    more, that alone exceeded atol on correct functions (numeric 1.1e-5 for a true 0)."""
    report = gradcheck(f, inputs, order=2, mode=mode)
    assert report.passed, str(report)


def test_order_2_rounding_allowance_still_fails_a_wrong_second_derivative_of_a_large_function():
    cube = define_op("o2_cube_wrong_second", lambda x: x ** 3, lambda out, x: (3.0 * x * value_of(x),), ["3*x^2"])
    for mode in ("full", "directional", "second_differences"):    # d/dx of 3x·x.data is 3x, not 6x
        assert not gradcheck(lambda x: cube(x) * 300.0, [2.0], order=2, mode=mode).passed


# -- kinks -------------------------------------------------------------------------------

def test_directional_flags_a_relu_at_zero_instead_of_failing():
    report = gradcheck(lambda a, b: a.relu() * b, [Value(0.0, "a"), Value(2.0, "b")], mode="directional")
    assert report.passed and report.kinks == ["relu of 0"]
    assert any(r.kink for r in report.rows)
    assert "kink" in str(report)


def _relu_plus_cube(wrong: bool):
    cube = define_op("dir_cube_wrong" if wrong else "dir_cube", lambda x: x ** 3,
                     lambda out, x: ((3.3 if wrong else 3.0) * x * x,), ["3*x^2"])
    return lambda a, b: a.relu() + cube(b)


@pytest.mark.parametrize("order", [1, 2])
def test_directional_an_input_at_a_kink_does_not_hide_a_wrong_partial_of_another(order):
    """Every direction moving a (at relu's kink) would straddle it; a is held fixed instead, so b is checked."""
    inputs = [Value(0.0, "a"), Value(2.0, "b")]
    assert gradcheck(_relu_plus_cube(False), inputs, mode="directional", order=order).passed
    report = gradcheck(_relu_plus_cube(True), inputs, mode="directional", order=order)
    assert not report.passed
    assert all(not r.kink for r in report.rows if r.name.startswith("u"))
    assert any("a is at a kink" in note for note in report.notes)


def test_directional_an_input_at_a_kink_gets_its_own_flagged_row():
    report = gradcheck(_relu_plus_cube(False), [Value(0.0, "a"), Value(2.0, "b")], mode="directional")
    (row,) = [r for r in report.rows if r.kink]
    assert row.name == "a" and row.analytic == 0.0 and row.numeric == pytest.approx(0.5)


def test_directional_away_from_kinks_flags_nothing():
    report = gradcheck(lambda a: (a * a).relu() + (-a).relu(), [0.5], mode="directional")
    assert report.passed and not report.kinks and not any(r.kink for r in report.rows)


# -- the report and bad settings ---------------------------------------------------------

def test_directional_report_says_what_it_compared():
    text = str(gradcheck(_tanh_abc, [2.0, -3.0, 10.0], mode="directional", order=2))
    header, *rest = text.splitlines()
    assert header.split()[:4] == ["direction", "order", "analytic", "numeric"]
    assert any(line.startswith("PASSED") for line in rest)
    assert any("forward sweep J·u" in line for line in rest) and any("forward-over-reverse" in line for line in rest)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "sideways"}, "mode must be one of 'full', 'directional', 'second_differences', got 'sideways'"),
    ({"mode": "second_differences"}, "pass order=2"),
    ({"mode": "directional", "directions": 0}, "directions must be a whole number >= 1, got 0"),
    ({"mode": "directional", "directions": 1.5}, "got 1.5"),
])
def test_bad_mode_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(lambda a: a * a, [1.0], **kwargs)


# -- random graphs ------------------------------------------------------------------------

@settings(max_examples=50)
@given(programs())
def test_random_expression_dags_pass_the_directional_check_at_both_orders(program):
    def f(*xs):
        return run(program, list(xs), AUTOBP)[-1]
    report = gradcheck(f, list(program.inputs), mode="directional", order=2)
    assert report.passed, str(report)
