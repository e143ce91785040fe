"""Ablation: accuracy with no library, after learning on growing training sets, after evolution.

For each training size N (e.g. 25/50/100) the library learned on the first N items is built
incrementally (the library of the previous size is copied and learning continues on the next
items, which is what online learning would have done anyway) and evaluated on the eval split.
The largest library is then evolved and evaluated again. Everything lives in one run directory
and every stage resumes, so an interrupted ablation picks up where it stopped. The result is a
markdown table and a PNG plot, to check the paper's "more data, better library" claim on your
own LLM.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agents.alphaopt.evolution import EvolveSettings
from agents.alphaopt.learning import LearnSettings
from agents.alphaopt.pipeline import AlphaOpt
from agents.alphaopt.runs import PhaseRun, write_json_atomic
from agents.alphaopt.solving import SolveSettings
from agents.evaluation.dataset import Item
from agents.formulation.agent import FormulationAgent


class AblationRow(BaseModel):
    """Accuracy of one setting on the eval split."""

    setting: str
    train_size: int
    insights: int
    n: int
    correct: int
    accuracy: float
    execution_rate: float
    learn_cost: float
    eval_cost: float


class AblationReport(BaseModel):
    """Accuracy of every ablation setting on the eval split, with an optional plot path."""

    rows: list[AblationRow]
    eval_items: int
    plot: str | None = None

    def table(self) -> str:
        """The rows as a markdown table."""
        lines = [
            "| setting | train items | insights | accuracy | correct / n | execution rate "
            "| learn cost $ | eval cost $ |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.setting} | {r.train_size} | {r.insights} | {r.accuracy:.1%} | "
            f"{r.correct}/{r.n} | {r.execution_rate:.1%} | {r.learn_cost:.4f} | "
            f"{r.eval_cost:.4f} |"
            for r in self.rows
        ]
        return "\n".join(lines)


def _copy_library(source: Path, target: Path) -> None:
    """Copy a live SQLite library consistently (the backup API, not a file copy)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(str(source)) as src, sqlite3.connect(str(target)) as dst:
        src.backup(dst)


def _phase_cost(run_dir: Path, phases: Sequence[str]) -> float:
    return sum(state.cost for phase in phases for state in PhaseRun(run_dir, phase).states())


def plot_ablation(report: AblationReport, path: str | Path) -> Path:
    """Accuracy against training size (after learning), the no-library and evolved points."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from agents.evaluation.plot import save_figure

    learned = [r for r in report.rows if r.setting == "after learning"]
    baseline = [r for r in report.rows if r.setting == "no library"]
    evolved = [r for r in report.rows if r.setting == "after evolution"]
    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    try:
        if baseline:
            axes.axhline(baseline[0].accuracy, color="grey", linestyle="--", label="no library")
        if learned:
            axes.plot(
                [r.train_size for r in learned],
                [r.accuracy for r in learned],
                marker="o",
                label="after learning",
            )
        if evolved:
            axes.scatter(
                [r.train_size for r in evolved],
                [r.accuracy for r in evolved],
                marker="*",
                s=160,
                color="tab:red",
                zorder=3,
                label="after evolution",
            )
        axes.set_xlabel("training items")
        axes.set_ylabel(f"accuracy on {report.eval_items} eval items")
        axes.set_ylim(0, 1.05)
        axes.set_title("AlphaOPT experience library ablation")
        axes.legend(loc="lower right")
        target = save_figure(figure, path)
    finally:
        plt.close(figure)
    return target


def run_ablation(
    train: Sequence[Item],
    eval_items: Sequence[Item],
    llm_factory: Callable[[], Any],
    run_dir: str | Path,
    *,
    sizes: Sequence[int] = (25, 50, 100),
    solve: SolveSettings | None = None,
    learn: LearnSettings | None = None,
    evolve: EvolveSettings | None = None,
    workers: int = 2,
    progress: bool = True,
    plot: bool = True,
) -> AblationReport:
    """Run (or resume) the whole ablation in ``run_dir``; see the module docstring."""
    from agents.evaluation.harness import evaluate

    root = Path(run_dir)
    solve = solve or SolveSettings()
    llm = llm_factory()
    sizes = sorted({min(size, len(train)) for size in sizes if size > 0})
    if not sizes:
        raise ValueError("give at least one training size > 0")
    rows: list[AblationRow] = []

    def run_eval(name: str, agent: FormulationAgent) -> Any:
        return evaluate(
            eval_items,
            lambda: agent,
            run_dir=root / f"eval-{name}",
            workers=workers,
            resume=True,
            tolerance=solve.tolerance,
            progress=progress,
            plot=False,
            model=getattr(llm, "model_id", None),
            solver=solve.solver,
        )

    def row(setting: str, size: int, insights: int, report: Any, learn_cost: float) -> None:
        rows.append(
            AblationRow(
                setting=setting,
                train_size=size,
                insights=insights,
                n=report.n,
                correct=report.correct,
                accuracy=report.accuracy,
                execution_rate=report.execution_rate,
                learn_cost=learn_cost,
                eval_cost=report.cost,
            )
        )

    plain = FormulationAgent(
        llm,
        solver=solve.solver,
        max_repairs=solve.max_repairs,
        describe=solve.describe,
        timeout_s=solve.timeout_s,
        memory_mb=solve.memory_mb,
    )
    row("no library", 0, 0, run_eval("no-library", plain), 0.0)
    previous: Path | None = None
    previous_size = 0
    learn_cost = 0.0
    for size in sizes:
        stage = root / f"size-{size}"
        library_path = stage / "library.sqlite"
        if previous is not None and not library_path.exists():
            _copy_library(previous, library_path)
        alpha = AlphaOpt(library_path, llm, solve=solve, learn=learn, evolve=evolve)
        alpha.learn(
            train[previous_size:size],
            stage,
            progress=progress,
            context=train[:previous_size],
            workers=workers,
        )
        learn_cost += _phase_cost(stage, ["learn"])
        row(
            "after learning",
            size,
            len(alpha.library),
            run_eval(f"size-{size}", alpha.agent()),
            learn_cost,
        )
        alpha.library.close()
        previous, previous_size = library_path, size
    assert previous is not None
    stage = root / "evolved"
    library_path = stage / "library.sqlite"
    if not library_path.exists():
        _copy_library(previous, library_path)
    alpha = AlphaOpt(library_path, llm, solve=solve, learn=learn, evolve=evolve)
    alpha.evolve(train[:previous_size], stage, progress=progress, workers=workers)
    phases = [p.name for p in stage.iterdir() if p.is_dir()]
    evolve_cost = learn_cost + _phase_cost(stage, phases)
    row(
        "after evolution",
        previous_size,
        len(alpha.library),
        run_eval("evolved", alpha.agent()),
        evolve_cost,
    )
    alpha.library.close()
    report = AblationReport(rows=rows, eval_items=len(eval_items))
    if plot:
        report.plot = str(plot_ablation(report, root / "ablation.png"))
    write_json_atomic(root / "ablation.json", report.model_dump(mode="json"))
    (root / "ablation.md").write_text(report.table() + "\n", encoding="utf-8")
    return report
