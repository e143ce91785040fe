"""A scripted LLM world for synthesis tests: each seed combination leads to one scripted case.

The router reads the prompt to decide which step is asking (scenario, variables, objective,
constraint, program, question, formulation) and which case it belongs to, so the same replies
come back whatever the order or process (a resumed subprocess sees the same world).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agents.resocratic.seeds import builtin_seeds
from trace_core.llm import ScriptedLLM


def lp_program(
    sense: str,
    objective: dict[str, float],
    constraints: list[tuple[dict[str, float], str, float]],
    *,
    vtype: str = "I",
    sleep: float = 0.0,
) -> str:
    """A real pyscipopt program for a small LP/MILP, reporting through the sandbox's report()."""
    names = list(objective)
    for coefs, _, _ in constraints:
        names += [n for n in coefs if n not in names]
    lines = ["from pyscipopt import Model", "m = Model()", "m.hideOutput()"]
    if sleep:
        lines = ["import time", f"time.sleep({sleep})", *lines]
    lines.append(f"v = {{n: m.addVar(n, vtype={vtype!r}, lb=0) for n in {names!r}}}")
    obj = " + ".join(f"{c} * v[{n!r}]" for n, c in objective.items())
    lines.append(f"m.setObjective({obj}, {sense!r})")
    for coefs, op, rhs in constraints:
        lhs = " + ".join(f"{c} * v[{n!r}]" for n, c in coefs.items())
        lines.append(f"m.addCons({lhs} {op} {rhs})")
    lines += [
        "m.optimize()",
        "st = m.getStatus()",
        "ok = st == 'optimal'",
        "report(m.getObjVal() if ok else None, st, {n: m.getVal(x) for n, x in v.items()} "
        "if ok else None)",
    ]
    return "\n".join(lines) + "\n"


def fenced(code: str) -> str:
    return f"Here is the program.\n```python\n{code}```\n"


@dataclass
class Case:
    """One scripted synthesis: demonstration sections, and replies keyed by (level, variant)."""

    seeds: frozenset[str]
    sections: list[str]
    programs: dict[int, str]
    questions: dict[tuple[int, str], str]
    formulations: dict[tuple[int, str], str]
    scenario: str = field(init=False)

    def __post_init__(self) -> None:
        self.scenario = self.sections[0].splitlines()[1]


