"""``optoforge prompt optimize|ablate``: search instructions and few-shot exemplars for a task.

The task is a JSONL file of ``{"input": ..., "output": ...}`` items (see
``optimizers.prompting.task``). It is split train/val/test with ``--seed``: train items form
the exemplar pool (and feed bootstrapping and minibatches), validation scores guide the search,
and the test split reports the best prompt. Each strategy gets ``--budget`` LLM calls, counted
exactly. The run directory gets ``history.jsonl`` (one scored prompt per line),
``best_prompt.json``, ``results.json`` and ``scores.png``; ``ablate`` adds ``ablation.md``.

Runs resume: ``run.json`` records the configuration, ``strategies/`` the finished strategies and
``calls/`` every LLM answer, so the same command with ``--resume`` continues a killed run without
paying again for the calls it already made (see ``optimizers.prompting.rundir``). A directory
that already holds files is refused unless ``--resume`` or ``--overwrite`` says what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agents.cli.common import JsonModeOpt
from agents.cli.signature import with_options
from agents.cli.tracking import TrackOpt, tracked

if TYPE_CHECKING:
    from optimizers.prompting.ablation import AblationReport

DEFAULT_INSTRUCTION = "Give the output for the input."


@dataclass(frozen=True)
class PromptSettings:
    """Everything ``prompt optimize`` and ``prompt ablate`` were asked to do, typed."""

    command: str
    task: Path
    strategies: list[str]
    metric: str
    llm: str | None
    optimizer_llm: str | None
    budget: int
    seed: int
    out: Path | None
    instruction: str
    template: str | None
    max_exemplars: int
    optimizer: str
    val_fraction: float
    test_fraction: float
    batch_size: int
    progress: bool
    resume: bool
    overwrite: bool

    @property
    def run_dir(self) -> Path:
        """``--out``, or ``optoforge-runs/prompt-<task>``."""
        return self.out or _default_out(self.task)


prompt_app = typer.Typer(
    name="prompt",
    help="Optimize a prompt's instruction and few-shot exemplars on a JSONL task.",
    no_args_is_help=True,
)

Task = Annotated[
    Path, typer.Option("--task", help='JSONL file, one {"input": ..., "output": ...} per line.')
]
MetricOpt = Annotated[
    str, typer.Option(help="exact, contains, or python:module.fn(prediction, expected).")
]
LlmOpt = Annotated[
    str | None,
    typer.Option(
        help="LLM id that answers, e.g. openai:gpt-4o-mini, or py:module:factory for a custom "
        "LLM object (default: $OPTOFORGE_LLM)."
    ),
]
OptimizerLlmOpt = Annotated[
    str | None, typer.Option(help="LLM id of the instruction optimizer (default: --llm).")
]
BudgetOpt = Annotated[int, typer.Option(min=1, help="LLM calls each strategy may spend.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the split and of every random choice.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Run directory (default optoforge-runs/prompt-<task>).")
]
InstructionOpt = Annotated[str, typer.Option(help="Seed instruction, or a file holding it.")]
TemplateOpt = Annotated[
    str | None,
    typer.Option(help="Prompt template file (=== system/user/example === sections)."),
]
MaxExemplarsOpt = Annotated[int, typer.Option(min=0, help="Most exemplars in one prompt.")]
OptimizerOpt = Annotated[str, typer.Option(help="Instruction optimizer: optoprime or opro.")]
ValOpt = Annotated[float, typer.Option(help="Fraction of items for validation.")]
TestOpt = Annotated[float, typer.Option(help="Fraction of items for the test report.")]
BatchOpt = Annotated[int, typer.Option(min=1, help="Training items per instruction step.")]
ProgressOpt = Annotated[bool, typer.Option(help="Progress bar on stderr.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the run in --out: finished strategies are kept and recorded LLM answers "
        "are replayed, so no call is paid for twice. The other options must match the run.",
    ),
]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Delete the results already in --out and start over.")
]


@prompt_app.command("optimize")
def optimize(
    task: Task,
    strategy: Annotated[
        list[str],
        typer.Option(
            help="seed, instruction, random, greedy, diverse, bootstrap, alternate, joint or "
            "combined; repeat the option (or separate by commas) to compare several."
        ),
    ] = ["combined"],  # noqa: B006 - typer reads list defaults, never mutates them
    metric: MetricOpt = "exact",
    llm: LlmOpt = None,
    optimizer_llm: OptimizerLlmOpt = None,
    json_mode: JsonModeOpt = None,
    budget: BudgetOpt = 100,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    instruction: InstructionOpt = DEFAULT_INSTRUCTION,
    template: TemplateOpt = None,
    max_exemplars: MaxExemplarsOpt = 4,
    optimizer: OptimizerOpt = "optoprime",
    val_fraction: ValOpt = 0.25,
    test_fraction: TestOpt = 0.25,
    batch_size: BatchOpt = 3,
    progress: ProgressOpt = True,
    json_output: JsonOpt = False,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    track: TrackOpt = None,
) -> None:
    """Search prompts for TASK with each --strategy; save the best prompt, history and plot."""
    names = [s.strip() for value in strategy for s in value.split(",") if s.strip()]
    strategies = list(dict.fromkeys(names))  # a repeated strategy would only redo the same run
    settings = PromptSettings(command="optimize", strategies=strategies, **_options(locals()))
    with tracked(settings.run_dir, track, "prompt optimize"):
        report = _run(settings)
        _finish(report, settings.run_dir, json_output, ablation=False, template=template)


@prompt_app.command("ablate")
@with_options(optimize, drop=("strategy",))
def ablate(**options: Any) -> None:
    """Compare seed, instruction-only, exemplars-only (random, bootstrapped) and combined."""
    from optimizers.prompting.ablation import ABLATION

    settings = PromptSettings(command="ablate", strategies=list(ABLATION), **_options(options))
    with tracked(settings.run_dir, options["track"], "prompt ablate"):
        report = _run(settings)
        _finish(
            report,
            settings.run_dir,
            options["json_output"],
            ablation=True,
            template=options["template"],
        )


def _default_out(task: Path) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", task.stem).strip("-") or "task"
    return Path("optoforge-runs") / f"prompt-{slug}"


def _options(values: dict[str, Any]) -> dict[str, Any]:
    """The command's own option values that :class:`PromptSettings` holds (by name)."""
    fields = set(PromptSettings.__dataclass_fields__) - {"command", "strategies"}
    return {name: values[name] for name in fields}


