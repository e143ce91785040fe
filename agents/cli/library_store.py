"""``optoforge library show|export|import``: read and exchange an AlphaOPT library's contents.

These commands touch only the library file (no model calls); the long-running library
commands are in ``agents.cli.library``. A ``--library`` that does not exist is refused by
``show`` and ``export`` (a typo must not create an empty library); ``import`` creates it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.common import InputFileError, read_text_file, reported_errors

DEFAULT_LIBRARY = Path("optoforge-library.sqlite")

LibraryOpt = Annotated[
    Path,
    typer.Option(
        "--library", envvar="OPTOFORGE_LIBRARY", help="Library file (SQLite; created if missing)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only a JSON summary on stdout.")]


def _library_errors() -> tuple[type[BaseException], ...]:
    from agents.alphaopt.embedding import EmbedderConfigError
    from agents.alphaopt.store import LibraryError

    return (LibraryError, EmbedderConfigError)


def require_library(library: Path) -> None:
    """Refuse a ``--library`` path that does not exist (commands that read a library)."""
    if not library.exists():
        raise InputFileError(
            f"no library at {library}; check --library (or $OPTOFORGE_LIBRARY), or create one "
            "with `optoforge library learn`"
        )


@contextmanager
def _open_existing(library: Path) -> Iterator[Any]:
    from agents.alphaopt.store import ExperienceLibrary

    require_library(library)
    with ExperienceLibrary(library) as store:
        yield store


def emit(summary: dict[str, Any], json_output: bool) -> None:
    """Print ``summary`` as JSON (``--json``) or as ``key: value`` lines."""
    if json_output:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    for key, value in summary.items():
        shown = f"${value:.4f}" if key.endswith("cost") else value
        typer.echo(f"{key}: {shown}")


def show(
    library: LibraryOpt = DEFAULT_LIBRARY,
    taxonomy: Annotated[bool, typer.Option("--taxonomy", help="Show the label tree.")] = False,
    changes: Annotated[bool, typer.Option("--changes", help="Show the change log.")] = False,
    all_insights: Annotated[
        bool, typer.Option("--all", help="Include retired and merged insights.")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """List the library's insights (or its taxonomy, or its change log)."""
    from agents.alphaopt.taxonomy import render_taxonomy

    with reported_errors(extra=_library_errors()), _open_existing(library) as store:
        if taxonomy:
            labels = store.labels()
            counts = Counter(tuple(i.label_key) for i in store.all())
            if json_output:
                rows = [{**lb.model_dump(), "insights": counts.get(lb.key, 0)} for lb in labels]
                typer.echo(json.dumps(rows, ensure_ascii=False))
            else:
                typer.echo(render_taxonomy(labels))
            return
        if changes:
            log = store.changes()
            if json_output:
                typer.echo(json.dumps([c.model_dump() for c in log], ensure_ascii=False))
            else:
                for c in log:
                    typer.echo(f"{c.at} {c.kind:8} {c.insight_ids} {c.reason}")
            return
        insights = store.all(include_inactive=all_insights)
        if json_output:
            typer.echo(
                json.dumps([i.model_dump(mode="json") for i in insights], ensure_ascii=False)
            )
            return
        for i in insights:
            d = i.distribution
            typer.echo(
                f"[{i.id}] {' / '.join(i.taxonomy)}  ({i.status}, v{i.version})\n"
                f"    when: {i.condition}\n    what: {i.explanation}\n"
                f"    used {i.stats.retrieved}x, helped {i.stats.helped}, hurt {i.stats.hurt}; "
                f"+{len(d.positive)} -{len(d.negative)} missed {len(d.unretrieved)}"
            )
        typer.echo(f"{len(insights)} insight(s) in {library}")


def export(
    path: Annotated[Path, typer.Argument(help="JSON file to write.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
) -> None:
    """Export the library (insights, labels, verified programs) as JSON."""
    with reported_errors(extra=_library_errors()), _open_existing(library) as store:
        count = store.export_json(path)
    typer.echo(f"exported {count} insight(s) to {path}", err=True)


def import_(
    path: Annotated[Path, typer.Argument(help="JSON file written by `library export`.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
    json_output: JsonOpt = False,
) -> None:
    """Merge an exported library into this one (identical insights are not duplicated)."""
    from agents.alphaopt.store import ExperienceLibrary

    with reported_errors(extra=_library_errors()):
        read_text_file(path, "library export")  # missing, a folder, not UTF-8: one line
        with ExperienceLibrary(library) as store:
            counts = store.import_json(path)
    emit(counts, json_output)


def register(group: typer.Typer) -> None:
    """Add ``show``, ``export`` and ``import`` to the ``library`` command group."""
    group.command("show")(show)
    group.command("export")(export)
    group.command("import")(import_)
