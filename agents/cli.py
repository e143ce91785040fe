"""The ``optoforge`` command line.

Each feature keeps its commands in its own module exposing ``register(app)``; this module only
assembles them, so features never edit each other's files.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="optoforge",
    help="Optimize workflows with LLMs; formulate and solve optimization problems from text.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Modules that contribute commands (each defines ``register(app: typer.Typer) -> None``).
_COMMAND_MODULES: list[str] = ["agents.solvers.commands"]


def _register_all() -> None:
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


@app.command()
def version() -> None:
    """Print the installed optoforge version."""
    from importlib.metadata import version as _version

    typer.echo(_version("optoforge"))


def main() -> None:
    """Entry point of the ``optoforge`` console script."""
    _register_all()
    app()


if __name__ == "__main__":
    main()
