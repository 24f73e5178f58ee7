"""autobp's speed and memory against plain floats, micrograd and (optionally) PyTorch, in one run.

    python -m pip install -e '.[bench]'      # micrograd 0.1.0; PyTorch is used when installed
    python benchmarks/run.py                 # a few minutes; --quick for a smoke run

Workloads (see benchmarks/README.md):
  W1  deep chain y ← y·1.0001 + 0.0001, N = 10³…10⁶ (2N nodes), forward and backward, ns per node
  W2  Σ aᵢbᵢ over 10⁵ products (2·10⁵ − 1 nodes), forward + backward
  W3  MLP(2, [16, 16, 1]) relu on 100 two-moons points, hinge loss + 1e-4·L2: one step and 100 steps
  W4  MLP(64, [32, 10]) relu, ½ squared error, forward + backward per sample
  W5  bytes per node of a live 10⁵-node graph (tracemalloc), and whether dropping it frees the
      memory by reference counting alone (gc disabled while checking)
  W6  the graph-reading tools: explain() on a 10⁵-node chain, backward_steps streamed over 10⁶ nodes
  T1–T5  autobp.trace against NumPy matrices and network.Network (traced.py)
  W7  forward mode and curvature (forward_mode.py): jvp against one forward pass, hvp against one
      backward(), gradcheck(mode="directional") of the digits network (autobp only)

Every engine computes the same numbers; the run fails if any result disagrees.
Times are medians over repetitions, with Python's garbage collector on (as users run).
autobp is timed as installed (with its C node helper, autobp/_node.c, when built) and,
in a second process, in pure Python (AUTOBP_PURE_PYTHON=1) for comparison.
Prints Markdown tables and writes the same as JSON (default benchmarks/results/latest.json).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import random
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import engines
import forward_mode
import tape
import tools
import traced

clock = time.perf_counter_ns
A, B, X0 = 1.0001, 0.0001, 1.0
LAM, LR = 1e-4, 0.05


def agree(what: str, ref: list[float], got: list[float], rel: float = 1e-12, abs_: float = 1e-15) -> float:
    """Assert got ≈ ref elementwise; return the largest relative difference."""
    worst = 0.0
    for r, g in zip(ref, got, strict=True):
        if not math.isclose(r, g, rel_tol=rel, abs_tol=abs_):
            raise AssertionError(f"{what}: engines disagree, {g!r} vs floats {r!r}")
        worst = max(worst, abs(r - g) / max(abs(r), 1e-300))
    return worst


def median_runs(run, reps: int) -> list[float]:
    """Medians, field by field, of `reps` calls of run() -> tuple of times; gc.collect() between runs."""
    rows = []
    for _ in range(reps):
        gc.collect()           # start each run from the same heap; micrograd's cycles are freed here
        rows.append(run())
    return [statistics.median(col) for col in zip(*rows)]


# ---------------------------------------------------------------------------
# W1 and W2
# ---------------------------------------------------------------------------

def w1_floats(n: int, check: dict) -> tuple[int, int]:
    t0 = clock()
    vals, deps = tape.chain(n, X0, A, B)
    t1 = clock()
    adj = tape.reverse_sweep(deps, len(vals) - 1)
    t2 = clock()
    check[n] = [vals[-1], adj[0]]
    return t1 - t0, t2 - t1


def w1_engine(eng, n: int) -> tuple[int, int, list[float]]:
    x = eng.leaf(X0)
    y = x
    t0 = clock()
    for _ in range(n):
        y = y * A + B
    t1 = clock()
    eng.backward(y)
    t2 = clock()
    return t1 - t0, t2 - t1, [eng.data(y), eng.grad(x)]


def micrograd_fail_depth(eng) -> int:
    """The shortest W1 chain (in nodes) on which micrograd's recursive backward fails at the default recursion limit."""
    lo, hi = 1, 5000            # iterations: lo works, hi fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        x = eng.leaf(X0)
        y = x
        for _ in range(mid):
            y = y * A + B
        try:
            y.backward()       # the default limit: not eng.backward, which raises it
            lo = mid
        except RecursionError:
            hi = mid
    return 2 * hi + 1


def w2_inputs(n: int) -> tuple[list[float], list[float]]:
    rng = random.Random(2)
    return [rng.uniform(-1, 1) for _ in range(n)], [rng.uniform(-1, 1) for _ in range(n)]


