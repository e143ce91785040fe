"""A scripted world where one prompt rule decides correctness (demo, bench and tests).

Eight small production-planning problems whose quantities are indivisible: with continuous
variables the LP optimum is wrong, with integer variables it is the gold answer. The scripted
model writes real pyscipopt programs (run for real in the sandbox) and declares integer
variables only when its prompt says so in the words ``indivisible counts``, which the packaged
system rules do not. A rule or insight containing them makes every answer right.

The same reply function answers the optimizers' prompts like a sensible optimizer would:
OptoPrime and OPRO propose adding the rule to ``system_rules`` once the feedback reports wrong
answers; TextGrad's update does the same; AlphaOPT's steps extract, verify and keep an insight
carrying the rule. Nothing here calls a real model. Use it as
``--llm py:agents.formulation.scripted_world:make_llm``; with ``$OPTOFORGE_WORLD_JOURNAL`` set
every call that reaches the model (cache misses) appends a line there, a journal of "paid" calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from itertools import product
from typing import Any

from agents.evaluation.dataset import Item

RULE = "indivisible counts"
RULE_LINE = (
    "- Declare integer variables for indivisible counts: products, people and vehicles come "
    "in whole units, so never let their number be fractional."
)
INTEGRALITY = ["General Formulation", "Variable Definition", "Integrality"]

# shop, product a, product b, hours per a, kg per a, hours per b, kg per b, hours, kg,
# profit per a, profit per b
_PROBLEMS = [
    ("furniture workshop", "tables", "chairs", 3, 7, 2, 3, 17, 23, 50, 30),
    ("bakery", "wedding cakes", "birthday cakes", 4, 6, 3, 2, 19, 17, 90, 55),
    ("boatyard", "canoes", "kayaks", 5, 9, 3, 4, 23, 31, 120, 70),
    ("print shop", "posters", "banners", 2, 5, 7, 3, 13, 29, 40, 35),
    ("toy factory", "trains", "dolls", 6, 4, 5, 2, 27, 13, 80, 45),
    ("bike shop", "road bikes", "city bikes", 7, 3, 4, 6, 30, 26, 300, 180),
    ("pottery", "vases", "bowls", 4, 3, 5, 9, 21, 40, 35, 28),
    ("sail loft", "jibs", "mainsails", 3, 5, 8, 6, 26, 33, 45, 110),
]

_PROGRAM = """from pyscipopt import Model

model = Model("{shop}")
model.hideOutput()
a = model.addVar(name="{a}", vtype="{vtype}", lb=0)
b = model.addVar(name="{b}", vtype="{vtype}", lb=0)
model.addCons({h1} * a + {h2} * b <= {H}, name="hours")
model.addCons({m1} * a + {m2} * b <= {M}, name="material")
model.setObjective({p1} * a + {p2} * b, sense="maximize")
model.optimize()
status = model.getStatus()
if status == "optimal":
    report(model.getObjVal(), "optimal", {{"{a}": model.getVal(a), "{b}": model.getVal(b)}})
else:
    report(None, status)
