"""Solver backends behind one contract, and the solver-neutral `Model` they all solve.

    from agents.solvers import Model, get
    result = get("highs").solve(model, time_limit=10)

Names load lazily: importing ``agents.solvers`` loads no solver library; a backend imports
its library only when it is asked whether it is available or to solve.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    # the neutral model
    "Model": "agents.solvers.model",
    "Variable": "agents.solvers.model",
    "Constraint": "agents.solvers.model",
    "QuadraticTerm": "agents.solvers.model",
    "VarType": "agents.solvers.model",
    "ConstraintSense": "agents.solvers.model",
    "ObjectiveSense": "agents.solvers.model",
    "Capability": "agents.solvers.model",
    # results and the backend contract
    "SolveStatus": "agents.solvers.base",
    "SolveResult": "agents.solvers.base",
    "SolverBackend": "agents.solvers.base",
    # errors
    "SolverError": "agents.solvers.errors",
    "ModelError": "agents.solvers.errors",
    "UnknownSolverError": "agents.solvers.errors",
    "SolverUnavailableError": "agents.solvers.errors",
    "ModelFormatError": "agents.solvers.errors",
    # registry
    "get": "agents.solvers.registry",
    "register": "agents.solvers.registry",
    "names": "agents.solvers.registry",
    "available_backends": "agents.solvers.registry",
    "availability": "agents.solvers.registry",
    "solve": "agents.solvers.registry",
    "solve_isolated": "agents.solvers.isolated",
    # how a sandboxed solver program's run ended (for formulation, evaluation, AlphaOPT, ...)
    "RunOutcome": "agents.solvers.run_outcome",
    "RunVerdict": "agents.solvers.run_outcome",
    "classify_run": "agents.solvers.run_outcome",
    "is_repairable": "agents.solvers.run_outcome",
    "normalize_status": "agents.solvers.run_outcome",
    # files
    "read_model": "agents.solvers.files",
    "write_model": "agents.solvers.files",
    # adaptive large-neighborhood search and online tuning
    "AlnsSolver": "agents.solvers.alns.search",
    "AlnsResult": "agents.solvers.alns.result",
    "solve_alns": "agents.solvers.alns.search",
    "ParameterTuner": "agents.solvers.tuning",
    "ContextualTuner": "agents.solvers.tuning",
    "tune_stream": "agents.solvers.tuning",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
