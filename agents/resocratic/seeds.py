"""Seed scenarios (formatted demonstrations) and the sampling plan over 1- and 2-seed combinations.

A seed file is JSONL, one seed a line: ``{"id": "...", "type": "linear" | "nonlinear",
"demonstration": "<formatted demonstration text>"}``. The shipped pool lives in
``agents/resocratic/data/seeds.jsonl``. Every error names the file and the line.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.errors import AgentsError
from agents.resocratic.demonstration import DemonstrationError, validate

SeedType = Literal["linear", "nonlinear"]


class SeedFileError(AgentsError, ValueError):
    """A seed file line is not a valid seed; the message names the file and line."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        where = str(path) if line is None else f"{path}:{line}"
        self.path, self.line = str(path), line
        super().__init__(f"{where}: {problem}. Fix or remove that line.")


class Seed(BaseModel):
    """One seed scenario: a formatted demonstration used as a few-shot example."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    type: SeedType
    demonstration: str = Field(min_length=1)


def load_seeds(path: str | Path) -> list[Seed]:
    """Read and validate a JSONL seed file (each demonstration must pass the format validator)."""
    path = Path(path)
    if not path.is_file():
        raise SeedFileError(path, None, "no such seed file")
    return _parse_lines(path.read_text(encoding="utf-8").splitlines(), path)


def builtin_seeds() -> list[Seed]:
    """The shipped seed pool."""
    text = resources.files("agents.resocratic").joinpath("data", "seeds.jsonl").read_text("utf-8")
    return _parse_lines(text.splitlines(), "agents/resocratic/data/seeds.jsonl")


def _parse_lines(lines: Iterable[str], path: str | Path) -> list[Seed]:
    seeds: list[Seed] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            seed = Seed.model_validate(json.loads(line))
        except json.JSONDecodeError as err:
            raise SeedFileError(path, number, f"not valid JSON ({err.msg})") from err
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "line"
            raise SeedFileError(path, number, f"field '{field}': {first['msg']}") from err
        try:
            _, truncated = validate(seed.demonstration)
        except DemonstrationError as err:
            raise SeedFileError(path, number, f"demonstration: {err}") from err
        if truncated:
            raise SeedFileError(path, number, f"demonstration: {truncated}")
        if seed.id in seen:
            raise SeedFileError(path, number, f"duplicate id {seed.id!r} (line {seen[seed.id]})")
        seen[seed.id] = number
        seeds.append(seed)
    if not seeds:
        raise SeedFileError(path, None, "holds no seeds")
    return seeds


def combinations(seeds: list[Seed]) -> list[tuple[Seed, ...]]:
    """Every 1- and 2-seed combination within each type, singles listed twice.

    ReSocratic samples 100 scenarios per single seed and 50 per pair; listing singles twice
    keeps that 2:1 weight in a round-robin plan.
    """
    combos: list[tuple[Seed, ...]] = []
    for kind in ("linear", "nonlinear"):
        pool = [s for s in seeds if s.type == kind]
        combos.extend((s,) for s in pool for _ in range(2))
        combos.extend(itertools.combinations(pool, 2))
    return combos


def plan(seeds: list[Seed], task: int, *, seed: int = 0) -> tuple[Seed, ...]:
    """The seed combination of task number ``task``: a reshuffled round-robin, deterministic."""
    combos = combinations(seeds)
    rounds, offset = divmod(task, len(combos))
    order = list(range(len(combos)))
    random.Random(f"{seed}:{rounds}").shuffle(order)
    return combos[order[offset]]
