"""`optoforge solve` and `optoforge tune-stream` on real model files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("highspy")

from typer.testing import CliRunner

from agents.cli import create_app
from agents.solvers.alns import set_cover

pytestmark = pytest.mark.solver
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cli_app():
    return create_app()


def _write(path: Path, seed: int, rows: int = 30, cols: int = 60) -> Path:
    path.write_text(set_cover(n_rows=rows, n_cols=cols, density=0.1, seed=seed).model_dump_json())
    return path


def _tune_stream(cli_app, folder: Path, mode: str) -> dict:
    """Run ``tune-stream`` over ``folder`` with the HiGHS settings and return its JSON report."""
    args = ["tune-stream", str(folder), "--backends", "highs", "--time-limit", "5", "--json", mode]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_solve_json_prints_only_the_report_on_stdout(tmp_path: Path) -> None:
    """Solver banners must not reach stdout with --json (a real child process, real fd 1)."""
    model = _write(tmp_path / "cover.json", seed=1)
    proc = subprocess.run(
        [sys.executable, "-m", "agents.cli", "solve", str(model), "--time-limit", "10", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "optimal"
    assert report["objective"] > 0


def test_solve_with_alns_reports_gap_and_operators(tmp_path: Path, cli_app) -> None:
    pytest.importorskip("alns")
    pytest.importorskip("mabwiser")
    model = _write(tmp_path / "cover.json", seed=2, rows=60, cols=150)
    result = CliRunner().invoke(
        cli_app, ["solve", str(model), "--alns", "--time-limit", "5", "--json", "--values"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["engine"] == "optoforge"
    assert report["gap"] is not None and report["gap"] >= 0
    assert set(report["operators"]) >= {"rins", "local_branching", "proximity"}
    assert len(report["values"]) == 150


def test_solve_refuses_an_unknown_file_type_with_a_fix(tmp_path: Path, cli_app) -> None:
    bad = tmp_path / "model.txt"
    bad.write_text("min x")
    result = CliRunner().invoke(cli_app, ["solve", str(bad), "--json"])
    assert result.exit_code == 2
    assert ".mps" in json.loads(result.stdout)["error"]


def test_tune_stream_reports_choices_and_regret(tmp_path: Path, cli_app) -> None:
    pytest.importorskip("mabwiser")
    for seed in range(3):
        _write(tmp_path / f"cover{seed}.json", seed=seed)
    report = _tune_stream(cli_app, tmp_path, "--hindsight")
    assert [r["file"] for r in report["instances"]] == [f"cover{s}.json" for s in range(3)]
    assert {r["setting"] for r in report["instances"]} <= {
        "highs-default",
        "highs-heuristic-heavy",
        "highs-no-presolve",
    }
    best = report["best_fixed"]
    assert best["setting"] in {"highs-default", "highs-heuristic-heavy", "highs-no-presolve"}
    assert report["regret"] == pytest.approx(report["total_cost"] - best["total_cost"], abs=0.01)


def test_contextual_tune_stream_picks_a_setting_per_instance(tmp_path: Path, cli_app) -> None:
    pytest.importorskip("mabwiser")
    for seed in range(4):
        _write(tmp_path / f"cover{seed}.json", seed=seed, rows=20 + 10 * seed, cols=50)
    report = _tune_stream(cli_app, tmp_path, "--contextual")
    assert len(report["instances"]) == 4
    # The first instances are a round robin over the three HiGHS settings.
    assert [r["setting"] for r in report["instances"][:3]] == [
        "highs-default",
        "highs-heuristic-heavy",
        "highs-no-presolve",
    ]
    assert all(r["cost"] < 10 for r in report["instances"])  # all solved, none hit PAR2
