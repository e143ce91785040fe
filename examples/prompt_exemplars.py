"""Find a few-shot prompt for a small text-transformation task: exemplars vs instructions.

Each input names a rule and a word (``"reverse: owl"``); the output applies the rule. The
ablation compares, under the same LLM-call budget, the seed instruction, instruction-only
optimization (OptoPrime), random exemplar search, bootstrapped exemplars (the model's own
correct answers, reasoning included) and the combination, and prints the table. Answers are
scored by :func:`final_answer` (the text after the last "answer is"), a custom metric.

    python examples/prompt_exemplars.py                      # scripted stand-in model
    python examples/prompt_exemplars.py --llm openai:gpt-4o-mini --budget 200 --out runs/ex
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from typing import Any

from optimizers.prompting import PromptProgram, TaskItem, TaskSplit, run_ablation
from optimizers.prompting.ablation import plot_scores
from trace_core.llm import LLM, ScriptedLLM, get_llm

RULES = {
    "upper": str.upper,
    "reverse": lambda w: w[::-1],
    "double": lambda w: w + w,
    "first": lambda w: w[0],
}
WORDS = ["cat", "dog", "owl", "bee", "lion", "tiger", "zebra", "horse", "eagle", "shark", "moth"]
SEED_INSTRUCTION = "Transform the word."


def make_split() -> TaskSplit:
    """Train (the exemplar pool), validation and test items; 'upper' and 'reverse' dominate."""

    def items(counts: dict[str, int], offset: int) -> list[TaskItem]:
        return [
            TaskItem(
                f"{rule}: {WORDS[(offset + i) % len(WORDS)]}",
                RULES[rule](WORDS[(offset + i) % len(WORDS)]),
            )
            for rule, n in counts.items()
            for i in range(n)
        ]

    mix = {"upper": 4, "reverse": 3, "double": 2, "first": 1}
    return TaskSplit(
        train=items({rule: 2 for rule in RULES}, 0),  # short words: the model solves some alone
        val=items(mix, 4),
        test=items(mix, 5),
    )


def final_answer(prediction: str, expected: object) -> bool:
    """Correct when the text after the last 'answer is' (or the whole reply) is the output."""
    return prediction.rsplit("answer is", 1)[-1].strip(" .") == str(expected)


def stand_in_llm() -> ScriptedLLM:
    """A scripted model that applies a rule when the prompt teaches it (an exemplar of that
    rule, or for 'first' an instruction that says to mind the rule) and, untaught, only to
    words of three letters; it explains its answers. As optimizer it proposes that
    instruction."""
    example = re.compile(r"Input: (\w+): (\w+)\nOutput: (.*)")
    query = re.compile(r"Input: (\w+): (\w+)\nOutput:\s*$")

    def reply(messages: list[dict[str, Any]]) -> str:
        system = messages[0]["content"]
        if system.startswith("You improve a program") or system.startswith("You are an optimizer"):
            new = f"{SEED_INSTRUCTION} Mind the rule named before the colon."
            return json.dumps({"reasoning": "name the rule", "suggestion": {"instruction": new}})
        user = messages[-1]["content"]
        found = query.search(user)
        if found is None:
            return "?"
        rule, word = found.groups()
        taught = {r for r, _, _ in example.findall(user[: found.start()])}
        if rule in taught or (rule == "first" and "Mind the rule" in system) or len(word) <= 3:
            return f"The rule is {rule}, so the answer is {RULES[rule](word)}."
        return f"The answer is {word}."

    return ScriptedLLM(reply, model="stand-in")


def run(
    llm: LLM | None = None, budget: int = 100, seed: int = 0, out: str | None = None
) -> dict[str, Any]:
    """Run the ablation; return the table rows (and write the plot under ``out``)."""
    llm = llm or stand_in_llm()
    split = make_split()
    program = PromptProgram(
        SEED_INSTRUCTION,
        [(item.input, item.output) for item in split.train],
        llm=llm,
        max_exemplars=2,
    )
    report = run_ablation(program, split, final_answer, budget=budget, seed=seed)
    out = out or tempfile.mkdtemp(prefix="optoforge-exemplars-")
    plot = plot_scores(report.results, f"{out}/scores.png")
    return {
        "table": report.table(),
        "rows": {row.strategy: row.model_dump() for row in report.rows},
        "plot": str(plot),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", help="provider:model (default: a scripted stand-in model)")
    parser.add_argument("--budget", type=int, default=100, help="LLM calls per strategy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for scores.png")
    args = parser.parse_args(argv)
    llm = get_llm(args.llm) if args.llm else None
    if llm is None:
        print("No --llm given: using a scripted stand-in model.")
    result = run(llm, budget=args.budget, seed=args.seed, out=args.out)
    print(result["table"])
    print(f"plot: {result['plot']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
