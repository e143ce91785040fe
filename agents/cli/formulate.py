"""``optoforge formulate``: solve one optimization word problem from text or a file."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from agents.cli.common import (
    JsonModeOpt,
    positive_seconds,
    reported_errors,
    setup_logging,
    text_or_file,
)


def formulate(
    problem: Annotated[str, typer.Argument(help="The problem text, or a file that holds it.")],
    llm: Annotated[
        str | None, typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM).")
    ] = None,
    json_mode: JsonModeOpt = None,
    solver: Annotated[
        str, typer.Option(help="Solver API for the program: scip or gurobi.")
    ] = "scip",
    max_repairs: Annotated[int, typer.Option(min=0, help="Repair rounds after a failure.")] = 3,
    describe: Annotated[bool, typer.Option(help="Write the math model before the code.")] = False,
    timeout: Annotated[
        float, typer.Option(callback=positive_seconds, help="Seconds each program may run.")
    ] = 60.0,
    llm_timeout: Annotated[
        float,
        typer.Option(
            callback=positive_seconds, help="Seconds to wait for each model answer (per try)."
        ),
    ] = 60.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the full result as JSON.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Formulate and solve one optimization problem; print the objective and the program."""
    from agents.evaluation.streams import stdout_to_stderr
    from agents.formulation.factory import AgentSpec

    setup_logging(verbose)
    spec = AgentSpec(
        llm=llm,
        solver=solver,
        max_repairs=max_repairs,
        describe=describe,
        timeout_s=timeout,
        llm_options={"timeout": llm_timeout} if llm_timeout != 60.0 else {},
    )
    with reported_errors(resume="run the same command again"):
        question = text_or_file(problem, "problem file")
        with stdout_to_stderr():
            result = spec().solve(question)
    if json_output:
        data: dict[str, Any] = result.model_dump(mode="json")
        data.update(
            program=result.program,
            objective=result.objective,
            status=result.status,
            outcome=str(result.outcome),
            repairs=result.repairs,
        )
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(
            f"outcome: {result.outcome}  status: {result.status}  objective: {result.objective}"
        )
        typer.echo(
            f"attempts: {len(result.attempts)} (repairs: {result.repairs}); "
            f"tokens: {result.usage.total_tokens}; cost: ${result.usage.cost:.4f}"
        )
        if result.program:
            typer.echo("\n# final program\n" + result.program)
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``formulate`` to the ``optoforge`` app."""
    app.command("formulate")(formulate)
