"""Dataset loading: the shipped sample, the shared dev split, and errors naming line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.evaluation.dataset import DatasetError, Item, load_dataset, write_dataset

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "examples" / "data" / "sample.jsonl"
DEV = Path("/work/shared/data/formulation/dev.jsonl")

GOOD = {"id": "t-1", "source": "Test", "question": "Maximize x with x <= 3.", "answer": 3.0}


def _write(tmp_path: Path, rows: list[object]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text(
        "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
    )
    return path


def test_shipped_sample_is_small_licensed_and_undisputed() -> None:
    items = load_dataset(SAMPLE)
    assert 0 < len(items) <= 50
    assert all(item.license for item in items)
    assert not any("gold-disputed" in item.tags for item in items)
    assert len({item.source for item in items}) >= 5


@pytest.mark.skipif(not DEV.exists(), reason="shared dev split not present")
def test_shared_dev_split_loads_every_line() -> None:
    items = load_dataset(DEV)
    assert len(items) == 851
    multi = {item.id: item.answers for item in items if item.answers}
    assert multi["optibench-23"] == [30800.0, 35000.0]


def test_limit_keeps_the_first_items(tmp_path: Path) -> None:
    rows = [{**GOOD, "id": f"t-{k}"} for k in range(5)]
    assert [item.id for item in load_dataset(_write(tmp_path, rows), limit=2)] == ["t-0", "t-1"]


@pytest.mark.parametrize(
    ("bad_row", "field", "phrase"),
    [
        ({**GOOD, "answer": "lots"}, "answer", "number"),
        ({k: v for k, v in GOOD.items() if k != "question"}, "question", "required"),
        ({**GOOD, "anwser": 3.0}, "anwser", "unknown field"),
        ({**GOOD, "tags": "linear"}, "tags", "list"),
        ({**GOOD, "alt_answers": [{"value": "x", "from": "y"}]}, "alt_answers.0.value", "number"),
        ({**GOOD, "answer": None}, "answer", "missing gold"),
        ({**GOOD, "id": "  "}, "id", "blank"),
    ],
)
def test_bad_line_error_names_line_and_field(
    tmp_path: Path, bad_row: dict[str, object], field: str, phrase: str
) -> None:
    path = _write(tmp_path, [{**GOOD, "id": "t-0"}, {**GOOD, "id": "t-2"}, bad_row])
    with pytest.raises(DatasetError) as caught:
        load_dataset(path)
    assert (caught.value.line, caught.value.field) == (3, field)
    assert f"{path}:3: field '{field}'" in str(caught.value)
    assert phrase in str(caught.value).lower()


def test_invalid_json_and_duplicate_ids_are_reported_by_line(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r":2: not valid JSON"):
        load_dataset(_write(tmp_path, [GOOD, '{"id": "t-2", ']))
    with pytest.raises(
        DatasetError, match=r":3: field 'id': duplicate id 't-1' \(first on line 1\)"
    ):
        load_dataset(_write(tmp_path, [GOOD, "", GOOD]))


def test_items_round_trip_through_jsonl(tmp_path: Path) -> None:
    item = Item.model_validate(
        {
            **GOOD,
            "alt_answers": [{"value": None, "from": "other"}],
            "tags": ["linear"],
            "results": {"x": 3.0},
        }
    )
    path = tmp_path / "out.jsonl"
    write_dataset([item], path)
    assert load_dataset(path) == [item]
    assert '"from": "other"' in path.read_text()


@pytest.mark.parametrize(
    ("written", "gold"),
    [("infeasible", "infeasible"), ("Infeasible", "infeasible"), (" UNBOUNDED ", "unbounded")],
)
def test_infeasible_and_unbounded_golds_load_and_round_trip(
    tmp_path: Path, written: str, gold: str
) -> None:
    path = _write(tmp_path, [{**GOOD, "answer": written}])
    (item,) = load_dataset(path)
    assert item.answer == gold
    write_dataset([item], path)
    assert load_dataset(path)[0].answer == gold


def test_numeric_text_gold_still_reads_as_a_number(tmp_path: Path) -> None:
    (item,) = load_dataset(_write(tmp_path, [{**GOOD, "answer": "12.5"}]))
    assert item.answer == 12.5
