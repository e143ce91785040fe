"""The Trainer: minibatch feedback, validation keep-best, files, and resume after SIGKILL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from optimizers import OptoPrime, Trainer
from optimizers.history import StepRecord, load_history
from optimizers.trainer import RunDirInUse
from tests.optimizers.trainer_job import kill_and_resume
from trace_core import bundle, node
from trace_core.llm import Budget, ScriptedLLM


@bundle()
def scale(w: int, x: int) -> int:
    """Multiply the input by the weight."""
    return w * x


def guide(output: int, target: int) -> tuple[float, str]:
    return (1.0 if output == target else 0.0), f"got {output}, expected {target}"


def reply(suggestion: dict[str, Any]) -> str:
    return json.dumps({"reasoning": "r", "suggestion": suggestion})


def make(llm: ScriptedLLM, tmp_path: Path, **kw: Any) -> tuple[Any, Trainer]:
    w = node(1, name="w", trainable=True)
    opt = OptoPrime([w], llm=llm)
    data = [(1, 3), (2, 6), (3, 9), (4, 12)]
    trainer = Trainer(
        lambda x: scale(w, x), opt, guide, data, run_dir=tmp_path / "run", progress=False, **kw
    )
    return w, trainer


def test_each_step_sees_the_whole_minibatch_feedback(tmp_path: Path) -> None:
    llm = ScriptedLLM([reply({}), reply({})])
    _, trainer = make(llm, tmp_path, batch_size=2, shuffle=False)
    report = trainer.fit()
    assert report.steps == 2 and len(llm.calls) == 2
    first = llm.calls[0][-1]["content"]
    # numbered so that feedback [i] pairs with the i-th output of the batch
    assert "[1] got 1, expected 3\n[2] got 2, expected 6" in first
    outputs = first.split("#Outputs")[1].split("#Feedback")[0]
    assert outputs.index("=1") < outputs.index("=2")
    assert report.history[0].batch == [0, 1]
    assert report.history[0].feedback == ["got 1, expected 3", "got 2, expected 6"]


def test_history_plot_and_checkpoint_are_written(tmp_path: Path) -> None:
    _, trainer = make(ScriptedLLM([reply({"w": 3}), reply({})]), tmp_path, batch_size=2)
    report = trainer.fit()
    run = tmp_path / "run"
    history = load_history(run / "history.jsonl")
    assert [r.step for r in history] == [0, 1]
    assert history[0].updates == {"w": 3}
    assert history[1].train_score == 1.0  # the update fixed both examples of step 2
    assert (run / "scores.png").read_bytes()[:4] == b"\x89PNG"
    state = json.loads((run / "checkpoint.json").read_text())
    assert state["steps_done"] == 2 and state["optimizer"]["parameters"] == {"w": 3}
    assert report.parameters == {"w": 3}


def test_keep_best_restores_the_parameters_with_the_best_validation_score(
    tmp_path: Path,
) -> None:
    # step 1 finds w=3 (perfect), step 2 makes it worse; keep-best must bring w=3 back
    llm = ScriptedLLM([reply({"w": 3}), reply({"w": 5})])
    w, trainer = make(llm, tmp_path, batch_size=2, val_set=[(5, 15), (6, 18)])
    report = trainer.fit()
    assert [r.val_score for r in report.history] == [1.0, 0.0]
    assert report.best_step == 0 and report.best_score == 1.0
    assert w.data == 3


def test_failing_program_scores_failure_and_sends_the_error_as_feedback(tmp_path: Path) -> None:
    @bundle()
    def invert(w: int, x: int) -> float:
        """Divide x by w."""
        return x / w

    w = node(0, name="w", trainable=True)
    llm = ScriptedLLM([reply({"w": 1})])
    opt = OptoPrime([w], llm=llm)
    trainer = Trainer(lambda x: invert(w, x), opt, guide, [(2, 2)], progress=False)
    report = trainer.fit()
    assert report.history[0].scores == [0.0]
    assert "ZeroDivisionError" in report.history[0].feedback[0]
    assert "ZeroDivisionError" in llm.calls[0][-1]["content"]
    assert w.data == 1


def test_existing_run_dir_needs_resume(tmp_path: Path) -> None:
    _, trainer = make(ScriptedLLM([reply({})] * 4), tmp_path)
    trainer.fit()
    with pytest.raises(RunDirInUse, match="resume=True"):
        trainer.fit()


def test_run_dir_of_another_command_is_refused_and_left_alone(tmp_path: Path) -> None:
    from trace_core.runs import RunDir

    other = RunDir(tmp_path / "run", "evaluate", {"dataset": "d"}, artifacts=["results.jsonl"])
    other.journal("results.jsonl").append({"id": "a"})
    llm = ScriptedLLM([reply({"w": 3})] * 4)
    _, trainer = make(llm, tmp_path)
    for resume in (False, True):
        with pytest.raises(RunDirInUse, match="holds a run of `optoforge evaluate`"):
            trainer.fit(resume=resume)
    assert llm.calls == []
    assert (tmp_path / "run" / "results.jsonl").read_text() == '{"id": "a"}\n'


def test_resume_with_other_settings_names_the_difference(tmp_path: Path) -> None:
    _, trainer = make(ScriptedLLM([reply({})] * 4), tmp_path, batch_size=2)
    trainer.fit()
    _, changed = make(ScriptedLLM([reply({})] * 4), tmp_path, batch_size=1)
    with pytest.raises(RunDirInUse, match="batch_size: the run has 2, this command 1"):
        changed.fit(resume=True)


def test_budget_stops_the_run_cleanly_and_resume_carries_the_spending(tmp_path: Path) -> None:
    w, trainer = make(
        ScriptedLLM([reply({"w": 2})], budget=Budget(max_calls=1)), tmp_path, shuffle=False
    )
    report = trainer.fit()
    assert report.steps == 1 and report.stopped is not None and "budget" in report.stopped
    assert w.data == 2
    state = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert state["steps_done"] == 1 and state["budget"]["calls"] == 1

    budget = Budget(max_calls=10)
    w2, resumed = make(ScriptedLLM([reply({"w": 3})] * 3, budget=budget), tmp_path, shuffle=False)
    report = resumed.fit(resume=True)
    assert report.start_step == 1 and report.steps == 4 and report.stopped is None
    assert budget.calls == 4  # 1 spent before the stop + 3 after the resume
    assert w2.data == 3


def test_a_command_that_owns_the_run_dir_sees_each_batch_first_and_gets_the_budget_stop(
    tmp_path: Path,
) -> None:
    """own_manifest=False, before_batch and raise_budget: what ``library learn`` builds on."""
    from trace_core.llm import BudgetExceeded
    from trace_core.runs import RunDir

    RunDir(tmp_path / "run", "library learn", {"dataset_sha256": "x"})  # the command's manifest
    manifest = (tmp_path / "run" / "run.json").read_text()
    batches: list[list[int]] = []
    w, trainer = make(
        ScriptedLLM([reply({"w": 2})], budget=Budget(max_calls=1)),
        tmp_path,
        batch_size=2,
        shuffle=False,
        own_manifest=False,
        before_batch=batches.append,
        raise_budget=True,
    )
    with pytest.raises(BudgetExceeded):
        trainer.fit()
    assert batches == [[1, 2], [3, 4]]  # the second batch was seen, then its step hit the budget
    assert w.data == 2 and trainer.steps_done() == 1
    assert (tmp_path / "run" / "run.json").read_text() == manifest


@pytest.mark.slow
def test_trainer_killed_after_step_2_resumes_at_step_3_with_identical_history(
    tmp_path: Path,
) -> None:
    full, resumed, at_kill = kill_and_resume("tests.optimizers.trainer_job", tmp_path, 2)
    assert [StepRecord.model_validate_json(line).step for line in at_kill] == [0, 1]
    assert json.loads(resumed.stdout)["start_step"] == 2  # step 3, counting from 1

    full_history = (tmp_path / "full" / "history.jsonl").read_text()
    resumed_history = (tmp_path / "killed" / "history.jsonl").read_text()
    assert len(full_history.splitlines()) == 6
    assert resumed_history == full_history
    assert json.loads(resumed.stdout) == {**json.loads(full.stdout), "start_step": 2}


def test_validation_on_threads_scores_like_validation_in_order(tmp_path: Path) -> None:
    from agents.evaluation.executors import ThreadExecutor

    val = [(5, 15), (6, 18), (7, 14), (8, 24)]
    reports = []
    for name, executor in (("plain", None), ("threads", ThreadExecutor(3))):
        llm = ScriptedLLM([reply({"w": 3}), reply({"w": 2})])
        _, trainer = make(llm, tmp_path / name, batch_size=2, val_set=val, executor=executor)
        reports.append(trainer.fit())
    plain, threads = reports
    assert [r.val_score for r in threads.history] == [r.val_score for r in plain.history]
    assert [r.val_score for r in threads.history] == [0.75, 0.25]
    assert threads.initial_score == plain.initial_score == 0.0


def test_max_steps_ends_the_run_early_and_the_initial_score_survives_resume(
    tmp_path: Path,
) -> None:
    llm = ScriptedLLM([reply({"w": 3})])
    _, trainer = make(llm, tmp_path, batch_size=1, max_steps=1, val_set=[(5, 15)])
    first = trainer.fit()
    assert (first.steps, first.initial_score, first.best_score) == (1, 0.0, 1.0)
    _, again = make(
        ScriptedLLM([reply({})]), tmp_path, batch_size=1, max_steps=2, val_set=[(5, 15)]
    )
    resumed = again.fit(resume=True)
    assert resumed.start_step == 1 and resumed.steps == 2
    assert resumed.initial_score == 0.0  # read back from the checkpoint, not re-measured
