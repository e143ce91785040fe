"""``optoforge synthesize``: ReSocratic synthesis of verified optimization problems."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.common import JsonModeOpt, MaxCostOpt, positive_seconds
from agents.cli.tracking import TrackOpt, tracked


def _resolve_llm(llm_id: str | None, max_cost: float | None) -> Any:
    """``py:package.module:factory`` (a zero-argument factory) or a ``provider:model`` id."""
    if llm_id and llm_id.startswith("py:"):
        from trace_core.registry import resolve_spec

        try:  # a SpecError is a ValueError; so is a factory's own refusal
            return resolve_spec(llm_id, what="cannot build LLM")
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--llm") from err
    from trace_core.llm import Budget, default_llm

    budget = Budget(max_cost=max_cost) if max_cost is not None else None
    return default_llm(llm_id) if budget is None else default_llm(llm_id, budget=budget)


def synthesize(
    n: Annotated[int, typer.Option("--n", min=1, help="Verified items to write.")],
    out: Annotated[Path, typer.Option(help="Output JSONL (appended to; reruns resume).")],
    seeds: Annotated[
        Path | None, typer.Option(help="Extra seed scenarios (JSONL, one seed a line).")
    ] = None,
    builtin_seeds: Annotated[bool, typer.Option(help="Also use the shipped seed pool.")] = True,
    llm: Annotated[
        str | None, typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM).")
    ] = None,
    json_mode: JsonModeOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Samples processed concurrently.")] = 4,
    max_samples: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many samples (default 10 x N).")
    ] = None,
    max_cost: MaxCostOpt = None,
    timeout: Annotated[
        float,
        typer.Option(min=0.1, callback=positive_seconds, help="Seconds each program may run."),
    ] = 10.0,
    sample_seed: Annotated[int, typer.Option(help="Seed of the sampling plan.")] = 0,
    min_constraints: Annotated[
        int, typer.Option(min=1, max=5, help="Fewest constraints a demonstration asks for.")
    ] = 1,
    max_constraints: Annotated[
        int, typer.Option(min=1, max=5, help="Most constraints a demonstration asks for.")
    ] = 5,
    prefixes: Annotated[
        bool, typer.Option(help="Expand each demonstration into its prefix levels 3-7.")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON report on stdout.")
    ] = False,
    track: TrackOpt = None,
) -> None:
    """Synthesize verified optimization problems (ReSocratic) into a JSONL dataset."""
    options = dict(locals())
    del options["track"]
    with tracked(out, track, "synthesize"):
        _synthesize(**options)


def _synthesize(
    *,
    n: int,
    out: Path,
    llm: str | None,
    json_mode: str | None,
    seeds: Path | None,
    builtin_seeds: bool,
    workers: int,
    max_samples: int | None,
    max_cost: float | None,
    timeout: float,
    min_constraints: int,
    max_constraints: int,
    sample_seed: int,
    prefixes: bool,
    progress: bool,
    json_output: bool,
) -> None:
    from agents.resocratic.pipeline import Synthesizer
    from agents.resocratic.seeds import SeedFileError, load_seeds
    from agents.resocratic.seeds import builtin_seeds as shipped
    from agents.resocratic.store import OutputFileError
    from trace_core.llm import LLMConfigError

    try:
        pool = (shipped() if builtin_seeds else []) + (load_seeds(seeds) if seeds else [])
        clash = sorted({s.id for s in pool if sum(t.id == s.id for t in pool) > 1})
        if clash:
            raise SeedFileError(
                seeds or "--seeds", None, f"seed ids clash with shipped ones: {clash}"
            )
        if not pool:
            raise SeedFileError("--seeds", None, "no seeds: pass --seeds FILE or --builtin-seeds")
        synthesizer = Synthesizer(
            _resolve_llm(llm, max_cost),
            seeds=pool,
            expand_prefixes=prefixes,
            min_constraints=min_constraints,
            max_constraints=max_constraints,
            timeout_s=timeout,
            sample_seed=sample_seed,
        )
        with _progress_bar(n, enabled=progress) as update:
            store = synthesizer.run(
                n, out, workers=workers, max_samples=max_samples, on_progress=update
            )
    except (SeedFileError, OutputFileError, LLMConfigError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo(
            f"error: interrupted; items so far are in {out}; rerun the same command to continue",
            err=True,
        )
        raise typer.Exit(130) from None
    report = {"out": str(out), **store.stats.report(), "items_in_file": store.written}
    if store.stopped:
        report["stopped"] = store.stopped
    if json_output:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_report(report)
    if store.stopped:
        raise typer.Exit(3)


class _progress_bar:
    """A rich progress bar on stderr counting written items (a no-op when disabled)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self._progress: Any = None
        self._bar: Any = None

    def __enter__(self) -> Any:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("synthesize"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._bar = self._progress.add_task("items", total=self.total, info="")
        return self.update

    def update(self, store: Any) -> None:
        if self._progress is None:
            return
        stats = store.stats
        info = f"samples {stats.samples}  calls {stats.usage.calls}  ${stats.usage.cost:.4f}"
        self._progress.update(self._bar, completed=min(store.written, self.total), info=info)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="synthesis: acceptance per stage")
    for column in ("stage", "count", "unit", "acceptance"):
        table.add_column(column)
    for row in report["stages"]:
        rate = "" if row["rate"] is None else f"{row['rate']:.0%}"
        table.add_row(str(row["stage"]), str(row["count"]), str(row["unit"]), rate)
    console.print(table)
    for reason, count in report["dropped"].items():
        console.print(f"  dropped {count:>4}  {reason}")
    console.print(
        f"samples {report['samples']}, LLM calls {report['calls']}, tokens {report['tokens']}, "
        f"cost ${report['cost']:.4f}; output {report['out']} ({report['items_in_file']} items)"
    )
    if report.get("stopped"):
        console.print(f"stopped early: {report['stopped']}. Rerun the same command to resume.")


def register(app: typer.Typer) -> None:
    """Add ``synthesize`` to the ``optoforge`` app."""
    app.command("synthesize")(synthesize)
