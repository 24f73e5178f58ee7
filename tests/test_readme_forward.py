"""The README's "Forward mode and curvature" section: each Python block prints the output block after it."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Forward mode and curvature"):]
SECTION = SECTION[:SECTION.index("\n## ", 1)]
FENCES = re.findall(r"```(\w*)\n(.*?)```", SECTION, re.S)
EXAMPLES = [(code, output) for (lang, code), (next_lang, output) in zip(FENCES, FENCES[1:])
            if lang == "python" and next_lang == ""]


def test_the_section_has_its_examples():
    assert len(EXAMPLES) == 3
    for words in ("autobp gradcheck EXPR --directional", "autobp explain EXPR --forward", "autobp demo modes"):
        assert words in " ".join(SECTION.split())


@pytest.mark.parametrize("code, output", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_each_python_block_prints_the_output_shown(code, output):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert printed.getvalue() == output
