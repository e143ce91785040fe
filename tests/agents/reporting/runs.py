"""Run directories for the report tests, written by the real writers where the project has one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.evaluation.results import ItemResult, RunLog
from optimizers import OptoPrime, Trainer
from trace_core import bundle, node
from trace_core.llm import ScriptedLLM

FIRST_RULE = "Answer with the number."
BEST_RULE = "Answer with the number doubled."


@bundle()
def apply_rule(rule: str, x: int) -> int:
    """Double the input when the rule says so."""
    return 2 * x if "doubled" in rule else x


def _reply(reasoning: str, suggestion: dict[str, Any]) -> str:
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


def trainer_run(root: Path) -> Path:
    """Three steps of a real Trainer: step 0 fixes the rule, step 1 proposes an unknown name
    (rejected), step 2 changes nothing."""
    rule = node(FIRST_RULE, name="rule", trainable=True)
    llm = ScriptedLLM(
        [
            _reply("the outputs are half the targets", {"rule": BEST_RULE}),
            _reply("try a weight too", {"weight": 3}),
            _reply("all correct", {}),
        ]
    )
    data = [(1, 2), (2, 4), (3, 6)]
    run = root / "train"
    Trainer(
        lambda x: apply_rule(rule, x),
        OptoPrime([rule], llm=llm),
        lambda out, target: (float(out == target), f"got {out}, expected {target}"),
        data,
        val_set=data,
        batch_size=1,
        shuffle=False,
        run_dir=run,
        progress=False,
    ).fit()
    return run


OUTCOMES = ["correct", "wrong", "infeasible", "correct", "error"]


def evaluation_run(root: Path, n: int = 5) -> Path:
    """``n`` items appended by the evaluation's own RunLog; every third has a program."""
    run = root / "eval"
    run.mkdir(parents=True)
    log = RunLog(run)
    for i in range(n):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        log.append(
            ItemResult(
                id=f"item-{i}",
                source="NL4Opt" if i % 2 else "IndustryOR",
                tags=["linear"] if i % 2 else ["integer"],
                gold=10.0,
                objective=10.0 if outcome == "correct" else 7.0,
                status="optimal",
                outcome=outcome,  # type: ignore[arg-type]
                correct=outcome == "correct",
                executed=True,
                tokens=100,
                cost=0.01,
                program=f"print('program of item {i}')\n" if i % 3 == 0 else None,
                error="TimeoutError: killed at 30 s" if outcome == "error" else None,
            )
        )
    (run / "run.json").write_text(json.dumps({"dataset": "sample.jsonl", "solver": "scip"}))
    return run
