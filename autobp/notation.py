"""How the tools write numbers and formulas: as the worked examples print them by hand.

`number(0.24859831069, 9)` is 0.248598311, `formula(node, k, …)` is the op
table's ∂node/∂(operand k) with the operands' names put in, `factor` puts a
term in parentheses where a product needs them, and `table` lines up rows.
`autobp.explain` and the narrated sweeps (`autobp.steps`) write with these.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from autobp.engine import Value

__all__ = ["number", "signed_sum", "formula", "factor", "table"]


def number(x: float, digits: int) -> str:
    """x rounded to `digits` decimal places as on the page (0.248598311, 0.3); below 0.001, `digits` significant digits."""
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.{digits}g}"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed_sum(terms: list[str]) -> str:
    """'a + b - c' from the terms' texts."""
    text = terms[0]
    for t in terms[1:]:
        text += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return text


def formula(node: Value, k: int, name_of: Callable[[Value], str], digits: int) -> str:
    """The op table's formula for ∂node/∂(operand k), written with the operands' names.

    A formula names the operands x, y, z; each becomes the operand's label,
    or its number when it has none.
    """
    op = node.op_record
    if op is None:
        raise ValueError(f"{node!r} is a leaf: no op, no formula")
    names = {}
    for letter, a in zip("xyz", node.operands):
        names[letter] = name_of(a) if isinstance(a, Value) else number(a, digits)
    return re.sub(r"\b[xyz]\b", lambda m: names.get(m.group(), m.group()), op.formula(k))


def factor(text: str) -> str:
    """`text` in parentheses unless it is a single name or number, so it reads right in a product."""
    return text if re.fullmatch(r"[\w.#]+", text) else f"({text})"


def table(title: str, header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """The title, then header and rows in left-aligned columns."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join([title] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *body]])
