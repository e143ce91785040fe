"""Registering the CLI command and importing the pipeline load no heavy library."""

from __future__ import annotations

from tests.import_probe import modules_loaded_by


def test_pipeline_and_command_imports_are_light() -> None:
    loaded = modules_loaded_by(
        "import agents.resocratic, agents.cli.synthesize, agents.resocratic.pipeline"
    )
    assert sorted({"sklearn", "pyscipopt", "openai", "litellm", "torch"} & loaded) == []
