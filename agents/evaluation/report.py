"""The evaluation report: accuracy, execution rate, repairs, tokens, cost, per source and tag."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, Field

from agents.evaluation.results import ItemResult
from agents.evaluation.scoring import Tolerance


class GroupStats(BaseModel):
    """Accuracy and execution rate of a subset of items (one source or one tag)."""

    n: int
    correct: int
    accuracy: float
    execution_rate: float


class Report(BaseModel):
    """Summary of one evaluation run; ``--json`` prints exactly this object."""

    n: int = Field(description="items with a result")
    correct: int
    accuracy: float
    execution_rate: float = Field(description="share of items whose final program ran cleanly")
    repairs: int = Field(description="repair rounds used, summed over items")
    repaired_items: int = Field(description="items that needed at least one repair")
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost: float
    outcomes: dict[str, int]
    by_source: dict[str, GroupStats]
    by_tag: dict[str, GroupStats]
    tolerance: Tolerance
    tolerance_rule: str
    alt_correct: int = Field(description="wrong items that match an alternative gold value")
    dataset: str | None = None
    total: int | None = Field(default=None, description="items selected from the dataset")
    complete: bool = True
    run_dir: str | None = None
    model: str | None = None
    solver: str | None = None


def _stats(records: list[ItemResult]) -> GroupStats:
    n = len(records)
    correct = sum(record.correct for record in records)
    executed = sum(record.executed for record in records)
    return GroupStats(
        n=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        execution_rate=executed / n if n else 0.0,
    )


def build_report(
    records: Iterable[ItemResult],
    *,
    tolerance: Tolerance,
    dataset: str | None = None,
    total: int | None = None,
    run_dir: str | None = None,
    model: str | None = None,
    solver: str | None = None,
) -> Report:
    """Aggregate per-item results (sorted by id so the report does not depend on run order)."""
    items = sorted(records, key=lambda record: record.id)
    overall = _stats(items)
    sources: dict[str, list[ItemResult]] = defaultdict(list)
    tags: dict[str, list[ItemResult]] = defaultdict(list)
    for record in items:
        sources[record.source].append(record)
        for tag in record.tags:
            tags[tag].append(record)
    return Report(
        n=overall.n,
        correct=overall.correct,
        accuracy=overall.accuracy,
        execution_rate=overall.execution_rate,
        repairs=sum(record.repairs for record in items),
        repaired_items=sum(record.repairs > 0 for record in items),
        prompt_tokens=sum(record.prompt_tokens for record in items),
        completion_tokens=sum(record.completion_tokens for record in items),
        tokens=sum(record.tokens for record in items),
        cost=round(sum(record.cost for record in items), 6),
        outcomes=dict(sorted(Counter(str(record.outcome) for record in items).items())),
        by_source={name: _stats(group) for name, group in sorted(sources.items())},
        by_tag={name: _stats(group) for name, group in sorted(tags.items())},
        tolerance=tolerance,
        tolerance_rule=tolerance.describe(),
        alt_correct=sum(record.alt_match and not record.correct for record in items),
        dataset=dataset,
        total=total,
        complete=total is None or overall.n >= total,
        run_dir=run_dir,
        model=model,
        solver=solver,
    )


def render_text(report: Report) -> str:
    """Plain-text report (markdown tables) for terminals, logs and READMEs."""
    lines = [
        f"items: {report.n}" + (f" of {report.total}" if report.total is not None else ""),
        f"accuracy: {report.accuracy:.1%} ({report.correct}/{report.n})",
        f"execution rate: {report.execution_rate:.1%}",
        f"repairs: {report.repairs} (items repaired: {report.repaired_items})",
        f"tokens: {report.tokens} (prompt {report.prompt_tokens}, "
        f"completion {report.completion_tokens}); cost: ${report.cost:.4f}",
        "outcomes: " + ", ".join(f"{name} {count}" for name, count in report.outcomes.items()),
        f"tolerance: {report.tolerance_rule}",
    ]
    if report.alt_correct:
        lines.append(f"wrong but matching an alternative gold: {report.alt_correct}")
    for title, table in (("source", report.by_source), ("tag", report.by_tag)):
        if not table:
            continue
        lines += [
            "",
            f"| {title} | n | correct | accuracy | execution rate |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {s.n} | {s.correct} | {s.accuracy:.1%} | {s.execution_rate:.1%} |"
            for name, s in table.items()
        ]
    return "\n".join(lines)
