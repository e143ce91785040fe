"""``optoforge library learn|evolve|evaluate|ablate``: train and measure an AlphaOPT library.

Long commands show a progress bar on stderr, keep per-item state in a run directory (rerun the
same command to resume; its manifest refuses another command's or configuration's run) and end
with a summary that includes the LLM cost; ``--json`` prints only a machine-readable summary on
stdout. ``show``, ``export`` and ``import`` are in ``agents.cli.library_store``. The options
every long command shares travel as one :class:`LibraryRunOptions`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli import library_store
from agents.cli.common import (
    JsonModeOpt,
    ProgramTimeoutOpt,
    fail,
    read_text_file,
    reported_errors,
)
from agents.cli.library_store import (
    DEFAULT_LIBRARY,
    LibraryOpt,
    _library_errors,
    emit,
    require_library,
)
from agents.cli.signature import with_options
from agents.cli.tracking import TrackOpt, tracked

DEFAULT_RUNS = Path("optoforge-runs")
LLMOpt = Annotated[
    str | None,
    typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM)."),
]
JsonOpt = library_store.JsonOpt
RunDirOpt = Annotated[
    Path | None, typer.Option(help="Run directory for per-item state (resumes on rerun).")
]
ProgressOpt = Annotated[bool, typer.Option(help="Progress bar on stderr.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Items processed concurrently.")]
BatchOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Items per trainer step, solved first and then learned from (default: --workers; "
        "the paper uses 12).",
    ),
]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N items.")]
TagOpt = Annotated[str | None, typer.Option(help="Only items with this tag (e.g. alphaopt-train).")]
SolverOpt = Annotated[str, typer.Option(help="Solver API for programs: scip or gurobi.")]
RepairsOpt = Annotated[int, typer.Option(min=0, help="Repair rounds per solve.")]
TimeoutOpt = ProgramTimeoutOpt
RelTolOpt = Annotated[float, typer.Option(min=0.0, help="Relative tolerance on the objective.")]
AbsTolOpt = Annotated[float, typer.Option(min=0.0, help="Absolute tolerance floor.")]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        envvar="OPTOFORGE_EMBEDDER",
        help="Embedding prefilter for retrieval: openai:<model> or py:module:factory (off).",
    ),
]
MaxCostOpt = Annotated[
    float | None, typer.Option(min=0.0, help="Stop when LLM spend reaches this many dollars.")
]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "default"


def _run_dir(kind: str, dataset: Path, library: Path, llm: str | None) -> Path:
    model = llm or os.environ.get("OPTOFORGE_LLM") or "default-llm"
    return (
        DEFAULT_RUNS
        / f"library-{kind}__{_slug(dataset.stem)}__{_slug(library.stem)}__{_slug(model)}"
    )


@dataclass(frozen=True)
class LibraryRunOptions:
    """The options every long library command shares (solver, model, budget, tolerance, run
    directory, item selection, output); declared once for the CLI by :func:`_run_options`."""

    library: Path
    llm: str | None
    solver: str
    max_repairs: int
    timeout: float
    rel_tol: float
    abs_tol: float
    max_cost: float | None = None
    embedder: str | None = None
    run_dir: Path | None = None
    limit: int | None = None
    tag: str | None = None
    progress: bool = True
    json_output: bool = False
    track: str | None = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> LibraryRunOptions:
        """The options found by name among a command's arguments (``locals()``)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def solve_settings(self) -> Any:
        """The SolveSettings these options describe."""
        from agents.alphaopt.solving import SolveSettings
        from agents.evaluation.scoring import Tolerance

        return SolveSettings(
            solver=self.solver,
            max_repairs=self.max_repairs,
            timeout_s=self.timeout,
            tolerance=Tolerance(rel=self.rel_tol, abs=self.abs_tol),
        )

    def alpha(self, **settings: Any) -> Any:
        """An ``AlphaOpt`` over the library with these options (``settings``: its phases)."""
        from agents.alphaopt.embedding import load_embedder
        from agents.alphaopt.pipeline import AlphaOpt
        from agents.formulation.factory import resolve_llm
        from agents.formulation.targets import resolve_target

        resolve_target(self.solver)
        budget = None
        if self.max_cost is not None:
            from trace_core.llm import Budget

            budget = Budget(max_cost=self.max_cost)
        return AlphaOpt(
            self.library,
            resolve_llm(self.llm, budget),
            solve=self.solve_settings(),
            embedder=load_embedder(self.embedder),
            **settings,
        )

    def config(self, dataset: Path, **extra: Any) -> dict[str, Any]:
        """What decides a run's outcome, for its manifest (``--resume`` must repeat it)."""
        return {
            "dataset_sha256": hashlib.sha256(dataset.read_bytes()).hexdigest(),
            "library": str(self.library.resolve()),
            "llm": self.llm or os.environ.get("OPTOFORGE_LLM"),
            "solver": self.solver,
            "max_repairs": self.max_repairs,
            **extra,
        }


