"""Record micrograd 0.1.0's own runs (never autobp's) of two long flows: tests/golden/micrograd_runs.json.

micrograd takes minutes for the demo notebook's 100 steps and half a minute
for the LLM101n script's, too long for the test suite, so its runs are
recorded once here and the slow tests replay autobp.micrograd against them:

- "demo": demo.ipynb, with the data it ran on (the moons of
  make_moons(100, noise=0.1) after np.random.seed(1337)), 100 steps and the
  decision boundary;
- "llm101n": the LLM101n script's 100 steps, on micrograd 0.1.0 plus the
  tanh/exp/log it adds (tests/micrograd_reference.py, labelled there).

Needs the test and data extras; run it only when a flow changes on purpose:

    python tests/golden/regenerate_micrograd.py
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

from micrograd_flows import flow_demo, flow_llm101n           # noqa: E402
from micrograd_reference import MICROGRAD, lecture_additions  # noqa: E402


def _plain(x):
    """A NumPy scalar (micrograd keeps the moons' float64s in its Values) as the Python number it holds."""
    return x.item()


def main() -> None:
    np.random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    random.seed(1337)
    demo = flow_demo(MICROGRAD, X, y, steps=100, boundary=True)
    with lecture_additions(tanh="math"):
        llm101n = flow_llm101n(MICROGRAD, steps=100)
    record = {"engine": MICROGRAD.name,
              "demo": {"X": X.tolist(), "y": y.tolist(), "rows": demo},
              "llm101n": {"rows": llm101n}}
    (HERE / "micrograd_runs.json").write_text(json.dumps(record, indent=0, default=_plain) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