def w2_floats(a: list[float], b: list[float], check: list) -> tuple[int, int]:
    t0 = clock()
    vals, deps = tape.dot(a, b)
    t1 = clock()
    adj = tape.reverse_sweep(deps, len(vals) - 1)
    t2 = clock()
    check[:] = [vals[-1], *adj[:2 * len(a)]]
    return t1 - t0, t2 - t1


def w2_engine(eng, a: list[float], b: list[float]) -> tuple[int, int, list[float]]:
    va, vb = [eng.leaf(x) for x in a], [eng.leaf(x) for x in b]
    gc.collect()               # the inputs are long-lived, like a model's parameters
    t0 = clock()
    s = va[0] * vb[0]
    for i in range(1, len(va)):
        s = s + va[i] * vb[i]
    t1 = clock()
    eng.backward(s)
    t2 = clock()
    return t1 - t0, t2 - t1, [eng.data(s), *map(eng.grad, va), *map(eng.grad, vb)]


# ---------------------------------------------------------------------------
# W3 and W4: MLPs
# ---------------------------------------------------------------------------

def init_params(nin: int, nouts: list[int], seed: int) -> list[float]:
    """micrograd's initialisation (weights uniform in [−1, 1], biases 0), in parameter order."""
    rng = random.Random(seed)
    sizes = [nin, *nouts]
    return [p for l in range(len(nouts)) for _ in range(sizes[l + 1])
            for p in (*[rng.uniform(-1, 1) for _ in range(sizes[l])], 0.0)]


def tape_layers(nin: int, nouts: list[int]) -> list:
    """Parameter indices on the tape (parameters are variables 0..P-1) in the same order."""
    sizes, k, layers = [nin, *nouts], 0, []
    for l in range(len(nouts)):
        layer = []
        for _ in range(sizes[l + 1]):
            layer.append((list(range(k, k + sizes[l])), k + sizes[l]))
            k += sizes[l] + 1
        layers.append(layer)
    return layers


def moons() -> tuple[list[list[float]], list[float]]:
    """100 two-moons points (autobp.datasets, seeded) as Python floats, labels ±1."""
    from autobp.datasets import moons as make_moons
    X, y = make_moons(100, noise=0.1, seed=1)
    return X.tolist(), [2.0 * v - 1.0 for v in y.tolist()]


def w3_floats(theta: list[float], X, Y, steps: int) -> tuple[list[int], list[float], list[float]]:
    """`steps` full-batch steps on the tape; returns step times, the first step's loss and gradient."""
    layers, P = tape_layers(2, [16, 16, 1]), len(theta)
    theta, times, first = list(theta), [], None
    for _ in range(steps):
        t0 = clock()
        vals, deps = list(theta), [None] * P
        scores = [tape.mlp_layers(vals, deps, layers, x, relu_last=False)[0] for x in X]
        loss = tape.hinge_l2(vals, deps, scores, Y, range(P), LAM)
        adj = tape.reverse_sweep(deps, loss)
        theta = [p - LR * g for p, g in zip(theta, adj)]
        times.append(clock() - t0)
        first = first or [vals[loss], *adj[:P]]
    return times, first, theta


def w3_engine(eng, init: list[float], X, Y, steps: int) -> tuple[list[int], list[float], list[float]]:
    model, params = eng.mlp(2, [16, 16, 1], init)
    step = eng.sgd(params, LR)
    times, first = [], None
    for _ in range(steps):
        t0 = clock()
        scores = [eng.outputs(model, x)[0] for x in X]
        loss = eng.hinge_l2(scores, Y, params, LAM)
        eng.zero_grad(params)
        eng.backward(loss)
        if first is None:
            first = [eng.data(loss), *map(eng.grad, params)]
        step()
        times.append(clock() - t0)
    return times, first, list(map(eng.data, params))


def w4_inputs(samples: int) -> list[tuple[list[float], list[float]]]:
    rng = random.Random(4)
    return [([rng.randrange(17) / 16 for _ in range(64)], [float(j == i % 10) for j in range(10)])
            for i in range(samples)]


