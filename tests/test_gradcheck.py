"""gradcheck: report fields against closed forms, failure path, kinks, negative controls, the step sweep."""

import math

import pytest

from autobp import Value, define_op
from autobp.gradcheck import GradcheckError, check_mlp, gradcheck, sweep
from autobp.ops import value_of


def _tanh_abc(a, b, c):
    return (a * b + c).tanh()


def _abc():
    return Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c")


def test_gradcheck_rows_match_closed_form_of_tanh_ab_plus_c():
    a, b, c = _abc()
    report = gradcheck(_tanh_abc, [a, b, c])
    L = math.tanh(2.0 * -3.0 + 10.0)
    exact = [(1 - L * L) * -3.0, (1 - L * L) * 2.0, 1 - L * L]     # ∂L/∂a = (1-L²)b, ∂L/∂b = (1-L²)a
    assert report.passed
    assert [r.index for r in report.rows] == [0, 1, 2]
    assert [r.name for r in report.rows] == ["a", "b", "c"]
    for row, want in zip(report.rows, exact):
        assert row.analytic == pytest.approx(want, rel=1e-12)
        assert row.numeric == pytest.approx(want, rel=1e-6)
        assert row.abs_error == abs(row.analytic - row.numeric)
        assert row.passed and not row.kink and row.order == 1
    assert report.max_abs_error == max(r.abs_error for r in report.rows)
    assert report.max_rel_error == max(r.rel_error for r in report.rows)


def test_gradcheck_restores_inputs_and_leaves_grads_alone():
    a, b, c = _abc()
    gradcheck(_tanh_abc, [a, b, c], order=2)
    assert (a.data, b.data, c.data) == (2.0, -3.0, 10.0)
    assert (a.grad, b.grad, c.grad) == (0.0, 0.0, 0.0)


def test_gradcheck_names_number_inputs_by_position():
    report = gradcheck(lambda x, y: x * y, [3.0, 4.0])
    assert [r.name for r in report.rows] == ["x0", "x1"]
    assert [r.analytic for r in report.rows] == [4.0, 3.0]


def test_gradcheck_order_2_matches_hessian_closed_form():
    # f = a²b: H = [[2b, 2a], [2a, 0]]
    report = gradcheck(lambda a, b: a * a * b, [1.5, -2.0], order=2)
    second = {r.index: r for r in report.rows if r.order == 2}
    assert set(second) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    want = {(0, 0): -4.0, (0, 1): 3.0, (1, 0): 3.0, (1, 1): 0.0}
    for index, value in want.items():
        assert second[index].analytic == pytest.approx(value, abs=1e-12)
        assert second[index].numeric == pytest.approx(value, abs=1e-6)
    assert report.passed


def test_gradcheck_table_names_inputs_and_verdict():
    text = str(gradcheck(_tanh_abc, list(_abc())))
    header, *rows, verdict = text.splitlines()
    assert header.split()[:4] == ["input", "order", "analytic", "numeric"]
    assert sorted(r.split()[0] for r in rows) == ["a", "b", "c"]
    assert verdict.startswith("PASSED")


# -- negative controls: wrong derivatives must fail -------------------------------

def _square(name, partial):
    return define_op(name, lambda x: x * x, lambda out, x: (partial(x),), ["2*x"])


def test_gradcheck_catches_first_derivative_off_by_factor_1_001():
    # central differences resolve ~1e-9 here, so a 0.1% error fails a tight rtol while the true op passes
    good = _square("gc_square_good", lambda x: 2 * x)
    bad = _square("gc_square_1001", lambda x: 2.002 * x)
    assert gradcheck(lambda a, b: good(a) * b, [1.5, 2.0], rtol=1e-6).passed
    report = gradcheck(lambda a, b: bad(a) * b, [Value(1.5, "a"), Value(2.0, "b")], rtol=1e-6)
    assert not report.passed
    assert [r.name for r in report.failures] == ["a"]
    assert report.rows[0].rel_error == pytest.approx(0.001 / 1.001, rel=1e-4)


def test_gradcheck_default_tolerance_catches_one_percent_error():
    bad = _square("gc_square_101", lambda x: 2.02 * x)
    assert not gradcheck(lambda a: bad(a), [1.5]).passed


def test_gradcheck_order_2_catches_partial_that_drops_its_own_derivative():
    # value_of(x) turns the partial into a constant: right at first order, d²/dx² lost (0 instead of 2)
    frozen = _square("gc_square_frozen", lambda x: 2 * value_of(x))
    good = _square("gc_square_live", lambda x: 2 * x)
    assert gradcheck(lambda a: frozen(a) * a, [1.5]).passed
    report = gradcheck(lambda a: frozen(a) * a, [1.5], order=2)
    assert not report.passed
    assert all(r.order == 2 for r in report.failures)
    assert gradcheck(lambda a: good(a) * a, [1.5], order=2).passed


