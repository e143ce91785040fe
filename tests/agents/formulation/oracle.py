"""The ``oracle``: a scripted LLM for tests only, answering with fixed pyscipopt programs.

It recognises a few items of ``examples/data/sample.jsonl`` by their question text and answers
as a scripted model would: right first time, broken then repaired, always wrong, always
infeasible, or never numeric. Any other question gets a reply with no code. The programs run for
real in the sandbox, so the repair loop and the scoring are exercised end to end.

Use ``--llm py:tests.agents.formulation.oracle:make_oracle`` to drive the CLI with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "data" / "sample.jsonl"
BROKEN_MARK = "# oracle: broken on purpose"

_REPORT = """\
status = model.getStatus()
report(model.getObjVal() if status == "optimal" else None, status)
"""


def _scip(name: str, body: str, ending: str = _REPORT) -> str:
    """A pyscipopt program: a quiet model ``name``, ``body`` (variables, constraints, objective),
    optimize, then ``ending`` (by default: report the objective and the status)."""
    head = f'\nfrom pyscipopt import Model\n\nmodel = Model("{name}")\nmodel.hideOutput()\n'
    return head + body + "model.optimize()\n" + ending


# Shared with tests/agents/alphaopt/script.py, which also needs a wrong variant ({large} = 60).
BONES_PROGRAM = _scip(
    "bones",
    """\
small = model.addVar(name="small", vtype="I", lb=0)
large = model.addVar(name="large", vtype="I", lb=0)
model.addCons(10 * small + 15 * large <= 2000, name="medication")
model.addCons(small >= 0.5 * (small + large), name="mostly_small")
model.addCons(large >= {large}, name="min_large")
model.setObjective(12 * small + 15 * large, sense="minimize")
""",
    ending="""\
status = model.getStatus()
if status == "optimal":
    values = {{"small": model.getVal(small), "large": model.getVal(large)}}
    report(model.getObjVal(), "optimal", values)
else:
    report(None, status)
""",
)

_FARM = _scip(
    "farm",
    """\
daikon = model.addVar(name="daikon", lb=0)
fennel = model.addVar(name="fennel", lb=0)
model.addCons(daikon + fennel <= 300)
model.addCons(0.5 * daikon + 1.5 * fennel <= 500)
model.addCons(70 * daikon + 50 * fennel <= 7400)
model.setObjective(300 * daikon + 250 * fennel, sense="maximize")
""",
)

_RENTAL = _scip(
    "rental",
    """\
price = model.addVar(name="price", vtype="I", lb=60, ub=150)
revenue = model.addVar(name="revenue", lb=None)
model.addCons(revenue <= price * (750 - 5 * price))  # nonlinear: objective via a variable
model.setObjective(revenue, sense="maximize")
""",
)

_FACTORIES = _scip(
    "factories",
    """\
medium = model.addVar(name="medium", vtype="I", lb=0)
small = model.addVar(name="small", vtype="I", lb=0)
model.addCons(50 * medium + 35 * small >= 250)
model.addCons(3 * medium + 2 * small <= 16)
model.setObjective(medium + small, sense="minimize")
""",
)

# With vtype "C" it runs, but treats meals as divisible: optimal for the wrong model (66.67;
# gold is 72); with "I" it is right. Shared with tests/agents/alphaopt/script.py.
MEALS_PROGRAM = _scip(
    "meals",
    """\
turkey = model.addVar(name="turkey", vtype="{vtype}", lb=0)
tuna = model.addVar(name="tuna", vtype="{vtype}", lb=0)
model.addCons(turkey <= 0.4 * (turkey + tuna))
model.addCons(20 * turkey + 18 * tuna >= 150)
model.addCons(30 * turkey + 25 * tuna >= 200)
model.setObjective(12 * turkey + 8 * tuna, sense="minimize")
""",
)

# Reads "at most 2000 sawdust" as "at least 20000" and caps the saws: no feasible point.
_SAWS_INFEASIBLE = _scip(
    "saws",
    """\
miter = model.addVar(name="miter", vtype="I", lb=0, ub=10)
circular = model.addVar(name="circular", vtype="I", lb=0, ub=10)
model.addCons(50 * miter + 70 * circular >= 1500)
model.addCons(60 * miter + 100 * circular >= 20000)
model.setObjective(miter + circular, sense="minimize")
""",
)

# Solves, then prints prose instead of reporting a number.
_TRIPS_NON_NUMERIC = _scip(
    "trips",
    """\
trucks = model.addVar(name="trucks", vtype="I", lb=0)
vans = model.addVar(name="vans", vtype="I", lb=0)
model.addCons(trucks <= vans)
model.addCons(1000 * trucks + 500 * vans >= 50000)
model.addCons(300 * trucks + 100 * vans <= 12500)
model.setObjective(trucks + vans, sense="minimize")
""",
    ending="""\
print("Optimal value: about seventy-five trips")
""",
)

_BONES = BONES_PROGRAM.format(large=30)
_MEALS_WRONG = MEALS_PROGRAM.format(vtype="C")

# item id -> (first reply program, repaired program or None to repeat the first)
BEHAVIOUR: dict[str, tuple[str, str | None]] = {
    "nl4opt-F004": (_BONES, None),  # right first time: 810
    "optibench-184": (_FARM, None),  # right first time: 37000 (LP)
    "optibench-453": (_RENTAL, None),  # right first time: 28125 (nonlinear, integer)
    "nlp4lp-A071": (
        _FACTORIES.replace("model.optimize()", f"model.optimise()  {BROKEN_MARK}"),
        _FACTORIES,
    ),  # AttributeError, repaired on attempt 2: 5
    "nl4opt-F028": (_MEALS_WRONG, None),  # runs, wrong objective (gold 72)
    "nlp4lp-A039": (_SAWS_INFEASIBLE, None),  # infeasible on every attempt
    "nl4opt-F043": (_TRIPS_NON_NUMERIC, None),  # never reports a number
}
GOLD_OUTCOME = {
    "nl4opt-F004": "correct",
    "optibench-184": "correct",
    "optibench-453": "correct",
    "nlp4lp-A071": "correct",
    "nl4opt-F028": "wrong",
    "nlp4lp-A039": "infeasible",
    "nl4opt-F043": "non_numeric",
}


def sample_questions() -> dict[str, str]:
    """Question text of every item of ``examples/data/sample.jsonl``, by item id."""
    with SAMPLE.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["id"]: row["question"] for row in rows}


_QUESTIONS = {key: text for key, text in sample_questions().items() if key in BEHAVIOUR}


def oracle_reply(messages: list[dict[str, Any]]) -> str:
    """The scripted reply to a conversation (the last user message decides)."""
    text = messages[-1]["content"]
    for item_id, question in _QUESTIONS.items():
        if question in text:
            first, repaired = BEHAVIOUR[item_id]
            is_repair = BROKEN_MARK in text
            program = repaired if is_repair and repaired is not None else first
            return f"Here is the model as a program.\n\n```python{program}```\n"
    return "I am only an oracle for a few test items; I have no program for this one."


def make_oracle() -> Any:
    """The oracle as a ``trace_core.llm.ScriptedLLM`` (a zero-argument LLM factory)."""
    from trace_core.llm import ScriptedLLM

    return ScriptedLLM(oracle_reply)