def w4_floats(theta: list[float], data) -> tuple[list[int], list[float]]:
    layers, P = tape_layers(64, [32, 10]), len(theta)
    times, first = [], None
    for x, target in data:
        t0 = clock()
        vals, deps = list(theta), [None] * P
        outs = tape.mlp_layers(vals, deps, layers, x, relu_last=False)
        loss = tape.half_squared_error(vals, deps, outs, target)
        adj = tape.reverse_sweep(deps, loss)
        times.append(clock() - t0)
        first = first or [vals[loss], *adj[:P]]
    return times, first


def w4_engine(eng, init: list[float], data) -> tuple[list[int], list[float]]:
    model, params = eng.mlp(64, [32, 10], init)
    times, first = [], None
    for x, target in data:
        t0 = clock()
        loss = eng.half_squared_error(eng.outputs(model, x), target)
        eng.zero_grad(params)
        eng.backward(loss)
        times.append(clock() - t0)
        first = first or [eng.data(loss), *map(eng.grad, params)]
    return times, first


# ---------------------------------------------------------------------------
# W5: memory
# ---------------------------------------------------------------------------

def w5(build, nodes: int) -> dict:
    """Bytes per node of the graph `build()` returns, and how much is left after dropping it with gc off."""
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        graph = build()
        alive = tracemalloc.get_traced_memory()[0] - base
        del graph
        left = tracemalloc.get_traced_memory()[0] - base
        gc.collect()
        left_after_gc = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
    finally:
        gc.enable()
    return {"bytes_per_node": alive / nodes, "left_after_drop_bytes": left,
            "freed_by_refcounting": left < 0.01 * alive, "left_after_gc_collect_bytes": left_after_gc}


def w5_engine(eng, n: int):
    def build():
        x = eng.leaf(X0)
        y = x
        for _ in range(n):
            y = y * A + B
        return x, y
    return build


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

PURE = "autobp, pure Python"


def pure_python_run(quick: bool) -> dict:
    """This benchmark for floats and autobp alone, in a second process with AUTOBP_PURE_PYTHON=1.

    That is autobp without its C node helper, as installed on a machine with no C compiler.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pure.json"
        cmd = [sys.executable, __file__, "--autobp-only", "--json", str(out)] + (["--quick"] if quick else [])
        subprocess.run(cmd, env={**os.environ, "AUTOBP_PURE_PYTHON": "1"}, check=True)
        sub = json.loads(out.read_text())
    if sub["compiled_nodes"]:
        raise AssertionError("AUTOBP_PURE_PYTHON=1 did not turn off autobp's C node helper")
    return sub


def add_pure_python(res: dict, sub: dict) -> None:
    """Put the pure-Python run's autobp numbers into `res` as the PURE column."""
    for n, row in res["W1"].items():
        row[PURE] = sub["W1"][str(n)]["autobp"]       # JSON turned the sizes into strings
    for w in ("W2", "W3", "W4", "W5"):
        res[w][PURE] = sub[w]["autobp"]
    res["W6"][PURE] = sub["W6"]


def ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None else num / den


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and few repetitions (a smoke run)")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "latest.json",
                    help="where to write the results (default: %(default)s)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    ap.add_argument("--no-traced", action="store_true", help="skip the autobp.trace workloads (traced.py)")
    ap.add_argument("--traced-only", action="store_true", help="only the autobp.trace workloads (traced.py)")
    ap.add_argument("--autobp-only", action="store_true",
                    help="time floats and autobp only, write the JSON and print no report "
                         "(the run uses it for its pure-Python column)")
    args = ap.parse_args(argv)
    quick = args.quick
    if args.traced_only:
        log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
        traced.report(traced.run(quick, log))
        return 0

    if args.autobp_only:
        engs = [engines.Autobp()]
    else:
        engs = [e for e in engines.available() if not (args.no_torch and e.name == "torch")]
    auto = engs[0]
    micro = engs[1] if len(engs) > 1 else None
    torch = engs[2] if len(engs) > 2 else None
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731  progress on stderr
    default_limit = sys.getrecursionlimit()
    res: dict = {"python": sys.version.split()[0], "platform": platform.platform(),
                 "engines": [e.name for e in engs], "compiled_nodes": auto.compiled_nodes,
                 "recursion_limit": default_limit, "W1": {}, "checks": {}}

    # W1 ------------------------------------------------------------------
    sizes = [10**3, 10**4] if quick else [10**3, 10**4, 10**5, 10**6]
    reps = {10**3: 25, 10**4: 11, 10**5: 5, 10**6: 3}
    micro_max = {10**3: 11, 10**4: 5, 10**5: 3}       # micrograd: 2·10⁶ nodes would take minutes and GBs
    torch_max = {10**3: 5, 10**4: 3, 10**5: 1}
    if micro is not None:
        res["micrograd_fails_at_depth"] = micrograd_fail_depth(micro)
        micro.depth_limit = 2 * max(sizes) + 1000
    for n in sizes:
        log(f"W1 N={n}")
        r = 3 if quick else reps[n]
        expect: dict = {}
        row = {"nodes": 2 * n}
        ff, fb = median_runs(lambda: w1_floats(n, expect), r)
        row["floats"] = {"fwd": ff / (2 * n), "bwd": fb / (2 * n)}
        for eng, cap in ((auto, None), (micro, micro_max), (torch, torch_max)):
            if eng is None or (cap is not None and n not in cap):
                continue
            got: list = []

            def run(eng=eng, got=got):
                f, b, out = w1_engine(eng, n)
                got[:] = out
                return f, b
            f, b = median_runs(run, min(r, cap[n]) if cap else r)
            res["checks"][f"W1 N={n} {eng.name}"] = agree(f"W1 N={n} {eng.name}", expect[n], got, rel=1e-12)
            row[eng.name] = {"fwd": f / (2 * n), "bwd": b / (2 * n)}
            if eng is auto:
                assert sys.getrecursionlimit() == default_limit
        res["W1"][n] = row

    # W2 ------------------------------------------------------------------
    n2 = 10**4 if quick else 10**5
    log(f"W2 n={n2}")
    a, b = w2_inputs(n2)
    expect2: list = []
    nodes2 = 2 * n2 - 1
    w2 = {"nodes": nodes2}
    f, bk = median_runs(lambda: w2_floats(a, b, expect2), 5)
    w2["floats"] = {"fwd": f / nodes2, "bwd": bk / nodes2}
    for eng, r in ((auto, 5), (micro, 3), (torch, 1)):
        if eng is None:
            continue
        got2: list = []

        def run2(eng=eng, got=got2):
            f, b_, out = w2_engine(eng, a, b)
            got[:] = out
            return f, b_
        f, bk = median_runs(run2, r)
        res["checks"][f"W2 {eng.name}"] = agree(f"W2 {eng.name}", expect2, got2, rel=1e-9, abs_=1e-12)
        w2[eng.name] = {"fwd": f / nodes2, "bwd": bk / nodes2}
    res["W2"] = w2

    # W3 ------------------------------------------------------------------
    steps = 5 if quick else 100
    log(f"W3 {steps} steps")
    X, Y = moons()
    init = init_params(2, [16, 16, 1], seed=3)
    times, first_ref, theta_ref = w3_floats(init, X, Y, steps)
    w3 = {"steps": steps, "floats": {"step_ms": statistics.median(times) / 1e6, "total_s": sum(times) / 1e9}}
    for eng in (auto, micro, torch):
        if eng is None:
            continue
        # torch: 100 steps of ~65k 0-dim tensor ops would take minutes; 3 steps give its step time
        n_steps = min(steps, 3) if eng is torch else steps
        gc.collect()
        times, first, theta = w3_engine(eng, init, X, Y, n_steps)
        res["checks"][f"W3 step 1 {eng.name}"] = agree(f"W3 loss and gradient {eng.name}", first_ref, first,
                                                       rel=1e-9, abs_=1e-12)
        if n_steps == steps:
            res["checks"][f"W3 after {steps} steps {eng.name}"] = agree(f"W3 parameters {eng.name}", theta_ref,
                                                                        theta, rel=1e-6, abs_=1e-9)
        w3[eng.name] = {"step_ms": statistics.median(times) / 1e6,
                        "total_s": sum(times) / 1e9 if n_steps == steps else None}
    res["W3"] = w3

    # W4 ------------------------------------------------------------------
    log("W4")
    data = w4_inputs(5 if quick else 21)
    init4 = init_params(64, [32, 10], seed=5)
    times, first_ref = w4_floats(init4, data)
    w4 = {"samples": len(data), "floats": {"sample_ms": statistics.median(times) / 1e6}}
    for eng in (auto, micro, torch):
        if eng is None:
            continue
        gc.collect()
        times, first = w4_engine(eng, init4, data[:5] if eng is torch else data)
        res["checks"][f"W4 {eng.name}"] = agree(f"W4 loss and gradient {eng.name}", first_ref, first,
                                                rel=1e-9, abs_=1e-12)
        w4[eng.name] = {"sample_ms": statistics.median(times) / 1e6}
    res["W4"] = w4

    # W5 ------------------------------------------------------------------
    log("W5")
    n5 = 5 * 10**4                # 10⁵ nodes
    w5r = {"nodes": 2 * n5, "floats": w5(lambda: tape.chain(n5, X0, A, B), 2 * n5)}
    for eng in (auto, micro):
        if eng is not None:
            w5r[eng.name] = w5(w5_engine(eng, n5), 2 * n5)
    res["W5"] = w5r

    # W6 ------------------------------------------------------------------
    log("W6 explain and backward_steps")
    res["W6"] = tools.w6(10**4 if quick else 10**5, 10**5 if quick else 10**6)

    if not args.autobp_only and not args.no_traced:
        res["traced"] = traced.run(quick, log)
    if not args.autobp_only:
        log("W7 forward mode")
        res["W7"] = forward_mode.w7(quick)
        log("autobp in pure Python (a second process)")
        add_pure_python(res, pure_python_run(quick))
        report(res, quick)
        if "traced" in res:
            res["traced_targets"] = traced.report(res["traced"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1, default=str))
    log(f"wrote {args.json}")
    return 0


