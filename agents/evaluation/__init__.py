"""Evaluation of formulation agents on JSONL benchmarks: scoring, run dirs, reports, executors.

Names load lazily; importing this package loads no LLM SDK, solver library, matplotlib or ray.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Item": "agents.evaluation.dataset",
    "AltAnswer": "agents.evaluation.dataset",
    "DatasetError": "agents.evaluation.dataset",
    "load_dataset": "agents.evaluation.dataset",
    "iter_dataset": "agents.evaluation.dataset",
    "parse_item": "agents.evaluation.dataset",
    "write_dataset": "agents.evaluation.dataset",
    "Tolerance": "agents.evaluation.scoring",
    "Outcome": "agents.evaluation.scoring",
    "Verdict": "agents.evaluation.scoring",
    "score": "agents.evaluation.scoring",
    "RunOutcome": "agents.solvers.run_outcome",
    "RunVerdict": "agents.solvers.run_outcome",
    "classify_run": "agents.solvers.run_outcome",
    "is_repairable": "agents.solvers.run_outcome",
    "ItemResult": "agents.evaluation.results",
    "RunLog": "agents.evaluation.results",
    "Report": "agents.evaluation.report",
    "GroupStats": "agents.evaluation.report",
    "build_report": "agents.evaluation.report",
    "render_text": "agents.evaluation.report",
    "plot_report": "agents.evaluation.plot",
    "evaluate": "agents.evaluation.harness",
    "evaluate_item": "agents.evaluation.harness",
    "RunDirError": "agents.evaluation.harness",
    "ThreadExecutor": "agents.evaluation.executors",
    "RayExecutor": "agents.evaluation.executors",
    "ExecutorError": "agents.evaluation.executors",
    "get_executor": "agents.evaluation.executors",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
