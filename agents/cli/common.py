"""What every ``optoforge`` command shares: exit codes, one-line errors, input checks, logging.

Exit codes (documented in the README):

- 0 the command did what was asked;
- 1 it ran, but the result is a failure (``formulate`` found no valid program);
- 2 bad input or settings: a missing or unreadable file, a run directory that cannot be used,
  an invalid option value, an unknown solver or model id;
- 3 a budget (``--max-calls``, ``--max-cost``) stopped the run; what was paid for is kept and
  the same command with ``--resume`` continues it;
- 4 the model could not be reached or did not answer in time (connection refused, timeouts,
  server errors after retries); a rejected key is bad settings (2);
- 130 interrupted (Ctrl-C); results so far are kept and ``--resume`` continues.

:func:`reported_errors` maps every :class:`~trace_core.errors.OptoforgeError` (and the few user
errors that are not yet rooted there) to these codes with a one-line ``error: ...`` message,
never a traceback.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from trace_core.errors import OptoforgeError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
EXIT_MODEL_UNREACHABLE = 4
EXIT_INTERRUPTED = 130

# Budget limit name (``BudgetExceeded.limit``) -> the option that raises it.
BUDGET_FLAGS = {"calls": "--max-calls", "cost": "--max-cost", "tokens": "--max-tokens"}

# Text suffixes that make a one-word argument look like a file name rather than text.
_TEXT_SUFFIXES = {".txt", ".md", ".json", ".jsonl", ".prompt", ".lp", ".mps", ".yaml", ".yml"}


class InputFileError(OptoforgeError, ValueError):
    """An input file given on the command line is missing, a folder, or not UTF-8 text."""


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


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr (one line) and return the Exit to raise."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    return typer.Exit(code)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors caused by settings or inputs: reported in one line, without a traceback.

    ``OptoforgeError`` covers every error that derives from the project's root; the others are
    listed until they do.
    """
    from agents.evaluation.dataset import DatasetError
    from agents.evaluation.executors import ExecutorError
    from agents.formulation.factory import LLMSpecError
    from agents.formulation.targets import SolverUnavailableError, UnknownSolverError
    from trace_core.llm import LLMError

    return (
        OptoforgeError,
        DatasetError,
        ExecutorError,
        LLMSpecError,
        SolverUnavailableError,
        UnknownSolverError,
        LLMError,
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
    )


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    # A rejected key is a setting to fix (exit 2, the provider's own message); only a model
    # that stays silent or failing after retries is "unreachable" (exit 4).
    from trace_core.llm import LLMTransientError

    return (LLMTransientError,)


def budget_message(err: BaseException, run_dir: Path | str | None) -> str:
    """``err`` plus where the results are and which option lets ``--resume`` finish."""
    flag = BUDGET_FLAGS.get(str(getattr(err, "limit", "")), "--max-cost")
    where = f"Results so far are in {run_dir}; run" if run_dir else "Run"
    return f"{err}. {where} the same command again with --resume and a larger {flag} to finish."


@contextmanager
def reported_errors(
    run_dir: Path | str | None = None, *, resume: str = "--resume", extra: tuple[type, ...] = ()
) -> Iterator[None]:
    """Turn errors into one line on stderr and the documented exit code (see module doc).

    ``run_dir`` is where a stopped run keeps its results (named in the message); ``resume`` is
    how to continue it (``--resume``, or "rerun the same command" for commands that always
    resume). ``extra`` adds error types of one command that are bad input (exit 2).
    """
    from trace_core.llm import BudgetExceeded

    how = f"run the same command again with {resume}" if resume.startswith("--") else resume
    try:
        yield
    except KeyboardInterrupt:
        where = f"results so far are in {run_dir}; " if run_dir else ""
        raise fail(f"interrupted; {where}{how} to continue", EXIT_INTERRUPTED) from None
    except BudgetExceeded as err:
        raise fail(budget_message(err, run_dir), EXIT_BUDGET) from None
    except _unreachable_errors() as err:
        later = f"; {how} once it answers" if run_dir else ""
        if "timed out" in str(err).lower() or "timeout" in str(err).lower():
            message = (
                f"the model did not answer in time: {err}. Check the server, or allow more "
                f"with --llm-timeout{later}"
            )
        else:
            message = (
                f"the model could not be reached: {err}. Check --llm, the server address and "
                f"the API key{later}"
            )
        raise fail(message, EXIT_MODEL_UNREACHABLE) from None
    except (*user_errors(), *extra) as err:
        raise fail(str(err) or type(err).__name__) from None
    except UnicodeDecodeError as err:
        raise fail(f"an input file is not UTF-8 text ({err.reason}); save it as UTF-8") from None


