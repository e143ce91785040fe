"""A GEPA training run for the kill-and-resume test, run as a child process.

    python -m tests.optimizers.gepa_job RUN_DIR [--kill-after N] [--resume]

It prints one JSON line: the resumed step, the final rules, the pool and how many times this
process asked the reflection model (so the test can add the calls of a killed and a resumed
run and compare them with an uninterrupted one).
"""

from __future__ import annotations

import json
import math
from typing import Any

from optimizers import GEPA, Trainer
from tests.optimizers.trainer_job import job_args, killer
from trace_core import bundle, node
from trace_core.llm import ScriptedLLM

START = "Answer with the quantity."
WHOLE = " Count whole units (round down)."
NONNEG = " A count is never negative."
# Unshuffled batches of two: the first shows fractions, the second a negative quantity.
TRAIN = [(2.5, 2.0), (3.0, 3.0), (-1.5, 0.0), (4.0, 4.0), (4.7, 4.0), (1.2, 1.0)]
VAL = [(5.5, 5.0), (6.0, 6.0), (-0.5, 0.0), (0.5, 0.0)]


@bundle()
def solve(rules: str, x: float) -> float:
    """Apply the rules to the quantity."""
    y = float(math.floor(x)) if "whole units" in rules else x
    return max(0.0, y) if "never negative" in rules else y


def guide(output: float, target: float) -> tuple[float, str]:
    """1 when right; else the error and the reason the scripted reflection can act on."""
    if output == target:
        return 1.0, "correct"
    why = "a count is never negative" if output < 0 else "the items are indivisible"
    return 0.0, f"got {output}, expected {target}: {why}"


def reflection(messages: list[dict[str, Any]]) -> str:
    """Add the rule the feedback in the prompt asks for (a reply that depends on the prompt)."""
    prompt = messages[-1]["content"]
    current = prompt.split("```\n", 1)[1].split("\n```", 1)[0]
    if "indivisible" in prompt and WHOLE not in current:
        current += WHOLE
    if "never negative" in prompt.replace(current, "") and NONNEG not in current:
        current += NONNEG
    return f"```\n{current}\n```"


def world(llm: Any, **kw: Any) -> tuple[Any, GEPA]:
    """The trainable rules node and a GEPA optimizer over it, reflecting with ``llm``."""
    rules = node(START, name="rules", trainable=True)
    opt = GEPA([rules], forward=lambda x: solve(rules, x), guide=guide, val_set=VAL, llm=llm, **kw)
    return rules, opt


def trainer(rules: Any, opt: GEPA, **kw: Any) -> Trainer:
    """A Trainer over TRAIN in batches of two, validated on VAL, without a progress bar."""
    return Trainer(
        lambda x: solve(rules, x),
        opt,
        guide,
        TRAIN,
        val_set=VAL,
        batch_size=2,
        progress=False,
        **kw,
    )


def main() -> None:
    args = job_args()
    llm = ScriptedLLM(reflection)
    rules, opt = world(llm)
    on_step = killer(args.kill_after)
    run = trainer(rules, opt, epochs=2, shuffle=False, run_dir=args.run_dir, on_step=on_step)
    report = run.fit(resume=args.resume)
    summary = {
        "start_step": report.start_step,
        "rules": rules.data,
        "pool": opt.pool,
        "calls": len(llm.calls),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
