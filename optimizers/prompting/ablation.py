"""The paper's comparison on a user's task: seed instruction, instruction-only, exemplars-only
(random and bootstrapped) and combined, each under the same call budget; a table and a plot.

Every strategy starts from a fork of the same program (same seed prompt, its own copy of the
pool) with the same seed, so rows differ only by strategy. The held-out test score of each
best prompt is measured outside the search budget (``test_calls`` says how many calls it took).

With a :class:`~optimizers.prompting.rundir.PromptRun`, strategies an earlier (killed) run
finished are read back instead of run, and the others record every LLM answer so a later
resume replays them (see ``rundir`` and ``journal``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from optimizers.prompting.evaluation import SearchResult, SearchStep, score_prompt
from optimizers.prompting.journal import JournaledLLM
from optimizers.prompting.metrics import Metric, load_metric
from optimizers.prompting.schedule import run_strategy

if TYPE_CHECKING:
    from optimizers.prompting.program import PromptProgram
    from optimizers.prompting.rundir import PromptRun
    from optimizers.prompting.task import TaskSplit
    from trace_core.llm import LLM

ABLATION: tuple[str, ...] = ("seed", "instruction", "random", "bootstrap", "combined")


class AblationRow(BaseModel):
    """One strategy's outcome."""

    strategy: str
    seed_val: float
    val: float
    test: float | None
    calls: int
    budget: int
    exemplars: int
    instruction: str


class AblationReport(BaseModel):
    """Rows in strategy order, plus the full results (history, best prompts, provenance)."""

    rows: list[AblationRow]
    results: list[SearchResult]

    def table(self) -> str:
        """The rows as a Markdown table."""
        lines = [
            "| strategy | seed val | best val | test | calls / budget | exemplars | instruction |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            test = "-" if r.test is None else f"{r.test:.3f}"
            text = r.instruction if len(r.instruction) <= 50 else r.instruction[:47] + "..."
            lines.append(
                f"| {r.strategy} | {r.seed_val:.3f} | {r.val:.3f} | {test} | "
                f"{r.calls} / {r.budget} | {r.exemplars} | {text} |"
            )
        return "\n".join(lines)


def evaluate_on_test(
    program: PromptProgram, result: SearchResult, test: Sequence[Any], metric: Metric
) -> None:
    """Score ``result``'s best prompt (already set on ``program``) on the test items."""
    if test:
        result.test_score = score_prompt(program, test, metric)
        result.test_calls = len(test)


def run_ablation(
    program: PromptProgram,
    split: TaskSplit,
    metric: Metric | str,
    *,
    budget: int,
    seed: int = 0,
    strategies: Sequence[str] = ABLATION,
    optimizer: str = "optoprime",
    optimizer_llm: LLM | None = None,
    batch_size: int = 3,
    on_start: Callable[[str], None] | None = None,
    on_call: Callable[[], None] | None = None,
    on_step: Callable[[SearchStep], None] | None = None,
    run: PromptRun | None = None,
) -> AblationReport:
    """Run each strategy on a fork of ``program`` with ``budget`` calls; score the test split.

    With ``run``, finished strategies are read back from it and the rest are journaled to it.
    """
    score = load_metric(metric)
    rows, results = [], []
    for strategy in strategies:
        if on_start is not None:
            on_start(strategy)
        result = run.finished(strategy) if run is not None else None
        if result is not None:
            for _ in range(result.calls):  # keep a progress bar's count honest
                if on_call is not None:
                    on_call()
        else:
            fork = program.fork()
            opt_llm = optimizer_llm
            if run is not None:
                journal = run.journal(strategy)
                fork.llm = JournaledLLM(fork.llm, journal, role="worker")
                if optimizer_llm is not None:
                    opt_llm = JournaledLLM(optimizer_llm, journal, role="optimizer")
            result = run_strategy(
                strategy,
                fork,
                split.train,
                split.val,
                score,
                budget=budget,
                seed=seed,
                optimizer=optimizer,
                optimizer_llm=opt_llm,
                batch_size=batch_size,
                on_call=on_call,
                on_step=on_step,
            )
            evaluate_on_test(fork, result, split.test, score)
            if run is not None:
                run.save(result)
        results.append(result)
        rows.append(
            AblationRow(
                strategy=strategy,
                seed_val=result.seed_score,
                val=result.best_score,
                test=result.test_score,
                calls=result.calls,
                budget=result.budget,
                exemplars=len(result.best.exemplars),
                instruction=result.best.instruction,
            )
        )
    return AblationReport(rows=rows, results=results)


def plot_scores(results: Sequence[SearchResult], path: str | Path) -> Path:
    """PNG of the validation score per step, one line per strategy (best so far, solid;
    each scored candidate, dots)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for result in results:
        scored = [
            (s.step, s.val_score, s.best_score) for s in result.history if s.val_score is not None
        ]
        if not scored:
            continue
        steps = [step for step, _, _ in scored]
        (line,) = ax.plot(steps, [best for _, _, best in scored], label=result.strategy)
        ax.scatter(steps, [value for _, value, _ in scored], s=10, color=line.get_color())
    ax.set_xlabel("step (scored prompt)")
    ax.set_ylabel("validation score")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)
