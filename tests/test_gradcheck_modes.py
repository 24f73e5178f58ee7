"""gradcheck's directional mode and its Hessian-vector-product second order: closed forms, how many
times f is evaluated, negative controls, kinks, and the report."""

import math

import pytest
from hypothesis import given, settings

from autobp import Value, define_op
from autobp.checkreport import settled_row
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
    assert f2.calls == 1 + 2 * 2 + 2 * 2 * 2       # and x ± 2h₂·u, x ± h₂·u for the second differences (settled_row)


@pytest.mark.parametrize("n", [3, 12])
def test_full_order_2_evaluates_f_linearly_and_second_differences_quadratically(n):
    inputs = [0.1 * (i + 1) for i in range(n)]
    full = Counting(_sum_of_squares)
    assert gradcheck(full, inputs, order=2).passed
    # f is built at x and once more on placeholders: its 2n first-order shifts are replayed from that graph as
    # one batch (autobp.fdbatch); the Hessian's 4n points (x ± 2h·e_j, x ± h·e_j: settled_row's two steps) need
    # the gradient there, so f is built at each
    assert full.calls == 2 + 4 * n
    table = Counting(_sum_of_squares)
    assert gradcheck(table, inputs, order=2, mode="second_differences").passed
    assert table.calls == 2 + 8 * n * n            # and the 4n² points of the Hessian's stencils, at both steps


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


# -- order 2 near a singularity: a row that fails at h = eps^(2/3) is judged where its difference settles --------

# f, the point, ∇f and H in closed form.  At h = eps^(2/3) = 1e-4 the second difference's truncation error
# h²·f''''/12 is 0.25–0.5% of f'' at these points (1/x at 0.002: h²/x² = 0.25%), over rtol = 1e-3: the correct
# derivatives FAILED.  1/(x − 1) has its pole away from 0 and tanh(1000x) none: a step scaled to |x| would miss them.
NEAR_SINGULARITIES = {
    "1/x at 0.002": (lambda x: 1 / x, [0.002], lambda x: [-1 / x ** 2], lambda x: [[2 / x ** 3]]),
    "log(x) at 1e-3": (lambda x: x.log(), [1e-3], lambda x: [1 / x], lambda x: [[-1 / x ** 2]]),
    "sqrt(x) at 1e-3": (lambda x: x ** 0.5, [1e-3], lambda x: [0.5 * x ** -0.5], lambda x: [[-0.25 * x ** -1.5]]),
    "1/(x-1) at 1.002": (lambda x: 1 / (x - 1), [1.002], lambda x: [-1 / (x - 1) ** 2],
                         lambda x: [[2 / (x - 1) ** 3]]),
    "tanh(1000x) at 5e-4": (lambda x: (1000 * x).tanh(), [5e-4],
                            lambda x: [1000 * (1 - math.tanh(1000 * x) ** 2)],
                            lambda x: [[-2e6 * math.tanh(1000 * x) * (1 - math.tanh(1000 * x) ** 2)]]),
    "1/(xy) at (0.002, 0.5)": (lambda x, y: 1 / (x * y), [0.002, 0.5],
                               lambda x, y: [-1 / (x * x * y), -1 / (x * y * y)],
                               lambda x, y: [[2 / (x ** 3 * y), 1 / (x * y) ** 2],
                                             [1 / (x * y) ** 2, 2 / (x * y ** 3)]]),
}


def _exact_second_rows(mode, inputs, gradient, hessian):
    """What each order-2 row of a passing report should read: H[i][j], or uᵀHu along the check's directions."""
    H = hessian(*inputs)
    if mode != "directional":
        return {(i, j): H[i][j] for i in range(len(H)) for j in range(len(H))}
    directions = directions_for(gradient(*inputs), 3, seed=0)
    return {k: sum(u[i] * H[i][j] * u[j] for i in range(len(u)) for j in range(len(u)))
            for k, u in enumerate(directions, 1)}


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
@pytest.mark.parametrize("case", NEAR_SINGULARITIES)
def test_order_2_passes_correct_derivatives_near_a_singularity(case, mode):
    f, inputs, gradient, hessian = NEAR_SINGULARITIES[case]
    report = gradcheck(f, inputs, order=2, mode=mode)
    assert report.passed, str(report)
    exact = _exact_second_rows(mode, inputs, gradient, hessian)
    second = {r.index: r for r in report.rows if r.order == 2}
    assert set(second) == set(exact)
    for index, value in exact.items():
        assert second[index].analytic == pytest.approx(value, rel=1e-9)
        assert second[index].numeric == pytest.approx(value, rel=2e-4)    # a tenth of rtol, or better


def test_order_2_near_a_singularity_agrees_with_torch_hessian():
    torch = pytest.importorskip("torch")
    x0, y0 = 1e-3, 2e-3
    H = torch.autograd.functional.hessian(lambda v: torch.log(v[0]) / (v[0] + v[1]) + torch.sqrt(v[0] * v[1]),
                                          torch.tensor([x0, y0], dtype=torch.float64)).tolist()
    report = gradcheck(lambda x, y: x.log() / (x + y) + (x * y) ** 0.5, [x0, y0], order=2)
    assert report.passed, str(report)
    for r in report.rows:
        if r.order == 2:
            i, j = r.index
            assert r.numeric == pytest.approx(H[i][j], rel=2e-4)


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
def test_order_2_leaves_a_well_scaled_function_at_the_first_step(mode):
    """tanh(ab + c) varies on a scale of 1: every row settles at h = 1e-4, and the report adds no note."""
    report = gradcheck(_tanh_abc, [2.0, -3.0, 10.0], order=2, mode=mode)
    assert report.passed and not any("settle" in note for note in report.notes)


