"""Moved to :mod:`agents.solvers.run_outcome`; this name stays until its last importers
(``agents.alphaopt.solving``, ``agents.evaluation.harness``) use the new one."""

from agents.solvers.run_outcome import (
    SOLVER_MODULES,
    RunOutcome,
    RunVerdict,
    classify_run,
    environment_failure,
    is_repairable,
    normalize_status,
)

__all__ = [
    "SOLVER_MODULES",
    "RunOutcome",
    "RunVerdict",
    "classify_run",
    "environment_failure",
    "is_repairable",
    "normalize_status",
]
