"""PNG bar chart of an evaluation report (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.evaluation.report import Report


def plot_report(report: Report, path: str | Path) -> Path:
    """Draw accuracy and execution rate per source (plus the overall bars) into ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    names = [*report.by_source, "all"]
    accuracy = [s.accuracy for s in report.by_source.values()] + [report.accuracy]
    execution = [s.execution_rate for s in report.by_source.values()] + [report.execution_rate]
    counts = [s.n for s in report.by_source.values()] + [report.n]
    positions = range(len(names))
    width = 0.4

    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.5))
    try:
        bars = axes.bar([p - width / 2 for p in positions], accuracy, width, label="accuracy")
        axes.bar([p + width / 2 for p in positions], execution, width, label="execution rate")
        for bar, count in zip(bars, counts, strict=True):
            axes.annotate(
                f"n={count}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        axes.set_xticks(list(positions), names, rotation=30, ha="right")
        axes.set_ylim(0, 1.1)
        axes.set_ylabel("share of items")
        title = f"{report.model or 'agent'}: accuracy {report.accuracy:.1%} over {report.n} items"
        axes.set_title(title + f"\n(tolerance {report.tolerance_rule})", fontsize=9)
        axes.legend(loc="upper right", fontsize=8)
        target = save_figure(figure, path)
    finally:
        plt.close(figure)
    return target


def save_figure(figure: Any, path: str | Path) -> Path:
    """Lay ``figure`` out and write it as a PNG at ``path`` (parent folders made); the path."""
    figure.tight_layout()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    return target
