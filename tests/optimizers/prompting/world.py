"""A scripted task world where the right prompt is known.

Items are ``"<rule>: <word>"`` with the rule applied as the output. The scripted worker
answers an item correctly only when the prompt teaches its rule:

- an exemplar of the same rule is shown (in the ``reasoning`` world: only an exemplar whose
  output shows the reasoning, as the model's own answers do), or
- the rule is ``first`` and the instruction contains :data:`KEY`.

Otherwise it echoes the word (wrong), except that in the ``reasoning`` world it gets short
words right on its own, explaining itself ("because ..."), which bootstrapping can harvest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trace_core.llm import ScriptedLLM

RULES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "reverse": lambda w: w[::-1],
    "double": lambda w: w + w,
    "first": lambda w: w[0],
}
KEY = "Mind the rule"
SEED = "Answer the question."
WORDS = ["cat", "dog", "owl", "bee", "lion", "tiger", "zebra", "horse", "eagle", "shark"]

_EXAMPLE = re.compile(r"Input: (\w+): (\w+)\nOutput: (.*)")
_QUERY = re.compile(r"Input: (\w+): (\w+)\nOutput:\s*$")


def item(rule: str, word: str) -> dict[str, str]:
    return {"input": f"{rule}: {word}", "output": RULES[rule](word), "type": rule}


def dataset(counts: dict[str, int], offset: int = 0) -> list[dict[str, str]]:
    """``counts[rule]`` items of each rule, words taken cyclically from ``offset``."""
    rows = []
    for rule, n in counts.items():
        for i in range(n):
            rows.append(item(rule, WORDS[(offset + i) % len(WORDS)]))
    return rows


def write_task(directory: Path) -> Path:
    """The CLI tests' task file: two passes over the four rules (5, 4, 3, 2 items), as JSONL."""
    counts = {"upper": 5, "reverse": 4, "double": 3, "first": 2}
    rows = dataset(counts) + dataset(counts, offset=4)
    path = directory / "task.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def reasoned(rule: str, word: str) -> str:
    return f"because the rule is {rule}, the answer is {RULES[rule](word)}"


def worker_reply(messages: list[dict[str, Any]], *, reasoning: bool = False) -> str:
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    user = messages[-1]["content"]
    query = _QUERY.search(user)
    assert query, user
    rule, word = query.groups()
    taught = {
        r
        for r, _, out in _EXAMPLE.findall(user[: query.start()])
        if not reasoning or "because" in out
    }
    if rule in taught or (rule == "first" and KEY in system):
        return reasoned(rule, word) if reasoning else RULES[rule](word)
    if reasoning and len(word) <= 3:
        return reasoned(rule, word)
    return word


def optimizer_reply(messages: list[dict[str, Any]], joint_ids: list[str] | None = None) -> str:
    """An instruction optimizer that adds the key phrase (and picks exemplars when joint)."""
    suggestion: dict[str, Any] = {"instruction": f"{SEED} {KEY}."}
    if joint_ids is not None:
        suggestion["exemplars"] = joint_ids
    return json.dumps({"reasoning": "the rule must be stated", "suggestion": suggestion})


def is_optimizer_call(messages: list[dict[str, Any]]) -> bool:
    system = messages[0]["content"]
    return system.startswith("You improve a program") or system.startswith("You are an optimizer")


def world_llm(*, reasoning: bool = False, joint_ids: list[str] | None = None) -> ScriptedLLM:
    """One scripted model playing the worker and the instruction optimizer."""

    def reply(messages: list[dict[str, Any]]) -> str:
        if is_optimizer_call(messages):
            return optimizer_reply(messages, joint_ids)
        return worker_reply(messages, reasoning=reasoning)

    return ScriptedLLM(reply, model="world")