def test_gradcheck_order_2_catches_partial_right_in_value_wrong_in_derivative():
    # at x = 1, 2x³ equals 2x but its derivative 6x² is not 2
    odd = _square("gc_square_cubed", lambda x: 2 * x * x * x)
    assert gradcheck(lambda a: odd(a), [1.0]).passed
    assert not gradcheck(lambda a: odd(a), [1.0], order=2).passed


def test_gradcheck_raises_listing_the_failing_inputs_worst_first():
    bad = _square("gc_square_raise", lambda x: 3 * x)
    inputs = [Value(1.0, "w"), Value(2.0, "v"), Value(0.5, "u")]
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda w, v, u: bad(w) + v * u, inputs, raise_exception=True)
    assert isinstance(info.value, AssertionError)
    message = str(info.value)
    assert message.splitlines()[0] == "gradient check failed for w"
    table = message.splitlines()[1:]
    assert table[1].split()[0] == "w" and table[1].split()[-1] == "FAIL"     # worst first
    assert not info.value.report.passed


# -- kinks ---------------------------------------------------------------------------

def test_gradcheck_flags_relu_at_zero_instead_of_failing():
    report = gradcheck(lambda a, b: a.relu() * b, [Value(0.0, "a"), Value(2.0, "b")])
    a_row, b_row = report.rows
    assert a_row.kink and not a_row.passed          # numeric 1.0 (the average slope), analytic 0
    assert a_row.numeric == pytest.approx(1.0)
    assert not b_row.kink and b_row.passed
    assert report.passed
    assert "kink" in str(report) and "relu" in str(report)


def test_gradcheck_flags_kinks_deep_in_the_graph_for_the_inputs_that_reach_them():
    # abs(a*b - 6) sits at its kink for a=2, b=3; c does not reach it
    report = gradcheck(lambda a, b, c: abs(a * b - 6) + c * c, [2.0, 3.0, 1.0])
    assert [r.kink for r in report.rows] == [True, True, False]
    assert report.kinks == ["abs of 0"]


def test_gradcheck_does_not_flag_relu_away_from_zero():
    report = gradcheck(lambda a: (a * a).relu() + (-a).relu(), [0.5])
    assert not report.rows[0].kink and not report.kinks and report.passed


# -- errors -----------------------------------------------------------------------

def test_gradcheck_f_must_return_a_value():
    with pytest.raises(TypeError, match="one Value"):
        gradcheck(lambda a: a.data, [1.0])


def test_gradcheck_names_the_input_when_f_fails_at_a_perturbed_point():
    with pytest.raises(ValueError, match=r"x = 0\.0 moved by -1e-06.*log"):
        gradcheck(lambda x: (x + 1e-9).log(), [Value(0.0, "x")])


@pytest.mark.parametrize("kwargs, message", [
    ({"order": 3}, "order must be 1 or 2, got 3"),
    ({"eps": 0.0}, "eps must be a finite number > 0, got 0.0"),
    ({"eps": math.inf}, "eps must be a finite number > 0, got inf"),
    ({"atol": -1.0}, "atol must be a finite number >= 0, got -1.0"),
    ({"rtol": math.nan}, "rtol must be a finite number >= 0, got nan"),
    ({"atol": "1e-5"}, "atol must be a finite number >= 0, got '1e-5'"),
    ({"eps": 1e-300}, r"eps=1e-300 is too small to move x0 = 1\.0 \(x ± eps rounds back to x"),
    ({"eps": 1e-17}, r"eps=1e-17 is too small to move x0 = 1\.0"),
])
def test_gradcheck_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(lambda a: a, [1.0], **kwargs)


def test_gradcheck_tiny_eps_is_fine_where_it_still_moves_the_input():
    """At x = 0 a step of 1e-300 is a real step: the check runs (and f = 3x is linear, so it is exact)."""
    assert gradcheck(lambda a: 3 * a, [0.0], eps=1e-300).rows[0].numeric == 3.0
    # ...but the second differences divide by 4h², h = eps^(2/3) = 1e-200, which is 0 in floating point
    with pytest.raises(ValueError, match=r"eps=1e-300 is too small for order=2 at x0 = 0\.0: .* = 1e-200"):
        gradcheck(lambda a: 3 * a, [0.0], eps=1e-300, order=2)


