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
from trace_core.llm.errors import LLMConfigError, LLMError, LLMOutputError
from trace_core.llm.openai_backend import _StreamCollector, _usage, map_provider_error

_IMPORT_LOCK = threading.Lock()


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
    ``openai/<name>`` with ``api_base`` for an OpenAI-compatible server). ``api_key`` and
    ``api_base`` are passed through when given; ``timeout`` is seconds per attempt.
    """

    provider = "litellm"

    _PICKLE_DROP = ("_api_key",)  # never pickled; litellm reads the environment

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        **kw: Any,
    ) -> None:
        super().__init__(model, **kw)
        if not model:
            raise LLMConfigError(
                "litellm ids name a litellm model: litellm:<provider>/<model>, "
                "e.g. litellm:anthropic/claude-3-5-sonnet"
            )
        self._api_key = api_key
        self.api_base = api_base or base_url
        self.timeout = timeout

    def __repr__(self) -> str:
        where = f", api_base={self.api_base!r}" if self.api_base else ""
        return f"LiteLLMBackend({self.model_id!r}{where})"

    def _identity(self) -> dict[str, Any]:
        return {**super()._identity(), "api_base": self.api_base}

    def _params(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        params = {k: v for k, v in opts.items() if k not in ("stream", "timeout")}
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
        try:
            response = litellm.completion(**self._params(messages, opts, schema))
            if opts.get("stream"):
                collector = _StreamCollector()
                for chunk in response:
                    collector.add(chunk)
                return collector.reply(self.model)
            return _reply(response, self.model)
        except LLMError:
            raise
        except Exception as err:
            raise map_provider_error(err, self.model_id, self._api_key) from err

    async def _arequest(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        litellm = _import_litellm()
        try:
            response = await litellm.acompletion(**self._params(messages, opts, schema))
            if opts.get("stream"):
                collector = _StreamCollector()
                async for chunk in response:
                    collector.add(chunk)
                return collector.reply(self.model)
            return _reply(response, self.model)
        except LLMError:
            raise
        except Exception as err:
            raise map_provider_error(err, self.model_id, self._api_key) from err


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
    text = message.get("content")
    if text is None:
        text = message.get("refusal") or ""
    usage = _usage(data.get("usage")) if data.get("usage") else Usage()
    return RawReply(
        text=str(text),
        usage=usage,
        model=str(data.get("model") or model),
        finish_reason=choice.get("finish_reason"),
    )