def _run_options(
    library: LibraryOpt = DEFAULT_LIBRARY,
    llm: LLMOpt = None,
    json_mode: JsonModeOpt = None,
    run_dir: RunDirOpt = None,
    limit: LimitOpt = None,
    tag: TagOpt = None,
    solver: SolverOpt = "scip",
    max_repairs: RepairsOpt = 2,
    timeout: TimeoutOpt = 60.0,
    rel_tol: RelTolOpt = 1e-4,
    abs_tol: AbsTolOpt = 1e-6,
    max_cost: MaxCostOpt = None,
    embedder: EmbedderOpt = None,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
    track: TrackOpt = None,
) -> None:
    """The options of ``library learn|evolve|evaluate`` (read by typer through
    :func:`~agents.cli.signature.with_options`; the values arrive as :class:`LibraryRunOptions`)."""


def _load(dataset: Path, tag: str | None, limit: int | None) -> list[Any]:
    """Items of ``dataset`` carrying ``tag`` (all when None), the first ``limit`` of them."""
    from agents.evaluation.dataset import load_dataset

    read_text_file(dataset, "dataset")
    items = [i for i in load_dataset(dataset) if tag is None or tag in i.tags]
    if not items:
        raise fail(f"{dataset}: no items" + (f" tagged {tag!r}" if tag else ""))
    return items[:limit] if limit else items


def _open_run(target: Path, command: str, config: dict[str, Any]) -> None:
    """Check the run directory (before any paid call) and record what made it.

    Library commands always resume, so a folder made by another command or another
    configuration is refused, naming the difference.
    """
    from trace_core.runs import RunDir

    RunDir(target, command, config, resume=True, exclusive=True)


@contextmanager
def _reported(
    target: Path | None = None, track: str | None = None, command: str = "library"
) -> Iterator[None]:
    """One-line errors (a budget stop or Ctrl-C says to rerun the same command); with
    ``--track``, the run directory is logged when the command ends."""
    with (
        tracked(target, track, command),
        reported_errors(target, resume="rerun the same command", extra=_library_errors()),
    ):
        yield


@contextmanager
def _library_run(
    kind: str, dataset: Path, shared: dict[str, Any], *, existing: bool = False
) -> Iterator[tuple[LibraryRunOptions, Path, list[Any]]]:
    """Start ``library KIND`` on DATASET: its options, run directory and items, with one-line
    errors around the body; ``existing`` requires the library to exist already."""
    o = LibraryRunOptions.of(shared)
    target = o.run_dir or _run_dir(kind, dataset, o.library, o.llm)
    with _reported(target, o.track, f"library {kind}"):
        if existing:
            require_library(o.library)
        yield o, target, _load(dataset, o.tag, o.limit)


def _summary(alpha: Any, states: list[Any], run_dir: Path, total: int) -> dict[str, Any]:
    usage = alpha.usage
    return {
        "items": len(states),
        "failed_items": total - len(states),  # errors (logged); a rerun retries them
        "statuses": dict(Counter(state.status for state in states)),
        "insights_added": sum(len(state.added) for state in states),
        "insights_merged": sum(len(state.merged) for state in states),
        "library": str(alpha.library.path),
        "library_size": len(alpha.library),
        "run_dir": str(run_dir),
        "tokens": usage.total_tokens,
        "cost": usage.cost,
        "run_cost": sum(state.cost for state in states),
    }


