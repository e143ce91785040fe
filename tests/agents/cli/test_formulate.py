"""The optoforge CLI: formulate and evaluate, via typer's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.cli import create_app
from tests.agents.cli.processes import kill_after_first_line
from tests.agents.formulation.oracle import BEHAVIOUR, GOLD_OUTCOME, SAMPLE

ROOT = Path(__file__).resolve().parents[3]
ORACLE = "py:tests.agents.formulation.oracle:make_oracle"


@pytest.fixture
def oracle_items(tmp_path: Path) -> Path:
    """The sample items the oracle knows, as their own dataset."""
    rows = [
        line
        for line in SAMPLE.read_text().splitlines()
        if line and json.loads(line)["id"] in BEHAVIOUR
    ]
    path = tmp_path / "oracle.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def _invoke(*args: str) -> object:
    return CliRunner().invoke(create_app(), list(args), catch_exceptions=False)


@pytest.mark.solver
@pytest.mark.usefixtures("sandbox_ready", "oracle")
def test_evaluate_json_scores_real_runs_against_gold(oracle_items: Path, tmp_path: Path) -> None:
    result = _invoke(
        "evaluate",
        str(oracle_items),
        "--llm",
        ORACLE,
        "--json",
        "--workers",
        "2",
        "--max-repairs",
        "1",
        "--run-dir",
        str(tmp_path / "run"),
        "--no-progress",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["n"], report["correct"]) == (7, 4)
    assert report["outcomes"] == {"correct": 4, "infeasible": 1, "non_numeric": 1, "wrong": 1}
    assert report["execution_rate"] == pytest.approx(1.0)
    assert report["repairs"] == 3  # A071 repaired once; A039 and F043 used their one repair
    assert report["by_source"]["NL4Opt"] == {
        "n": 3,
        "correct": 1,
        "accuracy": pytest.approx(1 / 3),
        "execution_rate": 1.0,
    }
    assert "0.0001" in report["tolerance_rule"]
    records = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").open()]
    assert {r["id"]: r["outcome"] for r in records} == GOLD_OUTCOME


@pytest.mark.solver
@pytest.mark.usefixtures("sandbox_ready", "oracle")
def test_formulate_prints_objective_and_program(tmp_path: Path) -> None:
    question = next(
        json.loads(line)["question"]
        for line in SAMPLE.open()
        if json.loads(line)["id"] == "nl4opt-F004"
    )
    problem = tmp_path / "problem.txt"
    problem.write_text(question)
    result = _invoke("formulate", str(problem), "--llm", ORACLE)
    assert result.exit_code == 0, result.stderr
    assert "objective: 810.0" in result.stdout
    assert "from pyscipopt import Model" in result.stdout
    as_json = json.loads(_invoke("formulate", question, "--llm", ORACLE, "--json").stdout)
    assert as_json["objective"] == pytest.approx(810.0) and as_json["repairs"] == 0


@pytest.mark.usefixtures("llm_layer")
def test_missing_llm_configuration_is_a_clear_error(oracle_items: Path, tmp_path: Path) -> None:
    result = _invoke("evaluate", str(oracle_items), "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "OPTOFORGE_LLM" in result.stderr
    assert result.stdout == ""


def test_bad_dataset_line_names_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(
        '{"id": "x", "source": "S", "question": "q", "answer": 1}\n'
        '{"id": "y", "source": "S", "question": "q", "answer": "ten"}\n'
    )
    result = _invoke("evaluate", str(data), "--llm", ORACLE, "--run-dir", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert f"{data}:2: field 'answer'" in result.stderr


def test_unknown_solver_is_a_clear_error(oracle_items: Path) -> None:
    result = _invoke("evaluate", str(oracle_items), "--llm", ORACLE, "--solver", "cplex")
    assert result.exit_code == 2
    assert "unknown solver 'cplex'" in result.stderr and "scip" in result.stderr


def _cli(*args: str, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "agents.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )  # type: ignore[call-overload]


@pytest.mark.slow
@pytest.mark.solver
@pytest.mark.usefixtures("sandbox_ready", "oracle")
def test_evaluate_killed_then_resumed_finishes_every_item_once(
    oracle_items: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    keep = {"nl4opt-F004", "nl4opt-F028", "nlp4lp-A071", "optibench-184"}
    dataset = tmp_path / "four.jsonl"
    dataset.write_text(
        "".join(line for line in oracle_items.open() if json.loads(line)["id"] in keep)
    )
    args = [
        "evaluate",
        str(dataset),
        "--llm",
        ORACLE,
        "--workers",
        "1",
        "--max-repairs",
        "1",
        "--run-dir",
        str(run),
        "--json",
    ]
    results = run / "results.jsonl"
    kill_after_first_line(_cli(*args), results, timeout_s=60)
    done_before = results.read_text().count("\n")
    assert 1 <= done_before < 4

    second = _cli(*args, "--resume")
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    report = json.loads(stdout)  # stdout is exactly one JSON object: no banners, no progress
    assert report["n"] == 4 and report["correct"] == 3 and report["complete"]
    ids = [json.loads(line)["id"] for line in results.read_text().splitlines()]
    assert sorted(ids) == sorted(keep)  # every item once, no duplicates


@pytest.mark.solver
@pytest.mark.usefixtures("sandbox_ready")
def test_budget_stop_exits_3_keeps_the_item_paid_for_and_names_max_calls(
    oracle_items: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oracle: object
) -> None:
    from agents.formulation import factory
    from tests.agents.formulation.oracle import oracle_reply
    from trace_core.llm import ScriptedLLM

    monkeypatch.setattr(
        factory, "resolve_llm", lambda llm_id, budget=None: ScriptedLLM(oracle_reply, budget=budget)
    )
    run = tmp_path / "run"
    args = ["evaluate", str(oracle_items), "--llm", "scripted", "--workers", "1"]
    result = _invoke(*args, "--max-repairs", "1", "--max-calls", "3", "--run-dir", str(run))
    assert result.exit_code == 3
    assert "--resume" in result.stderr and "larger --max-calls" in result.stderr
    assert "--max-cost" not in result.stderr and "Traceback" not in result.stderr
    # F004 and F028 take one call each; F043's first attempt is call 3 (paid for, so kept)
    # and its repair would be call 4.
    records = [json.loads(line) for line in (run / "results.jsonl").open()]
    assert [r["id"] for r in records] == ["nl4opt-F004", "nl4opt-F028", "nl4opt-F043"]
    assert records[2]["attempts"] == 1 and records[2]["tokens"] > 0
    assert json.loads((run / "report.json").read_text())["complete"] is False


def test_unimportable_custom_llm_factory_is_a_clear_error(oracle_items: Path) -> None:
    result = _invoke("evaluate", str(oracle_items), "--llm", "py:no_such_module:factory")
    assert result.exit_code == 2
    assert "cannot import no_such_module.factory" in result.stderr
