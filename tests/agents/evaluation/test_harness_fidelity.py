"""Issue 19 end to end: printed results score like report(); dead runs and licence limits.

A scripted LLM serves complete programs, as published programs are served to `optoforge
evaluate`; they run for real in the sandbox and the harness writes results.jsonl.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from agents.evaluation.dataset import Item
from agents.evaluation.harness import evaluate
from agents.evaluation.results import RunLog
from agents.formulation.agent import FormulationAgent
from agents.formulation.result import AttemptOutcome

GUROBI_LP = """\
Set parameter TimeLimit to value 60
Non-default parameters:
TimeLimit  60

Found heuristic solution: objective 30.1
Solved in 2 iterations and 0.01 seconds (0.00 work units)
Optimal objective  3.243590000e+01
"""

# Each style prints the same optimum the way real programs print it; (program body, gold).
STYLES: dict[str, tuple[str, float | str]] = {
    "solver_line_beats_rounding": (
        f"print({GUROBI_LP!r})\nprint('Optimal total cost: 32.44')\n"
        "print('Calculated Total Costs: 32.43')\nprint('Total Revenue: 99.0')\n",
        32.4359,
    ),
    "number_inside_label": ("print('Total value at End of Year 3: 510,000.00 yuan')\n", 510000.0),
    "dict_line": ("print({'status': 'optimal', 'obj': 4})\n", 4.0),
    "makespan": ("print('TimeLimit 3600')\nprint('Minimum makespan: 7.0')\n", 7.0),
    "revenue_then_breakdown": (
        "print('Optimal Revenue: 8000.0')\nprint('Total Revenue: 8000.5')\n",
        8000.0,
    ),
    "lawn_area": ("print('Maximum Lawn Area: 2480.0')\n", 2480.0),
    "hours": ("print('Optimal total hours: 14.0')\n", 14.0),
    "scip_log_and_rounded_print": (
        "from pyscipopt import Model\nm = Model()\n"
        "x = m.addVar(ub=10)\ny = m.addVar(ub=7.3)\nm.addCons(3 * x + 2 * y <= 17.3)\n"
        "m.setObjective(5 * x + 3.2 * y, 'maximize')\nm.optimize()\n"
        "print(f'Maximum profit: {m.getObjVal():.2f}')\n",
        28.8333333333,
    ),
    "infeasible_gold": ("print('Model is infeasible')\n", "infeasible"),
}
GUROBI_STYLE = (
    "import gurobipy as gp\nm = gp.Model()\nm.Params.TimeLimit = 60\n"
    "x = m.addVar(ub=10)\ny = m.addVar(ub=7.3)\nm.addConstr(3 * x + 2 * y <= 17.3)\n"
    "m.setObjective(5 * x + 3.2 * y, gp.GRB.MAXIMIZE)\nm.optimize()\n"
    "print('Status:', m.Status)\nprint(f'Optimal total profit: {m.ObjVal:.2f}')\n"
)
if importlib.util.find_spec("gurobipy") is not None:
    # a real gurobipy log: parameter echoes, gurobi.env threads, then a rounded result line
    STYLES["gurobi_log_and_rounded_print"] = (GUROBI_STYLE, 28.8333333333)


def _value(gold: float | str, style: str) -> str:
    if isinstance(gold, str):
        return f"report(None, {gold!r})\n"
    if style == "scip_log_and_rounded_print":
        return STYLES[style][0].rsplit("print(", 1)[0] + "report(m.getObjVal())\n"
    if style == "gurobi_log_and_rounded_print":
        return STYLES[style][0].rsplit("print(", 2)[0] + "report(m.ObjVal)\n"
    return f"report({gold!r})\n"


def _reply_for(programs: dict[str, str]) -> Any:
    def reply(messages: list[dict[str, str]]) -> str:
        text = messages[-1]["content"]
        style = next(name for name in programs if f"STYLE {name}." in text)
        return f"```python\n{programs[style]}```"

    return reply


def _evaluate(
    tmp_path: Path, programs: dict[str, str], golds: dict[str, Any], name: str, **agent_kw: Any
) -> Any:
    from trace_core.llm import ScriptedLLM

    items = [
        Item(id=style, source="issue19", question=f"STYLE {style}.", answer=golds[style])
        for style in programs
    ]
    llm = ScriptedLLM(_reply_for(programs))
    agent_kw.setdefault("max_repairs", 3)
    agent_kw.setdefault("timeout_s", 60)
    agent = FormulationAgent(llm, solver="scip", **agent_kw)
    report = evaluate(
        items, lambda: agent, run_dir=tmp_path / name, workers=2, progress=False, plot=False
    )
    return report, {r.id: r for r in RunLog(tmp_path / name).load()}, llm


def test_printed_results_score_the_same_as_report(tmp_path: Path) -> None:
    pytest.importorskip("pyscipopt")
    printed = {style: body for style, (body, _) in STYLES.items()}
    reported = {style: _value(gold, style) for style, (_, gold) in STYLES.items()}
    golds = {style: gold for style, (_, gold) in STYLES.items()}
    print_report, print_rows, print_llm = _evaluate(tmp_path, printed, golds, "printed")
    report_report, report_rows, _ = _evaluate(tmp_path, reported, golds, "reported")
    assert print_report.correct == report_report.correct == len(STYLES)
    assert {k: r.correct for k, r in print_rows.items()} == dict.fromkeys(STYLES, True)
    assert {k: r.outcome for k, r in print_rows.items()} == {
        k: r.outcome for k, r in report_rows.items()
    }
    # no repair was spent on a result that was printed correctly (the infeasible item is
    # repaired alike in both runs: the agent cannot know infeasibility is the answer)
    assert {k: r.repairs for k, r in print_rows.items()} == {
        k: r.repairs for k, r in report_rows.items()
    }
    assert sum(r.repairs for k, r in print_rows.items() if k != "infeasible_gold") == 0
    assert len(print_llm.calls) == len(STYLES) + print_rows["infeasible_gold"].repairs
    assert print_rows["solver_line_beats_rounding"].objective == pytest.approx(32.4359, 1e-12)


def test_timed_out_run_has_no_objective_in_results_jsonl(tmp_path: Path) -> None:
    program = (
        "print('Found heuristic solution: objective 67.99', flush=True)\n"
        "print('Optimal value: 67.99', flush=True)\nimport time\ntime.sleep(30)\n"
    )
    report, rows, _ = _evaluate(
        tmp_path, {"timeout": program}, {"timeout": 67.99}, "timeout", max_repairs=0, timeout_s=2
    )
    line = json.loads((tmp_path / "timeout" / "results.jsonl").read_text().splitlines()[0])
    assert (line["objective"], line["status"], line["outcome"]) == (None, None, "error")
    assert report.correct == 0 and rows["timeout"].executed is False


def test_licence_limited_run_makes_no_repair_call(tmp_path: Path) -> None:
    program = (
        "raise RuntimeError('Model too large for size-limited license; visit "
        "https://gurobi.com/unrestricted for more information')\n"
    )
    _, rows, llm = _evaluate(tmp_path, {"licence": program}, {"licence": 1.0}, "licence")
    assert len(llm.calls) == 1 and rows["licence"].repairs == 0
    assert rows["licence"].outcome.value == "error"
    assert "licence" in (rows["licence"].error or "")


def test_agent_stops_at_a_missing_target_solver() -> None:
    import importlib.util

    from trace_core.llm import ScriptedLLM

    if importlib.util.find_spec("mosek") is not None:
        pytest.skip("mosek is installed here")
    llm = ScriptedLLM(lambda messages: "```python\nimport mosek\n```")
    agent = FormulationAgent(llm, solver="scip", max_repairs=3)
    # a target whose module is missing here (mosek stands in for an uninstalled solver)
    agent.target = agent.target.__class__(
        name="mosek", module="mosek", guide=agent.target.guide, install="pip install mosek"
    )
    result = agent.solve("anything")
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.SOLVER_MISSING]
    assert len(llm.calls) == 1 and "not installed" in (result.error or "")
