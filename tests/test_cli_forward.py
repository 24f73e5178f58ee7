"""The forward-mode flags of the command line: gradcheck --directional, explain --forward, demo modes."""

import math

from test_cli import AT, EXACT, assert_usage_error, autobp


def test_help_names_the_forward_mode_flags():
    top = autobp("--help").stdout
    assert "--directional" in top and "--forward" in top
    assert "--directional" in autobp("gradcheck", "--help").stdout
    assert "--forward" in autobp("explain", "--help").stdout


def test_gradcheck_directional_passes_and_names_directions():
    result = autobp("gradcheck", "tanh(a*b + c)", "--at", AT, "--directional")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["direction", "order"]
    assert sorted(line.split(":")[0] for line in lines[1:7]) == ["u1", "u1", "u2", "u2", "u3", "u3"]
    assert any(line.startswith("PASSED") for line in lines)


def test_gradcheck_directional_fails_with_exit_1_on_a_tight_tolerance():
    # a central difference is good to ~1e-10 here, so tolerances of 1e-15 fail
    result = autobp("gradcheck", "exp(a) * b", "--at", "a=0.3,b=2", "--directional", "--atol", "1e-15",
                    "--rtol", "1e-15")
    assert result.returncode == 1 and "FAILED" in result.stdout


def test_gradcheck_directional_with_sweep_is_a_usage_error():
    assert_usage_error(autobp("gradcheck", "--sweep", "--directional"))


def test_explain_forward_writes_the_product_from_the_input_side():
    result = autobp("explain", "tanh(a*b + c)", "--at", AT, "--wrt", "a", "--forward")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "forward mode" in lines[1]
    assert "  = (-3) × 0.001340951 = -0.004022852" in lines
    assert float(lines[-1].split(" = ")[1]) == round(EXACT["a"], 9)


def test_explain_forward_steps_narrates_the_tangent_sweep_for_each_input():
    result = autobp("explain", "tanh(a*b + c)", "--at", AT, "--forward", "--steps")
    assert result.returncode == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith("Forward sweep along")]
    assert [t.split()[3].rstrip(":") for t in titles] == ["a", "b", "c"]
    finals = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("3 ")]
    assert [float(x) for x in finals] == [round(EXACT[k], 6) for k in "ab"] and math.isclose(
        float(result.stdout.splitlines()[-1].split()[-1]), EXACT["c"], rel_tol=1e-3)


def test_demo_modes_runs():
    result = autobp("demo", "modes")
    assert result.returncode == 0, result.stderr
    assert "That is why backprop is reverse mode." in result.stdout
    assert "modes" in autobp("demo", "--list").stdout
