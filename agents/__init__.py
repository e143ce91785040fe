"""agents: auto-formulation of optimization problems, solvers, sandbox, evaluation.

Names are loaded lazily: importing ``agents`` loads no solver library, torch or LLM SDK.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Model": "agents.solvers.model",
    "SolveResult": "agents.solvers.base",
    "SolveStatus": "agents.solvers.base",
    "RunResult": "trace_core.sandbox.runner",
    "FormulationAgent": "agents.formulation.agent",
    "FormulationResult": "agents.formulation.result",
    "Item": "agents.evaluation.dataset",
    "load_dataset": "agents.evaluation.dataset",
    "DatasetError": "agents.evaluation.dataset",
    "Tolerance": "agents.evaluation.scoring",
    "evaluate": "agents.evaluation.harness",
    "Report": "agents.evaluation.report",
    "Synthesizer": "agents.resocratic.pipeline",
    "ExperienceLibrary": "agents.alphaopt.store",
    "Insight": "agents.alphaopt.insight",
    "AlphaOpt": "agents.alphaopt.pipeline",
    "train_formulation": "agents.training",
    "FormulationTrainReport": "agents.training",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
