"""The command line where a newcomer meets it: defaults, refusals that name the flag, a closed pipe, --version.

Each test runs `python -m autobp ...` (or a demo script) in a subprocess, as a user would.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

import autobp
from autobp import engine
from autobp.expr import MAX_DEPTH, MAX_LENGTH
from autobp.script import CLOSED_PIPE

SWEEP_FLAGS_ONLY = [["--wrt", "a"], ["--plot", "sweep.png"]]
CHECK_FLAGS_ONLY = [["--order", "2"], ["--eps", "1e-4"], ["--atol", "1e-3"], ["--rtol", "1e-2"]]


def run(*args, cwd=None, env=None, module="autobp"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def usage_error(result, *words):
    """Exit 2, nothing on stdout, one `autobp…: error:` line on stderr containing every word."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("autobp") and ": error: " in first, first
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    return result.stderr


def without_dot(tmp_path):
    """An environment whose PATH holds no programs at all (so no Graphviz `dot`)."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty)}


# -- gradcheck ------------------------------------------------------------------

def test_gradcheck_without_expression_runs_the_default_experiment_and_says_so():
    result = run("gradcheck")
    assert result.returncode == 0, result.stderr
    first, *table = result.stdout.splitlines()
    assert "tanh(a*b + c)" in first and "a=2, b=-3, c=10" in first
    L = math.tanh(2 * -3 + 10)
    exact = {"a": (1 - L * L) * -3, "b": (1 - L * L) * 2, "c": 1 - L * L}
    rows = {line.split()[0]: float(line.split()[2]) for line in table[1:] if line.split()[1:2] == ["1"]}
    assert rows.keys() == exact.keys()
    for name, want in exact.items():
        assert rows[name] == pytest.approx(want, rel=1e-9)
    assert table[-1].startswith("PASSED")


def test_gradcheck_at_without_expression_is_refused():
    usage_error(run("gradcheck", "--at", "a=1"), "--at", "EXPR")


@pytest.mark.parametrize("eps", ["1e-300", "1e-20"])
def test_gradcheck_eps_too_small_to_move_an_input_names_eps(eps):
    text = usage_error(run("gradcheck", "a*b", "--at", "a=1,b=2", "--eps", eps), "eps", "a = 1")
    assert "float division by zero" not in text


@pytest.mark.parametrize("flag, value", [("--atol", "-1"), ("--rtol", "nan"), ("--atol", "inf"),
                                         ("--rtol", "-0.5"), ("--eps", "0"), ("--eps", "nan"), ("--eps", "inf")])
def test_gradcheck_refuses_negative_or_non_finite_tolerances(flag, value):
    usage_error(run("gradcheck", "a*b", "--at", "a=1,b=2", flag, value), flag, value)


@pytest.mark.parametrize("flags", SWEEP_FLAGS_ONLY, ids=lambda f: f[0])
def test_gradcheck_sweep_flags_without_sweep_are_refused(flags, tmp_path):
    usage_error(run("gradcheck", "a*b", "--at", "a=1,b=2", *flags, cwd=tmp_path), flags[0], "--sweep")
    assert not (tmp_path / "sweep.png").exists()


@pytest.mark.parametrize("flags", CHECK_FLAGS_ONLY, ids=lambda f: f[0])
def test_gradcheck_check_flags_with_sweep_are_refused(flags):
    usage_error(run("gradcheck", "--sweep", *flags), flags[0], "--sweep")


def test_gradcheck_sweep_names_the_step_that_leaves_the_domain():
    text = usage_error(run("gradcheck", "--sweep", "log(a)", "--at", "a=0.01"), "eps=0.1", "a = 0.01")
    assert "log" in text


@pytest.mark.parametrize("command", ["gradcheck", "explain"])
@pytest.mark.parametrize("expr", ["2+3", "exp(1)"])
def test_an_expression_without_names_is_refused(command, expr):
    usage_error(run(command, expr), "no names")


# -- explain / draw ---------------------------------------------------------------

def test_draw_highlight_of_an_unknown_name_names_highlight(tmp_path):
    text = usage_error(run("draw", "a*b", "--at", "a=1,b=2", "--highlight", "z", cwd=tmp_path), "--highlight z")
    assert "--wrt" not in text


@pytest.mark.parametrize("path_has_dot", [True, False], ids=["with dot", "without dot"])
def test_draw_unknown_suffix_says_unknown_format(tmp_path, path_has_dot):
    env = None if path_has_dot else without_dot(tmp_path)
    text = usage_error(run("draw", "a*b", "--at", "a=1,b=2", "-o", "g.txt", cwd=tmp_path, env=env),
                       "-o g.txt", "unknown format 'txt'", ".svg")
    assert "needs" not in text
    assert not (tmp_path / "g.txt").exists()


def test_draw_renderer_dot_without_dot_says_which_renderer_works(tmp_path):
    text = usage_error(run("draw", "a*b", "--at", "a=1,b=2", "--renderer", "dot", "-o", "g.svg", cwd=tmp_path,
                           env=without_dot(tmp_path)), "renderer 'dot'", "`dot`", "'wasm'")
    assert "use format='svg'" not in text



def test_draw_png_without_dot_says_how_to_install_graphviz(tmp_path):
    usage_error(run("draw", "a*b", "--at", "a=1,b=2", "-o", "g.png", cwd=tmp_path, env=without_dot(tmp_path)),
                "format 'png'", "`dot`", "apt install graphviz", "brew install graphviz", "SVG")
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("output", ["g.png", "g.svg"])
def test_draw_with_a_dot_that_fails_gives_its_message_not_a_traceback(tmp_path, output):
    """A `dot` that cannot draw a format (an old Graphviz without the plugin: -o g.bmp, g.tiff) exits 1."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "dot").write_text("#!/bin/sh\necho 'Format: \"bmp\" not recognized' >&2\nexit 1\n")
    (bin_ / "dot").chmod(0o755)
    usage_error(run("draw", "a*b", "--at", "a=1,b=2", "-o", output, cwd=tmp_path,
                    env={**os.environ, "PATH": str(bin_)}), "Graphviz `dot` could not draw", "not recognized")


