"""``optoforge library ...``: learn, evolve, show, export, import and ablate an AlphaOPT library.

Long commands show a progress bar on stderr, keep per-item state in a run directory (rerun the
same command to resume) and end with a summary that includes the LLM cost; ``--json`` prints
only a machine-readable summary on stdout.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from agents.cli.common import JsonModeOpt

DEFAULT_LIBRARY = Path("optoforge-library.sqlite")
DEFAULT_RUNS = Path("optoforge-runs")

LibraryOpt = Annotated[
    Path,
    typer.Option(
        "--library", envvar="OPTOFORGE_LIBRARY", help="Library file (SQLite; created if missing)."
    ),
]
LLMOpt = Annotated[
    str | None,
    typer.Option(help="LLM id, e.g. openai:gpt-4o-mini (default: $OPTOFORGE_LLM)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only a JSON summary on stdout.")]
RunDirOpt = Annotated[
    Path | None, typer.Option(help="Run directory for per-item state (resumes on rerun).")
]
ProgressOpt = Annotated[bool, typer.Option(help="Progress bar on stderr.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Items processed concurrently.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N items.")]
TagOpt = Annotated[str | None, typer.Option(help="Only items with this tag (e.g. alphaopt-train).")]
SolverOpt = Annotated[str, typer.Option(help="Solver API for programs: scip or gurobi.")]
RepairsOpt = Annotated[int, typer.Option(min=0, help="Repair rounds per solve.")]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds each program may run.")]
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


def _load(dataset: Path, tag: str | None, limit: int | None) -> list[Any]:
    """Items of ``dataset`` carrying ``tag`` (all when None), the first ``limit`` of them."""
    from agents.evaluation.dataset import load_dataset

    items = [i for i in load_dataset(dataset) if tag is None or tag in i.tags]
    if not items:
        raise _fail(f"{dataset}: no items" + (f" tagged {tag!r}" if tag else ""))
    return items[:limit] if limit else items


def _errors() -> tuple[type[BaseException], ...]:
    from agents.alphaopt.embedding import EmbedderConfigError
    from agents.alphaopt.store import LibraryError
    from agents.cli.common import user_errors

    return (*user_errors(), LibraryError, EmbedderConfigError)


def _solve_settings(
    solver: str, max_repairs: int, timeout: float, rel_tol: float, abs_tol: float
) -> Any:
    """The SolveSettings that the solver, repair, timeout and tolerance options describe."""
    from agents.alphaopt.solving import SolveSettings
    from agents.evaluation.scoring import Tolerance

    return SolveSettings(
        solver=solver,
        max_repairs=max_repairs,
        timeout_s=timeout,
        tolerance=Tolerance(rel=rel_tol, abs=abs_tol),
    )


def _alpha(
    library: Path,
    llm: str | None,
    *,
    solver: str,
    max_repairs: int,
    timeout: float,
    rel_tol: float,
    abs_tol: float,
    max_cost: float | None,
    embedder: str | None = None,
    **settings: Any,
) -> Any:
    from agents.alphaopt.pipeline import AlphaOpt
    from agents.formulation.factory import resolve_llm
    from agents.formulation.targets import resolve_target

    resolve_target(solver)
    budget = None
    if max_cost is not None:
        from trace_core.llm import Budget

        budget = Budget(max_cost=max_cost)
    solve = _solve_settings(solver, max_repairs, timeout, rel_tol, abs_tol)
    from agents.alphaopt.embedding import load_embedder

    return AlphaOpt(
        library,
        resolve_llm(llm, budget),
        solve=solve,
        embedder=load_embedder(embedder),
        **settings,
    )


@contextmanager
def _reported_errors(resume_dir: Path | None = None) -> Iterator[None]:
    """Turn user errors into a one-line exit 2; with ``resume_dir``, a budget stop into exit 3."""
    budget_stop = (_budget_error(),) if resume_dir is not None else ()
    try:
        yield
    except budget_stop as err:
        raise _fail(f"{err}. Rerun the same command to resume from {resume_dir}.", 3) from None
    except _errors() as err:
        raise _fail(str(err)) from None


def _budget_error() -> type[BaseException]:
    from trace_core.llm import BudgetExceeded

    return BudgetExceeded


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


def _emit(summary: dict[str, Any], json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    for key, value in summary.items():
        shown = f"${value:.4f}" if key.endswith("cost") else value
        typer.echo(f"{key}: {shown}")


def learn(
    dataset: Annotated[Path, typer.Argument(help="JSONL training items with gold answers.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
    llm: LLMOpt = None,
    json_mode: JsonModeOpt = None,
    run_dir: RunDirOpt = None,
    limit: LimitOpt = None,
    tag: TagOpt = None,
    attempts: Annotated[int, typer.Option(min=1, help="Solves per item (all must pass).")] = 3,
    verify_rounds: Annotated[int, typer.Option(min=1, help="Extract+verify rounds.")] = 3,
    verify_replays: Annotated[
        int, typer.Option(min=1, help="Solves that must all pass to keep an insight.")
    ] = 1,
    solver: SolverOpt = "scip",
    max_repairs: RepairsOpt = 2,
    timeout: TimeoutOpt = 60.0,
    rel_tol: RelTolOpt = 1e-4,
    abs_tol: AbsTolOpt = 1e-6,
    max_cost: MaxCostOpt = None,
    embedder: EmbedderOpt = None,
    workers: WorkersOpt = 4,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
) -> None:
    """Learn insights from DATASET (iteration 0): solve, self-explore, extract, verify, merge."""
    from agents.alphaopt.learning import LearnSettings
    from agents.evaluation.streams import stdout_to_stderr

    target = run_dir or _run_dir("learn", dataset, library, llm)
    with _reported_errors(target):
        items = _load(dataset, tag, limit)
        alpha = _alpha(
            library,
            llm,
            solver=solver,
            max_repairs=max_repairs,
            timeout=timeout,
            rel_tol=rel_tol,
            abs_tol=abs_tol,
            max_cost=max_cost,
            embedder=embedder,
            learn=LearnSettings(attempts=attempts),
            verify_rounds=verify_rounds,
            verify_replays=verify_replays,
        )
        with stdout_to_stderr():
            states = alpha.learn(items, target, progress=progress, workers=workers)
    _emit(_summary(alpha, states, target, len(items)), json_output)


def evolve(
    dataset: Annotated[Path, typer.Argument(help="JSONL training items with gold answers.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
    llm: LLMOpt = None,
    json_mode: JsonModeOpt = None,
    rounds: Annotated[int, typer.Option(min=1, help="Diagnosis + refinement rounds.")] = 1,
    candidates: Annotated[int, typer.Option(min=1, help="Candidate conditions per insight.")] = 5,
    prune: Annotated[bool, typer.Option(help="Retire insights that keep hurting.")] = True,
    split: Annotated[bool, typer.Option(help="Split insights that help and hurt.")] = True,
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
    workers: WorkersOpt = 4,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
) -> None:
    """Evolve the library on DATASET: diagnose failures, refine conditions, retire harmful ones."""
    from agents.alphaopt.evolution import EvolveSettings
    from agents.evaluation.streams import stdout_to_stderr

    target = run_dir or _run_dir("evolve", dataset, library, llm)
    with _reported_errors(target):
        items = _load(dataset, tag, limit)
        alpha = _alpha(
            library,
            llm,
            solver=solver,
            max_repairs=max_repairs,
            timeout=timeout,
            rel_tol=rel_tol,
            abs_tol=abs_tol,
            max_cost=max_cost,
            embedder=embedder,
            evolve=EvolveSettings(rounds=rounds, candidates=candidates, prune=prune, split=split),
        )
        with stdout_to_stderr():
            result = alpha.evolve(items, target, progress=progress, workers=workers)
    rounds_done: list[dict[str, Any]] = result["rounds"]
    states = [s for r in rounds_done for s in r["items"]]
    summary = {
        "rounds": len(rounds_done),
        "statuses": dict(Counter(s["status"] for s in states)),
        "refinement": dict(Counter(o["action"] for r in rounds_done for o in r["refinement"])),
        "library": str(alpha.library.path),
        "library_size": len(alpha.library),
        "run_dir": str(target),
        "tokens": alpha.usage.total_tokens,
        "cost": alpha.usage.cost,
    }
    _emit(summary, json_output)


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
    from agents.alphaopt.store import ExperienceLibrary
    from agents.alphaopt.taxonomy import render_taxonomy

    if not library.exists():
        raise _fail(f"no library at {library}; create one with `optoforge library learn`")
    with ExperienceLibrary(library) as store:
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
    from agents.alphaopt.store import ExperienceLibrary

    if not library.exists():
        raise _fail(f"no library at {library}")
    with ExperienceLibrary(library) as store:
        count = store.export_json(path)
    typer.echo(f"exported {count} insight(s) to {path}", err=True)


def import_(
    path: Annotated[Path, typer.Argument(help="JSON file written by `library export`.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
    json_output: JsonOpt = False,
) -> None:
    """Merge an exported library into this one (identical insights are not duplicated)."""
    from agents.alphaopt.store import ExperienceLibrary, LibraryError

    if not path.is_file():
        raise _fail(f"no file {path}")
    try:
        with ExperienceLibrary(library) as store:
            counts = store.import_json(path)
    except LibraryError as err:
        raise _fail(str(err)) from None
    _emit(counts, json_output)


def evaluate(
    dataset: Annotated[Path, typer.Argument(help="JSONL evaluation items.")],
    library: LibraryOpt = DEFAULT_LIBRARY,
    llm: LLMOpt = None,
    json_mode: JsonModeOpt = None,
    run_dir: RunDirOpt = None,
    limit: LimitOpt = None,
    tag: TagOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Items solved concurrently.")] = 2,
    solver: SolverOpt = "scip",
    max_repairs: RepairsOpt = 2,
    timeout: TimeoutOpt = 60.0,
    rel_tol: RelTolOpt = 1e-4,
    abs_tol: AbsTolOpt = 1e-6,
    max_cost: MaxCostOpt = None,
    embedder: EmbedderOpt = None,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
) -> None:
    """Evaluate the formulation agent with insights retrieved from the library (resumable)."""
    from agents.evaluation.harness import evaluate as run_evaluation
    from agents.evaluation.report import render_text
    from agents.evaluation.streams import stdout_to_stderr

    if not library.exists():
        raise _fail(f"no library at {library}; create one with `optoforge library learn`")
    target = run_dir or _run_dir("evaluate", dataset, library, llm)
    with _reported_errors(target):
        items = _load(dataset, tag, limit)
        alpha = _alpha(
            library,
            llm,
            solver=solver,
            max_repairs=max_repairs,
            timeout=timeout,
            rel_tol=rel_tol,
            abs_tol=abs_tol,
            max_cost=max_cost,
            embedder=embedder,
        )
        agent = alpha.agent()
        with stdout_to_stderr():
            report = run_evaluation(
                items,
                lambda: agent,
                run_dir=target,
                workers=workers,
                resume=True,
                tolerance=alpha.solver.settings.tolerance,
                progress=progress,
                dataset=str(dataset),
                model=llm or getattr(alpha.prompter.llm, "model_id", None),
                solver=solver,
            )
    # Solve calls are in the report; retrieval calls are metered by the library.
    summary = report.model_dump(mode="json")
    summary["retrieval_cost"] = alpha.usage.cost
    summary["retrieval_tokens"] = alpha.usage.total_tokens
    if json_output:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        typer.echo(render_text(report))
        typer.echo(f"retrieval: {alpha.usage.total_tokens} tokens, ${alpha.usage.cost:.4f}")
        typer.echo(f"results: {target}")


def ablate(
    train: Annotated[Path, typer.Argument(help="JSONL training items.")],
    eval_set: Annotated[Path, typer.Argument(metavar="EVAL", help="JSONL evaluation items.")],
    sizes: Annotated[str, typer.Option(help="Training sizes, comma-separated.")] = "25,50,100",
    llm: LLMOpt = None,
    json_mode: JsonModeOpt = None,
    run_dir: RunDirOpt = None,
    rounds: Annotated[int, typer.Option(min=1, help="Evolution rounds.")] = 1,
    attempts: Annotated[int, typer.Option(min=1, help="Solves per training item.")] = 3,
    eval_limit: LimitOpt = None,
    train_tag: TagOpt = None,
    eval_tag: TagOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Items processed concurrently.")] = 2,
    solver: SolverOpt = "scip",
    max_repairs: RepairsOpt = 2,
    timeout: TimeoutOpt = 60.0,
    rel_tol: RelTolOpt = 1e-4,
    abs_tol: AbsTolOpt = 1e-6,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
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
        raise _fail(f"--sizes must be positive integers separated by commas, got {sizes!r}")
    target = (
        run_dir or DEFAULT_RUNS / f"library-ablate__{_slug(train.stem)}__{_slug(eval_set.stem)}"
    )
    with _reported_errors():
        train_items = _load(train, train_tag, None)
        eval_items = _load(eval_set, eval_tag, eval_limit)
        llm_object = resolve_llm(llm)
        with stdout_to_stderr():
            report = run_ablation(
                train_items,
                eval_items,
                lambda: llm_object,
                target,
                sizes=size_list,
                solve=_solve_settings(solver, max_repairs, timeout, rel_tol, abs_tol),
                learn=LearnSettings(attempts=attempts),
                evolve=EvolveSettings(rounds=rounds),
                workers=workers,
                progress=progress,
            )
    if json_output:
        typer.echo(report.model_dump_json())
    else:
        typer.echo(report.table())
        typer.echo(f"\nplot: {report.plot}\nrun dir: {target}")


def _fail(message: str, code: int = 2) -> typer.Exit:
    from agents.cli.common import fail

    return fail(message, code)


def register(app: typer.Typer) -> None:
    """Add the ``library`` command group to the ``optoforge`` app."""
    group = typer.Typer(
        name="library",
        help="AlphaOPT experience library: learn, evolve, evaluate, show, export, import, ablate.",
        no_args_is_help=True,
    )
    group.command("learn")(learn)
    group.command("evolve")(evolve)
    group.command("show")(show)
    group.command("export")(export)
    group.command("import")(import_)
    group.command("evaluate")(evaluate)
    group.command("ablate")(ablate)
    app.add_typer(group, name="library")
