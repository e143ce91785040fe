"""Solver APIs that generated programs may target (one per run)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from agents.solvers.errors import SolverUnavailableError, UnknownSolverError


@dataclass(frozen=True)
class ProgramTarget:
    """A solver API: its public name, the module programs import, and its prompt guide."""

    name: str
    module: str
    guide: str  # prompt template name
    install: str  # how to get the module

    def available(self) -> bool:
        """True when the solver's Python package is importable (checked without importing it)."""
        return importlib.util.find_spec(self.module) is not None


TARGETS: dict[str, ProgramTarget] = {
    "scip": ProgramTarget("scip", "pyscipopt", "solver_scip", "pip install 'optoforge[solvers]'"),
    "gurobi": ProgramTarget(
        "gurobi",
        "gurobipy",
        "solver_gurobi",
        "pip install 'optoforge[gurobi]' (and a Gurobi license for big models)",
    ),
}
_ALIASES = {"pyscipopt": "scip", "gurobipy": "gurobi"}


def resolve_target(name: str, *, check_installed: bool = True) -> ProgramTarget:
    """The target called ``name`` (or an alias such as ``pyscipopt``).

    Raises :class:`UnknownSolverError` for names we cannot write programs for and
    :class:`SolverUnavailableError` when the package is missing.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    target = TARGETS.get(key)
    if target is None:
        raise UnknownSolverError(
            f"unknown solver {name!r}; the formulation agent writes programs for: "
            + ", ".join(sorted(TARGETS))
        )
    if check_installed and not target.available():
        raise SolverUnavailableError(
            f"solver {target.name!r} needs the Python package {target.module!r}: {target.install}"
        )
    return target
