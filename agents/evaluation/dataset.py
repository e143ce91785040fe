"""Benchmark datasets: one JSON object per line, validated into :class:`Item` records.

The schema is the one of ``shared/data/formulation`` (see its README): every line is a word
problem with a gold optimal objective value, or the gold status "infeasible" / "unbounded"
for a problem that has no optimum (detecting that is scored too). Other agents (AlphaOPT,
ReSocratic) read and write the same records, so validation is strict and every error names the
file, the line and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.errors import AgentsError

GoldStatus = Literal["infeasible", "unbounded"]
GOLD_STATUSES: tuple[str, ...] = ("infeasible", "unbounded")
Gold = float | GoldStatus


class DatasetError(AgentsError, ValueError):
    """A dataset line is not a valid item; ``line`` (1-based) and ``field`` say where."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str):
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': " if field else ""
        fix = "." if line is None else ". Fix or remove that line."
        super().__init__(f"{where}: {what}{problem}{fix}")


class AltAnswer(BaseModel):
    """Another gold value for the same problem, from another source (``value`` None: no optimum)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, allow_inf_nan=False)

    value: float | None
    from_: str = Field(default="", alias="from")
    superseded: bool = False


class Item(BaseModel):
    """One benchmark problem: the question text and its gold optimal objective value."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: float | GoldStatus | None = None
    answers: list[float] | None = None
    alt_answers: list[AltAnswer] | None = None
    tags: list[str] = Field(default_factory=list)
    license: str | None = None
    group: str | None = None
    notes: str | None = None
    results: dict[str, float] | None = None
    program: str | None = None  # a reference solver program (e.g. synthesized data)
    provenance: dict[str, Any] | None = None  # how the item was made (generator, seeds, ...)

    @field_validator("answer", mode="before")
    @classmethod
    def _gold_status_words(cls, value: Any) -> Any:
        """Accept "Infeasible", " UNBOUNDED ", "12.5"; refuse other text with the fix."""
        if not isinstance(value, str):
            return value
        if value.strip().lower() in GOLD_STATUSES:
            return value.strip().lower()
        try:
            return float(value)
        except ValueError:
            raise ValueError(
                f"must be a number or one of {list(GOLD_STATUSES)}, got {value!r}"
            ) from None

    @field_validator("id", "source", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    def to_json_line(self) -> str:
        """Serialize as one JSONL line (no trailing newline), omitting unset optional fields."""
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


def parse_item(
    text: str, *, path: str | Path = "<string>", line: int | None = None, model: type[Item] = Item
) -> Item:
    """Parse one JSON line into ``model``; raises :class:`DatasetError` naming line and field."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(path, line, None, f"not valid JSON ({err.msg})") from err
    if not isinstance(data, dict):
        raise DatasetError(path, line, None, "expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        problem = first["msg"]
        if first["type"] == "extra_forbidden":
            problem = "unknown field (check its spelling)"
        raise DatasetError(path, line, field, problem) from err


def iter_dataset(path: str | Path, *, model: type[Item] = Item) -> Iterator[Item]:
    """Yield the items of a JSONL file in order; blank lines are skipped."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield parse_item(text, path=path, line=number, model=model)


def load_dataset(
    path: str | Path,
    *,
    model: type[Item] = Item,
    require_answer: bool = True,
    limit: int | None = None,
) -> list[Item]:
    """Read a whole JSONL dataset, checking ids are unique and (by default) every item has a gold.

    ``limit`` keeps the first N items. Raises :class:`DatasetError` for the first bad line and
    ``FileNotFoundError`` when the file does not exist.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"dataset not found: {path}")
    items: list[Item] = []
    seen: dict[str, int] = {}
    try:
        lines = Path(path).read_bytes().decode("utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise DatasetError(
            path, None, None, f"not UTF-8 text (byte {err.start}: {err.reason}); save it as UTF-8"
        ) from None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        item = parse_item(text, path=path, line=number, model=model)
        if item.id in seen:
            raise DatasetError(
                path, number, "id", f"duplicate id {item.id!r} (first on line {seen[item.id]})"
            )
        if require_answer and item.answer is None:
            raise DatasetError(path, number, "answer", "missing gold objective value")
        seen[item.id] = number
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    return items


def write_dataset(items: Iterable[Item], path: str | Path) -> None:
    """Write items as JSONL (used by generators of new datasets, e.g. ReSocratic synthesis)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(item.to_json_line() + "\n")
