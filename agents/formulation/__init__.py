"""Auto-formulation: optimization word problems -> solver programs -> sandboxed solve -> repair.

Names load lazily; importing this package loads no LLM SDK or solver library.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "FormulationAgent": "agents.formulation.agent",
    "FormulationProgram": "agents.formulation.workflow",
    "FormulationFailure": "agents.formulation.workflow",
    "formulation_guide": "agents.formulation.guide",
    "FormulationResult": "agents.formulation.result",
    "Attempt": "agents.formulation.result",
    "AttemptOutcome": "agents.formulation.result",
    "LLMUsage": "agents.formulation.result",
    "InsightSource": "agents.formulation.library",
    "UnknownSolverError": "agents.formulation.targets",
    "SolverUnavailableError": "agents.formulation.targets",
    "extract_program": "agents.formulation.program",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
