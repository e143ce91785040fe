"""How many threads a sandboxed program's solvers may use, and how each solver is told.

Parallel workers share the machine's cores: four workers whose solvers each take every core
push a 15-second model past a 60-second limit. Every run therefore gets a thread count (one by
default, i.e. one core per worker) and each solver hears it the way it listens:

- BLAS/OpenMP libraries (numpy, scipy, torch): ``OMP_NUM_THREADS`` and friends in the child's
  environment; ``OPTOFORGE_SOLVER_THREADS`` states the count for the program itself;
- Gurobi ignores those variables but reads ``gurobi.env`` from the working directory whenever it
  creates an environment, so the run directory gets one with ``Threads N``;
- HiGHS sizes its scheduler from its ``threads`` option: the bootstrap sets it on every
  ``highspy.Highs`` the program creates (a program that sets the option itself still wins).
SCIP solves on one thread unless a program asks for its concurrent mode.
"""

from __future__ import annotations

import os

from trace_core.sandbox.errors import SandboxError

THREADS_ENV = "OPTOFORGE_SOLVER_THREADS"
GUROBI_ENV_FILE = "gurobi.env"
# The child's variables that carry the count: BLAS/OpenMP thread pools, and ours for the program.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    THREADS_ENV,
)


def solver_threads(requested: int | None = None) -> int:
    """The thread count for one run: ``requested``, else ``$OPTOFORGE_SOLVER_THREADS``, else 1."""
    value: object = requested
    if value is None:
        value = os.environ.get(THREADS_ENV, "").strip() or 1
    try:
        count = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise SandboxError(
            f"solver thread count must be a whole number >= 1, got {value!r} "
            f"(check {THREADS_ENV} or the threads argument)"
        ) from None
    if count < 1:
        raise SandboxError(f"solver thread count must be >= 1, got {count}")
    return count


def thread_files(threads: int) -> dict[str, str | bytes]:
    """Files for the run directory that carry the thread count to solvers reading files."""
    return {GUROBI_ENV_FILE: f"Threads {threads}\n"}


def thread_environment(threads: int) -> dict[str, str]:
    """The child's environment entries that carry the thread count (see `THREAD_VARIABLES`)."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))