@with_options(_run_options)
def learn(
    dataset: Annotated[Path, typer.Argument(help="JSONL training items with gold answers.")],
    attempts: Annotated[int, typer.Option(min=1, help="Solves per item (all must pass).")] = 3,
    verify_rounds: Annotated[int, typer.Option(min=1, help="Extract+verify rounds.")] = 3,
    verify_replays: Annotated[
        int, typer.Option(min=1, help="Solves that must all pass to keep an insight.")
    ] = 1,
    workers: WorkersOpt = 4,
    batch_size: BatchOpt = None,
    **shared: Any,
) -> None:
    """Learn insights from DATASET (iteration 0): solve, self-explore, extract, verify, merge.

    One trainer epoch over DATASET in file order, BATCH_SIZE items per step (history.jsonl,
    checkpoint.json and scores.png in the run directory, beside the per-item states; a rerun
    with another batch size or --limit keeps the item states and sets the old steps aside)."""
    from agents.alphaopt.learning import LearnSettings
    from agents.evaluation.streams import stdout_to_stderr

    with _library_run("learn", dataset, shared) as (o, target, items):
        _open_run(target, "library learn", o.config(dataset, tag=o.tag, attempts=attempts))
        alpha = o.alpha(
            learn=LearnSettings(attempts=attempts),
            verify_rounds=verify_rounds,
            verify_replays=verify_replays,
        )
        with stdout_to_stderr():
            states = alpha.learn(
                items, target, progress=o.progress, workers=workers, batch_size=batch_size
            )
    emit(_summary(alpha, states, target, len(items)), o.json_output)


@with_options(_run_options)
def evolve(
    dataset: Annotated[Path, typer.Argument(help="JSONL training items with gold answers.")],
    rounds: Annotated[int, typer.Option(min=1, help="Diagnosis + refinement rounds.")] = 1,
    candidates: Annotated[int, typer.Option(min=1, help="Candidate conditions per insight.")] = 5,
    prune: Annotated[bool, typer.Option(help="Retire insights that keep hurting.")] = True,
    split: Annotated[bool, typer.Option(help="Split insights that help and hurt.")] = True,
    workers: WorkersOpt = 4,
    batch_size: BatchOpt = None,
    **shared: Any,
) -> None:
    """Evolve the library on DATASET: diagnose failures, refine conditions, retire harmful ones.

    One trainer epoch per round, BATCH_SIZE items per step; refinement ends each round."""
    from agents.alphaopt.evolution import EvolveSettings
    from agents.evaluation.streams import stdout_to_stderr

    with _library_run("evolve", dataset, shared, existing=True) as (o, target, items):
        _open_run(target, "library evolve", o.config(dataset, tag=o.tag, rounds=rounds))
        alpha = o.alpha(
            evolve=EvolveSettings(rounds=rounds, candidates=candidates, prune=prune, split=split),
        )
        with stdout_to_stderr():
            result = alpha.evolve(
                items, target, progress=o.progress, workers=workers, batch_size=batch_size
            )
    rounds_done: list[dict[str, Any]] = result["rounds"]
    states = [s for r in rounds_done for s in r["items"]]
    summary = {
        "rounds": len(rounds_done),
        "statuses": dict(Counter(s["status"] for s in states)),
        "refinement": dict(Counter(x["action"] for r in rounds_done for x in r["refinement"])),
        "library": str(alpha.library.path),
        "library_size": len(alpha.library),
        "run_dir": str(target),
        "tokens": alpha.usage.total_tokens,
        "cost": alpha.usage.cost,
    }
    emit(summary, o.json_output)