def _prompt_errors() -> tuple[type[BaseException], ...]:
    """The prompt-search errors that are the user's to fix (reported in one line)."""
    from optimizers import prompting as p

    task = (p.TaskFileError, p.TemplateError, p.MetricError, p.ExemplarError)
    return (*task, p.BudgetTooSmall, p.UnknownStrategy)


def _run(settings: PromptSettings) -> AblationReport:
    from agents.cli.common import reported_errors, text_or_file
    from optimizers.prompting import PromptProgram, load_metric, load_task, split_task
    from optimizers.prompting.ablation import run_ablation
    from optimizers.prompting.rundir import PromptRun
    from optimizers.prompting.schedule import STRATEGIES, UnknownStrategy

    s = settings
    with reported_errors(s.run_dir, extra=_prompt_errors()):
        unknown = [name for name in s.strategies if name not in STRATEGIES]
        if unknown or not s.strategies:
            raise UnknownStrategy(
                f"unknown strategy {', '.join(unknown) or '(none)'}; use {', '.join(STRATEGIES)}"
            )
        split = split_task(load_task(s.task), seed=s.seed, val=s.val_fraction, test=s.test_fraction)
        score = load_metric(s.metric)
        seed_text = text_or_file(s.instruction, "instruction file").strip()
        worker = _resolve_llm(s.llm)
        program = PromptProgram(
            seed_text,
            [(item.input, item.output) for item in split.train],
            llm=worker,
            max_exemplars=s.max_exemplars,
            template=s.template,
        )
        opt_llm = _resolve_llm(s.optimizer_llm) if s.optimizer_llm else None
        decided = asdict(s)
        for name in ("task", "out", "llm", "progress", "resume", "overwrite", "template"):
            decided.pop(name)
        config = {
            **decided,
            "task_sha256": hashlib.sha256(s.task.read_bytes()).hexdigest(),
            "llm": s.llm or os.environ.get("OPTOFORGE_LLM") or "(default)",
            "llm_model": str(getattr(worker, "model", "")),
            "instruction": seed_text,
            "template": program.template.text,
        }
        run = PromptRun(s.run_dir, config, resume=s.resume, overwrite=s.overwrite)
        if s.resume and (note := run.describe(s.strategies)):
            typer.echo(note, err=True)
        with _progress(s.progress, s.budget) as bar:
            return run_ablation(
                program,
                split,
                score,
                budget=s.budget,
                seed=s.seed,
                strategies=s.strategies,
                optimizer=s.optimizer,
                optimizer_llm=opt_llm,
                batch_size=s.batch_size,
                on_start=bar.start,
                on_call=bar.advance,
                on_step=run.record,
                run=run,
            )


