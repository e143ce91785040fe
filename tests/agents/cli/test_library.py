"""``optoforge library ...`` end to end with the scripted LLM and real sandbox solves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.alphaopt.script import MEALS, SAMPLE

LLM = "py:tests.agents.alphaopt.script:make_llm"
FAST = ["--attempts", "1", "--max-repairs", "0", "--no-progress"]


@pytest.fixture
def cli(sandbox_ready: None) -> Any:
    from typer.testing import CliRunner

    from agents.cli import create_app

    app = create_app()
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def meals_jsonl(tmp_path: Path) -> Path:
    line = next(line for line in SAMPLE.read_text().splitlines() if f'"{MEALS}"' in line)
    path = tmp_path / "meals.jsonl"
    path.write_text(line + "\n")
    return path


def test_learn_resume_show_export_import_evaluate(
    cli: Any, meals_jsonl: Path, tmp_path: Path
) -> None:
    library, run = str(tmp_path / "lib.sqlite"), str(tmp_path / "run")
    args = ["library", "learn", str(meals_jsonl), "--library", library, "--llm", LLM]
    args += ["--run-dir", run, "--verify-rounds", "1", "--json", *FAST]

    first = json.loads(cli(*args).stdout)
    again = json.loads(cli(*args).stdout)

    assert first["statuses"] == {"learned": 1} and first["library_size"] == 1
    assert first["tokens"] > 0
    assert again["statuses"] == {"learned": 1} and again["tokens"] == 0  # resumed, no calls
    shown = json.loads(cli("library", "show", "--library", library, "--json").stdout)
    assert "INTEGER-MEALS" in shown[0]["explanation"]
    taxonomy = cli("library", "show", "--library", library, "--taxonomy").stdout
    assert "Code Implementation" in taxonomy and "Integrality" in taxonomy
    cli("library", "export", str(tmp_path / "lib.json"), "--library", library)
    other = str(tmp_path / "other.sqlite")
    counts = json.loads(
        cli("library", "import", str(tmp_path / "lib.json"), "--library", other, "--json").stdout
    )
    assert counts["added"] == 1
    report = json.loads(
        cli(
            "library", "evaluate", str(meals_jsonl), "--library", library, "--llm", LLM,
            "--run-dir", str(tmp_path / "eval"), "--max-repairs", "0", "--no-progress", "--json",
        ).stdout
    )  # fmt: skip
    assert report["accuracy"] == 1.0 and report["retrieval_tokens"] > 0


def test_tag_filter_selects_items_and_refuses_an_empty_selection(
    cli: Any, meals_jsonl: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from agents.cli import create_app

    result = CliRunner().invoke(
        create_app(),
        ["library", "learn", str(meals_jsonl), "--library", str(tmp_path / "l.sqlite"),
         "--tag", "no-such-tag", "--llm", LLM, "--no-progress"],
    )  # fmt: skip

    assert result.exit_code == 2 and "no items tagged 'no-such-tag'" in result.output


def test_ablation_reports_each_setting_and_draws_a_plot(
    cli: Any, meals_jsonl: Path, tmp_path: Path
) -> None:
    run = tmp_path / "ablation"
    out = cli(
        "library", "ablate", str(meals_jsonl), str(meals_jsonl), "--sizes", "1",
        "--train-tag", "alphaopt-train",
        "--llm", LLM, "--run-dir", str(run), "--workers", "1", "--json", *FAST,
    )  # fmt: skip

    rows = {row["setting"]: row for row in json.loads(out.stdout)["rows"]}
    assert rows["no library"]["accuracy"] == 0.0
    assert rows["after learning"]["accuracy"] == 1.0 and rows["after learning"]["insights"] == 1
    assert rows["after evolution"]["accuracy"] == 1.0
    assert (run / "ablation.png").stat().st_size > 0
    assert "after evolution" in (run / "ablation.md").read_text()
