"""W6: the tools that read a graph — explain() and backward_steps — must cost time and memory linear in it.

explain(y, x) on an unlabelled chain of 10⁵ nodes: one factor through every node (issue 9 found 2.3 GB
for 10⁴ nodes when the path text kept a set of nodes per node); and on the same chain with every node
labelled: 10⁵ factors, merged in the δ form, of which max_lines are written.  backward_steps(y) over 10⁶ nodes is
iterated without keeping the rows, so its memory is the sweep's map, not a list of rows.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Callable

from autobp import Value
from autobp.explain import backward_steps, explain


def chain(nodes: int, labelled: bool = False) -> tuple[Value, Value]:
    """x and y = (…(x·0.99999 + 0.00001)…), `nodes` nodes after x, none of them labelled (or each n1, n2, …)."""
    x = Value(0.5, "x")
    y = x
    for k in range(nodes // 2):
        y = y * 0.99999
        if labelled:
            y.label = f"n{2 * k + 1}"
        y = y + 0.00001
        if labelled:
            y.label = f"n{2 * k + 2}"
    return x, y


def _seconds_and_peak_mb(work: Callable[[], object]) -> tuple[float, float]:
    """Wall time of work() (untraced), then its peak traced memory in MB (a second, traced run)."""
    gc.collect()
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak / 1e6


def w6(explain_nodes: int, steps_nodes: int) -> dict:
    x, y = chain(explain_nodes)
    explain_s, explain_mb = _seconds_and_peak_mb(lambda: explain(y, x))
    x, y = chain(explain_nodes, labelled=True)             # every node a stop: one factor per node, δ form
    labelled_s, labelled_mb = _seconds_and_peak_mb(lambda: explain(y, x))
    del x, y
    x, y = chain(steps_nodes)
    rows = [0]

    def stream() -> None:
        rows[0] = sum(1 for _ in backward_steps(y))
    steps_s, steps_mb = _seconds_and_peak_mb(stream)
    return {"explain": {"nodes": explain_nodes, "seconds": explain_s, "peak_mb": explain_mb},
            "explain_labelled": {"nodes": explain_nodes, "seconds": labelled_s, "peak_mb": labelled_mb},
            "backward_steps": {"nodes": steps_nodes, "rows": rows[0], "seconds": steps_s, "peak_mb": steps_mb}}
