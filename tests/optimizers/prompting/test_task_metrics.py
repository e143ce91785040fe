"""Task files, the seeded split and the metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from optimizers.prompting import MetricError, TaskFileError, load_metric, load_task, split_task


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_task_file_reads_items_and_keeps_extra_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.jsonl",
        [
            '{"input": "a", "output": "A", "type": "upper"}',
            "",
            "# comment",
            '{"input": {"x": 1}, "output": 2}',
        ],
    )
    items = load_task(path)
    assert [(i.input, i.output) for i in items] == [("a", "A"), ({"x": 1}, 2)]
    assert items[0].meta == {"type": "upper"} and items[1].line == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "t.jsonl:2: not valid JSON"),
        ('{"input": "b"}', "t.jsonl:2: missing output"),
        ('["a", "b"]', "t.jsonl:2: expected an object"),
    ],
)
def test_task_file_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "t.jsonl", ['{"input": "a", "output": "A"}', line])
    with pytest.raises(TaskFileError, match=message):
        load_task(path)


def test_split_is_a_function_of_the_seed(tmp_path: Path) -> None:
    rows = [json.dumps({"input": str(i), "output": str(i)}) for i in range(20)]
    items = load_task(_write(tmp_path / "t.jsonl", rows))
    a, b, c = (split_task(items, seed=s) for s in (1, 1, 2))
    assert a == b and a != c
    assert (len(a.train), len(a.val), len(a.test)) == (10, 5, 5)
    assert {i.input for i in a.train + a.val + a.test} == {str(i) for i in range(20)}


def test_builtin_metrics() -> None:
    exact, contains = load_metric("exact"), load_metric("contains")
    assert exact("  CAT \n", "CAT") == 1.0 and exact("CAT!", "CAT") == 0.0
    assert contains("so the answer is Cat.", "cat") == 1.0 and contains("dog", "cat") == 0.0
    assert exact("12", 12) == 1.0


def test_python_metric_is_loaded_from_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_metric_mod.py").write_text(
        "def starts(prediction, expected):\n    return prediction.startswith(expected)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_metric_mod", raising=False)
    metric = load_metric("python:my_metric_mod.starts")
    assert metric("CAT and more", "CAT") == 1.0 and metric("x", "CAT") == 0.0


def test_unknown_metric_says_what_to_use() -> None:
    with pytest.raises(MetricError, match="exact, contains"):
        load_metric("fuzzy")
    with pytest.raises(MetricError, match="cannot import"):
        load_metric("python:no_such_module_xyz.fn")
