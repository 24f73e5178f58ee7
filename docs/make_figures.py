"""Regenerate the README's figures: docs/graph.svg, and with --explorer the screenshot docs/explorer.png.

Run from the repository root:  python docs/make_figures.py [--explorer]

graph.svg is L = tanh(a·b + c) after backward().  explorer.png is the
interactive page of the same graph (`autobp.viz.explore`) in a headless
Chromium, half-way through the backward sweep with `b` clicked; it needs
Playwright (`pip install playwright`, in the test extra) and the system's
Chromium at /usr/bin/chromium (`apt-get install chromium`).  The browser tests
drive Chromium with the same `chromium()` and take the same screenshot.
"""

from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from autobp import Value
from autobp.viz import explore, render

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
# headless, no sandbox (CI runs as root), and nothing that would call home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


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
    """Screenshot of the explorer on tanh_neuron(): step 4 of the backward sweep, `b` clicked (its explain text)."""
    if context is None:
        with chromium() as context:
            return explorer_png(path, context)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = explore(tanh_neuron(), edge_derivatives=True).save(Path(tmp) / "explorer.html")
        page = context.new_page()
        try:
            page.set_viewport_size({"width": 1280, "height": 600})
            page.goto(page_file.as_uri())
            for _ in range(4):
                page.keyboard.press("ArrowRight")
            page.click("#graph svg text >> text='b'")
            page.screenshot(path=str(path))
        finally:
            page.close()
    return Path(path)


def main(argv: list[str]) -> None:
    if "--explorer" in argv:
        print(f"wrote {explorer_png(HERE / 'explorer.png')}")
        return
    render(tanh_neuron(), HERE / "graph.svg", edge_derivatives=True)
    print(f"wrote {HERE / 'graph.svg'}")


if __name__ == "__main__":
    main(sys.argv[1:])
