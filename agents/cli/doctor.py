"""``optoforge doctor``: which sandbox layers work on this machine, and why the others don't.

Generated programs run only in the strong layer unless a weaker one is named, so this is the
first thing to run when ``run()`` refuses code: it prints each layer, whether it starts here
(probed with a real run), the reason when it does not, and what each layer does not stop.
"""

from __future__ import annotations

import typer


def doctor() -> None:
    """Print which sandbox isolation layers work here and what each one does not stop."""
    from trace_core.sandbox.isolation import Isolation, limitations_for, why_not

    strong_works = False
    for layer in Isolation:
        reason = why_not(layer)
        strong_works = strong_works or (layer is Isolation.BWRAP and reason is None)
        state = "works" if reason is None else f"unavailable: {reason}"
        typer.echo(f"{layer.value:8} {state}")
        for limitation in limitations_for(layer):
            typer.echo(f"{'':8}   does not stop: {limitation}")
    if strong_works:
        typer.echo("untrusted code runs in: bwrap")
    else:
        typer.echo(
            "untrusted code is refused until bwrap works, or a weaker layer is named "
            "(OPTOFORGE_SANDBOX_ISOLATION=unshare|rlimits)"
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the ``optoforge`` app."""
    app.command("doctor")(doctor)
