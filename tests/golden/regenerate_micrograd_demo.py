"""Record micrograd 0.1.0's run of its demo notebook (never autobp's): tests/golden/micrograd_demo.json.

micrograd takes minutes for the notebook's 100 steps, too long for the test
suite, so its run is recorded once here, with the data it ran on (the moons
of make_moons(100, noise=0.1) after np.random.seed(1337)), and the slow test
replays autobp.micrograd on the same data against it.  Needs the test and
data extras; run it only when the flow changes on purpose:

    python tests/golden/regenerate_micrograd_demo.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from micrograd_flows import flow_demo          # noqa: E402
from micrograd_reference import MICROGRAD      # noqa: E402


def _plain(x):
    """A NumPy scalar (micrograd keeps the moons' float64s in its Values) as the Python number it holds."""
    return x.item()


def main() -> None:
    np.random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    random.seed(1337)
    rows = flow_demo(MICROGRAD, X, y, steps=100, boundary=True)
    record = {"engine": MICROGRAD.name, "X": X.tolist(), "y": y.tolist(), "rows": rows}
    (HERE / "micrograd_demo.json").write_text(json.dumps(record, indent=0, default=_plain) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
