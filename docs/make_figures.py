"""Regenerate the README's figure docs/graph.svg: L = tanh(a·b + c) after backward().

Run from the repository root:  python docs/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

from autobp import Value
from autobp.viz import render

HERE = Path(__file__).resolve().parent


def tanh_neuron() -> Value:
    """L = tanh(a·b + c), with c chosen so that L = tanh(0.8814) = 1/√2 and ∂L/∂(ab + c) = 1/2."""
    a, b, c = Value(2.0, "a"), Value(-3.0, "b"), Value(6.881373587019543, "c")
    ab = a * b
    ab.label = "ab"
    n = ab + c
    n.label = "n"
    L = n.tanh()
    L.label = "L"
    L.backward()
    return L


def main() -> None:
    render(tanh_neuron(), HERE / "graph.svg", edge_derivatives=True)
    print(f"wrote {HERE / 'graph.svg'}")


if __name__ == "__main__":
    main()
