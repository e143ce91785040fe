"""Helpers every ``optoforge`` command shares: one-line errors, logging to stderr."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

JSON_MODE_HELP = (
    "How to ask the LLM for JSON: auto (negotiate per server, default), json_schema, "
    "json_object (with schema, e.g. llama.cpp), tool or prompt."
)


def _apply_json_mode(value: str | None) -> str | None:
    """Check ``--json-mode`` and hand it to every LLM the command builds."""
    if value is None:
        return None
    from trace_core.llm.errors import LLMConfigError
    from trace_core.llm.json_modes import ENV_VAR, check_mode

    try:
        check_mode(value)
    except LLMConfigError as err:
        raise typer.BadParameter(str(err), param_hint="--json-mode") from None
    # The command's LLMs are built deep inside agents and optimizers; the environment is how
    # the LLM layer reads a pinned mode, so setting it here reaches all of them.
    os.environ[ENV_VAR] = value
    return value


JsonModeOpt = Annotated[
    str | None,
    typer.Option(
        "--json-mode",
        envvar="OPTOFORGE_JSON_MODE",
        callback=_apply_json_mode,
        help=JSON_MODE_HELP,
    ),
]
"""``--json-mode``, for every command that takes ``--llm``."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr (one line) and return the Exit to raise."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    return typer.Exit(code)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors caused by settings or inputs: reported in one line, without a traceback."""
    from agents.evaluation.dataset import DatasetError
    from agents.evaluation.executors import ExecutorError
    from agents.evaluation.harness import RunDirError
    from agents.formulation.factory import LLMSpecError
    from agents.formulation.targets import SolverUnavailableError, UnknownSolverError

    errors: list[type[BaseException]] = [
        DatasetError,
        ExecutorError,
        RunDirError,
        LLMSpecError,
        SolverUnavailableError,
        UnknownSolverError,
        FileNotFoundError,
    ]
    try:
        from trace_core.llm import LLMError

        errors.append(LLMError)
    except ImportError:  # pragma: no cover - the LLM layer ships with optoforge
        pass
    return tuple(errors)


def setup_logging(verbose: bool) -> None:
    """Log to stderr (stdout is for results)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
