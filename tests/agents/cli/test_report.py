"""``optoforge report`` and ``optoforge track`` from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agents.cli import create_app
from tests.agents.reporting.runs import evaluation_run


def test_report_writes_the_page_into_the_run_dir_and_prints_its_path(tmp_path: Path) -> None:
    run = evaluation_run(tmp_path)
    result = CliRunner().invoke(create_app(), ["report", str(run)])
    assert result.exit_code == 0, result.output
    page = run / "report.html"
    assert result.stdout.strip() == str(page)
    html = page.read_text()
    assert 'data-chart="curves"' in html and "item-4" in html


def test_report_on_a_directory_without_a_run_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(create_app(), ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {tmp_path} holds no optoforge run (looked for history.jsonl, results.jsonl, "
        "per-item library records and *.state.jsonl)"
    ]
