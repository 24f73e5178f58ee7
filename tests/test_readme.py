"""The README's examples print what the README says they print.

- Every ```python block runs (in a temporary directory, in a fresh namespace).
- A ```python block followed directly by a bare ``` block prints exactly that block.
- A ```bash block holding one `autobp …` command, followed directly by a bare ``` block, prints that block.
- In a bare ``` block, each `$ autobp …` line is run and followed by exactly what it prints.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from autobp.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


def _blocks() -> list[tuple[str, str, int]]:
    """(language, text, line number) of every fenced block, in order."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _followed_by_output(blocks, i: int) -> str | None:
    """The bare block right after block i (only blank lines between them), if there is one."""
    if i + 1 == len(blocks):
        return None
    text = README.read_text(encoding="utf-8").splitlines()
    lang, body, start = blocks[i]
    end = start + body.count("\n") + 1              # the closing fence's line
    nxt_lang, nxt_body, nxt_start = blocks[i + 1]
    between = text[end:nxt_start - 1]
    return nxt_body if nxt_lang == "" and all(not line.strip() for line in between) else None


def _python_cases():
    blocks = _blocks()
    return [pytest.param(body, _followed_by_output(blocks, i), id=f"line{line}")
            for i, (lang, body, line) in enumerate(blocks) if lang == "python"]


def _command_cases():
    """(command, expected output) for `$ autobp` lines and for ```bash blocks with printed output."""
    blocks, cases = _blocks(), []
    for i, (lang, body, line) in enumerate(blocks):
        if lang == "bash" and body.strip().startswith("autobp ") and "\n" not in body.strip():
            expected = _followed_by_output(blocks, i)
            if expected is not None:
                cases.append(pytest.param(body.strip(), expected, id=f"line{line}"))
        elif lang == "" and body.startswith("$ autobp "):
            for k, chunk in enumerate(re.split(r"^\$ ", body, flags=re.M)[1:]):
                command, _, expected = chunk.partition("\n")
                cases.append(pytest.param(command, expected, id=f"line{line}-{k}"))
    return cases


@pytest.mark.parametrize("code, expected", _python_cases())
def test_readme_python_block_runs_and_prints_what_follows_it(code, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    if expected is not None:
        assert out.getvalue() == expected


@pytest.mark.parametrize("command, expected", _command_cases())
def test_readme_command_prints_what_follows_it(command, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(command)
    assert argv[0] == "autobp"
    main(argv[1:])
    captured = capsys.readouterr()
    assert captured.out + captured.err == expected


def test_readme_has_checked_examples():
    """The harness found what it is meant to check (a parsing slip must not make every case vanish)."""
    assert len(_python_cases()) >= 4 and len(_command_cases()) >= 2
    assert sum(expected is not None for _, expected in (c.values for c in _python_cases())) >= 2
