"""``optoforge evaluate``: run the formulation agent over a JSONL benchmark."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Annotated

import typer

from agents.cli.common import (
    JsonModeOpt,
    LlmTimeoutOpt,
    MaxCostOpt,
    ProgramTimeoutOpt,
    TrainedProgramOpt,
    fail,
    formulation_spec,
    read_text_file,
    reported_errors,
    setup_logging,
)
from agents.cli.tracking import TrackOpt, tracked

DEFAULT_RUNS = Path("optoforge-runs")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "default"


def default_run_dir(dataset: Path, llm: str | None, solver: str) -> Path:
    """Same dataset, model and solver -> same directory, so ``--resume`` finds it."""
    return DEFAULT_RUNS / f"{_slug(dataset.stem)}__{_slug(llm or 'default-llm')}__{_slug(solver)}"


def evaluate(
    dataset: Annotated[Path, typer.Argument(help="JSONL dataset (one item per line).")],
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Items solved concurrently.")] = 4,
    resume: Annotated[bool, typer.Option(help="Skip items already in the run dir.")] = False,
    retry_errors: Annotated[
        bool, typer.Option(help="With --resume, rerun items that ended in an error.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Discard earlier results in the run dir.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON report on stdout.")
    ] = False,
    llm: Annotated[
        str | None, typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM).")
    ] = None,
    json_mode: JsonModeOpt = None,
    run_dir: Annotated[
        Path | None, typer.Option(help="Where results.jsonl, report.json and report.png go.")
    ] = None,
    solver: Annotated[str, typer.Option(help="Solver API for programs: scip or gurobi.")] = "scip",
    max_repairs: Annotated[int, typer.Option(min=0, help="Repair rounds per item.")] = 3,
    executor: Annotated[str, typer.Option(help="thread (local) or ray.")] = "thread",
    rel_tol: Annotated[
        float, typer.Option(min=0.0, help="Relative tolerance on the objective.")
    ] = 1e-4,
    abs_tol: Annotated[float, typer.Option(min=0.0, help="Absolute tolerance floor.")] = 1e-6,
    timeout: ProgramTimeoutOpt = 60.0,
    llm_timeout: LlmTimeoutOpt = 60.0,
    describe: Annotated[bool, typer.Option(help="Write the math model before the code.")] = False,
    max_cost: MaxCostOpt = None,
    max_calls: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many LLM calls.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    program: TrainedProgramOpt = None,
    track: TrackOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Evaluate the formulation agent on DATASET and report accuracy, execution rate and cost."""
    from agents.evaluation.dataset import load_dataset
    from agents.evaluation.harness import evaluate as run_evaluation
    from agents.evaluation.report import render_text
    from agents.evaluation.scoring import Tolerance
    from agents.evaluation.streams import stdout_to_stderr
    from agents.formulation.targets import resolve_target

    setup_logging(verbose)
    if resume and overwrite:
        raise fail("--resume and --overwrite exclude each other")
    spec = formulation_spec(locals(), max_cost=max_cost, max_calls=max_calls)
    target_dir = run_dir or default_run_dir(dataset, llm or os.environ.get("OPTOFORGE_LLM"), solver)
    with tracked(target_dir, track, "evaluate"), reported_errors(target_dir):
        resolve_target(solver)
        read_text_file(dataset, "dataset")  # a folder or non-UTF-8 file: one line, not a trace
        items = load_dataset(dataset, limit=limit)
        if not items:
            raise fail(f"dataset {dataset} has no items; nothing to evaluate")
        agent = spec()  # fail fast on a missing LLM configuration, before any work
        factory = spec if executor == "ray" else (lambda: agent)
        model = llm or _default_model_name(agent)
        config = {  # what decides the results: --resume must repeat it (the path may move)
            "dataset_sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
            "model": model,
            "solver": spec.solver,
            "max_repairs": max_repairs,
            "describe": describe,
        }
        with stdout_to_stderr():
            report = run_evaluation(
                items,
                factory,
                run_dir=target_dir,
                workers=workers,
                executor=executor,
                resume=resume,
                overwrite=overwrite,
                retry_errors=retry_errors,
                progress=progress,
                tolerance=Tolerance(rel=rel_tol, abs=abs_tol),
                dataset=str(dataset),
                model=model,
                solver=spec.solver,
                config=config,
            )
    if json_output:
        typer.echo(report.model_dump_json())
    else:
        typer.echo(render_text(report))
        typer.echo(
            f"\nresults: {target_dir / 'results.jsonl'}\nreport: "
            f"{target_dir / 'report.json'}\nplot: {target_dir / 'report.png'}"
        )


def _default_model_name(agent: object) -> str | None:
    llm = getattr(agent, "llm", None)
    name = getattr(llm, "model", None) or getattr(llm, "model_id", None)
    return str(name) if name else None


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``optoforge`` app."""
    app.command("evaluate")(evaluate)
