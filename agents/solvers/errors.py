"""Typed errors of the solver layer.

Callers catch these, never a solver library's own exception types: every backend turns a
library failure into a `SolveResult` with status ``error`` (or ``license_limit``), and the
model, registry and file functions raise only the classes below.
"""

from __future__ import annotations

from agents.errors import AgentsError


class SolverError(AgentsError):
    """Base class of every error raised by ``agents.solvers``."""


class ModelError(SolverError, ValueError):
    """A neutral `Model` is malformed (unknown variable, bad bounds, NaN coefficient, ...)."""


class UnknownSolverError(SolverError, LookupError, ValueError):
    """`get(name)` was asked for a backend that is not registered."""

    def __str__(self) -> str:
        # LookupError would quote the message like a dict key; show it as written.
        return str(self.args[0]) if self.args else ""


class SolverUnavailableError(SolverError, RuntimeError):
    """A backend's library is not installed or not licensed on this machine."""


class ModelFormatError(SolverError):
    """An MPS / LP file cannot be read or a model cannot be written in the requested format."""


class TuningError(SolverError, ValueError):
    """A parameter tuner (or its SOR testbed) was configured or fed with values it cannot use."""