def test_check_mlp_rejects_bad_tolerances():
    from autobp.nn import MLP

    with pytest.raises(ValueError, match="rtol must be a finite number >= 0, got -0.1"):
        check_mlp(MLP(1, [1], seed=0), [[0.5]], [[1.0]], rtol=-0.1)


# -- the step-size experiment ------------------------------------------------------

def test_sweep_shows_the_v_shape_and_central_beats_forward():
    result = sweep(_tanh_abc, [2.0, -3.0, 10.0])
    L = math.tanh(4.0)
    assert result.exact == pytest.approx((1 - L * L) * -3.0, rel=1e-12)
    eps = [r.eps for r in result.rows]
    assert eps == [10.0 ** -k for k in range(1, 13)]
    forward, central = [r.forward for r in result.rows], [r.central for r in result.rows]
    # truncation: forward error ∝ h, central ∝ h², while h is large
    assert forward[1] / forward[3] == pytest.approx(100, rel=0.1)
    assert central[1] / central[3] == pytest.approx(1e4, rel=0.1)
    best_c, best_f = result.best("central"), result.best("forward")
    assert 1e-7 <= best_c.eps <= 1e-4
    assert best_c.central < best_f.forward / 10
    # round-off: at eps = 1e-12 both are far worse than their best
    assert central[-1] > 1e3 * best_c.central and forward[-1] > 1e3 * best_f.forward
    text = str(result)
    assert "best forward" in text and "best central" in text


def test_sweep_names_the_step_where_f_leaves_its_domain():
    with pytest.raises(ValueError, match=r"sweep: the step eps=0\.1 moves a = 0\.01 to -0\.09.*, where f fails "
                                         r"\(start at least 0\.1 inside f's domain\): log: input must be > 0"):
        sweep(lambda a: a.log(), [Value(0.01, "a")])
    assert sweep(lambda a: a.log(), [Value(0.01, "a")], eps_values=[1e-3, 1e-6]).rows[-1].central < 1e-6


def test_sweep_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "sweep.png"
    sweep(lambda x: x.tanh(), [0.5]).plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- check_mlp: engine vs matrix BP vs finite differences ---------------------------

@pytest.mark.parametrize("activation, output_activation", [("tanh", None), ("sigmoid", "sigmoid"), ("relu", "linear")])
def test_check_mlp_agrees_three_ways_for_every_parameter(activation, output_activation):
    from autobp.nn import MLP

    mlp = MLP(3, [4, 2], activation=activation, output_activation=output_activation, seed=3)
    x = [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3], [1.0, 0.0, 0.5]]
    y = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    report = check_mlp(mlp, x, y)
    assert report.passed
    assert len(report.rows) == len(mlp.parameters()) == 3 * 4 + 4 + 4 * 2 + 2
    assert [r.name for r in report.rows] == [p.label for p in mlp.parameters()]
    for row in report.rows:
        assert row.matrix == pytest.approx(row.analytic, rel=1e-9, abs=1e-12)
    assert "matrix BP" in str(report).splitlines()[0]


def test_check_mlp_names_the_parameter_where_matrix_bp_disagrees(monkeypatch):
    from autobp import matrix
    from autobp.nn import MLP

    real = matrix.backprop

    def off_by_one_entry(*args, **kwargs):
        nabla_w, nabla_b, deltas = real(*args, **kwargs)
        nabla_w[1] = nabla_w[1].copy()
        nabla_w[1][0, 2] += 0.01
        return nabla_w, nabla_b, deltas

    monkeypatch.setattr(matrix, "backprop", off_by_one_entry)
    report = check_mlp(MLP(2, [3, 1], seed=0), [[0.3, -0.7]], [[1.0]])
    assert [r.name for r in report.failures] == ["w[1][0,2]"]
    with pytest.raises(GradcheckError, match=r"failed for w\[1\]\[0,2\]"):
        check_mlp(MLP(2, [3, 1], seed=0), [[0.3, -0.7]], [[1.0]], raise_exception=True)


def test_check_mlp_flags_a_relu_unit_sitting_at_zero():
    import numpy as np

    from autobp.nn import MLP

    # hidden unit 0 gets z = 1·1 + (-1)·1 + 0 = 0 exactly: its relu is at the kink
    mlp = MLP.from_numpy([np.array([[1.0, -1.0], [0.5, 0.5]]), np.array([[1.0, 2.0]])],
                         [np.array([0.0, 0.1]), np.array([0.0])], activation="relu")
    report = check_mlp(mlp, [[1.0, 1.0]], [[0.0]])
    flagged = {r.name for r in report.rows if r.kink}
    assert flagged == {"w[0][0,0]", "w[0][0,1]", "b[0][0]"}
    assert report.passed and report.kinks
