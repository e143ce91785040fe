"""Adaptive large-neighborhood search (ALNS) for MIP over any solver backend.

    from agents.solvers.alns import AlnsSolver
    result = AlnsSolver("highs", policy="ucb").solve(model, time_limit=60)
    result.objective, result.gap, result.operators["rins"]

Names load lazily: importing this package loads neither ``alns``/``mabwiser`` nor a solver.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "AlnsSolver": "agents.solvers.alns.search",
    "AlnsResult": "agents.solvers.alns.result",
    "AlnsError": "agents.solvers.alns.result",
    "AlnsSettings": "agents.solvers.alns.settings",
    "OperatorStats": "agents.solvers.alns.result",
    "solve_alns": "agents.solvers.alns.search",
    "OPERATORS": "agents.solvers.alns.neighborhoods",
    "Neighborhood": "agents.solvers.alns.neighborhoods",
    "SearchContext": "agents.solvers.alns.neighborhoods",
    "restrict": "agents.solvers.alns.neighborhoods",
    "relax": "agents.solvers.alns.neighborhoods",
    "clean_values": "agents.solvers.alns.neighborhoods",
    "BanditSelector": "agents.solvers.alns.selection",
    "solve_with_balans": "agents.solvers.alns.balans_engine",
    "balans_available": "agents.solvers.alns.balans_engine",
    "set_cover": "agents.solvers.alns.instances",
    "combinatorial_auction": "agents.solvers.alns.instances",
    "facility_location": "agents.solvers.alns.instances",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
