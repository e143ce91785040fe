"""The LLM steps of synthesis: write a demonstration section by section, its program, its questions.

Every reply is checked before it is used; a step that returns nonsense ends the item with a
recorded reason (never an exception that kills the run, never data written out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.resocratic.demonstration import (
    Demonstration,
    DemonstrationError,
    Section,
    Variable,
    check_section,
    expected_title,
    split_sections,
    validate,
)
from agents.resocratic.seeds import Seed
from agents.resocratic.templates import render
from trace_core.llm.meter import LLMUsage

Variant = Literal["table", "no-table"]
VARIANTS: tuple[Variant, ...] = ("table", "no-table")

_FENCE = re.compile(r"```[ \t]*(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.MULTILINE)
_NUMBER = re.compile(r"(?<![A-Za-z_])\d[\d,]*(?:\.\d+)?")
_EXPONENT = re.compile(r"(\^|\*\*)\s*\d+(\.\d+)?")
_SYMBOL_TRACE = re.compile(r"^\s*//", re.MULTILINE)


@dataclass
class StepContext:
    """What every step needs: the LLM, generation options, the ledger to charge, prompt dir."""

    llm: Any
    ledger: LLMUsage = field(default_factory=LLMUsage)
    temperature: float = 0.7
    rollout: str = ""
    prompt_dir: str | Path | None = None

    def ask(self, prompt_name: str, *, creative: bool, **values: object) -> str:
        """One LLM call with the system prompt and template ``prompt_name``; returns its text."""
        messages = [
            {"role": "system", "content": render("system", self.prompt_dir)},
            {"role": "user", "content": render(prompt_name, self.prompt_dir, **values)},
        ]
        opts: dict[str, Any] = {"temperature": self.temperature if creative else 0.0}
        if creative and self.rollout:
            # Sampled steps must not be answered from the cache of an earlier, equal prompt.
            opts["rollout_id"] = self.rollout
        completion = self.llm.complete(messages, **opts)
        self.ledger.add(completion)
        return str(completion.text or "")


def generate_demonstration(
    ctx: StepContext, examples: tuple[Seed, ...], n_constraints: int
) -> tuple[Demonstration | None, str]:
    """Write a demonstration one section at a time, each step seeing the sections before it.

    Returns the demonstration (possibly truncated at the first bad constraint) and the reason
    it was truncated or rejected ("" when complete).
    """
    kind = examples[0].type
    shown = "\n\n---\n\n".join(seed.demonstration.strip() for seed in examples)
    sections: list[Section] = []
    symbols: set[str] = set()
    total = 3 + n_constraints
    for index in range(total):
        so_far = "\n\n".join(s.render() for s in sections)
        if index == 0:
            reply = ctx.ask("step_scenario", creative=True, examples=shown, kind=kind)
        elif index == 1:
            reply = ctx.ask("step_variables", creative=True, examples=shown, so_far=so_far)
        elif index == 2:
            reply = ctx.ask("step_objective", creative=True, examples=shown, so_far=so_far)
        else:
            reply = ctx.ask(
                "step_constraint", creative=True, examples=shown, so_far=so_far, number=index - 2
            )
        section, declared, problem = _read_section(reply, index, symbols)
        if section is None:
            if index < 4:
                return None, f"step '{expected_title(index)}': {problem}"
            return _finish(sections, f"step '{expected_title(index)}': {problem}")
        symbols |= {v.symbol for v in declared}
        sections.append(section)
    return _finish(sections, "")


def _finish(sections: list[Section], problem: str) -> tuple[Demonstration | None, str]:
    text = "\n\n".join(s.render() for s in sections)
    try:
        demo, truncated = validate(text)
    except DemonstrationError as err:
        return None, str(err)
    return demo, problem or truncated


def _read_section(
    reply: str, index: int, symbols: set[str]
) -> tuple[Section | None, list[Variable], str]:
    text = _strip_fences(reply)
    found = split_sections(text)
    if not found:
        return None, [], f"reply has no '## {expected_title(index)}' header"
    section = found[0]
    try:
        declared = check_section(section, index, symbols)
    except DemonstrationError as err:
        return None, [], str(err)
    return section, declared, ""


def _strip_fences(reply: str) -> str:
    blocks = [m.group("body") for m in _FENCE.finditer(reply)]
    return max(blocks, key=len) if blocks else reply


def write_program(ctx: StepContext, demo: Demonstration) -> str | None:
    """Ask for the pyscipopt program of ``demo`` (T=0); None when the reply holds no program."""
    from agents.formulation.program import extract_program

    reply = ctx.ask("program", creative=False, demonstration=demo.render())
    return extract_program(reply)


def back_translate(ctx: StepContext, demo: Demonstration, variant: Variant) -> str:
    """Rewrite ``demo`` as a word problem, with a markdown table or in sentences (T=0)."""
    name = "question_table" if variant == "table" else "question_text"
    return _strip_fences(ctx.ask(name, creative=False, demonstration=demo.render())).strip()


def check_question(question: str, demo: Demonstration, variant: Variant) -> str:
    """Why ``question`` is not a faithful back-translation of ``demo`` ("" when it is).

    It must be long enough to state the problem, hide the formal lines, match the table
    variant, and keep all the data: every number that the formal lines use and the
    demonstration states in words (other than 0 and 1) must appear, as written or as a
    percentage.
    """
    if len(question.split()) < 15:
        return "question too short"
    if _SYMBOL_TRACE.search(question):
        return "question shows '//' formal lines"
    has_table = bool(_TABLE_RULE.search(question))
    if variant == "table" and not has_table:
        return "table variant has no markdown table"
    if variant == "no-table" and has_table:
        return "no-table variant holds a table"
    # Data = numbers the formal lines use that the demonstration also states in words; this
    # skips notation (exponents, "4 walls" as 4*s*h, "a third" as /3).
    words = _numbers(" ".join(line for s in demo.sections for line in s.text))
    stated = _numbers(question)
    missing = []
    for raw in _NUMBER.findall(_EXPONENT.sub("", demo.formal_text())):
        value = _as_number(raw)
        if value is None or value in (0.0, 1.0) or not _mentioned(value, words):
            continue
        if not _mentioned(value, stated):
            missing.append(raw)
    if missing:
        return f"question drops data: {', '.join(sorted(set(missing)))}"
    return ""


def _numbers(text: str) -> list[float]:
    return [v for v in map(_as_number, _NUMBER.findall(text)) if v is not None]


def _mentioned(value: float, numbers: list[float]) -> bool:
    """``value`` is among ``numbers``, as written or as a percentage (0.15 and 15%)."""
    return any(_close(value, n) or _close(value * 100, n) for n in numbers)


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
