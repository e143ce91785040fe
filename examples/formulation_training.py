"""The flagship: train the formulation program's prompts and watch accuracy rise.

A handful of word problems are formulated as pyscipopt programs and run in the sandbox; the
formulation guide scores each answer against its gold; OptoPrime reads the traced graphs and
the feedback and rewrites the program's prompts; validation accuracy is measured before and
after, and the prompt change is shown as a diff.

Without a model (``llm=None``) it runs the scripted world (agents/formulation/scripted_world.py):
eight production problems where the answer is right only if the prompt demands integer
variables for indivisible counts, which the packaged rules do not say in those words. With a
model it uses six items of examples/data/sample.jsonl.

    python examples/formulation_training.py                       # scripted world
    python examples/formulation_training.py --llm openai:gpt-4o-mini
"""

from __future__ import annotations

import argparse
import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

from agents.evaluation.dataset import load_dataset
from agents.formulation.scripted_world import make_llm, world_items
from agents.formulation.workflow import PROMPT_PARAMETERS
from agents.training import train_formulation

SAMPLE = Path(__file__).resolve().parent / "data" / "sample.jsonl"


def prompt_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A unified diff of every prompt parameter that changed ('' when none did)."""
    parts = []
    for name in PROMPT_PARAMETERS:
        old, new = str(before.get(name, "")), str(after.get(name, ""))
        if old != new:
            lines = difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                f"{name} (before)",
                f"{name} (after)",
                lineterm="",
            )
            parts.append("\n".join(lines))
    return "\n".join(parts)


def _values(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {k: v["value"] for k, v in document["parameters"].items()}


def run(llm: Any = None, steps: int = 2, run_dir: str | None = None) -> dict[str, Any]:
    """Train for ``steps`` steps; returns accuracies, cost, the prompt diff and the run dir."""
    scripted = llm is None
    if scripted:
        items = world_items()
        train, val = items[:4], items[4:]
    else:
        items = load_dataset(SAMPLE)[:6]
        train, val = items[:3], items[3:]
    root = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="optoforge-demo-"))
    model = make_llm() if scripted else llm
    report = train_formulation(
        train, val, llm=model, optimizer="optoprime", steps=steps, batch_size=2, run_dir=root
    )
    return {
        "world": "scripted (no model called)" if scripted else "live model",
        "accuracy_before": report.val_before,
        "accuracy_after": report.val_after,
        "steps": report.steps,
        "calls": report.calls,
        "tokens": report.tokens,
        "cost": report.cost,
        "changed": report.changed,
        "diff": prompt_diff(_values(root / "initial_program.json"), _values(Path(report.program))),
        "run_dir": str(root),
    }


def main() -> None:
    """Command-line entry: ``--llm provider:model`` (default: the scripted world)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default=None, help="provider:model (default: scripted world)")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    llm = None
    if args.llm:
        from trace_core.llm import get_llm

        llm = get_llm(args.llm)
    result = run(llm, steps=args.steps)
    print(json.dumps({k: v for k, v in result.items() if k != "diff"}, indent=2))
    print(result["diff"])


if __name__ == "__main__":
    main()