# -- train --------------------------------------------------------------------------

def test_train_negative_seed_is_refused_before_anything_is_printed():
    usage_error(run("train", "xor", "--seed", "-1", "--epochs", "1"), "--seed", "-1")


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_train_non_finite_learning_rate_is_refused(value):
    usage_error(run("train", "xor", "--lr", value, "--epochs", "1"), "--lr", value)


@pytest.mark.parametrize("dataset", ["xor", "moons"])
def test_train_a_diverged_run_says_so_and_exits_1(dataset):
    result = run("train", dataset, "--lr", "1000", "--epochs", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nan" not in result.stdout
    assert "diverged" in result.stdout and "--lr" in result.stdout


# -- the command line as a whole ---------------------------------------------------------

def test_version_prints_the_one_version_and_the_engine_mode():
    result = run("--version")
    assert result.returncode == 0
    mode = "compiled nodes" if engine.COMPILED_NODES else "pure Python"
    assert result.stdout == f"autobp {autobp.__version__} ({mode})\n"


@pytest.mark.parametrize("args", [["draw", "a"], ["explain", "a"], ["gradcheck", "a"], ["train", "xor"],
                                  ["demo", "neuron"]], ids=lambda a: a[0])
def test_an_unknown_flag_points_to_the_subcommand_help(args):
    assert f"see 'autobp {args[0]} --help'" in usage_error(run(*args, "--bogus"), "--bogus")


def test_an_unknown_flag_before_the_subcommand_points_to_the_main_help():
    assert "see 'autobp --help'" in usage_error(run("--bogus", "demo"))


def test_expression_limits_are_in_the_help():
    text = " ".join(run("draw", "--help").stdout.split())
    assert f"at most {MAX_LENGTH:,} characters and {MAX_DEPTH} levels of nesting" in text


def _with_stdout_closed_early(args: list[str], buffered: bool) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader is gone before anything is written, as `| head -0` would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED" or not buffered}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"                 # every print is a write: the error comes from print itself
    p = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    p.stdout.close()
    stderr = p.stderr.read()
    p.stderr.close()
    return subprocess.CompletedProcess(args, p.wait(timeout=300), None, stderr)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [
    ["-m", "autobp", "demo", "neuron"],
    ["-m", "autobp", "gradcheck", "--sweep"],
    ["-m", "autobp", "explain", "tanh(a*b + c)", "--at", "a=2,b=-3,c=10"],
    ["-m", "autobp", "draw", "a*b", "--at", "a=1,b=2", "-o", "-", "--format", "dot"],
    ["-m", "autobp.demos.neuron"],
    ["-m", "autobp.demos.two_two_two"],
], ids=" ".join)
def test_a_closed_pipe_ends_quietly(args, buffered):
    result = _with_stdout_closed_early(args, buffered)
    assert result.stderr == ""
    assert result.returncode == CLOSED_PIPE == 141     # 128 + SIGPIPE, what a shell reports for `yes | head -1`


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_into_a_closed_pipe_ends_quietly(flag, buffered):
    """argparse itself ignores a failed write of --help or --version (exit 0); a buffered one fails at the flush."""
    result = _with_stdout_closed_early(["-m", "autobp", flag], buffered)
    assert result.stderr == "" and result.returncode in (0, CLOSED_PIPE)


def test_a_pipe_into_head_ends_quietly():
    result = subprocess.run(f"'{sys.executable}' -m autobp demo two_two_two | head -1", shell=True,
                            capture_output=True, text=True, timeout=300)
    assert result.stdout.count("\n") == 1 and result.stderr == ""
