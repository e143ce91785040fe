"""The ``optoforge`` command line.

Each command group is one module of this package exposing ``register(app)``; this module only
assembles them.
"""

from __future__ import annotations

import importlib

import typer

_APP_SETTINGS: dict[str, object] = {
    "name": "optoforge",
    "help": "Optimize workflows with LLMs; formulate and solve optimization problems from text.",
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
}
app = typer.Typer(**_APP_SETTINGS)  # type: ignore[arg-type]

# Modules that contribute commands (each defines ``register(app: typer.Typer) -> None``).
_COMMAND_MODULES: list[str] = [
    "agents.cli.formulate",
    "agents.cli.evaluate",
    "agents.cli.viz",
    "agents.cli.demo",
    "agents.cli.prompt",
    "agents.cli.synthesize",
    "agents.cli.library",
    "agents.cli.solve",
    "agents.cli.report",
    "agents.cli.doctor",
]


def _register_all() -> None:
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


@app.command()
def version() -> None:
    """Print the installed optoforge version."""
    from importlib.metadata import version as _version

    typer.echo(_version("optoforge"))


def create_app() -> typer.Typer:
    """A fresh app with every command registered (for typer's ``CliRunner`` in tests)."""
    fresh = typer.Typer(**_APP_SETTINGS)  # type: ignore[arg-type]
    fresh.command()(version)
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(fresh)
    return fresh


def main() -> None:
    """Entry point of the ``optoforge`` console script."""
    _register_all()
    app()


if __name__ == "__main__":
    main()
