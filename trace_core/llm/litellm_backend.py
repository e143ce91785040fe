"""The ``litellm`` backend: every provider litellm knows (``litellm:anthropic/claude-3-5-sonnet``).

litellm is an optional extra (``pip install 'optoforge[llm]'``), imported on the first request.
Before importing it we make sure it never fetches anything over the network at import time
(its model price map is read from the copy bundled with the package). Provider keys are read
by litellm from its usual environment variables (``ANTHROPIC_API_KEY``, ...). litellm's own
retries are off; the shared pipeline retries.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from trace_core.llm.backend import ChatBackend
from trace_core.llm.base import Message, RawReply, Usage
from trace_core.llm.errors import LLMConfigError, LLMOutputError
from trace_core.llm.json_modes import request_params
from trace_core.llm.openai_backend import (
    _NO_KEY,
    _StreamCollector,
    _usage,
    message_text,
    provider_errors,
)
from trace_core.llm.settings import request_timeout

_IMPORT_LOCK = threading.Lock()
# Where litellm sends a provider's requests when no api_base is given, by model prefix
# (litellm reads these variables itself; we read them too, so the cache and the JSON-mode
# memory key on the server that really answers).
_BASE_ENV: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "ollama": ("OLLAMA_API_BASE",),
    "ollama_chat": ("OLLAMA_API_BASE",),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE",),
    "lm_studio": ("LM_STUDIO_API_BASE",),
    "litellm_proxy": ("LITELLM_PROXY_API_BASE",),
}
# Providers whose servers usually run without keys (litellm still wants one for some).
_KEYLESS = frozenset({"openai", "hosted_vllm", "lm_studio", "ollama", "ollama_chat"})


def model_provider(model: str) -> str:
    """The litellm provider of ``model`` (``anthropic/claude-...`` -> anthropic; bare -> openai)."""
    prefix, sep, _ = model.partition("/")
    return prefix if sep else "openai"


def _import_litellm() -> Any:
    """Import litellm configured for offline use (no cost-map download, no telemetry)."""
    with _IMPORT_LOCK:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        try:
            import litellm
        except ImportError as err:
            raise LLMConfigError(
                "the litellm backend needs the litellm package: pip install 'optoforge[llm]' "
                "(or use openai:<model> for OpenAI and OpenAI-compatible servers)."
            ) from err
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        return litellm


class LiteLLMBackend(ChatBackend):
    """Chat completions through ``litellm.completion``.

    ``model`` is litellm's model string (``anthropic/claude-3-5-sonnet``, ``ollama/llama3``,
    ``openai/<name>`` with ``api_base`` for an OpenAI-compatible server). ``api_base`` defaults
    to the provider's base-URL variable (``OPENAI_BASE_URL`` for ``openai/`` models), read
    once here so every request, cache entry and price uses the same server. A local server
    needs no key. ``timeout`` is seconds per attempt (default ``$OPTOFORGE_LLM_TIMEOUT``
    or 60).
    """

    provider = "litellm"
    negotiates_json = True

    _PICKLE_DROP = ("_api_key",)  # never pickled; litellm reads the environment

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(model, **kw)
        if not model:
            raise LLMConfigError(
                "litellm ids name a litellm model: litellm:<provider>/<model>, "
                "e.g. litellm:anthropic/claude-3-5-sonnet"
            )
        self.api_base = api_base or base_url or _env_base(model)
        if not api_key and self.api_base and model_provider(model) in _KEYLESS:
            key_var = "OPENAI_API_KEY" if model_provider(model) == "openai" else ""
            api_key = (os.environ.get(key_var) if key_var else None) or _NO_KEY
        self._api_key = api_key
        self.timeout = request_timeout(timeout)

    def __repr__(self) -> str:
        where = f", api_base={self.api_base!r}" if self.api_base else ""
        return f"LiteLLMBackend({self.model_id!r}{where})"

    def _identity(self) -> dict[str, Any]:
        return {**super()._identity(), "api_base": self.api_base}

    def _price_key(self) -> tuple[str | None, str | None]:
        return model_provider(self.model), self.api_base

    def _params(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        params = {k: v for k, v in opts.items() if k not in ("stream", "timeout", "json_mode")}
        if schema is not None and opts.get("json_mode"):
            params.update(request_params(opts["json_mode"], schema))
        params.update(
            model=self.model,
            messages=messages,
            timeout=opts.get("timeout", self.timeout),
            num_retries=0,
            max_retries=0,
        )
        if self.api_base:
            params["api_base"] = self.api_base
        if self._api_key:
            params["api_key"] = self._api_key
        if opts.get("stream"):
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
        return params

    def _request(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        litellm = _import_litellm()
        with provider_errors(self.model_id, self._api_key):
            response = litellm.completion(**self._params(messages, opts, schema))
            if not opts.get("stream"):
                return _reply(response, self.model)
            return _StreamCollector(self.model_id, messages).join(response, self.model)

    async def _arequest(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        litellm = _import_litellm()
        with provider_errors(self.model_id, self._api_key):
            response = await litellm.acompletion(**self._params(messages, opts, schema))
            if not opts.get("stream"):
                return _reply(response, self.model)
            return await _StreamCollector(self.model_id, messages).ajoin(response, self.model)


def _reply(response: Any, model: str) -> RawReply:
    try:
        data = response.model_dump() if hasattr(response, "model_dump") else dict(response)
        choice = data["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError(f"message is {type(message).__name__}, not an object")
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise LLMOutputError(
            f"litellm returned no usable choice for {model}",
            raw_text=str(response)[:2000],
            reason="malformed response",
        ) from err
    usage = _usage(data.get("usage")) if data.get("usage") else Usage()
    return RawReply(
        text=message_text(message),
        usage=usage,
        model=str(data.get("model") or model),
        finish_reason=choice.get("finish_reason"),
    )


def _env_base(model: str) -> str | None:
    for var in _BASE_ENV.get(model_provider(model), ()):
        value = os.environ.get(var)
        if value:
            return value
    return None
