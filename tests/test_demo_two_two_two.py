"""§2 the 2-2-2 network: the demo's numbers against HIPS autograd, the page's factors and plain-math golden numbers."""

import json
from pathlib import Path

import autograd
import autograd.numpy as anp
import pytest

from autobp.demos import two_two_two as demo
from autobp.examples import TWO_TWO_TWO_PARAMS, two_two_two

GOLDEN = json.loads((Path(__file__).parent / "golden" / "two_two_two.json").read_text())
NAMES = list(TWO_TWO_TWO_PARAMS)


def _error(theta):
    """E of the 2-2-2 network written with autograd.numpy; theta = [w1..w8, b1, b2]."""
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2 = theta
    i1, i2 = 0.02, 0.04
    sig = lambda x: 1 / (1 + anp.exp(-x))   # noqa: E731
    h1, h2 = sig(w1 * i1 + w2 * i2 + b1), sig(w3 * i1 + w4 * i2 + b1)
    o1, o2 = sig(w5 * h1 + w6 * h2 + b2), sig(w7 * h1 + w8 * h2 + b2)
    return 0.5 * (o1 - 0.5) ** 2 + 0.5 * (o2 - 0.9) ** 2


THETA = anp.array([TWO_TWO_TWO_PARAMS[n] for n in NAMES])


def test_two_two_two_forward_matches_the_page():
    f = demo.forward_values()
    page = {"net_h1": 0.415, "out_h1": 0.602286177, "out_h2": 0.601327636,
            "out_o1": 0.748598311, "out_o2": 0.759762733}
    for name, x in page.items():
        assert f[name] == pytest.approx(x, abs=5e-10), name
    assert f["E"] == pytest.approx(float(_error(THETA)), rel=1e-14)


def test_two_two_two_forward_matches_golden():
    f = demo.forward_values()
    for name, x in f.items():
        assert x == pytest.approx(GOLDEN["forward"][name], rel=1e-14), name


def test_two_two_two_gradients_match_autograd():
    expected = autograd.grad(_error)(THETA)
    grads = demo.gradients()
    for name, g in zip(NAMES, expected):
        assert grads[name] == pytest.approx(float(g), rel=1e-12, abs=1e-18), name


def test_two_two_two_gradients_match_golden_chain_rule():
    grads = demo.gradients()
    for name in NAMES:
        assert grads[name] == pytest.approx(GOLDEN["gradients"][name], rel=1e-12, abs=1e-18), name


def test_two_two_two_w6_is_the_product_of_the_printed_factors():
    a, b, c = demo.w6_factors()
    assert (a, b, c) == pytest.approx((0.248598311, 0.18819888, 0.601327636), abs=5e-9)
    assert (a, b, c) == pytest.approx(tuple(GOLDEN["w6_factors"]), rel=1e-14)
    assert demo.gradients()["w6"] == pytest.approx(a * b * c, rel=1e-15)
    assert a * b * c == pytest.approx(0.028133669, abs=5e-10)


def test_two_two_two_shared_bias_gradient_sums_both_uses():
    g = two_two_two()
    g["E"].backward()
    d_o1 = g["w5"].grad / g["out_h1"].data       # δ_o1 = ∂E/∂w5 / out_h1
    d_o2 = g["w7"].grad / g["out_h1"].data
    assert g["b2"].grad == pytest.approx(d_o1 + d_o2, rel=1e-12)


def test_two_two_two_one_step_updates_every_weight():
    stepped = demo.one_step(lr=0.1)
    assert stepped["w6"] == pytest.approx(0.347186633, abs=5e-10)
    expected = THETA - 0.1 * autograd.grad(_error)(THETA)
    for name, x in zip(NAMES, expected):
        assert stepped[name] == pytest.approx(float(x), rel=1e-13), name
        assert stepped[name] == pytest.approx(GOLDEN["after_one_step"][name], rel=1e-13), name


def test_two_two_two_training_reaches_the_targets_like_plain_gradient_descent():
    gold = GOLDEN["training"]
    steps, params, history = demo.train(lr=gold["lr"], tol=gold["tol"])
    assert steps == gold["steps"]
    for name in NAMES:
        assert params[name] == pytest.approx(gold["params"][name], rel=1e-9), name
    for step, e, o1, o2 in history:
        if str(step) in gold["shown"]:
            assert (e, o1, o2) == pytest.approx(tuple(gold["shown"][str(step)].values()), rel=1e-10)
    assert abs(history[-1][2] - 0.5) < 1e-3 and abs(history[-1][3] - 0.9) < 1e-3
    assert history[-1][1:] == pytest.approx((gold["E"], gold["out_o1"], gold["out_o2"]), rel=1e-10)


def test_two_two_two_every_node_is_labelled_as_on_the_page():
    g = two_two_two()
    for name, v in g.items():
        assert v.label == name
    assert g["out_h1"].children == (g["net_h1"],)
    assert g["E"].children == (g["E_o1"], g["E_o2"])


def test_two_two_two_main_prints_the_worked_numbers(capsys):
    demo.main()
    out = capsys.readouterr().out
    for text in ("0.602286177", "0.748598311", "0.248598311 × 0.18819888 × 0.601327636 = 0.028133669",
                 "w6 0.35 → 0.347186633", f"step {GOLDEN['training']['steps']:>4}:"):
        assert text in out