@with_options(_run_options)
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="JSONL evaluation items.")],
    workers: Annotated[int, typer.Option(min=1, help="Items solved concurrently.")] = 2,
    **shared: Any,
) -> None:
    """Evaluate the formulation agent with insights retrieved from the library (resumable)."""
    from agents.evaluation.harness import evaluate as run_evaluation
    from agents.evaluation.report import render_text
    from agents.evaluation.streams import stdout_to_stderr

    with _library_run("evaluate", dataset, shared, existing=True) as (o, target, items):
        alpha = o.alpha()
        agent = alpha.agent()
        model = o.llm or getattr(alpha.prompter.llm, "model_id", None)
        with stdout_to_stderr():
            report = run_evaluation(
                items,
                lambda: agent,
                run_dir=target,
                workers=workers,
                resume=True,
                tolerance=alpha.solver.settings.tolerance,
                progress=o.progress,
                dataset=str(dataset),
                model=model,
                solver=o.solver,
                command="library evaluate",
                config=o.config(dataset, tag=o.tag),
            )
    # Solve calls are in the report; retrieval calls are metered by the library.
    summary = report.model_dump(mode="json")
    summary["retrieval_cost"] = alpha.usage.cost
    summary["retrieval_tokens"] = alpha.usage.total_tokens
    if o.json_output:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        typer.echo(render_text(report))
        typer.echo(f"retrieval: {alpha.usage.total_tokens} tokens, ${alpha.usage.cost:.4f}")
        typer.echo(f"results: {target}")


@with_options(_run_options, drop=("library", "limit", "tag", "max_cost", "embedder"))
def ablate(
    train: Annotated[Path, typer.Argument(help="JSONL training items.")],
    eval_set: Annotated[Path, typer.Argument(metavar="EVAL", help="JSONL evaluation items.")],
    sizes: Annotated[str, typer.Option(help="Training sizes, comma-separated.")] = "25,50,100",
    rounds: Annotated[int, typer.Option(min=1, help="Evolution rounds.")] = 1,
    attempts: Annotated[int, typer.Option(min=1, help="Solves per training item.")] = 3,
    eval_limit: LimitOpt = None,
    train_tag: TagOpt = None,
    eval_tag: TagOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Items processed concurrently.")] = 2,
    **shared: Any,
) -> None:
    """Accuracy on EVAL with no library, after learning on growing TRAIN sizes, after evolution."""
    from agents.alphaopt.ablation import run_ablation
    from agents.alphaopt.evolution import EvolveSettings
    from agents.alphaopt.learning import LearnSettings
    from agents.evaluation.streams import stdout_to_stderr
    from agents.formulation.factory import resolve_llm

    try:
        size_list = [int(part) for part in sizes.split(",") if part.strip()]
    except ValueError:
        size_list = []
    if not size_list or min(size_list) < 1:
        raise fail(f"--sizes must be positive integers separated by commas, got {sizes!r}")
    options = LibraryRunOptions.of({**shared, "library": Path("-")})
    target = options.run_dir or (
        DEFAULT_RUNS / f"library-ablate__{_slug(train.stem)}__{_slug(eval_set.stem)}"
    )
    with _reported(target, options.track, "library ablate"):
        train_items = _load(train, train_tag, None)
        eval_items = _load(eval_set, eval_tag, eval_limit)
        train_sha256 = hashlib.sha256(train.read_bytes()).hexdigest()
        config = options.config(eval_set, sizes=size_list, train_sha256=train_sha256)
        config.pop("library")  # the ablation builds its own libraries in the run directory
        _open_run(target, "library ablate", config)
        llm_object = resolve_llm(options.llm)
        with stdout_to_stderr():
            report = run_ablation(
                train_items,
                eval_items,
                lambda: llm_object,
                target,
                sizes=size_list,
                solve=options.solve_settings(),
                learn=LearnSettings(attempts=attempts),
                evolve=EvolveSettings(rounds=rounds),
                workers=workers,
                progress=options.progress,
            )
    if options.json_output:
        typer.echo(report.model_dump_json())
    else:
        typer.echo(report.table())
        typer.echo(f"\nplot: {report.plot}\nrun dir: {target}")


def register(app: typer.Typer) -> None:
    """Add the ``library`` command group to the ``optoforge`` app."""
    group = typer.Typer(
        name="library",
        help="AlphaOPT experience library: learn, evolve, evaluate, show, export, import, ablate.",
        no_args_is_help=True,
    )
    group.command("learn")(learn)
    group.command("evolve")(evolve)
    library_store.register(group)
    group.command("evaluate")(evaluate)
    group.command("ablate")(ablate)
    app.add_typer(group, name="library")
