"""`SolverBackend` contract: one result type, one status enum, no library exceptions leak.

Each backend declares which problem classes it handles (`capabilities`), whether its library
is importable and licensed right now (`available()`), and implements `_solve`. Every backend
takes a warm ``start`` and its own ``options`` through the same `SolverBackend.solve` call, so
callers (ALNS, the tuner) never reach into a backend's library. The base class
owns the bookkeeping every backend needs: capability checks, validation, timing, and turning
any library exception into a ``SolveResult(status=error)`` so callers never catch a
backend's own exception types.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from agents.solvers.errors import ModelError
from agents.solvers.model import Capability, Model

LOG_TAIL_CHARS = 4000

Start = dict[str, float] | None
"""A checked warm start for `SolverBackend._solve`: values by variable name, or None."""
Options = dict[str, Any]
"""Solver parameters by their native names, for `SolverBackend._solve`."""


class SolveStatus(StrEnum):
    """Outcome of a solve, the same vocabulary for every backend."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution, optimality not proven (e.g. a local NLP optimum)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"  # stopped by the time limit; `values` hold the incumbent, if any
    ITERATION_LIMIT = "iteration_limit"
    LICENSE_LIMIT = "license_limit"  # the solver's license refuses a model this large
    UNSUPPORTED = "unsupported"  # the backend cannot solve this problem class
    UNAVAILABLE = "unavailable"  # the backend's library is not installed / licensed
    ERROR = "error"


class SolveResult(BaseModel):
    """What a backend returns: status, objective (constant included), values, time, log tail."""

    status: SolveStatus
    objective: float | None = None
    values: dict[str, float] = Field(default_factory=dict)
    time: float = 0.0
    log_tail: str = ""
    message: str = ""
    solver: str = ""

    @property
    def has_solution(self) -> bool:
        """True when `values` hold a primal solution (optimal or an incumbent)."""
        return bool(self.values) and self.objective is not None

    @property
    def is_optimal(self) -> bool:
        """True when the solver proved optimality."""
        return self.status is SolveStatus.OPTIMAL


