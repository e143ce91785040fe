"""Each example runs end to end against its scripted stand-in model and reaches its goal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from examples import agent_workflow, code_tuning, harness, numeric_target, prompt_tuning
from optimizers.base import Rejection, StepResult


def test_numeric_example_hits_the_target_within_the_constraint() -> None:
    result = numeric_target.run(steps=30, verbose=False)
    assert result["hit"], result
    assert abs(result["f(x)"] - numeric_target.TARGET) <= numeric_target.TOLERANCE
    assert 0.0 <= result["x"] <= 20.0
    assert result["steps"] > 2  # it had to search, not guess


def test_prompt_tuning_example_reaches_full_validation_accuracy(tmp_path: Path) -> None:
    result = prompt_tuning.run(run_dir=str(tmp_path), progress=False)
    assert result["val_accuracy_before"] == 0.0
    assert result["val_accuracy_after"] == 1.0
    assert "exactly one word" in result["system_prompt"]
    assert (tmp_path / "history.jsonl").exists() and (tmp_path / "scores.png").exists()


def test_prompt_tuning_example_with_gepa_reaches_full_validation_accuracy(tmp_path: Path) -> None:
    pytest.importorskip("gepa", reason="GEPA needs the `gepa` extra")
    result = prompt_tuning.run(run_dir=str(tmp_path), progress=False, optimizer="gepa")
    assert result["val_accuracy_before"] == 0.0
    assert result["val_accuracy_after"] == 1.0
    assert "exactly one word" in result["system_prompt"]


def test_code_tuning_example_fixes_the_function_from_failing_tests() -> None:
    result = code_tuning.run(verbose=False)
    assert result["passed"] == result["total"] == len(code_tuning.TESTS)
    assert "* 60" not in result["source"].split("seconds =")[0]


def test_workflow_example_fixes_step_1_from_feedback_on_the_final_output(tmp_path: Path) -> None:
    result = agent_workflow.run(run_dir=str(tmp_path), progress=False)
    assert result["val_accuracy_before"] == 0.0
    assert result["val_accuracy_after"] == 1.0
    assert len(result["changed"]) == 1  # only step 1's code changed
    assert '.split(".")[0]' not in result["step1_source"]
    assert "sum(amounts)" in result["step2_source"]


class _Chosen(Exception):
    pass


def _refuse(model_id: str) -> None:
    raise _Chosen(model_id)


@pytest.mark.parametrize("module", [numeric_target, prompt_tuning, code_tuning, agent_workflow])
def test_examples_build_the_model_named_by_llm_option(
    module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "get_llm", _refuse)
    with pytest.raises(_Chosen, match="openai:gpt-4o-mini"):
        module.main(["--llm", "openai:gpt-4o-mini"])


def test_example_without_llm_says_it_uses_the_stand_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert numeric_target.main(["--steps", "30"]) == 0
    out = capsys.readouterr().out
    assert "scripted stand-in" in out
    assert json.loads(out.strip().splitlines()[-1])["hit"] is True


def test_a_step_that_changed_nothing_is_reported_not_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    errors: list[str] = []
    rejected = Rejection(parameter="x", value=25.0, reason="violates 0 <= x <= 20")
    harness.report_step(StepResult(step=0, error="reply was not JSON"), errors)
    harness.report_step(StepResult(step=1, rejected=[rejected]), errors)
    assert errors == ["reply was not JSON"]
    out = capsys.readouterr().out
    assert "step error: reply was not JSON" in out
    assert "rejected x=25.0: violates 0 <= x <= 20" in out


def test_stand_in_optimizer_fixes_only_when_the_feedback_shows_a_failure() -> None:
    reply = harness.fixes_on("expected", {"f": "fixed"}, reasoning="fix it", settled="fine")
    failing = json.loads(reply([{"role": "user", "content": "got 1, expected 2"}]))
    passing = json.loads(reply([{"role": "user", "content": "all good"}]))
    assert failing == {"reasoning": "fix it", "suggestion": {"f": "fixed"}}
    assert passing == {"reasoning": "fine", "suggestion": {}}