"""


def _fields(problem: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("shop", "a", "b", "h1", "m1", "h2", "m2", "H", "M", "p1", "p2")
    return dict(zip(keys, problem, strict=True))


def _question(f: dict[str, Any]) -> str:
    return (
        f"A {f['shop']} makes {f['a']} and {f['b']}. Each of the {f['a']} takes {f['h1']} hours "
        f"of work and {f['m1']} kg of material; each of the {f['b']} takes {f['h2']} hours and "
        f"{f['m2']} kg. This week {f['H']} hours and {f['M']} kg are available. Each of the "
        f"{f['a']} earns a profit of {f['p1']} dollars and each of the {f['b']} {f['p2']} "
        f"dollars. How many {f['a']} and {f['b']} should it make to maximize its profit?"
    )


def _integer_optimum(f: dict[str, Any]) -> float:
    """The gold answer, by enumeration (the numbers are small)."""
    best = 0
    for x, y in product(range(f["H"] // f["h1"] + 1), range(f["H"] // f["h2"] + 1)):
        if f["h1"] * x + f["h2"] * y <= f["H"] and f["m1"] * x + f["m2"] * y <= f["M"]:
            best = max(best, f["p1"] * x + f["p2"] * y)
    return float(best)


def world_items() -> list[Item]:
    """The eight problems as dataset items with their (integer) gold answers."""
    return [
        Item(
            id=f"world-{i:02d}",
            source="scripted-world",
            question=_question(_fields(p)),
            answer=_integer_optimum(_fields(p)),
            tags=["integrality"],
        )
        for i, p in enumerate(_PROBLEMS, start=1)
    ]


def world_program(question: str, integer: bool) -> str | None:
    """The program the scripted model writes for ``question`` (None for unknown questions)."""
    for problem in _PROBLEMS:
        f = _fields(problem)
        if _question(f) in question:
            return _PROGRAM.format(vtype="I" if integer else "C", **f)
    return None


def _initial_rules() -> str:
    from agents.formulation.templates import render

    return render("system", solver_name="pyscipopt", solver_module="pyscipopt")


def _improved_rules(current: str | None = None) -> str:
    base = current if current and RULE not in current else _initial_rules()
    return base.rstrip() + "\n" + RULE_LINE


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages)


class ScriptedWorld:
    """The reply function of the scripted world (see the module docstring)."""

    def __init__(self, journal: str | None = None) -> None:
        self.journal = journal
        self.counts: dict[str, int] = {}

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        system = str(messages[0].get("content", "")) if messages else ""
        user = str(messages[-1].get("content", ""))
        kind, reply = self._reply(system, user, _text(messages))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.journal:
            digest = hashlib.sha256(json.dumps(messages).encode()).hexdigest()[:12]
            with open(self.journal, "a", encoding="utf-8") as handle:
                handle.write(f"{kind} {digest} pid={os.getpid()}\n")
        return reply

    def _reply(self, system: str, user: str, everything: str) -> tuple[str, str]:
        heading = re.match(r"# AlphaOPT: ([a-z -]+)", user)
        if heading is not None:
            step = heading.group(1).strip()
            return "alphaopt " + step, self._alphaopt(step, user)
        if system.startswith("You improve a program") or system.startswith("You are an optimizer"):
            return "optimizer", self._suggest(user)
        if user.startswith("You improve one text variable of a program"):
            return "optimizer", self._reflect(user)
        if "textual gradient" in system:
            return "optimizer", json.dumps({"gradients": {}})
        if "#Variable" in user and '"value"' in user:
            value = _improved_rules() if "system_rules" in user else None
            return "optimizer", json.dumps(
                {"reasoning": "add the integrality rule", "value": value}
            )
        program = world_program(user, integer=RULE in everything)
        if program is None:
            return "formulation", "I have no program for this problem."
        return "formulation", f"Here is the program.\n\n```python\n{program}```\n"

    @staticmethod
    def _suggest(user: str) -> str:
        if "Wrong answer" not in user or RULE in user:
            return json.dumps(
                {"reasoning": "the answers are right; keep the rules", "suggestion": {}}
            )
        return json.dumps(
            {
                "reasoning": "The programs solve the LP relaxation: the answers are fractional "
                "plans of indivisible products. The rules must demand integer variables.",
                "suggestion": {"system_rules": _improved_rules()},
            }
        )

    @staticmethod
    def _reflect(user: str) -> str:
        """GEPA's reflection: a new value for one variable, in one fenced block."""
        name = re.search(r"`(\w+)`", user)
        current = re.search(r"current value:\n```\n(.*?)\n```\n", user, re.DOTALL)
        value = current.group(1) if current else ""
        if name is not None and name.group(1) == "system_rules" and "Wrong answer" in user:
            value = _improved_rules(value)
        return f"```\n{value}\n```"

    def _alphaopt(self, step: str, text: str) -> str:
        if step == "quick match":
            return json.dumps({"labels": [INTEGRALITY]})
        if step == "applicability check":
            offered = re.findall(r"- id (\d+): applies when", text)
            return json.dumps({"applicable": [{"id": int(i), "reason": "fits"} for i in offered]})
        if step == "self-explore":
            program = world_program(text, integer=True) or ""
            return f"```python\n{program}```"
        if step == "extract insights":
            insight = {
                "taxonomy": INTEGRALITY,
                "condition": "the decisions count whole products, people or vehicles",
                "explanation": f"Declare integer variables for {RULE}; an LP relaxation "
                "returns fractional plans that are not feasible.",
                "example": "vtype='C' for tables gives 230; vtype='I' gives the true 210",
            }
            return json.dumps({"insights": [insight]})
        if step == "merge check":
            return json.dumps({"duplicates": [], "merged": None})
        if step == "diagnose":
            used = re.findall(r"- id (\d+):", text)
            labels = [{"id": int(i), "label": "positive"} for i in used]
            return json.dumps({"issues": ["counts must be integer"], "labels": labels})
        if step == "find missed insights":
            offered = [int(i) for i in re.findall(r"- id (\d+):", text)]
            return json.dumps({"per_issue": [{"issue": "counts must be integer", "ids": offered}]})
        if step == "refinement notes":
            return json.dumps({"notes": []})
        if step == "refine condition":
            return json.dumps({"conditions": []})
        return json.dumps({"parts": []})


def make_llm() -> Any:
    """The scripted world as a ``ScriptedLLM`` (cache as ``$OPTOFORGE_CACHE`` says)."""
    from trace_core.llm import ScriptedLLM

    world = ScriptedWorld(os.environ.get("OPTOFORGE_WORLD_JOURNAL"))
    return ScriptedLLM(world, model="scripted-world", cache=None)