class SolverBackend(ABC):
    """Base of every backend: subclasses set `name`, `capabilities`, `library` and implement
    `_solve` (and override `available` when importing the library is not enough, e.g. a licence).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    library: ClassVar[str] = ""
    """Import name of the solver library (``""``: the backend needs none)."""
    time_limit_option: ClassVar[str] = ""
    """The solver's own parameter for a wall-time limit in seconds (see `_set_parameters`)."""

    @classmethod
    def available(cls) -> bool:
        """True when the backend's library imports (and is licensed) on this machine."""
        if not cls.library:
            return True
        try:
            importlib.import_module(cls.library)
        except ImportError:
            return False
        return True

    def supports(self, model: Model) -> bool:
        """True when this backend can solve ``model``'s problem class."""
        return model.problem_class in self.capabilities

    def solve(
        self,
        model: Model,
        time_limit: float | None = None,
        *,
        start: Mapping[str, float] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> SolveResult:
        """Solve ``model``; never raises a library exception (status ``error`` instead).

        ``time_limit`` is in seconds of wall time; ``None`` means no limit. ``start`` is a
        solution (values by variable name; missing names count as 0) handed to the solver as a
        warm start: a MIP solver that accepts it starts from that incumbent; a backend that
        cannot use one ignores it. ``options`` are the solver's own parameters under their
        native names (HiGHS option names, SCIP parameter paths such as ``limits/nodes``, Gurobi
        parameter names, ``scipy.optimize`` options); a name or value the solver rejects gives
        status ``error`` naming it. Raises `ModelError` for a malformed model or arguments.
        """
        began = time.perf_counter()
        if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
            raise ModelError(f"time_limit must be a positive number of seconds, got {time_limit}")
        model.validate_model()
        start = _checked_start(model, start)
        if options is not None and not isinstance(options, Mapping):
            raise ModelError(
                f"options must be a mapping of solver parameter names to values, got "
                f"{type(options).__name__}"
            )
        options = dict(options or {})
        if not self.available():
            return self._failure(
                SolveStatus.UNAVAILABLE,
                began,
                f"backend {self.name!r} is not installed or not licensed here",
            )
        if not self.supports(model):
            caps = ", ".join(sorted(c.value for c in self.capabilities))
            return self._failure(
                SolveStatus.UNSUPPORTED,
                began,
                f"backend {self.name!r} cannot solve {model.problem_class.value} models "
                f"(it supports: {caps}); pick a backend that lists "
                f"{model.problem_class.value!r}",
            )
        try:
            result = self._solve(model, time_limit, start, options)
        except Exception as err:
            return self._failure(
                SolveStatus.ERROR, began, f"{self.name} failed: {type(err).__name__}: {err}"
            )
        result.solver = self.name
        if not result.time:
            result.time = time.perf_counter() - began
        return result

    @abstractmethod
    def _solve(
        self, model: Model, time_limit: float | None, start: Start, options: Options
    ) -> SolveResult:
        """Build the library model, run it and map the outcome (exceptions are caught above).

        ``start`` is already checked (known names, finite values); ``options`` is a plain dict.
        """

    def _set_parameters(
        self,
        set_one: Callable[[str, Any], object],
        time_limit: float | None,
        options: Options,
        refusals: tuple[type[BaseException], ...] = (),
    ) -> SolveResult | None:
        """Set the time limit (as `time_limit_option`), then ``options``, with
        ``set_one(name, value)``; the error result naming the first one the solver refuses.

        Options come last, so an option naming the time limit itself overrides ``time_limit``.
        """
        if time_limit is not None:
            options = {self.time_limit_option: float(time_limit), **options}
        return _apply_options(self.name, options, set_one, refusals)

    def _failure(self, status: SolveStatus, start: float, message: str) -> SolveResult:
        return SolveResult(
            status=status, message=message, solver=self.name, time=time.perf_counter() - start
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _checked_start(model: Model, start: Mapping[str, float] | None) -> dict[str, float] | None:
    """``start`` as a dict of floats; a name the model lacks or a non-finite value is refused."""
    if start is None:
        return None
    names = set(model.variable_index())
    unknown = sorted(set(start) - names)
    if unknown:
        raise ModelError(
            f"start names variables the model does not have: {', '.join(unknown[:5])}; "
            "give values by the model's variable names"
        )
    checked = {name: float(value) for name, value in start.items()}
    bad = sorted(name for name, value in checked.items() if not math.isfinite(value))
    if bad:
        raise ModelError(f"start values must be finite numbers; not so for {', '.join(bad[:5])}")
    return checked


def _apply_options(
    solver: str,
    options: Options,
    set_one: Callable[[str, Any], object],
    refusals: tuple[type[BaseException], ...] = (),
) -> SolveResult | None:
    """Set each option with ``set_one(name, value)``; on the first one the solver refuses
    (``set_one`` returns False or raises one of ``refusals``), the error result naming it."""
    for key, value in options.items():
        try:
            accepted = set_one(key, value) is not False
        except refusals:
            accepted = False
        if not accepted:
            return SolveResult(
                status=SolveStatus.ERROR,
                solver=solver,
                message=f"{solver} rejected option {key}={value!r}; check its name and type "
                f"in the {solver} parameter list",
            )
    return None


_FD_LOCK = threading.Lock()


@contextmanager
def stdout_fd_silenced() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null for the block (C libraries print past `sys.stdout`).

    Process-wide, so it is meant for short calls that print unconditionally (a library banner
    printed on first use), not for whole solves; solves log to files instead.
    """
    with _FD_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


class SolverLog:
    """The private file one solve logs to (so banners never reach stdout), and its tail."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def tail(self, limit: int = LOG_TAIL_CHARS) -> str:
        """The last ``limit`` characters of the log, for `SolveResult.log_tail` (empty if
        unreadable)."""
        try:
            text = self.path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]


@contextmanager
def solver_log() -> Iterator[SolverLog]:
    """A fresh `SolverLog` in a temporary directory removed after the solve."""
    with TemporaryDirectory(prefix="optoforge-solver-") as tmp:
        path = Path(tmp) / "solver.log"
        path.touch()
        yield SolverLog(path)
