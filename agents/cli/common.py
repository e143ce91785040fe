"""Helpers every ``optoforge`` command shares: one-line errors, logging to stderr."""

from __future__ import annotations

import logging
import sys

import typer


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
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
