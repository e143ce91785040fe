"""FormulationAgent on real sandbox runs, driven by the oracle LLM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.formulation import FormulationAgent
from agents.formulation.result import AttemptOutcome
from tests.agents.formulation.oracle import BROKEN_MARK, SAMPLE

QUESTIONS = {row["id"]: row["question"] for row in map(json.loads, SAMPLE.open()) if row}

pytestmark = [pytest.mark.solver, pytest.mark.usefixtures("sandbox_ready")]


def test_right_first_time_returns_the_optimal_objective(oracle: Any) -> None:
    result = FormulationAgent(oracle).solve(QUESTIONS["nl4opt-F004"])
    assert result.ok and result.repairs == 0
    assert result.objective == pytest.approx(810.0)
    assert result.status == "optimal"
    assert result.final.values == {"small": pytest.approx(30.0), "large": pytest.approx(30.0)}
    assert result.usage.calls == 1


def test_nonlinear_integer_program_solves(oracle: Any) -> None:
    result = FormulationAgent(oracle).solve(QUESTIONS["optibench-453"])
    assert result.objective == pytest.approx(28125.0)


def test_broken_program_is_repaired_on_attempt_two(oracle: Any) -> None:
    result = FormulationAgent(oracle, max_repairs=3).solve(QUESTIONS["nlp4lp-A071"])
    first, second = result.attempts
    assert first.outcome is AttemptOutcome.ERROR and first.returncode != 0
    assert "optimise" in (first.feedback or "")  # the traceback goes back to the LLM
    repair_prompt = oracle.calls[1][-1]["content"]
    assert BROKEN_MARK in repair_prompt and "optimise" in repair_prompt
    assert second.outcome is AttemptOutcome.OK and result.objective == pytest.approx(5.0)
    assert result.repairs == 1 and result.program == second.program


def test_infeasible_model_uses_every_repair_then_reports_infeasible(oracle: Any) -> None:
    result = FormulationAgent(oracle, max_repairs=1).solve(QUESTIONS["nlp4lp-A039"])
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.INFEASIBLE] * 2
    assert result.status == "infeasible" and result.objective is None
    assert result.executed and result.error is None
    assert "infeasible" in oracle.calls[1][-1]["content"]


def test_program_without_a_reported_number_is_sent_back(oracle: Any) -> None:
    result = FormulationAgent(oracle, max_repairs=1).solve(QUESTIONS["nl4opt-F043"])
    assert result.outcome is AttemptOutcome.NO_RESULT
    assert "seventy-five" in oracle.calls[1][-1]["content"]  # the output is quoted back


def test_reply_without_code_is_never_run(oracle: Any) -> None:
    result = FormulationAgent(oracle, max_repairs=1).solve("Minimize the number of unicorns.")
    assert [a.outcome for a in result.attempts] == [AttemptOutcome.NO_CODE] * 2
    assert result.final.isolation is None and result.final.returncode is None  # no sandbox run
    assert "no Python program" in (result.error or "")
    assert not result.executed


def test_library_insights_reach_the_prompt_and_are_recorded(oracle: Any) -> None:
    class Insight:
        def __init__(self, ident: int, explanation: str):
            self.id, self.explanation, self.example = ident, explanation, ""

    class Library:
        def __init__(self) -> None:
            self.recorded: list[Any] = []

        def retrieve(self, question: str) -> list[Any]:
            return [Insight(7, "Count bones with integer variables."), "Check the 50% rule."]

        def record(self, ids: list[Any], result: Any) -> None:
            self.recorded.append((ids, result.ok))

    library = Library()
    FormulationAgent(oracle, library=library).solve(QUESTIONS["nl4opt-F004"])
    prompt = oracle.calls[0][-1]["content"]
    assert "- [7] Count bones with integer variables." in prompt
    assert "- Check the 50% rule." in prompt
    assert library.recorded == [([7, None], True)]


def test_describe_asks_for_a_model_before_the_program(oracle: Any) -> None:
    result = FormulationAgent(oracle, describe=True).solve(QUESTIONS["optibench-184"])
    assert "Decision variables" in oracle.calls[0][-1]["content"]
    assert result.formulation and result.formulation in oracle.calls[1][-1]["content"]
    assert result.usage.calls == 2 and result.objective == pytest.approx(37000.0)


def test_gurobi_programs_run_when_gurobipy_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("gurobipy")
    from trace_core.llm import ScriptedLLM

    program = (
        "import gurobipy as gp\nfrom gurobipy import GRB\n"
        "m = gp.Model()\nm.Params.OutputFlag = 0\n"
        "x = m.addVar(vtype=GRB.INTEGER, ub=7)\nm.setObjective(3 * x, GRB.MAXIMIZE)\n"
        "m.optimize()\nreport(m.ObjVal, 'optimal')\n"
    )
    llm = ScriptedLLM([f"```python\n{program}```"])
    result = FormulationAgent(llm, solver="gurobi").solve("Maximize 3x for integer x <= 7.")
    assert "gurobipy" in llm.calls[0][0]["content"]
    assert result.objective == pytest.approx(21.0)


def test_agent_settings_are_its_programs_and_only_the_target_is_settable(oracle: Any) -> None:
    agent = FormulationAgent(oracle, "scip", None, 2)
    assert (agent.llm, agent.max_repairs, agent.library, agent.solver) == (oracle, 2, None, "scip")
    other = agent.target.__class__(name="mosek", module="mosek", guide="g", install="pip")
    agent.target = other
    assert agent.program.target is other and agent.solver == "mosek"
    with pytest.raises(AttributeError, match="read-only"):
        agent.max_repairs = 5
    assert agent.program.max_repairs == 2
