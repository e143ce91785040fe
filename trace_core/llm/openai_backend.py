"""The ``openai`` backend: the openai SDK against OpenAI or any OpenAI-compatible server.

``base_url`` (or ``OPENAI_BASE_URL``) points it at llama.cpp's server, vLLM, ollama, LM Studio
or a proxy; a key is then optional. The SDK's own retries are off: retries, caching and budgets
are the shared pipeline's job (`ChatBackend`). The SDK is imported on first request, never at
import or construction.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import threading
import weakref
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from trace_core.llm.backend import ChatBackend
from trace_core.llm.base import Message, RawReply, Usage, estimate_tokens, messages_text
from trace_core.llm.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMError,
    LLMOutputError,
    LLMRateLimited,
    LLMRequestError,
    LLMTransientError,
)
from trace_core.llm.json_modes import request_params
from trace_core.llm.retry import RETRYABLE_STATUS, parse_retry_after
from trace_core.llm.settings import request_timeout

if TYPE_CHECKING:
    import openai

_NO_KEY = "not-needed"  # OpenAI-compatible local servers accept any key


class OpenAIBackend(ChatBackend):
    """Chat completions through the openai SDK.

    ``api_key`` defaults to ``OPENAI_API_KEY``; ``base_url`` to ``OPENAI_BASE_URL`` (the OpenAI
    API when unset; a key is then optional). ``timeout`` is seconds per attempt (default
    ``$OPTOFORGE_LLM_TIMEOUT`` or 60). Structured requests negotiate how to ask for JSON with
    each server (`trace_core.llm.json_modes`); ``json_mode=`` pins one.
    """

    provider = "openai"
    negotiates_json = True

    # A copy makes its own HTTP clients; pickle never writes the key (it is read from the env).
    _COPY_RESET: ClassVar[dict[str, Callable[[], Any]]] = {
        "_client": lambda: None,
        "_aclients": weakref.WeakKeyDictionary,
    }
    _PICKLE_DROP = ("_api_key",)

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        json_mode: str | None = None,
        organization: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(model, json_mode=json_mode, **kw)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key and self.base_url is None:
            raise LLMConfigError(
                f"model {self.model_id!r} needs an OpenAI API key: set OPENAI_API_KEY, or point "
                "at an OpenAI-compatible server with OPENAI_BASE_URL=http://host:port/v1 "
                "(base_url=...), or use another provider (OPTOFORGE_LLM=litellm:<model>, "
                "OPTOFORGE_LLM=local:smollm2)."
            )
        self._api_key = key or _NO_KEY
        self.timeout = request_timeout(timeout)
        self.organization = organization
        self._client: openai.OpenAI | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._client_lock = threading.Lock()

    def _key_from_env(self) -> str:
        return os.environ.get("OPENAI_API_KEY") or _NO_KEY

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"OpenAIBackend({self.model_id!r}{where})"  # never the key

    def _identity(self) -> dict[str, Any]:
        return {**super()._identity(), "base_url": self.base_url}

    def _price_key(self) -> tuple[str | None, str | None]:
        return "openai", self.base_url

    # -- clients (created on first use) ----------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        """What the sync and the async SDK client are built with (the SDK does not retry)."""
        return {
            "api_key": self._api_key,
            "base_url": self.base_url,
            "organization": self.organization,
            "timeout": self.timeout,
            "max_retries": 0,
        }

    def _sync_client(self) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                self._client = _import_openai().OpenAI(**self._client_options())
            return self._client

    def _async_client(self) -> openai.AsyncOpenAI:
        # An async HTTP pool belongs to the loop that opened it: one client per running loop.
        loop = asyncio.get_running_loop()
        with self._client_lock:
            client = self._aclients.get(loop)
            if client is None:
                client = _import_openai().AsyncOpenAI(**self._client_options())
                self._aclients[loop] = client
            return client

    # -- transport ------------------------------------------------------------------------------

    def _params(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in opts.items():
            if key in ("stream", "timeout", "json_mode"):
                continue
            # Options the SDK does not name (repeat_penalty, top_k for vLLM or llama.cpp)
            # go into the body as they are, as OpenAI-compatible servers expect them.
            (params if key in _sdk_params() else extra)[key] = value
        if extra:
            params["extra_body"] = {**params.get("extra_body", {}), **extra}
        params["model"] = self.model
        params["messages"] = messages
        if self.base_url is None and "max_tokens" in params:
            # OpenAI's own API takes max_completion_tokens on every model (o-series reject
            # max_tokens); compatible servers know only max_tokens.
            params["max_completion_tokens"] = params.pop("max_tokens")
        if schema is not None and opts.get("json_mode"):
            params.update(request_params(opts["json_mode"], schema))
        if "timeout" in opts:
            params["timeout"] = opts["timeout"]
        if opts.get("stream"):
            params.update(stream=True, stream_options={"include_usage": True})
        return params

    def _request(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        completions = self._sync_client().chat.completions
        params = self._params(messages, opts, schema)
        with provider_errors(self.model_id, self._api_key):
            if opts.get("stream"):
                stream = completions.create(**params)
                return _StreamCollector(self.model_id, messages).join(stream, self.model)
            raw = completions.with_raw_response.create(**params)
            return reply_from_body(raw.http_response.text, self.model)

    async def _arequest(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        completions = self._async_client().chat.completions
        params = self._params(messages, opts, schema)
        with provider_errors(self.model_id, self._api_key):
            if opts.get("stream"):
                stream = await completions.create(**params)
                return await _StreamCollector(self.model_id, messages).ajoin(stream, self.model)
            raw = await completions.with_raw_response.create(**params)
            return reply_from_body(raw.http_response.text, self.model)


@functools.cache
def _sdk_params() -> frozenset[str]:
    """Keyword names ``chat.completions.create`` accepts in the installed SDK."""
    openai = _import_openai()
    create = openai.resources.chat.completions.Completions.create
    return frozenset(inspect.signature(create).parameters) - {"self"}


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as err:  # pragma: no cover - openai is a core dependency
        raise LLMConfigError("the openai package is missing: pip install openai") from err
    return openai


def reply_from_body(body: str, model: str) -> RawReply:
    """Read a chat-completions JSON body; `LLMOutputError` when it is not one."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError(f"message is {type(message).__name__}, not an object")
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise LLMOutputError(
            "the server's reply is not a valid chat completion (the body is cut off or not "
            f"JSON: {type(err).__name__}); check the server or proxy at base_url.",
            raw_text=body[:2000],
            reason="malformed response envelope",
        ) from err
    return RawReply(
        text=message_text(message),
        usage=_usage(data.get("usage")),
        model=str(data.get("model") or model),
        finish_reason=choice.get("finish_reason"),
    )