def _resolve_llm(llm_id: str | None) -> Any:
    """``py:module:factory`` (a custom LLM object), else a ``provider:model`` id or the default."""
    if llm_id and llm_id.startswith("py:"):
        from agents.formulation.factory import resolve_llm

        return resolve_llm(llm_id)
    from trace_core.llm import default_llm

    return default_llm(llm_id)


class _Bar:
    """A rich progress bar on stderr with one row per strategy, advanced per LLM call."""

    def __init__(self, progress: Any, budget: int) -> None:
        self.progress = progress
        self.budget = budget
        self.task: Any = None

    def start(self, strategy: str) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task(strategy, total=self.budget)

    def advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)


@contextmanager
def _progress(enabled: bool, budget: int) -> Iterator[_Bar]:
    if not enabled:
        yield _Bar(None, budget)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn("{task.description:>11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("LLM calls"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield _Bar(progress, budget)


def _finish(
    report: AblationReport,
    run_dir: Path,
    json_output: bool,
    *,
    ablation: bool,
    template: str | None,
) -> None:
    from optimizers.prompting import PromptTemplate
    from optimizers.prompting.ablation import plot_scores

    best = max(report.results, key=lambda r: r.best_score)
    prompt = {
        "strategy": best.strategy,
        "instruction": best.best.instruction,
        "exemplars": best.best.exemplars,
        "exemplar_ids": best.best_exemplar_ids,
        "val_score": best.best_score,
        "test_score": best.test_score,
        "bootstrapped": [
            e.model_dump() for e in best.bootstrapped if e.id in best.best_exemplar_ids
        ],
        "template": PromptTemplate.load(template).text,
    }
    (run_dir / "best_prompt.json").write_text(json.dumps(prompt, indent=2), encoding="utf-8")
    (run_dir / "results.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    plot_scores(report.results, run_dir / "scores.png")
    if ablation:
        (run_dir / "ablation.md").write_text(report.table() + "\n", encoding="utf-8")
    if json_output:
        typer.echo(json.dumps({"best": prompt, "rows": [r.model_dump() for r in report.rows]}))
        return
    typer.echo(report.table())
    where = run_dir / "best_prompt.json"
    typer.echo(f"\nbest: {best.strategy} (val {best.best_score:.3f}) -> {where}")
    typer.echo(f"history: {run_dir / 'history.jsonl'}\nplot: {run_dir / 'scores.png'}")


def register(app: typer.Typer) -> None:
    """Add the ``prompt`` command group to the ``optoforge`` app."""
    app.add_typer(prompt_app, name="prompt")
