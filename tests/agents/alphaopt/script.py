"""A scripted LLM for AlphaOPT tests: answers every AlphaOPT step and the agent's prompts.

Agent prompts get real pyscipopt programs for two items of ``examples/data/sample.jsonl``:

* ``nl4opt-F028`` (meals, gold 72): continuous variables give 66.67 (wrong) unless the prompt
  carries an insight with the ``INTEGER-MEALS`` marker, which makes the program use integers.
* ``nl4opt-F004`` (bones, gold 810): right, unless the prompt carries ``HARMFUL-BONES``, which
  makes the program demand 60 large bones (wrong).

The programs and the sample's questions come from the formulation tests' oracle.
AlphaOPT steps are recognised by their ``# AlphaOPT: <step>`` heading. Applicability follows
the conditions: ``ALWAYS`` applies everywhere, ``NEVER`` nowhere, ``ONLY-MEALS`` only to texts
mentioning meals. What extraction proposes and which refined conditions are offered are set per
test through :class:`Script` attributes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.agents.formulation.oracle import BONES_PROGRAM, MEALS_PROGRAM, sample_questions
from tests.agents.formulation.oracle import SAMPLE as SAMPLE  # re-exported for the alphaopt tests

MEALS, BONES = "nl4opt-F028", "nl4opt-F004"

MEALS_RIGHT = MEALS_PROGRAM.format(vtype="I")
MEALS_WRONG = MEALS_PROGRAM.format(vtype="C")
BONES_RIGHT = BONES_PROGRAM.format(large=30)
BONES_WRONG = BONES_PROGRAM.format(large=60)

INTEGRALITY = ["General Formulation", "Variable Definition", "Integrality"]

FIXING = {
    "taxonomy": INTEGRALITY,
    "condition": "ALWAYS: the decisions count indivisible things such as meals",
    "explanation": "INTEGER-MEALS: meals are bought whole; declare their counts integer.",
    "example": "wrong: vtype='C' for meals; right: vtype='I'",
}
USELESS = {
    "taxonomy": INTEGRALITY,
    "condition": "ALWAYS: any problem",
    "explanation": "Name your variables clearly.",
    "example": "x1 -> turkey",
}


def _section(text: str, title: str) -> str:
    match = re.search(rf"## {re.escape(title)}[^\n]*\n(.*?)(?=\n## |\Z)", text, re.DOTALL)
    return match.group(1) if match else ""


def applies(condition: str, text: str) -> bool:
    if "NEVER" in condition:
        return False
    if "ONLY-MEALS" in condition:
        return "meal" in text.lower()
    return "ALWAYS" in condition


class Script:
    """Callable reply function for ``ScriptedLLM``; attributes steer each AlphaOPT step."""

    def __init__(self) -> None:
        self.qs = sample_questions()
        self.proposals: list[dict[str, Any]] = [FIXING]
        self.refined: list[str] = ["ONLY-MEALS: the problem is about buying meals"]
        self.unretrieved_ids: list[int] | None = None  # None: pick every id offered
        self.applicability_reply: str | None = None  # a raw reply to force (e.g. not JSON)
        self.merge_reply: dict[str, Any] = {"duplicates": [], "merged": None}
        self.split_parts: list[dict[str, Any]] = []
        self.quick_match_reply: str | None = None
        self.steps: list[str] = []

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"]
        heading = re.match(r"# AlphaOPT: ([a-z -]+)", text)
        if heading is None:
            self.steps.append("agent")
            return self._program(text)
        step = heading.group(1).strip()
        self.steps.append(step)
        return getattr(self, "_" + step.replace(" ", "_").replace("-", "_"))(text)

    def _program(self, text: str) -> str:
        if self.qs[MEALS] in text:
            program = MEALS_RIGHT if "INTEGER-MEALS" in text else MEALS_WRONG
        elif self.qs[BONES] in text:
            program = BONES_WRONG if "HARMFUL-BONES" in text else BONES_RIGHT
        else:
            return "No program for this one."
        return f"```python{program}```"

    def _quick_match(self, text: str) -> str:
        if self.quick_match_reply is not None:
            return self.quick_match_reply
        return json.dumps({"labels": [INTEGRALITY, ["Code Implementation", "Solver & API Syntax"]]})

    def _applicability_check(self, text: str) -> str:
        if self.applicability_reply is not None:
            return self.applicability_reply
        subject = _section(text, "Text")
        offered = re.findall(r"- id (\d+): applies when: (.*)", text)
        ids = [{"id": int(i), "reason": "fits"} for i, cond in offered if applies(cond, subject)]
        return json.dumps({"applicable": ids})

    def _self_explore(self, text: str) -> str:
        return self._program(text.replace(self.qs[MEALS], self.qs[MEALS] + " INTEGER-MEALS"))

    def _extract_insights(self, text: str) -> str:
        return json.dumps({"insights": self.proposals})

    def _merge_check(self, text: str) -> str:
        return json.dumps(self.merge_reply)

    def _diagnose(self, text: str) -> str:
        used = re.findall(r"- id (\d+): (.*)", _section(text, "Lessons used"))
        labels = [
            {"id": int(i), "label": "negative" if "HARMFUL" in what else "positive"}
            for i, what in used
        ]
        return json.dumps({"issues": ["meals must be integer"], "labels": labels})

    def _find_missed_insights(self, text: str) -> str:
        offered = [int(i) for i in re.findall(r"- id (\d+):", text)]
        ids = offered if self.unretrieved_ids is None else self.unretrieved_ids
        return json.dumps({"per_issue": [{"issue": "meals must be integer", "ids": ids}]})

    def _refinement_notes(self, text: str) -> str:
        return json.dumps({"notes": [{"item": "x", "note": "meals vs other goods"}]})

    def _refine_condition(self, text: str) -> str:
        return json.dumps({"conditions": self.refined})

    def _split_insight(self, text: str) -> str:
        return json.dumps({"parts": self.split_parts})


def make_llm() -> Any:
    """A zero-argument factory for ``--llm py:tests.agents.alphaopt.script:make_llm``."""
    from trace_core.llm import ScriptedLLM

    return ScriptedLLM(Script())


def make_journaled_llm() -> Any:
    """``make_llm`` for crash tests: the LLM cache follows ``$OPTOFORGE_CACHE`` and every call
    that reaches the script adds a line to ``$ALPHAOPT_SCRIPT_JOURNAL`` (the paid calls)."""
    import os

    from trace_core.llm import ScriptedLLM

    script, journal = Script(), os.environ["ALPHAOPT_SCRIPT_JOURNAL"]

    def paid(messages: list[dict[str, Any]]) -> str:
        reply = script(messages)
        with open(journal, "a", encoding="utf-8") as handle:
            handle.write(f"{script.steps[-1]}\n")
        return reply

    return ScriptedLLM(paid, cache=None)