def message_text(message: dict[str, Any]) -> str:
    """The reply text of a chat message: its content, a forced tool call's arguments, or a
    refusal (tool-call replies carry the JSON in the arguments, not in the content)."""
    text = message.get("content")
    if not text:
        for call in message.get("tool_calls") or []:
            arguments = ((call or {}).get("function") or {}).get("arguments")
            if arguments:
                return str(arguments)
        if text is None:
            text = message.get("refusal") or ""
    return str(text)


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    if not isinstance(raw, dict):
        raw = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw)
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    total = int(raw.get("total_tokens") or prompt + completion)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


class _StreamCollector:
    """Joins streamed chunks into one reply (text or tool-call deltas, the final usage chunk).

    Servers that ignore ``stream_options`` send no usage chunk; the tokens are then counted
    here (content chunks, or the four-characters-a-token estimate when larger) so budgets and
    reports still see them.
    """

    def __init__(self, model_id: str = "", messages: list[Message] | None = None) -> None:
        self.model_id = model_id
        self.prompt_text = messages_text(messages or [])
        self.parts: list[str] = []
        self.tool_parts: list[str] = []
        self.chunks = 0
        self.usage = Usage()
        self.model = ""
        self.finish_reason: str | None = None

    def add(self, chunk: Any) -> None:
        data = chunk.model_dump() if hasattr(chunk, "model_dump") else dict(chunk)
        self.model = data.get("model") or self.model
        if data.get("usage"):
            self.usage = _usage(data["usage"])
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.parts.append(delta["content"])
                self.chunks += 1
            elif delta.get("refusal"):
                self.parts.append(delta["refusal"])
            for call in delta.get("tool_calls") or []:
                arguments = ((call or {}).get("function") or {}).get("arguments")
                if arguments:
                    self.tool_parts.append(arguments)
                    self.chunks += 1
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def join(self, chunks: Iterable[Any], model: str) -> RawReply:
        """The reply made of every chunk of a stream."""
        for chunk in chunks:
            self.add(chunk)
        return self.reply(model)

    async def ajoin(self, chunks: AsyncIterable[Any], model: str) -> RawReply:
        """The reply made of every chunk of an async stream."""
        async for chunk in chunks:
            self.add(chunk)
        return self.reply(model)

    def reply(self, model: str) -> RawReply:
        if self.finish_reason is None:
            # The body ended without the model finishing: the connection was cut mid-stream.
            err = LLMTransientError(
                f"{self.model_id or model}: the stream ended before the reply was complete "
                "(the connection was cut or the server interrupted it)"
            )
            err.stream_cut = True  # type: ignore[attr-defined]
            raise err
        text = "".join(self.parts) or "".join(self.tool_parts)
        usage = self.usage
        if usage.total_tokens == 0:
            prompt = estimate_tokens(self.prompt_text)
            completion = max(self.chunks, estimate_tokens(text))
            usage = Usage(
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
            )
        return RawReply(
            text=text,
            usage=usage,
            model=self.model or model,
            finish_reason=self.finish_reason,
        )


