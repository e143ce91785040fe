"""Tune a system prompt so a model labels support messages exactly right.

A worker model classifies each message as ``billing``, ``technical`` or ``account`` under a
trainable system prompt; a reply counts only if it is exactly the label (exact match). The
Trainer runs minibatches, sends "expected X, got Y" feedback through the graph, and OptoPrime
(or GEPA, ``--optimizer gepa``) rewrites the prompt; the validation set decides which prompt is
kept.

    python examples/prompt_tuning.py                        # scripted stand-in models
    python examples/prompt_tuning.py --optimizer gepa       # GEPA (needs the `gepa` extra)
    python examples/prompt_tuning.py --llm openai:gpt-4o-mini --run-dir runs/prompt
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from optimizers import GEPA, OptoPrime, Trainer
from trace_core import bundle, node
from trace_core.llm import LLM, ScriptedLLM, get_llm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find examples/
from examples import harness

LABELS = ("billing", "technical", "account")

TRAIN = [
    ("I was charged twice for my subscription this month.", "billing"),
    ("The app crashes whenever I open the settings page.", "technical"),
    ("How do I change the email address on my profile?", "account"),
    ("Can I get a refund for the annual plan?", "billing"),
    ("Uploading a file fails with error 500.", "technical"),
    ("Please delete my account and all my data.", "account"),
]
VAL = [
    ("My invoice shows the wrong amount.", "billing"),
    ("The page freezes after I log in and click export.", "technical"),
    ("I want to update the password on my profile.", "account"),
]

INITIAL_PROMPT = "You help a support team. Read the customer message."


def make_classifier(worker: LLM) -> Any:
    """The traced program: one bundled call of the worker model under the system prompt."""

    @bundle()
    def classify(system_prompt: str, message: str) -> str:
        """Ask the worker model to label the message, following the system prompt."""
        reply = worker.complete(
            [{"role": "system", "content": system_prompt}, {"role": "user", "content": message}]
        )
        return reply.text.strip()

    return classify


def exact_match(output: str, target: str) -> tuple[float, str]:
    """Score 1 for exactly the label, else 0 with feedback naming what was expected."""
    if output == target:
        return 1.0, f"Correct: the reply was exactly {target!r}."
    return 0.0, f"Wrong: expected exactly {target!r} but the reply was {output!r}."


def stand_in_llm() -> ScriptedLLM:
    """Scripted models playing both roles: a worker that follows instructions literally and an
    optimizer that reads the exact-match feedback and tightens the prompt."""
    keywords = {
        "billing": ("charge", "refund", "invoice", "plan", "amount"),
        "technical": ("crash", "error", "fails", "freeze"),
    }

    def worker(messages: list[dict[str, Any]]) -> str:
        system, message = messages[0]["content"].lower(), messages[-1]["content"].lower()
        label = next((k for k, words in keywords.items() if any(w in message for w in words)), None)
        label = label or "account"
        if "exactly one word" in system and all(name in system for name in LABELS):
            return label
        return f"This looks like a {label.title()} question."

    new = (
        "Classify the customer message into one of: billing, technical, account. "
        "Answer with exactly one word, the label in lowercase, and nothing else."
    )

    optimizer = harness.fixes_on(
        "Wrong: expected exactly",
        {"system_prompt": new},
        reasoning="Replies are full sentences; exact match needs the bare lowercase label.",
        settled="All replies match.",
    )

    def reflect(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        current = prompt.split("```\n", 1)[1].split("\n```", 1)[0]
        return f"```\n{new if 'Wrong: expected exactly' in prompt else current}\n```"

    def reply(messages: list[dict[str, Any]]) -> str:
        if messages[0]["content"].startswith("You improve a program"):
            return optimizer(messages)
        if messages[0]["content"].startswith("You improve one text variable"):
            return reflect(messages)  # GEPA's reflection prompt
        return worker(messages)

    return ScriptedLLM(reply, model="stand-in")


def run(
    llm: LLM | None = None,
    run_dir: str | None = None,
    epochs: int = 1,
    progress: bool = True,
    resume: bool = False,
    optimizer: str = "optoprime",
) -> dict[str, Any]:
    """Train the system prompt with ``optimizer`` (``optoprime`` or ``gepa``; None: stand-in
    models); return validation accuracy."""
    llm = llm or stand_in_llm()
    run_dir = run_dir or tempfile.mkdtemp(prefix="optoforge-prompt-")
    system_prompt = node(
        INITIAL_PROMPT,
        name="system_prompt",
        trainable=True,
        constraint="a system prompt for the worker model; must not contain the messages",
    )
    classify = make_classifier(llm)

    def forward(message: str) -> Any:
        return classify(system_prompt, message)

    objective = "Make the worker's reply exactly equal to the correct label of the message."
    opt: OptoPrime | GEPA
    if optimizer == "gepa":
        opt = GEPA(
            [system_prompt],
            forward=forward,
            guide=exact_match,
            val_set=VAL,
            llm=llm,
            objective=objective,
        )
    else:
        opt = OptoPrime([system_prompt], llm=llm, objective=objective)
    trainer = Trainer(
        forward,
        opt,
        exact_match,
        TRAIN,
        val_set=VAL,
        batch_size=3,
        epochs=epochs,
        run_dir=run_dir,
        progress=progress,
    )
    report, scores = harness.fit_and_score(trainer, VAL, resume=resume)
    return {
        **scores,
        "system_prompt": system_prompt.data,
        "steps": report.steps,
        "run_dir": run_dir,
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.ExampleParser(
        __doc__, stand_in="scripted stand-in models for the worker and the optimizer"
    )
    parser.add_argument("--run-dir", help="where history, checkpoints and the plot go")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--optimizer", choices=("optoprime", "gepa"), default="optoprime")
    args = parser.parse_args(argv)
    llm = get_llm(args.llm) if args.llm else None
    result = run(
        llm, args.run_dir, epochs=args.epochs, resume=args.resume, optimizer=args.optimizer
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
