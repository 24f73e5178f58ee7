"""The worked examples of WORKED_EXAMPLES.md as functions that build labelled graphs.

Demos, the command line, the golden tests and the README all build their
graphs here, so they share one source.  `EXAMPLES` maps a demo's name to its
one-line description.
"""

from __future__ import annotations

from autobp.engine import Value

EXAMPLES: dict[str, str] = {
    "neuron": "§1 the a·b neuron: random nudging vs nudging along the gradient",
}


def neuron(a: float = 5.0, b: float = 6.0) -> dict[str, Value]:
    """§1: f = a·b with labelled leaves; ∂f/∂a = b and ∂f/∂b = a."""
    va, vb = Value(a, "a"), Value(b, "b")
    f = va * vb
    f.label = "f"
    return {"a": va, "b": vb, "f": f}