def test_order_2_report_names_the_rows_checked_at_a_smaller_step():
    report = gradcheck(lambda x, y: 1 / (x * y), [Value(0.002, "x"), Value(0.5, "y")], order=2)
    (note,) = [note for note in report.notes if "settle" in note]
    assert "x,x (h = " in note and "y,y" not in note
    assert note in str(report).splitlines()


def test_order_2_steps_inside_the_domain_near_its_edge():
    """log at 5e-5: x − 1e-4 is outside log's domain, so the step is halved until f is defined at x ± h."""
    for mode in ("full", "directional", "second_differences"):
        report = gradcheck(lambda x: x.log(), [5e-5], order=2, mode=mode)
        assert report.passed, str(report)
    (row,) = [r for r in gradcheck(lambda x: x.log(), [5e-5], order=2).rows if r.order == 2]
    assert row.numeric == pytest.approx(-1 / 5e-5 ** 2, rel=2e-4)


def test_settled_row_judges_at_the_first_step_whose_truncation_estimate_is_small():
    """N(h) = 2 + c·h², no round-off: the truncation estimate |N(2h) − N(h)|/3 = c·h² is exact here."""
    def quotient(c):
        return lambda h: (2.0 + c * h * h, 0.0, False)

    row, step = settled_row((0, 0), "x,x", 2.0, quotient(1e4), 1e-4, 1e-5, 1e-3)
    assert step == 1e-4 and row.numeric == pytest.approx(2.0001) and row.passed     # 1e-4 ≤ a tenth of 2e-3
    row, step = settled_row((0, 0), "x,x", 2.0, quotient(1e6), 1e-4, 1e-5, 1e-3)    # c·h² = 1e-2 at h = 1e-4
    assert step == 1e-4 / 8 and row.numeric == pytest.approx(2 + 1e6 * step ** 2) and row.passed
    # 2.01 is N(1e-4) itself, but 0.5% off f'' = 2: judged at h/8, it fails
    row, _ = settled_row((0, 0), "x,x", 2.01, quotient(1e6), 1e-4, 1e-5, 1e-3)
    assert not row.passed and row.order == 2


def test_settled_row_stops_where_round_off_outgrows_the_truncation_it_removes():
    """A rounding bound of 1e-12/h² (a value ~1e4 times ε·|f|): halving stops once it exceeds |N(2h) − N(h)|/3."""
    def quotient(h):
        return 2.0 + 1e6 * h * h, 1e-12 / h ** 2, False

    row, step = settled_row((0, 0), "x,x", 2.0, quotient, 1e-4, 0.0, 0.0)     # no tolerance: round-off decides
    # c·h² ≤ 1e-12/h² once h ≤ 10^-4.5 = 3.2e-5: 1e-4 and 5e-5 are above it, 2.5e-5 is the first step below
    assert step == 1e-4 / 4 and row.passed


def test_order_2_at_a_kink_flags_the_row_without_halving_the_step():
    f = Counting(lambda a, b: a.relu() * b + a * a * b)
    report = gradcheck(f, [0.0, 2.0], order=2)
    assert report.passed and any(r.kink and r.order == 2 for r in report.rows)
    assert f.calls == 2 + 4 * 2                    # 2h and h only: a straddled kink ends the halving


X0 = 0.002


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
def test_order_2_near_a_singularity_fails_a_second_derivative_a_quarter_percent_too_big(mode):
    """-x0^0.005·x^-2.005 is 1/x's partial at x0, but its derivative there is 2.005/x0³, not 2/x0³: 0.25% off.
    The truncation error at h = 1e-4 (+0.25%) used to hide exactly this in full mode."""
    good = define_op(f"o2_recip_{mode}", lambda x: 1 / x, lambda out, x: (-(x ** -2.0),), ["-1/x^2"])
    bad = define_op(f"o2_recip_0025_{mode}", lambda x: 1 / x, lambda out, x: (-(x ** -2.005) * X0 ** 0.005,),
                    ["-1/x^2"])
    assert gradcheck(lambda x: good(x), [X0], order=2, mode=mode).passed
    assert gradcheck(lambda x: bad(x), [X0], mode="full" if mode == "second_differences" else mode).passed
    report = gradcheck(lambda x: bad(x), [X0], order=2, mode=mode)
    assert not report.passed and all(r.order == 2 for r in report.failures), str(report)


@pytest.mark.parametrize("mode", ["full", "directional", "second_differences"])
def test_order_2_near_a_singularity_fails_partials_wrong_around_the_point(mode):
    frozen = define_op(f"o2_recip_frozen_{mode}", lambda x: 1 / x, lambda out, x: (-1 / value_of(x) ** 2,),
                       ["-1/x^2"])                                   # d/dx of a constant: 0, not 2/x³
    odd = define_op(f"o2_recip_odd_{mode}", lambda x: 1 / x, lambda out, x: (-X0 / x ** 3,), ["-1/x^2"])
    for op in (frozen, odd):                                         # odd: derivative 3/x0³, not 2/x0³
        assert not gradcheck(lambda x: op(x), [X0], order=2, mode=mode).passed
    report = gradcheck(lambda x, y: frozen(x) * y, [X0, 0.5], order=2, mode=mode)
    assert not report.passed and all(r.order == 2 for r in report.failures)


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
