"""W7: forward mode and curvature, as ratios measured in the same run.

  jvp      jvp(f, params, u) against one forward pass f(*params) of the same graph
  hvp      hvp(f, params, v) against one backward() of that graph (and against a whole gradient:
           forward pass + backward())
  check    gradcheck(loss, params, mode="directional") on the digits network, MLP(64, [30, 10])
           (2,260 parameters), ½Σ(a − y)² over a batch of 10 digits

f is the loss of MLP(64, [32, 10]) (relu, as W4) on one sample, differentiated with respect to its
1,130 parameters.  The run checks the numbers: jvp·u against ∇f·u from backward(), and hvp against a
central difference of the gradient along v.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from typing import Callable

TARGETS = {"jvp_over_forward": 3.0, "hvp_over_backward": 5.0, "directional_check_s": 1.0}
# ratio name: (numerator, denominator), each the median over rounds of the ratio within one round
RATIOS = {"jvp_over_forward": ("jvp_s", "forward_s"), "hvp_over_backward": ("hvp_s", "backward_s"),
          "hvp_over_gradient": ("hvp_s", "gradient_s"), "backward_over_forward": ("backward_s", "forward_s")}


def _median_time(run: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _mlp_loss(nin: int, nouts: list[int], activation: str, samples: list, seed: int):
    """(f, params): f(*params) is ½Σ(a − y)² of an MLP averaged over `samples` [(x, one-hot y)]."""
    from autobp.nn import MLP, mse_loss

    mlp = MLP(nin, nouts, activation=activation, output_activation=activation if activation == "sigmoid" else None,
              seed=seed)

    def f(*_params):
        return mse_loss([mlp(x) for x, _ in samples], [y for _, y in samples])
    return f, mlp.parameters()


def _digits_batch(size: int, rng: random.Random) -> tuple[list, str]:
    """A batch of 8×8 digits (scikit-learn's, when installed) or of random 8×8 images in [0, 1]."""
    try:
        from autobp.datasets import load_digits
        X, y = load_digits()
        rows, what = [(list(map(float, X[i])), int(y[i])) for i in range(size)], "8×8 digits"
    except ImportError:
        rows, what = [([rng.randrange(17) / 16 for _ in range(64)], i % 10) for i in range(size)], "random 8×8 images"
    return [(x, [float(j == label) for j in range(10)]) for x, label in rows], what


def w7(quick: bool) -> dict:
    from autobp import grad, hvp, jvp
    from autobp.engine import topo_order
    from autobp.forward import Linearization
    from autobp.gradcheck import gradcheck

    rng = random.Random(6)
    reps = 3 if quick else 9
    sample = [([rng.randrange(17) / 16 for _ in range(64)], [float(j == 3) for j in range(10)])]
    f, params = _mlp_loss(64, [32, 10], "relu", sample, seed=6)
    u = [rng.gauss(0.0, 1.0) for _ in params]
    res: dict = {"parameters": len(params)}

    out = f(*params)
    res["nodes"] = _count_nodes(out)
    gradient = [g.data for g in grad(out, params)]
    _, tangent = jvp(f, params, u)
    exact = sum(g * ui for g, ui in zip(gradient, u))
    scale = sum(abs(g * ui) for g, ui in zip(gradient, u))
    if not math.isclose(tangent.data, exact, rel_tol=0, abs_tol=1e-12 * scale):
        raise AssertionError(f"W7: jvp {tangent.data!r} != ∇f·u {exact!r}")
    res["check_jvp_abs_error"] = abs(tangent.data - exact)
    hv = [h.data for h in hvp(f, params, u)]
    res["check_hvp_rel_error"] = _hvp_error(f, params, u, hv)
    if res["check_hvp_rel_error"] > 1e-5:
        raise AssertionError(f"W7: hvp differs from a central difference of the gradient "
                             f"by {res['check_hvp_rel_error']}")

    def clock(run: Callable[[], object]) -> float:
        gc.collect()
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    def one_round() -> dict[str, float]:
        """Every timing once, interleaved, so a slow moment of a shared machine hits them alike."""
        times = {"forward_s": clock(lambda: f(*params)), "jvp_s": clock(lambda: jvp(f, params, u))}
        loss = f(*params)
        times["backward_s"] = clock(loss.backward)
        times["topo_order_s"] = clock(lambda: topo_order(loss))
        linear = Linearization([loss])
        times["push_s"] = clock(lambda: linear.push(seeds))
        times["gradient_s"] = clock(lambda: f(*params).backward())
        times["hvp_s"] = clock(lambda: hvp(f, params, u))
        return times

    seeds = dict(zip(params, u))
    rounds = [one_round() for _ in range(reps)]
    for key in rounds[0]:
        res[key] = statistics.median(r[key] for r in rounds)
    res["ratios"] = {name: statistics.median(r[num] / r[den] for r in rounds)
                     for name, (num, den) in RATIOS.items()}
    for p in params:
        p.grad = 0.0

    batch, what = _digits_batch(10, rng)
    check_f, check_params = _mlp_loss(64, [30, 10], "sigmoid", batch, seed=5)
    report = None

    def check():
        nonlocal report
        report = gradcheck(check_f, check_params, mode="directional")
    res["directional_check_s"] = _median_time(check, 1 if quick else 3)
    res["directional_check_parameters"] = len(check_params)
    res["directional_check_data"] = what
    res["directional_check_passed"] = report.passed
    if not report.passed:
        raise AssertionError(f"W7: the directional check of the digits network failed\n{report}")
    return res


def _count_nodes(out) -> int:
    from autobp.engine import topo_order
    return len(topo_order(out))


def _hvp_error(f, params, v, hv, h: float = 1e-5) -> float:
    """max |hvp − (∇f(x + h·v) − ∇f(x − h·v))/2h| relative to the largest entry."""
    from autobp import grad

    def gradient_at(sign: float) -> list[float]:
        saved = [p.data for p in params]
        for p, vi in zip(params, v):
            p.data += sign * h * vi
        try:
            return [g.data for g in grad(f(*params), params)]
        finally:
            for p, x in zip(params, saved):
                p.data = x
    plus, minus = gradient_at(1.0), gradient_at(-1.0)
    numeric = [(a - b) / (2 * h) for a, b in zip(plus, minus)]
    return max(abs(a - b) for a, b in zip(hv, numeric)) / max(1.0, max(map(abs, numeric)))


def ratios(res: dict) -> dict[str, float]:
    return {**res["ratios"], "directional_check_s": res["directional_check_s"]}


def table(res: dict) -> str:
    """W7 as Markdown: times, ratios and what was checked."""
    r = ratios(res)
    per_node = {k: res[k] / res["nodes"] * 1e9 for k in ("forward_s", "topo_order_s", "push_s")}
    rows = [
        f"| forward pass f(*params) | {res['forward_s'] * 1e3:.2f} ms | 1 |",
        f"| jvp(f, params, u) | {res['jvp_s'] * 1e3:.2f} ms | {r['jvp_over_forward']:.2f}× the forward pass |",
        f"| backward() of that graph | {res['backward_s'] * 1e3:.2f} ms | "
        f"{r['backward_over_forward']:.2f}× the forward pass |",
        f"| gradient: forward pass + backward() | {res['gradient_s'] * 1e3:.2f} ms | |",
        f"| hvp(f, params, v) | {res['hvp_s'] * 1e3:.2f} ms | {r['hvp_over_backward']:.1f}× backward(), "
        f"{r['hvp_over_gradient']:.1f}× a gradient |",
        f"| gradcheck(mode=\"directional\"), MLP(64, [30, 10]), {res['directional_check_parameters']:,} parameters, "
        f"10 {res['directional_check_data']} | {res['directional_check_s']:.2f} s | "
        f"{'passed' if res['directional_check_passed'] else 'FAILED'} |",
        "",
        f"Where jvp's time goes, ns per node: the forward pass {per_node['forward_s']:.0f}, then the tangent "
        f"sweep {per_node['push_s']:.0f} (of which ordering the graph, as topo_order does, "
        f"{per_node['topo_order_s']:.0f}; the rest is mostly one call of each node's partials).",
    ]
    return "\n".join([f"W7 forward mode and curvature: f = ½Σ(a − y)² of MLP(64, [32, 10]) relu, one sample, "
                      f"{res['parameters']:,} parameters, {res['nodes']:,} nodes "
                      f"(jvp checked against ∇f·u to {res['check_jvp_abs_error']:.1e}, hvp against a "
                      f"difference of gradients to {res['check_hvp_rel_error']:.1e})", "",
                      "| what | time (median) | ratio |", "| --- | --- | --- |", *rows])


def targets(res: dict) -> dict[str, float]:
    """The issue's targets, named as run.py prints them ('… <= bound')."""
    r = ratios(res)
    return {f"W7 jvp / forward pass <= {TARGETS['jvp_over_forward']:g}": r["jvp_over_forward"],
            f"W7 hvp / backward() <= {TARGETS['hvp_over_backward']:g}": r["hvp_over_backward"],
            f"W7 gradcheck directional, digits 2,260 parameters, seconds <= {TARGETS['directional_check_s']:g}":
                r["directional_check_s"]}
