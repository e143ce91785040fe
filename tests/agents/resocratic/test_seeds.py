"""Seed files: shipped pool, line-numbered errors, and the 1-/2-seed sampling plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.resocratic.seeds import SeedFileError, builtin_seeds, combinations, load_seeds, plan
from tests.agents.resocratic.scripted import seed_file


def test_shipped_pool_is_varied() -> None:
    seeds = builtin_seeds()
    assert 15 <= len(seeds) <= 25
    assert {s.type for s in seeds} == {"linear", "nonlinear"}
    assert len({s.id for s in seeds}) == len(seeds)


def test_combinations_weight_singles_twice_and_pair_within_type() -> None:
    seeds = builtin_seeds()[:3]  # three linear seeds
    combos = combinations(seeds)
    assert len(combos) == 3 * 2 + 3
    assert all(len({s.type for s in c}) == 1 for c in combos)


def test_plan_is_deterministic_and_covers_a_round() -> None:
    seeds = builtin_seeds()
    first = [plan(seeds, k) for k in range(len(combinations(seeds)))]
    again = [plan(seeds, k) for k in range(len(combinations(seeds)))]
    assert first == again
    assert sorted(map(str, first)) == sorted(map(str, combinations(seeds)))


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_user_seed_file_loads(tmp_path: Path) -> None:
    seeds = load_seeds(seed_file(tmp_path / "seeds.jsonl"))
    assert [s.id for s in seeds] == ["bakery-mix", "feed-blend"]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "seeds.jsonl:2: not valid JSON"),
        ('{"id": "x", "type": "linear"}', "seeds.jsonl:2: field 'demonstration'"),
        ('{"id": "x", "type": "convex", "demonstration": "## Scenario"}', "field 'type'"),
        ('{"id": "x", "type": "linear", "demonstration": "## Scenario\\nhi"}', ":2: demonstration"),
    ],
)
def test_seed_file_errors_name_the_line(tmp_path: Path, bad_line: str, message: str) -> None:
    good = json.dumps(builtin_seeds()[0].model_dump())
    path = _write(tmp_path / "seeds.jsonl", [good, bad_line])
    with pytest.raises(SeedFileError, match=message):
        load_seeds(path)


def test_duplicate_seed_id_names_both_lines(tmp_path: Path) -> None:
    good = json.dumps(builtin_seeds()[0].model_dump())
    path = _write(tmp_path / "seeds.jsonl", [good, "", good])
    with pytest.raises(SeedFileError, match=r"seeds.jsonl:3: duplicate id .* \(line 1\)"):
        load_seeds(path)
