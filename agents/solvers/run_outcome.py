"""How a sandboxed program run ended, and whether asking the LLM to repair it can help.

One rule set for every path that reads a program's result: the formulation agent (repair or
stop), the AlphaOPT library (solved or missed), ReSocratic verification (keep or drop) and
evaluation (results.jsonl); it sits with the solvers, below all four, as it reads only what a
solver program printed. ``classify_run(run)`` turns a ``trace_core.sandbox.RunResult`` into a
:class:`RunVerdict`; ``is_repairable(outcome)`` says whether another program can change it.

- A run that timed out or crashed has no objective, whatever it printed before.
- Failures of the environment, not of the program, are final: a size-limited or missing
  solver licence, or the target solver not installed. Repairing them costs LLM calls and
  cannot succeed.
- Statuses are normalised to one vocabulary ("optimal", "infeasible", "unbounded",
  "infeasible_or_unbounded", "time_limit", ...), so ``report(v, "OPTIMAL")``,
  ``report(v, m.Status)`` and a printed "Status: 2" mean the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trace_core.sandbox.stdout_result import status_word


class RunOutcome(StrEnum):
    """How one generated program ended."""

    OK = "ok"  # ran and reported an optimal objective
    ERROR = "error"  # raised or exited non-zero
    TIMEOUT = "timeout"
    NO_CODE = "no_code"  # the reply held no program
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NOT_OPTIMAL = "not_optimal"  # stopped with another status (time limit, ...)
    NO_RESULT = "no_result"  # ran cleanly but reported no numeric objective
    LICENSE_LIMIT = "license_limit"  # the solver's licence refused the model: final
    SOLVER_MISSING = "solver_missing"  # the target solver is not installed: final


_FINAL = frozenset({RunOutcome.OK, RunOutcome.LICENSE_LIMIT, RunOutcome.SOLVER_MISSING})
_INFEASIBLE = frozenset({"infeasible", "infeasible_or_unbounded"})
# Python modules of solver APIs a generated program may target.
SOLVER_MODULES = frozenset(
    {"gurobipy", "pyscipopt", "highspy", "cplex", "docplex", "mosek", "xpress", "coptpy"}
)
_LICENSE = re.compile(
    r"size-limited licen[cs]e|model too large for (?:a |the )?(?:size-limited|restricted|"
    r"community)|no gurobi licen[cs]e|licen[cs]e (?:has )?expired|licen[cs]e (?:file )?not found|"
    r"hostid mismatch|licen[cs]e (?:error|limit)|(?:gurobi)?error 1000[89]|error 1001[01]|"
    r"community edition\. problem size limits|problem size limits exceeded|"
    r"mosek licen[cs]e|(?:invalid|missing) licen[cs]e",
    re.IGNORECASE,
)
_MISSING_MODULE = re.compile(r"No module named '(?P<name>[\w.]+)'")


@dataclass(frozen=True)
class RunVerdict:
    """One run, classified: its outcome, the objective and status it counts with, and why."""

    outcome: RunOutcome
    objective: float | None
    status: str | None
    reason: str

    @property
    def repairable(self) -> bool:
        """True when another program could end differently (see :func:`is_repairable`)."""
        return is_repairable(self.outcome)


def is_repairable(outcome: RunOutcome | str) -> bool:
    """False for a success and for failures no program can fix (licence limits, no solver)."""
    return RunOutcome(outcome) not in _FINAL


def normalize_status(status: Any) -> str | None:
    """A reported status in the shared vocabulary ("optimal", "infeasible", ...), or None.

    Enum members, Gurobi's status codes and solver spellings ("kOptimal", "inforunbd",
    "TIME_LIMIT") all map; an unknown word is kept lower-cased.
    """
    if status is None:
        return None
    text = str(getattr(status, "value", status)).strip()
    if not text:
        return None
    return status_word(text) or text.lower()


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def environment_failure(
    stdout: str, stderr: str, solver_module: str | None = None
) -> tuple[RunOutcome, str] | None:
    """A licence refusal or a missing target solver in a run's output, else None.

    ``solver_module`` is the API the program was asked to use (e.g. "gurobipy"); a missing
    module other than that one is the program's mistake (repairable). Without it, any
    missing solver module counts.
    """
    text = f"{stderr}\n{stdout}"
    licence = _LICENSE.search(text)
    if licence is not None:
        line = next((ln for ln in text.splitlines() if licence.group(0) in ln), licence.group(0))
        return RunOutcome.LICENSE_LIMIT, f"the solver licence refused the run: {line.strip()}"
    for match in _MISSING_MODULE.finditer(text):
        name = match.group("name").split(".")[0]
        wanted = {solver_module} if solver_module else SOLVER_MODULES
        if name in wanted:
            return RunOutcome.SOLVER_MISSING, f"the solver module {name!r} is not installed"
    return None


def classify_run(run: Any, *, solver_module: str | None = None) -> RunVerdict:
    """Classify a ``RunResult`` (or any object with its fields) by the rules above."""
    stdout = str(getattr(run, "stdout", "") or "")
    stderr = str(getattr(run, "stderr", "") or "")
    status = normalize_status(getattr(run, "status", None))
    objective = _finite(getattr(run, "objective", None))
    timed_out = bool(getattr(run, "timed_out", False))
    returncode = getattr(run, "returncode", None)
    clean = returncode == 0 and not timed_out
    if not (clean and objective is not None):
        failure = environment_failure(stdout, stderr, solver_module)
        if failure is not None:
            return RunVerdict(failure[0], None, None, failure[1])
    if timed_out:
        return RunVerdict(RunOutcome.TIMEOUT, None, None, "stopped at its time limit")
    if returncode != 0:
        return RunVerdict(RunOutcome.ERROR, None, None, f"crashed (exit status {returncode})")
    if status in _INFEASIBLE:
        return RunVerdict(RunOutcome.INFEASIBLE, None, status, f"the model is {status}")
    if status == "unbounded":
        return RunVerdict(RunOutcome.UNBOUNDED, None, status, "the model is unbounded")
    if objective is None:
        return RunVerdict(RunOutcome.NO_RESULT, None, status, "no numeric objective reported")
    if status not in (None, "optimal"):
        return RunVerdict(
            RunOutcome.NOT_OPTIMAL, objective, status, f"stopped with status {status!r}"
        )
    return RunVerdict(RunOutcome.OK, objective, status or "optimal", "optimal")
