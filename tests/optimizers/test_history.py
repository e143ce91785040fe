"""The chart of score curves that a run's history plot and the benchmarks share."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizers.history import plot_curves

PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_curves_writes_a_png_with_one_line_per_curve(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    target = plot_curves(
        {"a": [(0, 0.1), (1, 0.5)], "b": [(0, 0.2)]},
        tmp_path / "curves.png",
        xlabel="step",
        ylabel="score",
    )
    assert target == tmp_path / "curves.png"
    assert target.read_bytes().startswith(PNG)
