"""CLI commands of the solver-intelligence feature: ``solve`` and ``tune-stream``.

``optoforge solve FILE.mps|.lp [--alns --time-limit S] [--json]`` solves a model file with a
backend, optionally through the ALNS meta-solver; ``optoforge tune-stream DIR`` solves every
model file of a directory in order while a bandit learns which solver setting is fastest.
With ``--json`` only the JSON report reaches stdout: solver banners are redirected to stderr
at the file-descriptor level (HiGHS prints its banner from C++ when it is created).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

_MODEL_SUFFIXES = (".mps", ".lp", ".json")


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """Send everything written to fd 1 (Python or C code) to stderr while active."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _fail(message: str, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _solve_report(result: Any, values: bool) -> dict[str, Any]:
    report: dict[str, Any] = {
        "status": result.status.value,
        "objective": result.objective,
        "time": round(result.time, 3),
        "solver": result.solver,
        "message": result.message,
    }
    for key in ("bound", "gap", "iterations", "engine"):
        if hasattr(result, key):
            report[key] = getattr(result, key)
    if hasattr(result, "operators"):
        report["operators"] = {k: v.model_dump() for k, v in result.operators.items()}
    if values:
        report["values"] = result.values
    return report


def solve_command(
    file: Annotated[Path, typer.Argument(help="Model file: .mps, .lp or .json (neutral model).")],
    solver: Annotated[str, typer.Option(help="Backend: highs, scip, gurobi, scipy.")] = "highs",
    alns: Annotated[
        bool, typer.Option("--alns", help="Solve with the ALNS meta-solver over the backend.")
    ] = False,
    time_limit: Annotated[float, typer.Option(help="Wall-clock limit in seconds.")] = 60.0,
    policy: Annotated[
        str, typer.Option(help="ALNS operator bandit: epsilon_greedy, ucb, thompson.")
    ] = "ucb",
    acceptance: Annotated[
        str, typer.Option(help="ALNS acceptance: hill_climbing, simulated_annealing.")
    ] = "hill_climbing",
    operators: Annotated[
        str | None, typer.Option(help="Comma-separated destroy operators (default: all).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="ALNS engine: optoforge, or balans (the published package; scip).")
    ] = "optoforge",
    seed: Annotated[int, typer.Option(help="Random seed of the search.")] = 0,
    show_values: Annotated[
        bool, typer.Option("--values", help="Include variable values in the report.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")] = False,
) -> None:
    """Solve an MPS / LP model file, optionally with adaptive large-neighborhood search."""
    from agents.solvers import SolverError, get, read_model

    if file.suffix.lower() not in _MODEL_SUFFIXES:
        raise _fail(f"{file} is not a model file; use one of {', '.join(_MODEL_SUFFIXES)}", as_json)
    try:
        with _stdout_to_stderr(as_json):
            model = read_model(file)
            if not alns:
                result = get(solver).solve(model, time_limit=time_limit)
            elif engine == "balans":
                from agents.solvers.alns import solve_with_balans

                result = solve_with_balans(
                    model, time_limit=time_limit, mip_solver=solver, seed=seed
                )
            elif engine == "optoforge":
                from agents.solvers.alns import AlnsSolver

                names = [n.strip() for n in operators.split(",")] if operators else None
                result = AlnsSolver(
                    solver,
                    operators=names,
                    policy=policy,
                    acceptance=acceptance,
                    seed=seed,
                ).solve(model, time_limit)
            else:
                raise ValueError(f"unknown engine {engine!r}; use 'optoforge' or 'balans'")
    except (SolverError, ValueError) as err:
        raise _fail(str(err), as_json) from err
    report = _solve_report(result, show_values)
    if as_json:
        typer.echo(json.dumps(report, default=float))
        return
    typer.echo(f"status     {report['status']}")
    typer.echo(f"objective  {report['objective']}")
    if report.get("bound") is not None:
        typer.echo(f"bound      {report['bound']}  (gap {report['gap']:.4%})")
    typer.echo(f"time       {report['time']} s  ({report['solver']})")
    for name, stats in report.get("operators", {}).items():
        typer.echo(
            f"  {name:16s} selected {stats['selected']:4d}  best {stats['best']:3d}  "
            f"better {stats['better']:3d}  accepted {stats['accepted']:3d}  "
            f"rejected {stats['rejected']:3d}  {stats['seconds']:.1f} s"
        )
    if show_values:
        for name, value in result.values.items():
            typer.echo(f"{name} = {value:g}")


def tune_stream_command(
    directory: Annotated[Path, typer.Argument(help="Directory of .mps / .lp / .json models.")],
    backends: Annotated[
        str, typer.Option(help="Comma-separated backends whose settings are the arms.")
    ] = "highs,scip",
    time_limit: Annotated[
        float, typer.Option(help="Seconds per instance (PAR2 on timeout).")
    ] = 30.0,
    policy: Annotated[str, typer.Option(help="Bandit: epsilon_greedy, ucb, thompson.")] = "ucb",
    contextual: Annotated[
        bool, typer.Option("--contextual", help="Use instance features (LinUCB on Chebyshev).")
    ] = False,
    hindsight: Annotated[
        bool,
        typer.Option("--hindsight", help="Also run every setting on every instance (slow)."),
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed of the bandit.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report on stdout.")] = False,
) -> None:
    """Solve a stream of MIPs, learning online which solver setting is fastest."""
    from agents.solvers import SolverError, read_model
    from agents.solvers.tuning import (
        MIP_FEATURE_BOUNDS,
        ContextualTuner,
        ParameterTuner,
        TuningError,
        default_mip_settings,
        mip_cost,
        mip_features,
        tune_stream,
    )

    if not directory.is_dir():
        raise _fail(f"{directory} is not a directory of model files", as_json)
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in _MODEL_SUFFIXES)
    if not files:
        raise _fail(f"{directory} holds no {', '.join(_MODEL_SUFFIXES)} files", as_json)
    try:
        with _stdout_to_stderr(as_json):
            settings = default_mip_settings([b.strip() for b in backends.split(",")])
            models = [read_model(p) for p in files]
            cost = mip_cost(time_limit)
            cap = 2.0 * time_limit
            tuner: ParameterTuner | ContextualTuner
            if contextual:
                tuner = ContextualTuner(
                    settings, cost_cap=cap, bounds=MIP_FEATURE_BOUNDS, degree=2, seed=seed
                )
                report = tune_stream(models, cost, tuner, features=mip_features)
            else:
                tuner = ParameterTuner(settings, cost_cap=cap, policy=policy, seed=seed)  # type: ignore[arg-type]
                report = tune_stream(models, cost, tuner)
            table = None
            if hindsight:
                table = {s.name: [cost(m, s) for m in models] for s in settings}
    except (SolverError, TuningError, ValueError) as err:
        raise _fail(str(err), as_json) from err
    out: dict[str, Any] = {
        "instances": [
            {"file": p.name, "setting": str(arm), "cost": round(c, 3)}
            for p, arm, c in zip(files, report.choices, report.costs, strict=True)
        ],
        "total_cost": round(report.total_cost, 3),
    }
    if table is not None:
        totals = {name: sum(costs) for name, costs in table.items()}
        best = min(totals, key=totals.__getitem__)
        out["best_fixed"] = {"setting": best, "total_cost": round(totals[best], 3)}
        out["regret"] = round(report.total_cost - totals[best], 3)
    if as_json:
        typer.echo(json.dumps(out))
        return
    for row in out["instances"]:
        typer.echo(f"{row['file']:40s} {row['setting']:24s} {row['cost']:8.2f} s")
    typer.echo(f"total cost {out['total_cost']:.2f} s")
    if "best_fixed" in out:
        typer.echo(
            f"best fixed setting in hindsight: {out['best_fixed']['setting']} "
            f"({out['best_fixed']['total_cost']:.2f} s); regret {out['regret']:.2f} s"
        )


def register(app: typer.Typer) -> None:
    """Add ``solve`` and ``tune-stream`` to the ``optoforge`` CLI."""
    app.command("solve")(solve_command)
    app.command("tune-stream")(tune_stream_command)
