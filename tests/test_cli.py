"""The command line, run as a user runs it: `python -m autobp ...` in a subprocess."""

import math
import os
import subprocess
import sys

import pytest

from autobp.examples import EXAMPLES

AT = "a=2,b=-3,c=10"
L = math.tanh(2 * -3 + 10)
EXACT = {"a": (1 - L * L) * -3, "b": (1 - L * L) * 2, "c": 1 - L * L}    # ∂tanh(ab+c)/∂a = (1-L²)b, …


def autobp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autobp", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def assert_usage_error(result):
    assert result.returncode == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith("autobp") and ": error: " in first
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["demo"], ["draw"], ["explain"], ["gradcheck"], ["train"]])
def test_cli_help_on_every_subcommand(command):
    result = autobp(*command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: autobp {' '.join(command)}".rstrip())


def test_cli_help_lists_the_subcommands():
    text = autobp("--help").stdout
    for name in ("demo", "draw", "explain", "gradcheck", "train"):
        assert name in text


def test_cli_expression_help_names_every_callable_op():
    words = autobp("draw", "--help").stdout.split()
    for name in ("exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs", "softplus", "neg"):   # ops.py's table
        assert name in words


@pytest.mark.parametrize("args", [
    ["frobnicate"], [], ["draw"], ["draw", "a", "--at"], ["gradcheck", "a", "--at", "a=1", "--order", "3"],
    ["train", "mnist"], ["train", "xor", "--epochs", "0"], ["demo", "nope"],
])
def test_cli_bad_arguments_exit_2_with_one_line(args):
    result = autobp(*args)
    assert_usage_error(result)
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("expr, words", [
    ("__import__('os')", "cannot call '__import__'"),
    ("a.__class__", "attribute access"),
    ("().__class__", "attribute access"),
    ("[x for x in ()]", "comprehensions"),
    ("lambda: 1", "lambdas"),
    ("a if b else c", "conditional"),
    ("open('f')", "cannot call 'open'"),
    ("2**99999", "'**'"),
    ("a**1e9", "'**'"),
])
def test_cli_hostile_expressions_are_refused_without_traceback(expr, words, tmp_path):
    at = ["--at", "a=2"] if expr == "a**1e9" else []      # the others fail before values matter
    result = autobp("draw", expr, *at, "-o", "g.svg", cwd=tmp_path)
    assert_usage_error(result)
    assert words in result.stderr.splitlines()[0]
    assert "^" in result.stderr                         # the caret under the offending part
    assert not (tmp_path / "g.svg").exists()


def test_cli_missing_values_are_listed():
    result = autobp("gradcheck", "a*b + c", "--at", "a=1")
    assert_usage_error(result)
    assert "no value for b, c" in result.stderr


def test_cli_demo_lists_and_runs():
    listing = autobp("demo")
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()] == list(EXAMPLES)
    assert autobp("demo", "neuron").returncode == 0


