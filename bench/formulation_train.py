"""Validation accuracy against LLM calls for each optimizer training the formulation program.

Runs ``train_formulation`` in the scripted world (agents/formulation/scripted_world.py: eight
production problems, right only when the prompt demands integer variables for indivisible
counts) once per optimizer, with the LLM cache off so every call is counted, and real sandboxed
pyscipopt runs. Prints a table, writes ``bench/formulation_train.png`` (accuracy vs calls) and
estimates what the same run costs on a real provider over examples/data/sample.jsonl.

    python bench/formulation_train.py                 # all optimizers, 3 steps each
    python bench/formulation_train.py --optimizers optoprime alphaopt --steps 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT = ["optoprime", "opro", "textgrad", "gepa", "alphaopt", "optoprime+alphaopt"]
# gpt-4o-mini list prices (USD per million tokens), for the cost estimate.
PRICE_IN, PRICE_OUT = 0.15, 0.60


def run_one(name: str, steps: int, batch: int, root: Path) -> dict[str, Any]:
    """Train with optimizer ``name``; returns (calls, val accuracy) points and totals."""
    from agents.formulation.scripted_world import make_llm, world_items
    from agents.training import TrainSetupError, train_formulation

    items = world_items()
    points: list[tuple[int, float]] = []

    def on_step(record: Any, usage: dict[str, Any]) -> None:
        points.append((int(usage["calls"]), float(record.val_score or 0.0)))

    started = time.perf_counter()
    try:
        report = train_formulation(
            items[:4],
            items[4:],
            llm=make_llm(),
            optimizer=name,
            steps=steps,
            batch_size=batch,
            run_dir=root / name.replace("+", "_"),
            progress=False,
            on_step=on_step,
        )
    except TrainSetupError as err:
        return {"optimizer": name, "error": str(err)}
    return {
        "optimizer": name,
        "val_before": report.val_before,
        "val_after": report.val_after,
        "calls": report.calls,
        "tokens": report.tokens,
        "points": [(0, report.val_before or 0.0), *points],
        "first_perfect_calls": next((c for c, v in points if v >= 1.0), None),
        "seconds": time.perf_counter() - started,
    }


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Validation accuracy against cumulative LLM calls, one line per optimizer."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    for r in results:
        if "points" in r:
            xs, ys = zip(*r["points"], strict=True)
            ax.plot(xs, ys, marker="o", label=r["optimizer"])
    ax.set_xlabel("LLM calls (cumulative, cache off)")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("FormulationProgram, scripted world (4 train / 4 val items)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def estimate(result: dict[str, Any], steps: int, n_items: int = 42) -> dict[str, Any]:
    """Calls, tokens and dollars for the same run over sample.jsonl (split 50/50)."""
    world_calls, world_tokens = result["calls"], result["tokens"]
    per_call = world_tokens / max(world_calls, 1)
    n_val = n_items // 2
    # Per step: a batch of 4 formulations (1.5 calls each with repairs), one optimizer call and
    # a validation pass; plus the initial validation pass.
    calls = math.ceil((steps + 1) * n_val * 1.5 + steps * (4 * 1.5 + 1))
    tokens = calls * per_call * 1.5  # real replies are longer than the scripted ones
    cost = tokens * (0.8 * PRICE_IN + 0.2 * PRICE_OUT) / 1e6
    minutes = calls * 4 / 2 / 60  # ~4 s per call and sandbox run, 2 workers
    return {"calls": calls, "tokens": int(tokens), "cost": cost, "minutes": minutes}


def main() -> None:
    """Run the benchmark and print the table and the estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="*", default=DEFAULT)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args()
    os.environ["OPTOFORGE_CACHE"] = "0"  # count every call
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.optimizers:
            results.append(run_one(name, args.steps, args.batch_size, Path(tmp)))
    print("| optimizer | val before | val after | LLM calls | calls to 100% val | tokens | s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if "error" in r:
            print(f"| {r['optimizer']} | not run: {r['error']} | | | | | |")
            continue
        print(
            f"| {r['optimizer']} | {r['val_before']:.2f} | {r['val_after']:.2f} | {r['calls']} "
            f"| {r['first_perfect_calls']} | {r['tokens']} | {r['seconds']:.0f} |"
        )
    plot(results, Path(__file__).with_name("formulation_train.png"))
    done = [r for r in results if r.get("optimizer") == "optoprime" and "calls" in r]
    if done:
        e = estimate(done[0], args.steps)
        print(
            f"\nEstimate for a real provider (optoprime, {args.steps} steps, sample.jsonl split "
            f"21/21, gpt-4o-mini prices): ~{e['calls']} calls, ~{e['tokens']:,} tokens, "
            f"~${e['cost']:.2f}, ~{e['minutes']:.0f} min"
        )
    print(json.dumps([{k: v for k, v in r.items() if k != "points"} for r in results]))


if __name__ == "__main__":
    main()