def total(row: dict, name: str) -> float | None:
    return row[name]["fwd"] + row[name]["bwd"] if name in row else None


def report(res: dict, quick: bool) -> None:
    """Print the tables and the targets, and store the targets' verdicts in `res`."""
    has_torch = "torch" in res["engines"]
    cols = ["floats", "autobp", PURE, "micrograd"] + (["torch"] if has_torch else [])
    head = "| workload | unit | " + " | ".join(cols) + " | autobp/floats | micrograd/autobp |"
    lines = [head, "|" + " --- |" * (len(cols) + 4)]

    def line(name: str, unit: str, vals: dict, digits: int = 0) -> None:
        cells = [fmt(vals.get(c), digits) for c in cols]
        lines.append(f"| {name} | {unit} | " + " | ".join(cells) +
                     f" | {fmt(ratio(vals.get('autobp'), vals.get('floats')), 2)}"
                     f" | {fmt(ratio(vals.get('micrograd'), vals.get('autobp')), 1)} |")

    n1 = 10**4 if quick else 10**5
    w1 = res["W1"][n1]
    for part in ("fwd", "bwd"):
        line(f"W1 chain N={n1:.0e} {part}", "ns/node", {c: w1[c][part] for c in cols if c in w1})
    line(f"W1 chain N={n1:.0e} fwd+bwd", "ns/node", {c: total(w1, c) for c in cols if c in w1})
    w2 = res["W2"]
    line(f"W2 Σaᵢbᵢ, {w2['nodes']:,} nodes fwd+bwd", "ns/node", {c: total(w2, c) for c in cols if c in w2})
    w3 = res["W3"]
    line("W3 moons MLP, 1 step", "ms", {c: w3[c]["step_ms"] for c in cols if c in w3}, 1)
    line(f"W3 moons MLP, {w3['steps']} steps", "s", {c: w3[c]["total_s"] for c in cols if c in w3}, 2)
    w4 = res["W4"]
    line("W4 MLP(64,[32,10]) fwd+bwd", "ms/sample", {c: w4[c]["sample_ms"] for c in cols if c in w4}, 2)
    w5 = res["W5"]
    line(f"W5 memory, {w5['nodes']:,} live nodes", "bytes/node",
         {c: w5[c]["bytes_per_node"] for c in cols if c in w5})
    freed = ", ".join(f"{c}: {'yes' if w5[c]['freed_by_refcounting'] else 'no'}" for c in cols if c in w5)
    print("\n".join(lines))
    print(f"\nW5 graph freed on drop without gc.collect(): {freed}")
    build = "with its C node helper (autobp/_node.c)" if res["compiled_nodes"] else \
        "WITHOUT its C node helper (autobp/_node.c was not built)"
    print(f"autobp ran {build}; '{PURE}' is the same run with AUTOBP_PURE_PYTHON=1.")
    print(f"micrograd's recursive backward fails on a chain of {res['micrograd_fails_at_depth']:,} "
          f"nodes at the default recursion limit ({res['recursion_limit']}); it was raised for micrograd only.")

    print("\nW1 scaling (ns per node, forward + backward; autobp split fwd/bwd)\n")
    print("| N | nodes | floats | autobp fwd | autobp bwd | autobp | autobp/floats | pure Python | micrograd "
          "| micrograd/autobp |" + (" torch |" if has_torch else ""))
    print("|" + " --- |" * (10 + has_torch))
    for n, row in res["W1"].items():
        cells = [f"{n:.0e}", f"{row['nodes']:,}", fmt(total(row, "floats")), fmt(row["autobp"]["fwd"]),
                 fmt(row["autobp"]["bwd"]), fmt(total(row, "autobp")),
                 fmt(ratio(total(row, "autobp"), total(row, "floats")), 2), fmt(total(row, PURE)),
                 fmt(total(row, "micrograd")),
                 fmt(ratio(total(row, "micrograd"), total(row, "autobp")), 1)]
        if has_torch:
            cells.append(fmt(total(row, "torch")))
        print("| " + " | ".join(cells) + " |")

    print("\nW6 tools that read the graph (autobp; pure Python in brackets)\n")
    for tool, what in (("explain", "explain(y, x), unlabelled chain"), ("explain_labelled", "explain(y, x), every node "
                       "labelled"), ("backward_steps", "backward_steps(y) streamed")):
        r, p = res["W6"][tool], res["W6"].get(PURE, {}).get(tool, {})
        print(f"- {what}, {r['nodes']:,} nodes: {r['seconds']:.2f} s ({fmt(p.get('seconds'), 2)} s), "
              f"peak {r['peak_mb']:.0f} MB ({fmt(p.get('peak_mb'))} MB)")

    print("\n" + forward_mode.table(res["W7"]))

    if quick:
        return
    t = {}
    for w, row in (("W1", res["W1"][10**5]), ("W2", res["W2"])):
        t[f"{w} N=1e5 autobp/floats <= 3"] = ratio(total(row, "autobp"), total(row, "floats"))
        t[f"{w} N=1e5 micrograd/autobp >= 10"] = ratio(total(row, "micrograd"), total(row, "autobp"))
    t["W1 N=1e6 per node / N=1e3 per node <= 1.5"] = ratio(total(res["W1"][10**6], "autobp"),
                                                           total(res["W1"][10**3], "autobp"))
    t["W3 100 steps micrograd/autobp >= 15"] = ratio(res["W3"]["micrograd"]["total_s"], res["W3"]["autobp"]["total_s"])
    t["W5 autobp bytes/node <= 300"] = res["W5"]["autobp"]["bytes_per_node"]
    t["W6 explain 1e5-node chain seconds <= 1"] = res["W6"]["explain"]["seconds"]
    t["W6 explain 1e5-node chain peak MB <= 100"] = res["W6"]["explain"]["peak_mb"]
    t["W6 explain 1e5-node labelled chain seconds <= 1"] = res["W6"]["explain_labelled"]["seconds"]
    t["W6 explain 1e5-node labelled chain peak MB <= 100"] = res["W6"]["explain_labelled"]["peak_mb"]
    t.update(forward_mode.targets(res["W7"]))
    holds = {}
    print("\nTargets\n")
    for name, v in t.items():
        bound = float(name.split()[-1])
        ok = v <= bound if "<=" in name else v >= bound
        holds[name] = {"value": v, "holds": ok}
        print(f"- {name}: {v:.2f} {'holds' if ok else 'MISSED'}")
    ok = res["W5"]["autobp"]["freed_by_refcounting"]
    holds["W5 autobp graph freed by refcounting alone"] = {"value": ok, "holds": ok}
    print(f"- W5 autobp graph freed by refcounting alone: {'holds' if ok else 'MISSED'}")
    print("- W1 N=1e6 with the default recursion limit: holds (completed, limit unchanged)")
    res["targets"] = holds


if __name__ == "__main__":
    raise SystemExit(main())
