"""classify_run / is_repairable: the one rule set every path uses to read a program run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agents.solvers.run_outcome import (
    RunOutcome,
    classify_run,
    is_repairable,
    normalize_status,
)

GUROBI_SIZE_LIMIT = (
    'Traceback (most recent call last):\n  File "program.py", line 5, in <module>\n'
    "gurobipy._exception.GurobiError: Model too large for size-limited license; visit "
    "https://gurobi.com/unrestricted for more information\n"
)


def _run(**fields: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "stdout": "",
        "stderr": "",
        "returncode": 0,
        "timed_out": False,
        "objective": None,
        "status": None,
    }
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize(
    ("run", "outcome", "objective", "status"),
    [
        (_run(objective=4.0, status="optimal"), RunOutcome.OK, 4.0, "optimal"),
        (_run(objective=4.0, status="OPTIMAL"), RunOutcome.OK, 4.0, "optimal"),
        (_run(objective=4.0, status=2), RunOutcome.OK, 4.0, "optimal"),
        (_run(objective=4.0), RunOutcome.OK, 4.0, "optimal"),
        (_run(objective=67.99, status="time_limit"), RunOutcome.NOT_OPTIMAL, 67.99, "time_limit"),
        (_run(status="INF_OR_UNBD"), RunOutcome.INFEASIBLE, None, "infeasible_or_unbounded"),
        (_run(objective=3.0, status="kInfeasible"), RunOutcome.INFEASIBLE, None, "infeasible"),
        (_run(status="unbounded"), RunOutcome.UNBOUNDED, None, "unbounded"),
        (_run(status="optimal"), RunOutcome.NO_RESULT, None, "optimal"),
        # dead runs have no objective, whatever they carried
        (_run(objective=67.99, status="optimal", timed_out=True), RunOutcome.TIMEOUT, None, None),
        (_run(objective=5.0, returncode=1), RunOutcome.ERROR, None, None),
        (_run(returncode=1, stderr=GUROBI_SIZE_LIMIT), RunOutcome.LICENSE_LIMIT, None, None),
        # a program that catches the licence error and prints it still hit the licence
        (
            _run(stdout="Error code 10010: Model too large for size-limited license"),
            RunOutcome.LICENSE_LIMIT,
            None,
            None,
        ),
        (
            _run(returncode=1, stderr="ModuleNotFoundError: No module named 'gurobipy'"),
            RunOutcome.SOLVER_MISSING,
            None,
            None,
        ),
        # the banner of the free licence is not a failure
        (
            _run(stdout="Restricted license - for non-production use only", objective=1.0),
            RunOutcome.OK,
            1.0,
            "optimal",
        ),
    ],
)
def test_runs_classify_with_objective_only_when_it_counts(
    run: SimpleNamespace, outcome: RunOutcome, objective: float | None, status: str | None
) -> None:
    verdict = classify_run(run)
    assert (verdict.outcome, verdict.objective, verdict.status) == (outcome, objective, status)


def test_missing_module_other_than_the_target_solver_is_the_programs_mistake() -> None:
    run = _run(returncode=1, stderr="ModuleNotFoundError: No module named 'pulp'")
    assert classify_run(run, solver_module="pyscipopt").outcome is RunOutcome.ERROR
    run = _run(returncode=1, stderr="ModuleNotFoundError: No module named 'highspy'")
    assert classify_run(run, solver_module="pyscipopt").outcome is RunOutcome.ERROR
    assert classify_run(run, solver_module="highspy").outcome is RunOutcome.SOLVER_MISSING


@pytest.mark.parametrize(
    ("outcome", "repairable"),
    [
        (RunOutcome.OK, False),
        (RunOutcome.LICENSE_LIMIT, False),
        (RunOutcome.SOLVER_MISSING, False),
        (RunOutcome.ERROR, True),
        (RunOutcome.TIMEOUT, True),
        (RunOutcome.INFEASIBLE, True),
        (RunOutcome.NO_RESULT, True),
        ("not_optimal", True),
    ],
)
def test_only_fixable_failures_are_repairable(outcome: RunOutcome, repairable: bool) -> None:
    assert is_repairable(outcome) is repairable


@pytest.mark.parametrize(
    ("reported", "normalized"),
    [
        ("Optimal", "optimal"),
        ("TIME_LIMIT", "time_limit"),
        ("timelimit", "time_limit"),
        (9, "time_limit"),
        ("inforunbd", "infeasible_or_unbounded"),
        ("gaplimit", "interrupted"),
        ("weird", "weird"),
        ("", None),
        (None, None),
    ],
)
def test_reported_statuses_share_one_vocabulary(reported: object, normalized: str | None) -> None:
    assert normalize_status(reported) == normalized


def test_real_size_limited_gurobi_run_is_a_licence_limit() -> None:
    pytest.importorskip("gurobipy")
    from trace_core.sandbox import run

    code = (
        "import gurobipy as gp\nm = gp.Model()\nx = m.addVars(2500)\n"
        "m.setObjective(x.sum())\nm.optimize()\nreport(m.ObjVal)\n"
    )
    result = run(code, timeout_s=60)
    if "size-limited" not in result.stderr:
        pytest.skip("this gurobipy has a full licence; the size limit does not apply")
    verdict = classify_run(result, solver_module="gurobipy")
    assert verdict.outcome is RunOutcome.LICENSE_LIMIT and not verdict.repairable
