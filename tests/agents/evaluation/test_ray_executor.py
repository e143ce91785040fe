"""The Ray executor gives the same results as local threads, on a Ray instance of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.evaluation.dataset import load_dataset
from agents.evaluation.harness import evaluate
from agents.evaluation.results import RunLog

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.solver]

ORACLE_ITEMS = ["nl4opt-F004", "nlp4lp-A071", "nl4opt-F028"]
_COMPARED = {
    "id",
    "objective",
    "raw_objective",
    "status",
    "outcome",
    "correct",
    "executed",
    "attempts",
    "repairs",
    "tokens",
    "cost",
    "error",
    "program",
}


@pytest.fixture
def ray_instance():  # type: ignore[no-untyped-def]
    pytest.importorskip("pyscipopt")
    pytest.importorskip("trace_core.sandbox")
    pytest.importorskip("trace_core.llm", reason="needs the LLM layer")
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # pragma: no cover - never share a cluster with another test
        ray.shutdown()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_executor_matches_local_threads(tmp_path: Path, ray_instance: object) -> None:
    from agents.formulation.factory import AgentSpec
    from tests.agents.formulation.oracle import SAMPLE

    items = [item for item in load_dataset(SAMPLE) if item.id in ORACLE_ITEMS]
    spec = AgentSpec(llm="py:tests.agents.formulation.oracle:make_oracle", max_repairs=1)
    local = evaluate(items, spec, run_dir=tmp_path / "local", workers=2, progress=False)
    remote = evaluate(
        items, spec, run_dir=tmp_path / "ray", workers=2, executor="ray", progress=False
    )

    def records(name: str) -> dict[str, dict[str, object]]:
        loaded = RunLog(tmp_path / name).load()
        return {r.id: r.model_dump(include=_COMPARED) for r in loaded}

    assert records("ray") == records("local")
    assert remote.model_dump(exclude={"run_dir"}) == local.model_dump(exclude={"run_dir"})
    assert (remote.n, remote.correct, remote.repairs) == (3, 2, 1)
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["executor"] == "ray"


def _cube(x: int) -> int:
    return x**3


def _equal(output: int, target: int) -> float:
    return float(output == target)


def test_evaluate_on_ray_scores_in_item_order_and_reports_each_item_once(
    ray_instance: object,
) -> None:
    from agents.evaluation.executors import RayExecutor
    from optimizers.evaluate import evaluate as evaluate_items

    items = [(i, i**3 if i != 4 else 0) for i in range(6)]
    seen: list[int] = []
    result = evaluate_items(
        _cube, items, _equal, RayExecutor(3), on_result=lambda index, item, _: seen.append(index)
    )
    assert result.scores == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
    assert sorted(seen) == list(range(6))