def read_text_file(path: Path | str, what: str = "file") -> str:
    """The UTF-8 text of ``path``; :class:`InputFileError` saying what is wrong otherwise."""
    target = Path(path)
    if target.is_dir():
        raise InputFileError(f"{what} {target} is a folder; give a file")
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"no {what} {target}; check the path") from None
    except UnicodeDecodeError as err:
        raise InputFileError(
            f"{what} {target} is not UTF-8 text (byte {err.start}: {err.reason}); save it as UTF-8"
        ) from None
    except OSError as err:
        raise InputFileError(f"cannot read {what} {target}: {err.strerror or err}") from None


def looks_like_path(value: str) -> bool:
    """True for one word that names a file (``q.txt``, ``./prompts/seed``), not prose."""
    if not value or len(value) > 1024 or any(ch.isspace() for ch in value):
        return False
    return "/" in value or "\\" in value or Path(value).suffix.lower() in _TEXT_SUFFIXES


def text_or_file(value: str, what: str) -> str:
    """``value`` itself, or the text of the file it names; a missing file is an error.

    Without the check a mistyped path would be sent to the model as the text (and paid for).
    """
    try:
        is_file = len(value) < 4096 and Path(value).is_file()
    except OSError:  # a long text is not a valid path on every system
        is_file = False
    if is_file:
        return read_text_file(value, what)
    if looks_like_path(value):
        raise InputFileError(
            f"no {what} {value}; give an existing file, or text with spaces to use it as is"
        )
    return value


def positive_seconds(value: float | None) -> float | None:
    """Typer callback: a time limit must be a finite number of seconds above zero."""
    if value is not None and (math.isnan(value) or math.isinf(value) or value <= 0):
        raise typer.BadParameter(f"must be a number of seconds above 0, got {value}")
    return value


ProgramTimeoutOpt = Annotated[
    float, typer.Option(callback=positive_seconds, help="Seconds each program may run.")
]
LlmTimeoutOpt = Annotated[
    float,
    typer.Option(
        callback=positive_seconds, help="Seconds to wait for each model answer (per try)."
    ),
]
MaxCostOpt = Annotated[
    float | None, typer.Option(min=0.0, help="Stop when LLM spend reaches this many dollars.")
]
TrainedProgramOpt = Annotated[
    Path | None, typer.Option(help="A trained program (best.json of `formulate train`).")
]


def setup_logging(verbose: bool) -> None:
    """Log to stderr (stdout is for results)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def formulation_spec(values: dict[str, Any], **limits: Any) -> Any:
    """The ``AgentSpec`` a command's formulation options describe, found by name in ``values``
    (its ``locals()``: llm, solver, max_repairs, describe, timeout, llm_timeout, program);
    ``limits`` adds max_cost / max_calls. A default ``--llm-timeout`` is not sent."""
    from agents.formulation.factory import AgentSpec

    llm_timeout, program = values["llm_timeout"], values["program"]
    return AgentSpec(
        llm=values["llm"],
        solver=values["solver"],
        max_repairs=values["max_repairs"],
        describe=values["describe"],
        timeout_s=values["timeout"],
        llm_options={"timeout": llm_timeout} if llm_timeout != 60.0 else {},
        program=str(program) if program is not None else None,
        **limits,
    )