class World:
    """Routes each prompt to the reply its case scripts; unknown prompts get nonsense."""

    def __init__(self, cases: list[Case], seed_texts: dict[str, str]) -> None:
        self.cases = cases
        self.seed_texts = seed_texts  # seed id -> a phrase only that seed's demonstration has

    def llm(self) -> ScriptedLLM:
        return ScriptedLLM(self.reply)

    def _case_by_seeds(self, prompt: str) -> Case | None:
        present = frozenset(sid for sid, phrase in self.seed_texts.items() if phrase in prompt)
        return next((c for c in self.cases if c.seeds == present), None)

    def _case_by_scenario(self, prompt: str) -> Case | None:
        return next((c for c in self.cases if c.scenario in prompt), None)

    def reply(self, messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        if "Write only its first section" in prompt or "Write only the next section" in prompt:
            case = self._case_by_seeds(prompt)
            if case is None:
                return "Sure! Here is a fun fact about optimization instead."
            if "`## Scenario`" in prompt:
                return case.sections[0]
            if "`## Define Variables`" in prompt:
                return case.sections[1]
            if "`## Define Objective Function`" in prompt:
                return case.sections[2]
            number = int(prompt.split("`## Constraint ")[1].split("`")[0])
            return case.sections[2 + number] if 2 + number < len(case.sections) else "done"
        case = self._case_by_scenario(prompt)
        level = 2 + prompt.count("## Constraint ")
        if case is not None and "solves this optimization problem with pyscipopt" in prompt:
            return fenced(case.programs[level])
        if case is not None and "Rewrite this optimization demonstration" in prompt:
            variant = "table" if "markdown table" in prompt else "no-table"
            return case.questions.get((level, variant), "no idea")
        for (lvl, variant), question in (
            (key, q) for c in self.cases for key, q in c.questions.items()
        ):
            if question in prompt:
                owner = next(c for c in self.cases if c.questions.get((lvl, variant)) == question)
                return fenced(owner.formulations[(lvl, variant)])
        return "I am not sure what you mean."


def seed_file(path: Path, ids: tuple[str, ...] = ("bakery-mix", "feed-blend")) -> Path:
    """Write the shipped seeds named ``ids`` to ``path`` as a user seed file."""
    seeds = {s.id: s for s in builtin_seeds()}
    path.write_text("".join(json.dumps(seeds[i].model_dump()) + "\n" for i in ids), "utf-8")
    return path


SEED_PHRASES = {"bakery-mix": "sourdough", "feed-blend": "pellets"}


def _var(symbol: str, description: str) -> str:
    record = {"symbol": symbol, "description": description, "range": f"{symbol} >= 0"}
    return "// " + json.dumps({**record, "type": "integer"})


def pottery_case(seeds: frozenset[str], *, mismatch_text: bool = False) -> Case:
    """Mugs and bowls, max 5M + 8B s.t. kiln 2M + 4B <= 40 (optimum 100); level 3 only."""
    sections = [
        "## Scenario\nA pottery studio decides how many mugs and bowls to fire in its kiln.",
        "## Define Variables\nThe studio chooses the number of mugs and bowls.\n"
        + _var("M", "number of mugs")
        + "\n"
        + _var("B", "number of bowls"),
        "## Define Objective Function\nA mug earns $5 and a bowl $8; maximize profit.\n"
        "// Maximize: 5*M + 8*B",
        "## Constraint 1\nThe kiln has 40 hours; a mug takes 2 hours and a bowl 4 hours.\n"
        "// 2*M + 4*B <= 40",
    ]
    right = lp_program("maximize", {"M": 5, "B": 8}, [({"M": 2, "B": 4}, "<=", 40)])
    wrong = lp_program("maximize", {"M": 5, "B": 8}, [({"M": 2, "B": 4}, "<=", 30)])
    data = "A mug earns $5 profit and a bowl earns $8 profit."
    return Case(
        seeds,
        sections,
        programs={3: right},
        questions={
            (3, "table"): f"A pottery studio fires mugs and bowls in one kiln. {data}\n\n"
            "| item | profit ($) | kiln hours |\n|---|---|---|\n"
            "| mug | 5 | 2 |\n| bowl | 8 | 4 |\n\n"
            "The kiln is available for 40 hours. How many mugs and bowls maximize profit?",
            (3, "no-table"): f"A pottery studio fires mugs and bowls in one kiln. {data} A mug "
            "needs 2 kiln hours and a bowl needs 4, and the kiln runs for 40 hours. How many "
            "of each should it fire to maximize profit?",
        },
        formulations={(3, "table"): right, (3, "no-table"): wrong if mismatch_text else right},
    )


def garden_case(seeds: frozenset[str], *, constraints_rhs: float = 60, sleep: float = 0) -> Case:
    """Seedlings: min 3T + 2S s.t. T + S >= rhs, T >= 10 (levels 3 and 4)."""
    sections = [
        "## Scenario\nA garden centre orders tomato and squash seedlings from a grower.",
        "## Define Variables\nThe centre decides how many trays of each seedling to order.\n"
        + _var("T", "trays of tomato seedlings")
        + "\n"
        + _var("S", "trays of squash seedlings"),
        "## Define Objective Function\nA tomato tray costs $3 and a squash tray $2; minimize "
        "the cost.\n// Minimize: 3*T + 2*S",
        f"## Constraint 1\nThe centre needs at least {constraints_rhs:g} trays in total.\n"
        f"// T + S >= {constraints_rhs:g}",
        "## Constraint 2\nThe grower can supply at most 10 trays of squash.\n// S <= 10",
    ]
    total = ({"T": 1, "S": 1}, ">=", constraints_rhs)
    lvl3 = lp_program("minimize", {"T": 3, "S": 2}, [total], sleep=sleep)
    lvl4 = lp_program(
        "minimize",
        {"T": 3, "S": 2},
        [total, ({"S": 1}, "<=", 10)],
        sleep=sleep,
    )
    base = "A garden centre orders trays of tomato and squash seedlings; a tomato tray costs $3"
    q3 = f"{base} and a squash tray $2. It needs at least {constraints_rhs:g} trays in total. "
    q4 = q3 + "It can take at most 10 trays of squash. "
    ask = "How many trays of each minimize the cost?"
    return Case(
        seeds,
        sections,
        programs={3: lvl3, 4: lvl4},
        questions={(3, "no-table"): q3 + ask, (4, "no-table"): q4 + ask},
        formulations={(3, "no-table"): lvl3, (4, "no-table"): lvl4},
    )


def resume_world() -> World:
    """Three distinct cases for the kill-and-resume test (seeds bakery-mix + feed-blend)."""
    bakery, feed = frozenset({"bakery-mix"}), frozenset({"feed-blend"})
    return World(
        [pottery_case(bakery), garden_case(feed), garden_case(bakery | feed, constraints_rhs=45)],
        SEED_PHRASES,
    )


def make_llm() -> ScriptedLLM:
    """Factory for ``--llm py:tests.agents.resocratic.scripted:make_llm`` in CLI subprocesses."""
    return resume_world().llm()
