"""Model ids, configuration errors that say how to fix them, and lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from trace_core.llm import LLMConfigError, default_llm, get_llm, parse_model_id
from trace_core.llm.openai_backend import OpenAIBackend

pytestmark = pytest.mark.llm


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("litellm:anthropic/claude-3-5-sonnet", ("litellm", "anthropic/claude-3-5-sonnet")),
        ("openai:llama3.1:8b", ("openai", "llama3.1:8b")),
        ("local:smollm2", ("local", "smollm2")),
    ],
)
def test_ids_split_at_the_first_colon(model_id: str, expected: tuple[str, str]) -> None:
    assert parse_model_id(model_id) == expected


def test_unknown_provider_lists_the_known_ones_and_how_to_configure() -> None:
    with pytest.raises(LLMConfigError) as caught:
        get_llm("nosuch:model")
    message = str(caught.value)
    assert "nosuch" in message and "openai" in message and "OPTOFORGE_LLM" in message


def test_id_without_provider_is_a_config_error() -> None:
    with pytest.raises(LLMConfigError, match="provider:model"):
        get_llm("gpt-4o-mini")


def test_missing_openai_key_says_which_variable_to_set() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        get_llm("openai:gpt-4o-mini")


def test_default_comes_from_optoforge_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOFORGE_LLM", "openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = get_llm()
    assert isinstance(llm, OpenAIBackend) and llm.model_id == "openai:gpt-4o-mini"


def test_no_id_and_no_env_explains_every_way_to_configure() -> None:
    with pytest.raises(LLMConfigError) as caught:
        get_llm()
    message = str(caught.value)
    for hint in ("OPTOFORGE_LLM", "OPENAI_API_KEY", "OPENAI_BASE_URL", "litellm:", "local:smollm2"):
        assert hint in message


def test_default_llm_without_env_or_local_model_says_how_to_get_either(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trace_core.llm.registry as registry

    monkeypatch.setattr(registry, "local_model_available", lambda: False)
    with pytest.raises(LLMConfigError) as caught:
        default_llm()
    message = str(caught.value)
    assert "optoforge[local]" in message and "OPTOFORGE_LLM" in message


def test_default_llm_prefers_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOFORGE_LLM", "openai:x")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    assert default_llm().model_id == "openai:x"


def test_json_mode_is_validated() -> None:
    with pytest.raises(LLMConfigError, match="json_mode"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", json_mode="xml")


def test_importing_the_llm_layer_loads_no_provider_sdk() -> None:
    code = (
        "import sys, trace_core.llm as l; "
        "l.get_llm('scripted:x', replies=['a']).complete([{'role':'user','content':'q'}]); "
        "l.Completion, l.Budget, l.ReplyCache, l.Limiter, l.RetryPolicy; "
        "l.get_llm('openai:m', base_url='http://127.0.0.1:1/v1'); "
        "print(','.join(m for m in ('openai', 'litellm', 'llama_cpp') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_default_llm_falls_back_to_the_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import trace_core.llm.registry as registry

    monkeypatch.setattr(registry, "local_model_available", lambda: True)
    assert default_llm().model_id == "local:smollm2"


def test_default_llm_takes_an_explicit_cli_choice_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTOFORGE_LLM", "local:smollm2")
    llm = default_llm("openai:m", base_url="http://127.0.0.1:1/v1")
    assert llm.model_id == "openai:m"
