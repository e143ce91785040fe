"""Registry of solver backends by name: ``get("highs")``, ``available_backends()``, ``solve()``.

Backends are registered as import paths so that looking one up imports only its own module
(and that module imports its solver library only when asked to solve or check availability).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.solvers.base import SolverBackend, SolveResult, SolveStatus
from agents.solvers.errors import UnknownSolverError
from agents.solvers.model import Model
from trace_core.registry import Availability, Registry

# name -> backend class; order is the preference order of `solve()` when no name is given.
_BACKENDS: Registry[type[SolverBackend]] = Registry(
    "solver", error=UnknownSolverError, normalize=lambda name: name.strip().lower()
)
_SOLVERS_EXTRA = "pip install 'optoforge[solvers]'"
for _name, _path, _package, _hint in (
    ("highs", "agents.solvers.highs:HighsBackend", "highspy", _SOLVERS_EXTRA),
    ("scip", "agents.solvers.scip:ScipBackend", "pyscipopt", _SOLVERS_EXTRA),
    (
        "gurobi",
        "agents.solvers.gurobi:GurobiBackend",
        "gurobipy",
        "pip install 'optoforge[gurobi]'",
    ),
    ("scipy", "agents.solvers.scipy_backend:ScipyBackend", "scipy", _SOLVERS_EXTRA),
):
    _BACKENDS.register(_name, _path, requires=[_package], install_hint=_hint)
_INSTANCES: dict[str, SolverBackend] = {}


def register(name: str, backend: str | type[SolverBackend]) -> None:
    """Add (or replace) a backend: a `SolverBackend` subclass or a ``"module:Class"`` path."""
    _BACKENDS.register(name, backend)
    _INSTANCES.pop(_BACKENDS.key(name), None)


def names() -> list[str]:
    """Every registered backend name, installed or not."""
    return _BACKENDS.names()


def get(name: str) -> SolverBackend:
    """The backend called ``name``; raises `UnknownSolverError` listing the known names."""
    key = _BACKENDS.key(name)
    if key not in _INSTANCES:
        _INSTANCES[key] = _BACKENDS.load(key)()
    return _INSTANCES[key]


def availability(name: str) -> Availability:
    """Whether backend ``name`` can solve here; if not, why (missing package, no licence)."""
    found = _BACKENDS.availability(name)
    if found and not get(name).available():
        return Availability(False, f"solver {name!r} is installed but cannot run here (licence?)")
    return found


def available_backends() -> list[str]:
    """Names of the backends whose library is installed and licensed here.

    A backend's availability is its own `available()` (a licence check for gurobi), not only
    whether its package imports.
    """
    return [name for name in _BACKENDS.names() if get(name).available()]


def solve(
    model: Model,
    solver: str | None = None,
    time_limit: float | None = None,
    *,
    start: Mapping[str, float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> SolveResult:
    """Solve with ``solver``, or with the first available backend that supports the model.

    ``start`` and ``options`` are passed to `SolverBackend.solve` (options use the chosen
    solver's own parameter names, so name the solver when you pass them).
    """
    if solver is not None:
        return get(solver).solve(model, time_limit=time_limit, start=start, options=options)
    for name in _BACKENDS.names():
        backend = get(name)
        if backend.available() and backend.supports(model):
            return backend.solve(model, time_limit=time_limit, start=start, options=options)
    return SolveResult(
        status=SolveStatus.UNSUPPORTED,
        message=f"no installed backend solves {model.problem_class.value} models; "
        f"install one of the solver extras (pip install 'optoforge[solvers]')",
    )
