"""Registry of solver backends by name: ``get("highs")``, ``available_backends()``, ``solve()``.

Backends are registered as import paths so that looking one up imports only its own module
(and that module imports its solver library only when asked to solve or check availability).
"""

from __future__ import annotations

import importlib

from agents.solvers.base import SolverBackend, SolveResult, SolveStatus
from agents.solvers.errors import UnknownSolverError
from agents.solvers.model import Model

# name -> "module:Class"; order is the preference order of `solve()` when no name is given.
_BACKENDS: dict[str, str] = {
    "highs": "agents.solvers.highs:HighsBackend",
    "scip": "agents.solvers.scip:ScipBackend",
    "gurobi": "agents.solvers.gurobi:GurobiBackend",
    "scipy": "agents.solvers.scipy_backend:ScipyBackend",
}
_INSTANCES: dict[str, SolverBackend] = {}


def register(name: str, backend: str | type[SolverBackend]) -> None:
    """Add (or replace) a backend: a `SolverBackend` subclass or a ``"module:Class"`` path."""
    if isinstance(backend, str):
        _BACKENDS[name] = backend
    else:
        _BACKENDS[name] = f"{backend.__module__}:{backend.__qualname__}"
    _INSTANCES.pop(name, None)


def names() -> list[str]:
    """Every registered backend name, installed or not."""
    return list(_BACKENDS)


def get(name: str) -> SolverBackend:
    """The backend called ``name``; raises `UnknownSolverError` listing the known names."""
    key = name.strip().lower()
    if key not in _BACKENDS:
        known = ", ".join(sorted(_BACKENDS))
        raise UnknownSolverError(f"unknown solver {name!r}; known solvers: {known}")
    if key not in _INSTANCES:
        module_name, _, class_name = _BACKENDS[key].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        _INSTANCES[key] = cls()
    return _INSTANCES[key]


def available_backends() -> list[str]:
    """Names of the backends whose library is installed and licensed here."""
    return [name for name in _BACKENDS if get(name).available()]


def solve(model: Model, solver: str | None = None, time_limit: float | None = None) -> SolveResult:
    """Solve with ``solver``, or with the first available backend that supports the model."""
    if solver is not None:
        return get(solver).solve(model, time_limit=time_limit)
    for name in _BACKENDS:
        backend = get(name)
        if backend.available() and backend.supports(model):
            return backend.solve(model, time_limit=time_limit)
    return SolveResult(
        status=SolveStatus.UNSUPPORTED,
        message=f"no installed backend solves {model.problem_class.value} models; "
        f"install one of the solver extras (pip install 'optoforge[solvers]')",
    )
