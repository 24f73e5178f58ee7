"""Regenerate the golden numbers of the worked examples with plain `math` (never autobp).

The 2-2-2 network of WORKED_EXAMPLES.md §2 is written out here by hand: the
forward pass, the chain rule for every weight (the δ of each neuron), one
gradient step, and gradient descent until both outputs are within TOL of
their targets.  Run it only when a worked example changes on purpose:

    python tests/golden/regenerate.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

INPUTS = {"i1": 0.02, "i2": 0.04}
TARGETS = {"o1": 0.5, "o2": 0.9}
PARAMS = {"w1": 0.25, "w2": 0.25, "w3": 0.15, "w4": 0.20,
          "w5": 0.30, "w6": 0.35, "w7": 0.40, "w8": 0.35, "b1": 0.4, "b2": 0.7}
STEP_LR = 0.1           # the single step printed on the page
TRAIN_LR = 0.5          # the demo's training run
TOL = 1e-3              # ... stops when |out − target| < TOL for both outputs
SHOWN_STEPS = (1, 10, 100, 300)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def forward(p: dict) -> dict:
    i1, i2 = INPUTS["i1"], INPUTS["i2"]
    f = {"net_h1": p["w1"] * i1 + p["w2"] * i2 + p["b1"],
         "net_h2": p["w3"] * i1 + p["w4"] * i2 + p["b1"]}
    f["out_h1"], f["out_h2"] = sigmoid(f["net_h1"]), sigmoid(f["net_h2"])
    f["net_o1"] = p["w5"] * f["out_h1"] + p["w6"] * f["out_h2"] + p["b2"]
    f["net_o2"] = p["w7"] * f["out_h1"] + p["w8"] * f["out_h2"] + p["b2"]
    f["out_o1"], f["out_o2"] = sigmoid(f["net_o1"]), sigmoid(f["net_o2"])
    f["E_o1"] = 0.5 * (f["out_o1"] - TARGETS["o1"]) ** 2
    f["E_o2"] = 0.5 * (f["out_o2"] - TARGETS["o2"]) ** 2
    f["E"] = f["E_o1"] + f["E_o2"]
    return f


def gradients(p: dict, f: dict) -> dict:
    """∂E/∂p by the chain rule: δ = ∂E/∂net of each neuron, then ∂E/∂w = δ · (the input w multiplies)."""
    d_o1 = (f["out_o1"] - TARGETS["o1"]) * f["out_o1"] * (1 - f["out_o1"])
    d_o2 = (f["out_o2"] - TARGETS["o2"]) * f["out_o2"] * (1 - f["out_o2"])
    d_h1 = (d_o1 * p["w5"] + d_o2 * p["w7"]) * f["out_h1"] * (1 - f["out_h1"])
    d_h2 = (d_o1 * p["w6"] + d_o2 * p["w8"]) * f["out_h2"] * (1 - f["out_h2"])
    i1, i2 = INPUTS["i1"], INPUTS["i2"]
    return {"w1": d_h1 * i1, "w2": d_h1 * i2, "w3": d_h2 * i1, "w4": d_h2 * i2,
            "w5": d_o1 * f["out_h1"], "w6": d_o1 * f["out_h2"],
            "w7": d_o2 * f["out_h1"], "w8": d_o2 * f["out_h2"],
            "b1": d_h1 + d_h2,           # b1 feeds both hidden neurons
            "b2": d_o1 + d_o2}           # b2 feeds both outputs


def step(p: dict, lr: float) -> dict:
    g = gradients(p, forward(p))
    return {k: p[k] - lr * g[k] for k in p}


def two_two_two() -> dict:
    f = forward(PARAMS)
    p, steps, shown = dict(PARAMS), 0, {}
    while True:
        out = forward(p)
        if abs(out["out_o1"] - TARGETS["o1"]) < TOL and abs(out["out_o2"] - TARGETS["o2"]) < TOL:
            break
        p = step(p, TRAIN_LR)
        steps += 1
        if steps in SHOWN_STEPS:
            o = forward(p)
            shown[str(steps)] = {"E": o["E"], "out_o1": o["out_o1"], "out_o2": o["out_o2"]}
    final = forward(p)
    return {
        "forward": f,
        "gradients": gradients(PARAMS, f),
        "w6_factors": [f["out_o1"] - TARGETS["o1"], f["out_o1"] * (1 - f["out_o1"]), f["out_h2"]],
        "step_lr": STEP_LR,
        "after_one_step": step(PARAMS, STEP_LR),
        "training": {"lr": TRAIN_LR, "tol": TOL, "steps": steps, "shown": shown, "params": p,
                     "E": final["E"], "out_o1": final["out_o1"], "out_o2": final["out_o2"]},
    }


def main() -> None:
    here = Path(__file__).parent
    (here / "two_two_two.json").write_text(json.dumps(two_two_two(), indent=2) + "\n")


if __name__ == "__main__":
    main()
