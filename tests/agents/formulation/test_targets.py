"""Which solver APIs the agent can write programs for."""

from __future__ import annotations

import importlib.util

import pytest

from agents.formulation import FormulationAgent
from agents.formulation.targets import (
    SolverUnavailableError,
    UnknownSolverError,
    resolve_target,
)


def test_unknown_solver_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownSolverError, match="gurobi, scip"):
        FormulationAgent(llm=None, solver="cplex")


def test_gurobi_target_needs_gurobipy(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gurobipy" else real(name, *a)
    )
    with pytest.raises(SolverUnavailableError, match="optoforge\\[gurobi\\]"):
        resolve_target("gurobi")
