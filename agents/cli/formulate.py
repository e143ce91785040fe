"""``optoforge formulate``: solve one word problem (``formulate TEXT``) or train the program.

``formulate`` is a command group whose default command solves: ``optoforge formulate "text"``
and ``optoforge formulate train TRAIN.jsonl ...`` (see :mod:`agents.cli.formulate_train`) both
work. Anything that is not a subcommand name is handed to the solve command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.common import (
    JsonModeOpt,
    LlmTimeoutOpt,
    ProgramTimeoutOpt,
    TrainedProgramOpt,
    formulation_spec,
    reported_errors,
    setup_logging,
    text_or_file,
)

_SOLVE = "solve"


class _SolveByDefault(typer.core.TyperGroup):
    """A group that runs ``solve`` when the first argument is not one of its commands."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Insert the default command unless a subcommand (or group help) was asked for."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [_SOLVE, *args]
        return list(super().parse_args(ctx, args))


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
    timeout: ProgramTimeoutOpt = 60.0,
    llm_timeout: LlmTimeoutOpt = 60.0,
    program: TrainedProgramOpt = None,
    graph: Annotated[
        Path | None,
        typer.Option(help="Save the traced graph of this formulation as JSON (for `viz`)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the full result as JSON.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Formulate and solve one optimization problem; print the objective and the program."""
    from agents.evaluation.streams import stdout_to_stderr

    setup_logging(verbose)
    spec = formulation_spec(locals())
    from trace_core.errors import SerializationError

    with reported_errors(resume="run the same command again", extra=(SerializationError,)):
        question = text_or_file(problem, "problem file")
        with stdout_to_stderr():
            agent = spec()
            if graph is None:
                result = agent.solve(question)
            else:  # trace it: the graph shows prompts, calls, programs, runs, repairs, answer
                from trace_core import save_graph

                run = agent.program.solve(question)
                result = run.result
                save_graph(run.output, graph)
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
    """Add the ``formulate`` group (solve by default, ``train``) to the ``optoforge`` app."""
    from agents.cli.formulate_train import train

    group = typer.Typer(
        cls=_SolveByDefault,
        help="Formulate and solve a problem (formulate TEXT), or train the program "
        "(formulate train TRAIN.jsonl --val VAL.jsonl ...).",
        no_args_is_help=True,
    )
    group.command(_SOLVE)(formulate)
    group.command("train")(train)
    app.add_typer(group, name="formulate")
