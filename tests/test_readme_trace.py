"""The README's "Written with scalars, run as matrices" example prints what the README shows."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_blocks(title: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block in the README section `title`."""
    text = README.read_text(encoding="utf-8")
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w*)\n(.*?)```", body, flags=re.S)


def test_readme_trace_example_prints_its_schedule_and_training_result():
    blocks = _section_blocks("Written with scalars, run as matrices")
    (lang, code), (_, shown) = blocks[0], blocks[1]
    assert lang == "python"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    assert out.getvalue() == shown
    assert "z^1 = W^1 a^0 + b^1" in shown and "BP4" in shown
