"""``optoforge formulate train``: train the formulation program with an optimizer, resumably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agents.cli.common import (
    JsonModeOpt,
    ProgramTimeoutOpt,
    reported_errors,
    setup_logging,
)
from agents.cli.tracking import TrackOpt, tracked


def train(
    train_set: Annotated[Path, typer.Argument(help="Training items (JSONL with gold answers).")],
    val: Annotated[Path, typer.Option(help="Validation items (JSONL with gold answers).")],
    optimizer: Annotated[
        str,
        typer.Option(
            help="optoprime, opro, textgrad, gepa, alphaopt, or a '+' combination "
            "(optoprime+alphaopt: both step on the same feedback)."
        ),
    ] = "optoprime",
    llm: Annotated[
        str | None, typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM).")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps.")] = 3,
    batch_size: Annotated[int, typer.Option(min=1, help="Training items per step.")] = 4,
    run_dir: Annotated[
        Path, typer.Option(help="Where history, checkpoint, scores.png and best.json go.")
    ] = Path("runs/formulate-train"),
    resume: Annotated[bool, typer.Option(help="Continue the run in --run-dir.")] = False,
    budget_calls: Annotated[
        int | None, typer.Option(min=1, help="Stop cleanly after this many LLM calls.")
    ] = None,
    library: Annotated[
        Path | None, typer.Option(help="AlphaOPT library (default: RUN_DIR/library.sqlite).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Validation items run at once.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the minibatch order.")] = 0,
    solver: Annotated[str, typer.Option(help="Solver API for programs: scip or gurobi.")] = "scip",
    max_repairs: Annotated[int, typer.Option(min=0, help="Repair rounds per item.")] = 1,
    timeout: ProgramTimeoutOpt = 60.0,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with the results on stdout.")
    ] = False,
    json_mode: JsonModeOpt = None,
    track: TrackOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Train the formulation program on TRAIN_SET, keeping the best on --val.

    Writes history.jsonl, checkpoint.json, scores.png and best.json (the trained program) to
    --run-dir; --resume continues a stopped run.
    """
    from agents.evaluation.dataset import load_dataset
    from agents.evaluation.streams import stdout_to_stderr
    from agents.formulation.factory import resolve_llm
    from agents.training import TrainSetupError, train_formulation
    from optimizers.trainer import RunDirInUse

    setup_logging(verbose)
    with (
        tracked(run_dir, track, "formulate train"),
        reported_errors(run_dir, extra=(TrainSetupError, RunDirInUse)),
    ):
        train_items = load_dataset(train_set)
        val_items = load_dataset(val)
        model = resolve_llm(llm)
        with stdout_to_stderr():
            report = train_formulation(
                train_items,
                val_items,
                llm=model,
                optimizer=optimizer,
                steps=steps,
                batch_size=batch_size,
                run_dir=run_dir,
                resume=resume,
                budget_calls=budget_calls,
                seed=seed,
                workers=workers,
                progress=progress,
                solver=solver,
                max_repairs=max_repairs,
                timeout_s=timeout,
                library=library,
            )
    if json_output:
        typer.echo(json.dumps(report.model_dump(mode="json")))
        return
    typer.echo(
        f"validation accuracy: {_pct(report.val_before)} -> {_pct(report.val_after)} "
        f"after {report.steps} step(s) of {report.optimizer}"
        + (f" (stopped: {report.stopped})" if report.stopped else "")
    )
    typer.echo(
        f"LLM calls: {report.calls} (+{report.cached_calls} cached); tokens: {report.tokens}; "
        f"cost: ${report.cost:.4f}"
    )
    typer.echo(f"changed: {', '.join(report.changed) or 'nothing'}")
    typer.echo(f"trained program: {report.program}\nrun dir: {report.run_dir}")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
