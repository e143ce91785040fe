"""Solver thread counts reach the sandboxed program; timed-out and crashed runs carry no result."""

from __future__ import annotations

import importlib.util

import pytest

from trace_core.sandbox import SandboxError, run
from trace_core.sandbox.threads import THREADS_ENV, solver_threads

SHOW_THREADS = (
    "import os\n"
    "print(os.environ['OMP_NUM_THREADS'], os.environ['OPTOFORGE_SOLVER_THREADS'],"
    " open('gurobi.env').read().split()[1])\n"
)


def _needs(module: str) -> pytest.MarkDecorator:
    """Skip unless ``module`` exists (looked up, not imported: the sandboxed child uses it)."""
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed"
    )


def _printed(code: str, **kwargs: object) -> list[str]:
    result = run(code, timeout_s=60, **kwargs)  # type: ignore[arg-type]
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_each_run_gets_one_solver_thread_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert _printed(SHOW_THREADS) == ["1", "1", "1"]


def test_thread_count_is_configurable_by_argument_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _printed(SHOW_THREADS, threads=3) == ["3", "3", "3"]
    monkeypatch.setenv(THREADS_ENV, "2")
    assert run("pass").threads == 2


@pytest.mark.parametrize("bad", [0, -1, "many"])
def test_bad_thread_count_raises_with_the_fix(bad: object) -> None:
    with pytest.raises(SandboxError, match="thread count"):
        solver_threads(bad)  # type: ignore[arg-type]


@_needs("highspy")
def test_highs_instances_start_with_the_run_thread_count() -> None:
    code = "import highspy\nh = highspy.Highs()\nprint(h.getOptionValue('threads')[1])\n"
    assert _printed(code, threads=2)[-1] == "2"


@_needs("gurobipy")
def test_gurobi_reads_the_run_thread_count() -> None:
    code = (
        "import gurobipy as gp\nm = gp.Model()\nm.Params.OutputFlag = 0\n"
        "print('THREADS', m.Params.Threads)\n"
    )
    assert _printed(code)[-1] == "1"


def test_timed_out_run_has_no_objective_even_after_printing_one() -> None:
    code = (
        "print('Found heuristic solution: objective 67.99', flush=True)\n"
        "print('Optimal value: 67.99', flush=True)\nimport time\ntime.sleep(30)\n"
    )
    result = run(code, timeout_s=2)
    assert result.timed_out
    assert (result.objective, result.status, result.result_source) == (None, None, None)


def test_crashed_run_has_no_objective_even_after_report() -> None:
    result = run("report(5.0)\nprint('Optimal value: 5')\nraise RuntimeError('licence')\n")
    assert result.returncode != 0
    assert (result.objective, result.status, result.result_source) == (None, None, None)