def test_cli_draw_writes_svg_by_default(tmp_path):
    result = autobp("draw", "tanh(a*b + c)", "--at", AT, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "graph.svg" in result.stdout
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "tanh" in svg


def test_cli_draw_dot_text_names_every_step(tmp_path):
    result = autobp("draw", "tanh(a*b + c)", "--at", AT, "-o", "g.dot", "--rankdir", "TB", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and "rankdir=TB" in dot
    for label in ("a", "b", "c", "n1", "n2", "L"):
        assert f"{{{label}|" in dot
    assert "grad" in dot
    assert "grad" not in autobp("draw", "a*b", "--at", "a=1,b=2", "-o", "-", "--format", "dot", "--no-grad").stdout


def test_cli_explain_gives_the_closed_form_gradient():
    result = autobp("explain", "tanh(a*b + c)", "--at", AT, "--wrt", "a")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "where n1 = a * b; n2 = n1 + c; L = tanh(n2)"
    last = [line for line in lines if line.startswith("∂L/∂a = ")][-1]
    assert float(last.split("=")[1]) == pytest.approx(EXACT["a"], abs=1e-9)


def test_cli_explain_steps_narrates_the_sweep():
    result = autobp("explain", "tanh(a*b + c)", "--at", AT, "--steps")
    assert result.returncode == 0, result.stderr
    assert "Backward sweep from L" in result.stdout
    assert "∂L/∂a +=" in result.stdout and "∂L/∂b +=" in result.stdout


def test_cli_gradcheck_passes_and_lists_every_input():
    result = autobp("gradcheck", "tanh(a*b + c)", "--at", AT, "--order", "2")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line.split()[1:2] == ["1"]}
    assert set(rows) == set(EXACT)
    for name, want in EXACT.items():
        assert float(rows[name][2]) == pytest.approx(want, rel=1e-9)
    assert "PASSED" in result.stdout


def test_cli_gradcheck_exits_1_when_the_check_fails():
    # no tolerance at all: finite differences never match to the last bit
    result = autobp("gradcheck", "exp(a) * b", "--at", "a=0.3,b=2", "--atol", "0", "--rtol", "1e-15")
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "FAIL" in result.stdout.splitlines()[1]


def test_cli_gradcheck_flags_a_kink():
    result = autobp("gradcheck", "relu(a) + abs(b)", "--at", "a=0,b=1")
    assert result.returncode == 0
    assert "kink" in result.stdout


def test_cli_gradcheck_sweep_prints_the_table(tmp_path):
    result = autobp("gradcheck", "--sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("1e-")]
    assert [float(r[0]) for r in rows] == [10.0 ** -k for k in range(1, 13)]
    assert "best forward" in result.stdout and "best central" in result.stdout


def test_cli_gradcheck_sweep_plot(tmp_path):
    pytest.importorskip("matplotlib")
    result = autobp("gradcheck", "--sweep", "exp(x)", "--at", "x=1", "--plot", "sweep.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("dataset, epochs", [("xor", "50"), ("moons", "1"), ("digits", "1")])
def test_cli_train_prints_a_summary_and_no_bar_off_a_terminal(dataset, epochs):
    if dataset == "digits":
        pytest.importorskip("sklearn")
    result = autobp("train", dataset, "--epochs", epochs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""                         # stderr is a pipe here: no progress bar
    assert result.stdout.startswith(f"{dataset}: ") and "accuracy" in result.stdout
    assert "seed 0" in result.stdout


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_cli_train_draws_a_progress_bar_on_a_terminal():
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a pty starts 0 columns wide
    shown = bytearray()

    def read() -> None:
        try:
            while chunk := os.read(master, 4096):
                shown.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = subprocess.run([sys.executable, "-m", "autobp", "train", "xor", "--epochs", "100"],
                            stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    reader.join(5)
    os.close(master)
    assert result.returncode == 0
    assert b"epoch/s" in shown and b"/400 [" in shown     # 100 epochs × 4 restarts


def test_cli_train_and_demo_traced():
    result = autobp("train", "moons", "--traced", "--epochs", "20")
    assert result.returncode == 0, result.stderr
    assert "traced" in result.stdout and "accuracy" in result.stdout
    assert_usage_error(autobp("demo", "neuron", "--traced"))
    result = autobp("demo", "moons", "--traced")
    assert result.returncode == 0 and "after 100 steps: training accuracy 100%" in result.stdout


@pytest.mark.parametrize("argv", [["explain", "-a*b", "--at", "a=1,b=2"], ["explain", "--at", "a=1,b=2", "-a*b"],
                                  ["explain", "--at", "a=1,b=2", "--", "-a*b"]])
def test_cli_an_expression_that_starts_with_a_minus_is_read_as_the_expression(argv):
    result = autobp(*argv, "--wrt", "a") if "--" not in argv else autobp(*argv[:3], "--wrt", "a", *argv[3:])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "∂L/∂a = -2"


def test_cli_an_option_is_still_an_option():
    result = autobp("draw", "a*b", "--at", "a=1,b=2", "-o", "-")
    assert result.returncode == 0 and result.stdout.startswith("<?xml") or "<svg" in result.stdout
    assert autobp("explain", "-z", "--at", "a=1").returncode == 2        # no operator: read as an option


def test_cli_gradcheck_and_draw_take_an_expression_that_starts_with_a_minus():
    assert autobp("gradcheck", "-a*b", "--at", "a=1,b=2").returncode == 0
    assert autobp("draw", "-(a+b)", "--at", "a=1,b=2", "-o", "-").returncode == 0


def test_cli_a_negative_number_in_exponent_form_stays_an_option_value():
    result = autobp("gradcheck", "a*b", "--at", "a=1,b=2", "--eps", "-1e-3")
    assert result.returncode == 2 and "--eps" in result.stderr
