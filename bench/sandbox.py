"""Sandbox overhead and throughput: `trace_core.sandbox.run` against the same code in-process.

    python bench/sandbox.py [--repeats 8] [--markdown bench/sandbox.md]

Measures, for a trivial program and a small MILP (a 40-item knapsack in pyscipopt):
- per-run wall time in-process (exec in this interpreter, imports warm), as a bare child
  process (``python -c``, no sandbox), and through `run()` under every isolation layer that
  works here; the ratio column is sandbox time / in-process time;
- throughput (runs per second) with 1, 2 and 8 runs in parallel (threads calling `run()`).
Timings are medians; the machine's load matters, so compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.programs import KNAPSACK_MODEL
from trace_core.sandbox import available_isolation, run

TRIVIAL = "report(1.0)\n"
MILP = KNAPSACK_MODEL + "report(m.getObjVal())" + "\n"


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _in_process(code: str) -> Callable[[], object]:
    compiled = compile(code, "<bench>", "exec")

    def go() -> object:
        box: dict[str, float] = {}
        exec(compiled, {"report": lambda obj, *a, **k: box.setdefault("obj", obj)})
        return box

    return go


def _bare_child(code: str) -> Callable[[], object]:
    prelude = "def report(obj, *a, **k):\n    pass\n"

    def go() -> object:
        return subprocess.run(
            [sys.executable, "-c", prelude + code], check=True, capture_output=True
        )

    return go


def _sandboxed(code: str, layer: str) -> Callable[[], object]:
    def go() -> object:
        result = run(code, timeout_s=60, isolation=layer)
        if result.objective is None:
            raise RuntimeError(f"sandbox run failed: {result.stderr[-500:]}")
        return result

    return go


def _throughput(code: str, workers: int, total: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda _: run(code, timeout_s=120), range(total)))
    elapsed = time.perf_counter() - start
    if any(r.objective is None for r in results):
        raise RuntimeError("a parallel run failed")
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    layers = [layer.value for layer in available_isolation()]
    programs = {"trivial": TRIVIAL, "small MILP (SCIP)": MILP}
    _in_process(MILP)()  # warm the solver import for the in-process baseline
    bare_pass = _median_time(
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeats
    )
    strong_pass = _median_time(lambda: run("pass", isolation="bwrap"), args.repeats)

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; medians of {args.repeats} runs; default layer: "
        f"{layers[0]}; 1-minute load average at start: {os.getloadavg()[0]:.1f}.",
        "",
        f"Strong layer (`bwrap`) over a bare `python -c pass`: {bare_pass * 1000:.1f} ms -> "
        f"{strong_pass * 1000:.1f} ms, **{(strong_pass - bare_pass) * 1000:+.1f} ms** per run.",
        "",
        "| program | mode | ms per run | x in-process | ms over bare child |",
        "|---|---|---:|---:|---:|",
    ]
    for label, code in programs.items():
        base = _median_time(_in_process(code), args.repeats)
        bare = _median_time(_bare_child(code), args.repeats)
        rows = [("in-process (exec, warm)", base), ("bare child `python -c`", bare)]
        rows += [
            (f"sandbox `{layer}`", _median_time(_sandboxed(code, layer), args.repeats))
            for layer in layers
        ]
        for mode, seconds in rows:
            extra = f"{(seconds - bare) * 1000:+.1f}" if mode.startswith("sandbox") else ""
            lines.append(
                f"| {label} | {mode} | {seconds * 1000:.3f} | {seconds / base:,.0f} | {extra} |"
            )
    lines += [
        "",
        f"Throughput through `run()` (default layer `{layers[0]}`):",
        "",
        "| program | parallel runs | runs/s | x serial |",
        "|---|---:|---:|---:|",
    ]
    for label, code in programs.items():
        serial = _throughput(code, 1, 6)
        for workers in (1, 2, 8):
            rate = serial if workers == 1 else _throughput(code, workers, 2 * workers + 8)
            lines.append(f"| {label} | {workers} | {rate:.1f} | {rate / serial:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(
            "# Sandbox overhead\n\nMeasured by `python bench/sandbox.py`.\n\n" + text + "\n"
        )


if __name__ == "__main__":
    main()
