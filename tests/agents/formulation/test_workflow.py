"""FormulationProgram: the traced graph of one formulation, on real sandbox runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.formulation.result import AttemptOutcome
from agents.formulation.scripted_world import RULE_LINE, make_llm, world_items
from agents.formulation.workflow import FormulationFailure, FormulationProgram
from tests.agents.formulation.oracle import SAMPLE

QUESTIONS = {row["id"]: row["question"] for row in map(json.loads, SAMPLE.open()) if row}

pytestmark = [pytest.mark.solver, pytest.mark.usefixtures("sandbox_ready")]


def _ops(output: Any) -> list[str]:
    from trace_core.graph import topological_order

    return [n.op.name for n in topological_order(output) if hasattr(n, "op")]


def test_parameters_are_the_prompts_and_the_insight_set(llm_layer: None) -> None:
    program = FormulationProgram(make_llm())
    names = sorted(program.named_parameters())
    assert names == ["insights", "modelling_guide", "program_guide", "repair_guide", "system_rules"]
    assert "report(objective, status, values)" in program.system_rules.data
    assert "$question" in program.repair_guide.data and program.insights.data == []


def test_repair_guide_update_that_drops_a_placeholder_is_rejected(llm_layer: None) -> None:
    from trace_core import InvalidUpdate

    program = FormulationProgram(make_llm())
    with pytest.raises(InvalidUpdate, match=r"\$program"):
        program.repair_guide.set("Fix it.")
    assert "$program" in program.repair_guide.data


def test_graph_holds_prompts_call_program_run_and_answer(llm_layer: None) -> None:
    item = world_items()[0]
    output = FormulationProgram(make_llm()).forward(item.question)
    assert output.data == pytest.approx(230.0)  # continuous variables: the LP optimum
    ops = _ops(output)
    for op in ("compose_program_request", "call_llm", "extract_code", "run_program"):
        assert op in ops
    assert ops[-1] == "read_answer"
    from trace_core.graph import parameters_of

    assert {p.name for p in parameters_of(output)} == {"system_rules", "program_guide"}


def test_crash_is_an_exception_node_with_the_log_tail_and_repair_is_in_the_graph(
    oracle: Any,
) -> None:
    output = FormulationProgram(oracle, max_repairs=1).forward(QUESTIONS["nlp4lp-A071"])
    assert output.data == pytest.approx(5.0)  # repaired on attempt 2
    from trace_core import ExceptionNode
    from trace_core.graph import topological_order

    nodes = topological_order(output)
    failures = [n for n in nodes if isinstance(n, ExceptionNode)]
    assert len(failures) == 1
    failure = failures[0].exception
    assert isinstance(failure, FormulationFailure) and failure.outcome is AttemptOutcome.ERROR
    assert "optimise" in failure.log_tail  # the traceback tail travels with the node
    assert [n.op.name for n in nodes if hasattr(n, "op")].count("call_llm") == 2
    assert "compose_repair_request" in _ops(output)


def test_infeasible_final_run_is_the_output_exception_node(oracle: Any) -> None:
    output = FormulationProgram(oracle, max_repairs=0).forward(QUESTIONS["nlp4lp-A039"])
    from trace_core import ExceptionNode

    assert isinstance(output, ExceptionNode)
    assert output.exception.outcome is AttemptOutcome.INFEASIBLE


def test_summary_reads_well_and_graph_renders(llm_layer: None) -> None:
    from trace_core import summarize, visualize

    program = FormulationProgram(make_llm())
    output = program.forward(world_items()[0].question)
    output.backward("Wrong answer: 230 is higher than the optimum 210.")
    text = summarize(output, program.parameters()).to_text()
    assert "system_rules" in text and "call_llm" in text and "run_program" in text
    assert "Wrong answer" in text
    dot = visualize(output)
    assert "call_llm" in dot and "read_answer" in dot


def test_trained_rules_saved_and_loaded_change_the_answer(tmp_path: Path) -> None:
    pytest.importorskip("trace_core.llm")
    item = world_items()[0]
    program = FormulationProgram(make_llm())
    program.system_rules.set(program.system_rules.data + "\n" + RULE_LINE)
    path = program.save(tmp_path / "best.json")
    fresh = FormulationProgram(make_llm())
    fresh.load(path)
    assert fresh.forward(item.question).data == pytest.approx(item.answer)
