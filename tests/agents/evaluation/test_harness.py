"""The evaluation harness with a fake agent: records, report, plot, resume, errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from agents.evaluation.harness import RunDirError, evaluate
from agents.evaluation.results import RunLog
from agents.evaluation.scoring import Tolerance
from tests.agents.evaluation.fakes import ITEMS, FakeAgent


def _run(tmp_path: Path, agent: FakeAgent, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("progress", False)
    kw.setdefault("plot", False)  # one test draws the PNG; matplotlib is slow to import
    return evaluate(ITEMS, lambda: agent, run_dir=tmp_path / "run", **kw)  # type: ignore[arg-type]


def test_report_counts_accuracy_execution_repairs_tokens_and_groups(tmp_path: Path) -> None:
    report = _run(tmp_path, FakeAgent(), workers=3)
    assert (report.n, report.correct, report.accuracy) == (5, 2, pytest.approx(0.4))
    assert report.execution_rate == pytest.approx(0.8)  # only "e" never ran cleanly
    assert report.repairs == 1 + 3 + 3
    assert report.outcomes == {"correct": 2, "error": 1, "infeasible": 1, "wrong": 1}
    assert report.tokens == 5 * 150 and report.cost == pytest.approx(0.005)
    assert report.by_source["Alpha"].accuracy == 1.0
    assert report.by_source["Beta"].model_dump() == {
        "n": 3,
        "correct": 0,
        "accuracy": 0.0,
        "execution_rate": pytest.approx(2 / 3),
    }
    assert report.by_tag["integer"].correct == 1
    assert report.tolerance_rule == "|objective - gold| <= max(0.0001 * |gold|, 1e-06)"


def test_run_dir_holds_results_report_and_png(tmp_path: Path) -> None:
    report = _run(tmp_path, FakeAgent(), plot=True)
    run = tmp_path / "run"
    lines = (run / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["a", "b", "c", "d", "e"]
    assert json.loads((run / "report.json").read_text())["accuracy"] == report.accuracy
    assert (run / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_skips_finished_items_and_reports_all(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent())
    RunLog(tmp_path / "run").path.write_text(
        "".join(RunLog(tmp_path / "run").path.read_text().splitlines(keepends=True)[:2])
    )
    agent = FakeAgent()
    report = _run(tmp_path, agent, resume=True)
    assert len(agent.asked) == 3
    assert report.n == 5 and report.correct == 2
    assert len(RunLog(tmp_path / "run").load()) == 5


def test_existing_results_are_not_overwritten_without_a_flag(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent())
    with pytest.raises(RunDirError, match="--resume"):
        _run(tmp_path, FakeAgent())
    agent = FakeAgent()
    _run(tmp_path, agent, overwrite=True)
    assert len(agent.asked) == 5


def test_resumed_run_rescored_with_new_tolerance(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent())
    report = _run(tmp_path, FakeAgent(), resume=True, tolerance=Tolerance(rel=0.0, abs=1.5))
    assert report.correct == 3  # 31 vs 30 now passes
    assert report.tolerance.abs == 1.5


def test_agent_exception_becomes_an_error_record(tmp_path: Path) -> None:
    report = _run(tmp_path, FakeAgent(fail_on="qa"))
    record = {r.id: r for r in RunLog(tmp_path / "run").load()}["a"]
    assert record.outcome == "error" and "unparseable" in (record.error or "")
    assert report.n == 5 and report.correct == 1


def test_keyboard_interrupt_stops_the_run_and_keeps_nothing_false(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, FakeAgent(fatal=KeyboardInterrupt()), workers=1)
    assert RunLog(tmp_path / "run").load() == []


def test_thread_count_does_not_change_results(tmp_path: Path) -> None:
    one = evaluate(
        ITEMS, FakeAgent, run_dir=tmp_path / "one", workers=1, progress=False, plot=False
    )
    four = evaluate(
        ITEMS, FakeAgent, run_dir=tmp_path / "four", workers=4, progress=False, plot=False
    )
    assert one.model_dump(exclude={"run_dir"}) == four.model_dump(exclude={"run_dir"})


def test_exhausted_budget_keeps_finished_results_and_a_partial_report(tmp_path: Path) -> None:
    try:
        from trace_core.llm import BudgetExceeded as budget_exceeded
    except ImportError:
        pytest.skip("needs the LLM layer")

    class StopsAfterTwo(FakeAgent):
        def solve(self, question: str):  # type: ignore[no-untyped-def]
            if len(self.asked) >= 2:
                raise budget_exceeded("max_calls=2 reached", limit="max_calls", spent=2, maximum=2)
            return super().solve(question)

    with pytest.raises(budget_exceeded):
        _run(tmp_path, StopsAfterTwo(), workers=1)
    partial = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (partial["n"], partial["complete"]) == (2, False)
    agent = FakeAgent()
    assert _run(tmp_path, agent, resume=True).n == 5 and len(agent.asked) == 3


def test_retry_errors_reruns_only_failed_items(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent(fail_on="qa"))
    agent = FakeAgent()
    report = _run(tmp_path, agent, resume=True, retry_errors=True)
    assert sorted(agent.asked) == ["qa", "qe"]  # qe crashed every time: outcome error too
    assert report.correct == 2 and report.n == 5
    assert {r.id: r.outcome for r in RunLog(tmp_path / "run").load()}["a"] == "correct"


def test_resuming_with_another_model_is_refused_naming_the_difference(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent(), model="openai:a")
    with pytest.raises(RunDirError, match="model: the run has 'openai:a', this command 'openai:b'"):
        _run(tmp_path, FakeAgent(), model="openai:b", resume=True)
    assert len(RunLog(tmp_path / "run").load()) == 5  # the refused run touched nothing


def test_run_dir_made_by_another_command_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    _run(tmp_path, FakeAgent(), command="library evaluate")
    with pytest.raises(RunDirError, match="holds a run of `optoforge library evaluate`"):
        _run(tmp_path, FakeAgent(), overwrite=True)
    assert len(RunLog(tmp_path / "run").load()) == 5


def test_results_match_what_evaluate_scores_for_the_same_agent(tmp_path: Path) -> None:
    from agents.evaluation.scoring import score
    from optimizers.evaluate import evaluate as evaluate_items

    _run(tmp_path, FakeAgent())
    records = {r.id: r for r in RunLog(tmp_path / "run").load()}
    agent = FakeAgent()
    plain = evaluate_items(
        lambda item: agent.solve(item.question),
        ITEMS,
        lambda result, item: score(item.answer, result.objective, status=result.status).correct,
    )
    assert plain.scores == [float(records[item.id].correct) for item in ITEMS]
    assert plain.scores == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_a_fatal_error_on_one_thread_keeps_what_the_others_finished(tmp_path: Path) -> None:
    from trace_core.llm import LLMAuthError

    class RefusedOnC(FakeAgent):
        def __init__(self) -> None:
            super().__init__()
            self.others = threading.Semaphore(0)

        def solve(self, question: str):  # type: ignore[no-untyped-def]
            if question != "qc":
                result = super().solve(question)
                self.others.release()
                return result
            for _ in range(4):  # the other four items are in flight: let them finish first
                assert self.others.acquire(timeout=10)
            raise LLMAuthError("the key was refused")

    with pytest.raises(LLMAuthError):
        _run(tmp_path, RefusedOnC(), workers=5)
    assert sorted(r.id for r in RunLog(tmp_path / "run").load()) == ["a", "b", "d", "e"]
    partial = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (partial["n"], partial["complete"]) == (4, False)
