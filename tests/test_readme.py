"""The README's examples print what the README says they print.

- The ```python blocks of one section (a `## ` heading) run in order in one namespace, in a temporary
  directory, as a reader would paste them one after the other.
- A ```python block followed directly by a bare ``` block prints exactly that block.
- A ```bash block holding one `autobp …` command, followed directly by a bare ``` block, prints that block.
- In a bare ``` block, each `$ autobp …` line is run and followed by exactly what it prints.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from autobp.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)


@dataclass
class Block:
    language: str
    text: str
    line: int              # of the opening fence
    end: int               # of the closing fence
    section: str           # the `## ` heading above it
    output: str | None = None    # the bare block right after it, if only blank lines lie between


def _blocks() -> list[Block]:
    """Every fenced block, in order, each with the bare block that follows it."""
    lines = TEXT.splitlines()
    blocks = []
    for m in FENCE.finditer(TEXT):
        line = TEXT.count("\n", 0, m.start()) + 1
        heading = next((lines[k] for k in range(line - 1, -1, -1) if lines[k].startswith("## ")), "")
        blocks.append(Block(m.group(1), m.group(2), line, line + m.group(2).count("\n") + 1, heading[3:]))
    for block, after in zip(blocks, blocks[1:]):
        if after.language == "" and not any(s.strip() for s in lines[block.end:after.line - 1]):
            block.output = after.text
    return blocks


def _sections() -> list:
    """The Python blocks of each section, as one case per section."""
    by_section: dict[str, list[Block]] = {}
    for b in _blocks():
        if b.language == "python":
            by_section.setdefault(b.section, []).append(b)
    return [pytest.param(blocks, id=name or "top") for name, blocks in by_section.items()]


def _command_cases() -> list:
    """(command, expected output) for `$ autobp` lines and for ```bash blocks with printed output."""
    cases = []
    for b in _blocks():
        if b.language == "bash" and b.text.strip().startswith("autobp ") and "\n" not in b.text.strip():
            if b.output is not None:
                cases.append(pytest.param(b.text.strip(), b.output, id=f"line{b.line}"))
        elif b.language == "" and b.text.startswith("$ autobp "):
            for k, chunk in enumerate(re.split(r"^\$ ", b.text, flags=re.M)[1:]):
                command, _, expected = chunk.partition("\n")
                cases.append(pytest.param(command, expected, id=f"line{b.line}-{k}"))
    return cases


@pytest.mark.parametrize("blocks", _sections())
def test_readme_python_blocks_run_and_print_what_follows_them(blocks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile("\n" * (block.line) + block.text, str(README), "exec"), namespace)
        if block.output is not None:
            assert out.getvalue() == block.output, f"README.md line {block.line}"


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
    python = [b for b in _blocks() if b.language == "python"]
    assert len(python) >= 8 and sum(b.output is not None for b in python) >= 5
    assert len(_command_cases()) >= 3
