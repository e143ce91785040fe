"""Side-by-side benchmark of the trace graph: optoforge's trace_core vs trace-opt (``opto``).

Both libraries run in this one process on the same graphs. Printed as a markdown table of
absolute numbers and ratios (trace-opt / ours: above 1 means ours is cheaper):

- per-op tracing cost (``y = y + 1`` operator ops and one-argument bundle ops),
- backward time on bundle chains of 1k / 10k / 100k ops and on ``sum()`` over 1k / 10k
  parameters (a fan-in of parameters into one result),
- peak traced memory per node while building a 10k-op bundle chain, and what stays alive after
  the graph is dropped,
- rendered summary size (chars / 4 tokens) for 10 / 100 / 1,000-op graphs: our
  ``summarize(...).to_text()`` vs the problem text trace-opt's OptoPrime puts in its prompt.

Times are CPU time of this process (``time.process_time``), so other processes on a busy
machine inflate them less than wall time would. trace-opt sizes whose predicted time (from the
measured smaller size and its quadratic growth) exceeds ``--opto-limit-s`` (60 s) are skipped
and the table says so. Run:

    LITELLM_LOCAL_MODEL_COST_MAP=True python bench/trace_graph.py
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import trace_core as ours

Row = tuple[str, str, str, str]

# CPU time of this process: on a shared, busy machine wall time mostly measures waiting for a
# core. Both libraries are measured the same way, in the same process.
clock = time.process_time


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    """The smallest of ``repeats`` measurements (the least disturbed by other processes)."""
    return min(fn() for _ in range(repeats))


def timed(fn: Callable[[], Any]) -> float:
    start = clock()
    fn()
    return clock() - start


def fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def ratio(theirs: float | None, mine: float) -> str:
    if theirs is None or mine <= 0:
        return "—"
    return f"{theirs / mine:,.0f}×" if theirs / mine >= 10 else f"{theirs / mine:.1f}×"


class Opto:
    """The trace-opt side: same graphs built with ``opto.trace``."""

    def __init__(self) -> None:
        from opto import trace
        from opto.trace.nodes import GRAPH

        self.trace = trace
        self.graph = GRAPH

        @trace.bundle()
        def inc(x: int) -> int:
            """Add one."""
            return x + 1

        self.inc = inc

    def clear(self) -> None:
        self.graph.clear()
        gc.collect()


@ours.bundle
def inc(x: int) -> int:
    """Add one."""
    return x + 1


def op_chain(make: Callable[..., Any], n: int, trainable: bool = True) -> Any:
    y = make(0, trainable=trainable)
    for _ in range(n):
        y = y + 1
    return y


def bundle_chain(make: Callable[..., Any], fn: Callable[[Any], Any], n: int) -> Any:
    y = make(0, trainable=True)
    for _ in range(n):
        y = fn(y)
    return y


def per_op_rows(opto: Opto) -> list[Row]:
    n_ours, n_opto = 20_000, 2_000

    def plain() -> float:
        y = 0
        start = clock()
        for _ in range(n_ours):
            y = y + 1
        return (clock() - start) / n_ours

    base = best_of(5, plain)

    def ours_op() -> float:
        return timed(lambda: op_chain(ours.node, n_ours)) / n_ours

    def ours_bundle() -> float:
        return timed(lambda: bundle_chain(ours.node, inc, n_ours)) / n_ours

    def opto_op() -> float:
        t = timed(lambda: op_chain(opto.trace.node, n_opto)) / n_opto
        opto.clear()
        return t

    def opto_bundle() -> float:
        t = timed(lambda: bundle_chain(opto.trace.node, opto.inc, n_opto)) / n_opto
        opto.clear()
        return t

    rows = []
    for label, mine_fn, theirs_fn in (
        ("trace one `y + 1` op", ours_op, opto_op),
        ("trace one bundle call", ours_bundle, opto_bundle),
    ):
        mine, theirs = best_of(3, mine_fn), best_of(3, theirs_fn)
        rows.append(
            (
                label,
                fmt_time(mine) + f" ({mine / base:,.0f}× plain)",
                fmt_time(theirs),
                ratio(theirs, mine),
            )
        )

    def floor() -> float:
        # The least any graph can cost per op: two small slotted objects and a parent tuple.
        y = _Floor(0, ())
        start = clock()
        for _ in range(n_ours):
            y = _Floor(y.value + 1, (y, _Floor(1, ())))
        return (clock() - start) / n_ours

    rows.append(("plain Python `y + 1`", fmt_time(base), "", ""))
    rows.append(("floor: 2 slotted objects + a tuple per op", fmt_time(best_of(3, floor)), "", ""))
    return rows


class _Floor:
    __slots__ = ("__weakref__", "feedback", "name", "parents", "value")

    def __init__(self, value: Any, parents: tuple[Any, ...]) -> None:
        self.value = value
        self.parents = parents
        self.name = None
        self.feedback = None


def backward_rows(opto: Opto, limit_s: float, full: bool) -> list[Row]:
    rows: list[Row] = []
    measured: dict[str, tuple[int, float]] = {}

    def ours_backward(build: Callable[[], Any]) -> float:
        out = build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = best_of(3, lambda: timed(lambda: out.backward("fb", retain_graph=True)))
        return t

    def opto_backward(kind: str, n: int, build: Callable[[], Any]) -> tuple[float | None, str]:
        if kind == "sum" and n >= 10_000 and not full:
            # trace-opt copies the parameter set into every node: ~3 GB and tens of seconds.
            return None, "skipped (~3 GB, 25 s CPU here; run with --full)"
        if kind in measured:
            n0, t0 = measured[kind]
            predicted = t0 * (n / n0) ** 2
            if predicted > limit_s:
                return None, f"skipped (predicted {predicted:,.0f} s > {limit_s:.0f} s)"
        out = [build()]
        t = timed(lambda: out[0].backward("fb"))
        out.clear()
        opto.clear()
        measured[kind] = (n, t)
        return t, fmt_time(t)

    def ours_sum(n: int) -> Any:
        return sum(ours.node(i, trainable=True) for i in range(n))

    def opto_sum(n: int) -> Any:
        return sum(opto.trace.node(i, trainable=True) for i in range(n))

    for n in (1_000, 10_000, 100_000):
        mine = ours_backward(lambda n=n: bundle_chain(ours.node, inc, n))
        theirs, shown = opto_backward(
            "chain", n, lambda n=n: bundle_chain(opto.trace.node, opto.inc, n)
        )
        rows.append(
            (f"backward, {n:,}-op bundle chain", fmt_time(mine), shown, ratio(theirs, mine))
        )
        gc.collect()
    for n in (1_000, 10_000):
        mine = ours_backward(lambda n=n: ours_sum(n))
        theirs, shown = opto_backward("sum", n, lambda n=n: opto_sum(n))
        rows.append(
            (f"backward, sum() of {n:,} parameters", fmt_time(mine), shown, ratio(theirs, mine))
        )
        gc.collect()
    return rows


def memory_rows(opto: Opto) -> list[Row]:
    n = 10_000

    def measure(build: Callable[[], Any], clear: Callable[[], None]) -> tuple[float, float]:
        gc.collect()
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        out = build()
        _, peak = tracemalloc.get_traced_memory()
        del out
        clear()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return (peak - base) / n, max(after - base, 0) / n

    mine_peak, mine_left = measure(lambda: bundle_chain(ours.node, inc, n), lambda: None)
    theirs_peak, theirs_left = measure(
        lambda: bundle_chain(opto.trace.node, opto.inc, n), lambda: None
    )
    opto.clear()
    return [
        (
            f"peak memory per node ({n:,}-op bundle chain)",
            f"{mine_peak / 1024:.2f} KiB",
            f"{theirs_peak / 1024:.2f} KiB",
            ratio(theirs_peak, mine_peak),
        ),
        (
            "memory per node still alive after the graph is dropped",
            f"{mine_left / 1024:.2f} KiB",
            f"{theirs_left / 1024:.2f} KiB (global registry)",
            "",
        ),
    ]


def summary_rows(opto: Opto) -> list[Row]:
    from opto.optimizers import OptoPrime

    rows: list[Row] = []
    for n in (10, 100, 1_000):
        x = ours.node(1, name="x", trainable=True, constraint="an integer")
        y = x
        for _ in range(n):
            y = y + 1
        y.backward("the result should be 10")
        mine_tokens = ours.summarize(y, [x]).tokens

        ox = opto.trace.node(1, name="x", trainable=True, constraint="an integer")
        oy = ox
        for _ in range(n):
            oy = oy + 1
        optimizer = OptoPrime([ox], llm=object())
        optimizer.zero_feedback()
        optimizer.backward(oy, "the result should be 10")
        problem = str(optimizer.problem_instance(optimizer.summarize()))
        theirs_tokens = len(problem) / 4
        del ox, oy, optimizer
        opto.clear()
        rows.append(
            (
                f"summary tokens, {n:,}-op graph (budget 8,000)",
                f"{mine_tokens:,}",
                f"{theirs_tokens:,.0f}",
                ratio(theirs_tokens, mine_tokens),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opto-limit-s", type=float, default=60.0)
    parser.add_argument(
        "--full", action="store_true", help="also run trace-opt's 10k-parameter sum (~3 GB)"
    )
    args = parser.parse_args()
    from importlib.metadata import version

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# trace graph benchmark (Python {sys.version.split()[0]}, trace-opt "
        f"{version('trace-opt')}, {os.cpu_count()} CPUs, load average {load:.1f})\n"
    )
    handle = Opto()
    start = time.perf_counter()
    rows: list[Row] = []
    for section in (per_op_rows, memory_rows, summary_rows):
        rows.extend(section(handle))
    rows.extend(backward_rows(handle, args.opto_limit_s, args.full))
    print("| measure | optoforge | trace-opt | trace-opt / optoforge |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        f"\ntotal bench time {time.perf_counter() - start:.0f} s; recursion limit "
        f"{sys.getrecursionlimit()} (default)"
    )


if __name__ == "__main__":
    main()
