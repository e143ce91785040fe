"""`optoforge demo` runs an example and says which model it used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents.cli import demo as demo_module


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(demo_module, "_local_llm", lambda: None)
    app = typer.Typer()
    demo_module.register(app)

    @app.command()
    def _other() -> None:  # a second command keeps typer in multi-command mode
        """Unused."""

    return app


def test_demo_without_a_model_says_it_uses_a_stand_in_and_how_to_use_a_real_one(
    app: typer.Typer,
) -> None:
    result = CliRunner().invoke(app, ["demo", "--example", "numeric"])
    assert result.exit_code == 0, result.output
    assert "scripted stand-in" in result.stderr
    assert "--llm" in result.stderr and "OPTOFORGE_LLM" in result.stderr
    assert json.loads(result.stdout)["hit"] is True


def test_demo_uses_optoforge_llm_when_set(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[str | None] = []

    def fake_get_llm(model_id: str | None = None) -> None:
        chosen.append(model_id)
        raise SystemExit(3)

    monkeypatch.setenv("OPTOFORGE_LLM", "openai:gpt-4o-mini")
    monkeypatch.setattr("trace_core.llm.get_llm", fake_get_llm)
    result = CliRunner().invoke(app, ["demo"])
    assert chosen == ["openai:gpt-4o-mini"]
    assert result.exit_code == 3


def test_demo_rejects_an_unknown_example(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["demo", "--example", "nope"])
    assert result.exit_code != 0
    assert "numeric" in result.output


def test_demo_falls_back_to_the_stand_in_when_the_local_model_fails_to_load(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trace_core.llm import LLMConfigError

    def broken() -> None:
        raise LLMConfigError("weights missing")

    monkeypatch.setattr(demo_module, "_local_llm", broken)
    result = CliRunner().invoke(app, ["demo", "--example", "code"])
    assert result.exit_code == 0, result.output
    assert "failed to load (weights missing)" in result.stderr
    assert json.loads(result.stdout)["passed"] == 5


@pytest.mark.solver
@pytest.mark.slow
def test_default_demo_trains_the_formulation_program_in_the_labelled_scripted_world(
    app: typer.Typer, tmp_path: Path
) -> None:
    pytest.importorskip("pyscipopt")
    result = CliRunner().invoke(app, ["demo", "--run-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "No capable model" in line]
    assert len(notes) == 1 and "SCRIPTED WORLD" in notes[0]
    assert "world: scripted" in result.stdout
    assert "validation accuracy: 0% -> 100%" in result.stdout
    assert "+- Declare integer variables for indivisible counts" in result.stdout
    assert (tmp_path / "best.json").is_file()
