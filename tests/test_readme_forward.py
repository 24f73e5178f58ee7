"""The README's "Forward mode and curvature" section: each Python block prints the output block after it,
and each `$ autobp …` line in a bare block prints the lines under it."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from autobp.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Forward mode and curvature"):]
SECTION = SECTION[:SECTION.index("\n## ", 1)]
FENCES = re.findall(r"```(\w*)\n(.*?)```", SECTION, re.S)
EXAMPLES = [(code, output) for (lang, code), (next_lang, output) in zip(FENCES, FENCES[1:])
            if lang == "python" and next_lang == ""]
COMMANDS = [chunk.partition("\n")[::2] for lang, body in FENCES if lang == "" and body.startswith("$ autobp ")
            for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]]


def test_the_section_has_its_examples():
    assert len(EXAMPLES) == 3 and len(COMMANDS) == 1
    for words in ("autobp gradcheck EXPR --directional", "autobp explain EXPR --forward", "autobp demo modes"):
        assert words in " ".join(SECTION.split())


@pytest.mark.parametrize("code, output", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_each_python_block_prints_the_output_shown(code, output):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert printed.getvalue() == output


@pytest.mark.parametrize("command, output", COMMANDS, ids=[c.split()[1] for c, _ in COMMANDS])
def test_each_command_prints_the_lines_under_it(command, output, capsys):
    argv = shlex.split(command)
    assert argv[0] == "autobp" and main(argv[1:]) == 0
    assert capsys.readouterr().out == output
