"""The GEPA-vs-OptoPrime benchmark's task runs for both optimizers (numbers live in bench/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.scripts import load_script


def _load() -> Any:
    return load_script("bench/gepa_optoprime.py", "bench_gepa_optoprime")


def test_bench_task_is_learnable_by_both_optimizers() -> None:
    pytest.importorskip("gepa", reason="GEPA needs the `gepa` extra")
    bench = _load()
    assert bench.DATA[2] == ("-4", (0.0, ["nonneg"]))
    for name in ("optoprime", "gepa"):
        result = bench.run(name, seed=0, steps=12, batch_size=3)
        assert result["start"] == 0.25
        assert result["best"] == 1.0, name
        assert 1 <= result["calls"] <= 12 and len(result["curve"]) == 12


def test_bench_comparison_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    runs = [{"curve": [(1, 0, 0.25), (3, 1, 1.0)]}, {"curve": [(2, 0, 0.5)]}]
    _load().plot({"optoprime": runs, "gepa": runs}, 2, str(tmp_path / "bench.png"))
    assert (tmp_path / "bench.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
