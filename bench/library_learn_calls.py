"""LLM calls and tokens of ``library learn`` on a small scripted set (statuses must not change).

Runs :meth:`AlphaOpt.learn` (what ``optoforge library learn`` wraps) with the AlphaOPT tests'
scripted model on copies of two sample items (meals: learned from; bones: solved) and real
sandbox solves, once per ``--attempts`` and ``--batch-size`` setting, and prints statuses,
calls and tokens as JSON lines.

    PYTHONPATH=. python bench/library_learn_calls.py --attempts 1 3 --batch-size 1 12
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from agents.alphaopt import AlphaOpt, LearnSettings, SolveSettings
from agents.evaluation.dataset import load_dataset
from tests.agents.alphaopt.script import BONES, MEALS, SAMPLE, Script
from trace_core.llm import ScriptedLLM


def measure(attempts: int, repeat: int, batch_size: int, workers: int) -> dict[str, object]:
    """Learn from ``repeat`` copies of the two items; statuses and the model's usage."""
    pool = {item.id: item for item in load_dataset(SAMPLE)}
    items = [
        pool[key].model_copy(update={"id": f"{key}-{n}"})
        for n in range(repeat)
        for key in (BONES, MEALS)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        llm = ScriptedLLM(Script())
        alpha = AlphaOpt(
            Path(tmp) / "lib.sqlite",
            llm,
            solve=SolveSettings(max_repairs=0),
            learn=LearnSettings(attempts=attempts),
            verify_rounds=1,
        )
        options: dict[str, int] = {"workers": workers}
        if batch_size:
            options["batch_size"] = batch_size
        states = alpha.learn(items, Path(tmp) / "run", progress=False, **options)
        statuses: dict[str, int] = {}
        for state in states:
            statuses[state.status] = statuses.get(state.status, 0) + 1
        alpha.library.close()
        return {
            "attempts": attempts,
            "batch_size": batch_size or None,
            "workers": workers,
            "items": len(items),
            "statuses": statuses,
            "calls": llm.usage.calls,
            "tokens": llm.usage.total.total_tokens,
        }


def main() -> None:
    """Print one JSON line per attempts setting."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--repeat", type=int, default=2, help="copies of the two items")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1, 12], help="0: unset")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    for batch_size in args.batch_size:
        for attempts in args.attempts:
            print(json.dumps(measure(attempts, args.repeat, batch_size, args.workers)))


if __name__ == "__main__":
    main()
