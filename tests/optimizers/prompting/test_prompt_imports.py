"""The prompting package and its CLI module import no heavy library and register `prompt`."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.import_probe import modules_loaded_by

HEAVY = {"torch", "openai", "litellm", "ray", "matplotlib"}


def test_prompting_imports_load_no_heavy_library() -> None:
    code = "import optimizers.prompting.schedule, optimizers.prompting.ablation, agents.cli.prompt"
    assert not HEAVY & modules_loaded_by(code)


def test_optoforge_lists_the_prompt_commands() -> None:
    from agents.cli import create_app

    result = CliRunner().invoke(create_app(), ["prompt", "--help"])
    assert result.exit_code == 0
    assert "optimize" in result.output and "ablate" in result.output