def _redact(text: str, secret: str | None) -> str:
    if secret and secret != _NO_KEY and len(secret) > 4:
        text = text.replace(secret, "***")
    return text[:500]


def _caused_by_bad_json(err: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, json.JSONDecodeError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def provider_errors(model_id: str, secret: str | None) -> Iterator[None]:
    """A provider SDK's exceptions become this package's typed LLM errors (``secret`` redacted)."""
    try:
        yield
    except LLMError:
        raise
    except Exception as err:
        raise map_provider_error(err, model_id, secret) from err


def map_provider_error(err: Exception, model_id: str, secret: str | None = None) -> LLMError:
    """Translate an openai-SDK-shaped (or httpx) exception into the `LLMError` tree.

    litellm's exceptions subclass the openai SDK's, so both backends share this.
    """
    openai = _import_openai()
    detail = _redact(str(err), secret)
    if _caused_by_bad_json(err):
        # litellm reports an unreadable body as a 500; it is a malformed reply, not an outage.
        return LLMOutputError(
            f"{model_id}: the server's reply is not valid JSON ({detail}); check the server "
            "or proxy.",
            raw_text=detail,
            reason="malformed response envelope",
        )
    # Raw transport errors surface mid-stream; match them by class name because the SDK may
    # use httpx or its successor httpx2, whose classes share names but not identity.
    transport = {cls.__name__ for cls in type(err).__mro__}
    if isinstance(err, openai.APITimeoutError) or "TimeoutException" in transport:
        return LLMTransientError(f"{model_id}: the request timed out")
    if isinstance(err, openai.APIConnectionError) or "TransportError" in transport:
        return LLMTransientError(f"{model_id}: connection failed ({detail})")
    status = getattr(err, "status_code", None)
    if "missing credentials" in detail.lower() or "api_key client option" in detail.lower():
        # litellm reports a missing key as HTTP 500; no retry can supply one.
        return LLMAuthError(
            f"{model_id}: no API key was given ({detail}). Set the provider's key variable "
            "(OPENAI_API_KEY for openai models), or for a keyless local server set its base URL "
            "(OPENAI_BASE_URL / api_base=...).",
            status=status if isinstance(status, int) else None,
        )
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if isinstance(status, int):
        if status == 429:
            return LLMRateLimited(
                f"{model_id}: rate limited (HTTP 429): {detail}. Lower max_in_flight or wait.",
                status=status,
                retry_after=parse_retry_after(headers),
            )
        if status in RETRYABLE_STATUS:
            return LLMTransientError(
                f"{model_id}: server error (HTTP {status}): {detail}",
                status=status,
                retry_after=parse_retry_after(headers),
            )
        if status in (401, 403):
            return LLMAuthError(
                f"{model_id}: the provider refused the credentials (HTTP {status}): {detail}. "
                "Check the API key environment variable (OPENAI_API_KEY for openai) and that "
                "the key may use this model.",
                status=status,
            )
        if status == 404:
            return LLMRequestError(
                f"{model_id}: not found (HTTP 404): {detail}. Check the model name and base_url.",
                status=status,
            )
        return LLMRequestError(
            f"{model_id}: the request was rejected (HTTP {status}): {detail}", status=status
        )
    if isinstance(err, ValueError):
        return LLMOutputError(
            f"{model_id}: the server's reply could not be read: {detail}",
            raw_text=detail,
            reason="unreadable response",
        )
    return LLMError(f"{model_id}: request failed: {type(err).__name__}: {detail}")
