"""A two-step workflow whose first step is wrong, fixed from feedback on the final output only.

Step 1 (``extract_amounts``, trainable code) pulls the money amounts out of an expense note;
step 2 (``total_line``, trainable code too) formats their total. Step 1 drops the cents, but
the user only sees and judges the final line. Feedback on that line flows back through step 2
to step 1; OptoPrime sees the whole chain (the note, the intermediate amounts, the total) and
must decide which step to rewrite.

    python examples/agent_workflow.py                       # scripted stand-in model
    python examples/agent_workflow.py --llm openai:gpt-4o-mini
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from optimizers import OptoPrime, Trainer
from optimizers.base import display_names
from trace_core import bundle
from trace_core.llm import LLM, ScriptedLLM, get_llm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find examples/
from examples import harness

TRAIN = [
    ("Lunch $12.50, taxi $8.25", "Total: $20.75"),
    ("Hotel $120.00 and parking $7.40", "Total: $127.40"),
    ("Coffee $3.10", "Total: $3.10"),
    ("Train $45.99, snacks $4.01", "Total: $50.00"),
]
VAL = [
    ("Books $19.95, pens $2.30", "Total: $22.25"),
    ("Museum $15.50", "Total: $15.50"),
]

FIXED_EXTRACT = '''def extract_amounts(note: str) -> list:
    """Step 1: every dollar amount written in the note, as floats, in order."""
    amounts = []
    for word in note.replace(",", " ").split():
        if word.startswith("$"):
            amounts.append(float(word[1:]))
    return amounts
'''


def make_workflow() -> tuple[Any, Any, Any]:
    """Fresh copies of the two steps and the workflow that chains them."""

    @bundle(trainable=True)
    def extract_amounts(note: str) -> list:
        """Step 1: every dollar amount written in the note, as floats, in order."""
        amounts = []
        for word in note.replace(",", " ").split():
            if word.startswith("$"):
                amounts.append(float(word[1:].split(".")[0]))
        return amounts

    @bundle(trainable=True)
    def total_line(amounts: list) -> str:
        """Step 2: the report line for the sum of the amounts."""
        return f"Total: ${sum(amounts):.2f}"

    def workflow(note: Any) -> Any:
        return total_line(extract_amounts(note))

    return extract_amounts, total_line, workflow


def guide(output: str, target: str) -> tuple[float, str]:
    """The user's judgement of the final line only."""
    if output == target:
        return 1.0, "Correct total."
    return 0.0, f"The report line is {output!r} but the expense total is {target!r}."


def stand_in_llm(step1_name: str) -> ScriptedLLM:
    """A scripted model that plays a sensible optimizer: the prompt shows the note with cents
    and the intermediate amounts without them, so it rewrites step 1 (and only step 1)."""
    reply = harness.fixes_on(
        "but the expense total is",
        {step1_name: FIXED_EXTRACT},
        reasoning=(
            "total_line sums its input correctly; the amounts from extract_amounts are whole "
            "dollars while the note has cents, so step 1 truncates. Parse the full number."
        ),
        settled="Every total is right.",
    )
    return ScriptedLLM(reply, model="stand-in")


def run(
    llm: LLM | None = None,
    run_dir: str | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Train both steps (None: the stand-in model); return accuracy and the final sources."""
    run_dir = run_dir or tempfile.mkdtemp(prefix="optoforge-workflow-")
    extract_amounts, total_line, workflow = make_workflow()
    params = [extract_amounts.code_parameter(), total_line.code_parameter()]
    names = display_names(params)
    step1_name = next(name for name, p in names.items() if p is params[0])
    opt = OptoPrime(
        params,
        llm=llm or stand_in_llm(step1_name),
        objective="Make the report line show the exact total of the amounts in the note.",
    )
    trainer = Trainer(
        workflow, opt, guide, TRAIN, val_set=VAL, batch_size=2, run_dir=run_dir, progress=progress
    )
    report, scores = harness.fit_and_score(trainer, VAL, resume=resume)
    return {
        **scores,
        "changed": sorted({name for record in report.history for name in record.updates}),
        "step1_source": params[0].data,
        "step2_source": params[1].data,
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.ExampleParser(__doc__, stand_in="a scripted stand-in model")
    parser.add_argument("--run-dir", help="where history, checkpoints and the plot go")
    args = parser.parse_args(argv)
    llm = get_llm(args.llm) if args.llm else None
    print(json.dumps(run(llm, args.run_dir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
