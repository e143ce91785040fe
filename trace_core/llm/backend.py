"""The request pipeline every backend shares: cache, budget, limiter, retries, structured output.

A backend subclasses `ChatBackend` and implements only its transport, `_request` (and
`_arequest` when it has a native async client), returning a `RawReply` or raising an
`LLMError` subclass. Everything else (what gets retried, cached, charged and parsed) is here,
once, so all backends behave the same.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from trace_core.llm.base import Completion, Message, RawReply, Usage, estimate_tokens, messages_text
from trace_core.llm.cache import ReplyCache, cache_enabled_by_env, cache_key
from trace_core.llm.copying import CopySafe
from trace_core.llm.limiter import Limiter
from trace_core.llm.retry import RetryPolicy
from trace_core.llm.structured import StructuredSession, schema_of
from trace_core.llm.usage import Budget, CallRecord, Reservation, UsageTracker, cost_of, price_of

# Options that shape how a request is sent but not what the model answers.
_TRANSPORT_OPTS = frozenset({"timeout", "stream"})
# Options that only select cache entries and are never sent to a provider.
_CACHE_ONLY_OPTS = frozenset({"rollout_id"})
# Options consumed by the pipeline itself.
_PIPELINE_OPTS = frozenset({"cache", "max_repairs", "schema_instruction"})


@dataclass
class _Step:
    """One request of a call (the first ask or a repair re-ask) and how it went."""

    reply: RawReply
    attempts: int
    cached: bool
    cost: float


class ChatBackend(CopySafe):
    """Base of the concrete backends; implements the `LLM` protocol around `_request`.

    Keyword arguments shared by every backend:

    - ``retry``: a `RetryPolicy` (attempts, backoff); default 5 attempts.
    - ``cache``: ``True``/``False``, or a `ReplyCache` to share; ``None`` follows
      ``OPTOFORGE_CACHE`` (on unless it is ``0``).
    - ``budget``: a `Budget` shared with other LLMs of the run.
    - ``limiter`` / ``max_in_flight``: a shared `Limiter`, or the size of a private one.
    - ``usage``: a `UsageTracker` to share; each backend has its own by default.
    - ``max_repairs``: repair re-asks for a reply that does not parse (default 1).
    - ``defaults``: generation options applied to every call (``temperature``, ``max_tokens``).

    Per call, ``opts`` may hold generation options plus ``seed``, ``rollout_id`` (cache key
    only), ``timeout``, ``stream``, ``cache`` (bool), ``max_repairs`` and
    ``schema_instruction`` (False: the prompt already states the JSON format, so do not append
    the schema to it).
    """

    provider: ClassVar[str] = "base"

    def __init__(
        self,
        model: str,
        *,
        retry: RetryPolicy | None = None,
        cache: bool | ReplyCache | None = None,
        budget: Budget | None = None,
        limiter: Limiter | None = None,
        max_in_flight: int = 8,
        usage: UsageTracker | None = None,
        max_repairs: int = 1,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.limiter = limiter or Limiter(max_in_flight)
        self.usage = usage or UsageTracker()
        self.max_repairs = max_repairs
        self.defaults = dict(defaults or {})
        self._cache_setting = cache
        self._cache: ReplyCache | None = cache if isinstance(cache, ReplyCache) else None
        self._cache_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``provider:model``, as `get_llm` accepts it."""
        return f"{self.provider}:{self.model}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"

    # -- what a backend implements ------------------------------------------------------------

    def _request(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        """Send one request; raise `LLMTransientError` for what may pass on a retry."""
        raise NotImplementedError

    async def _arequest(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        """Async `_request`; by default the sync transport in a worker thread."""
        return await asyncio.to_thread(self._request, messages, opts, schema)

    def _identity(self) -> dict[str, Any]:
        """What, besides the request, decides the reply (part of the cache key)."""
        return {"provider": self.provider, "model": self.model}

    # -- the public protocol -------------------------------------------------------------------

    @property
    def cache(self) -> ReplyCache | None:
        """The reply cache, or ``None`` when caching is off."""
        setting = self._cache_setting
        if setting is False or (setting is None and not cache_enabled_by_env()):
            return None
        if self._cache is None:
            with self._cache_lock:
                if self._cache is None:
                    self._cache = ReplyCache()
        return self._cache

    def complete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """Answer ``messages``; with ``response_format`` (a pydantic model) parse the reply.

        Raises only `LLMError` subclasses: `LLMOutputError` when the reply cannot be parsed
        after the repair re-asks, `BudgetExceeded` before a call that would pass the budget.
        """
        opts = {**self.defaults, **opts}
        if response_format is None:
            return self._completion([self._call(messages, opts, None)], None, 0)
        session = self._session(messages, response_format, opts)
        schema = schema_of(response_format)
        steps: list[_Step] = []
        while True:
            steps.append(self._call(session.messages, opts, schema))
            if session.accept(steps[-1].reply.text):
                return self._completion(steps, session.value, session.repairs)

    async def acomplete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """Async `complete`."""
        opts = {**self.defaults, **opts}
        if response_format is None:
            return self._completion([await self._acall(messages, opts, None)], None, 0)
        session = self._session(messages, response_format, opts)
        schema = schema_of(response_format)
        steps: list[_Step] = []
        while True:
            steps.append(await self._acall(session.messages, opts, schema))
            if session.accept(steps[-1].reply.text):
                return self._completion(steps, session.value, session.repairs)

    # -- the pipeline ----------------------------------------------------------------------------

    def _session(
        self, messages: list[Message], response_format: Any, opts: dict[str, Any]
    ) -> StructuredSession:
        return StructuredSession(
            messages,
            response_format,
            max_repairs=int(opts.get("max_repairs", self.max_repairs)),
            add_instruction=bool(opts.get("schema_instruction", True)),
        )

    def _plan(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str | None]:
        """Split ``opts`` into what is sent, and compute the cache key (None: not cached)."""
        send = {
            k: v for k, v in opts.items() if k not in _CACHE_ONLY_OPTS and k not in _PIPELINE_OPTS
        }
        use_cache = opts.get("cache", True) and self.cache is not None
        if not use_cache:
            return send, None
        keyed = {k: v for k, v in opts.items() if k not in _TRANSPORT_OPTS | _PIPELINE_OPTS}
        return send, cache_key(self._identity(), messages, {**keyed, "schema": schema})

    def _lookup(self, key: str | None) -> _Step | None:
        if key is None or self.cache is None:
            return None
        reply = self.cache.get(key)
        if reply is None:
            return None
        self.usage.record(CallRecord(self.model_id, reply.usage, 0.0, cached=True, attempts=0))
        return _Step(reply, attempts=0, cached=True, cost=0.0)

    def _reserve(self, messages: list[Message], opts: dict[str, Any]) -> Reservation | None:
        if self.budget is None:
            return None
        prompt = estimate_tokens(messages_text(messages))
        completion = int(opts.get("max_tokens") or 0)
        est_cost = cost_of(self.model, Usage(prompt_tokens=prompt, completion_tokens=completion))
        return self.budget.reserve(prompt + completion, est_cost)

    def _settle(
        self, key: str | None, reservation: Reservation | None, reply: RawReply, attempts: int
    ) -> _Step:
        # The provider's model name (often dated) first, then the name that was asked for.
        priced = reply.model if reply.model and price_of(reply.model) else self.model
        cost = cost_of(priced, reply.usage)
        if self.budget is not None and reservation is not None:
            self.budget.commit(reservation, reply.usage, cost)
        if key is not None and self.cache is not None:
            self.cache.put(key, reply)
        self.usage.record(CallRecord(self.model_id, reply.usage, cost, False, attempts))
        return _Step(reply, attempts=attempts, cached=False, cost=cost)

    def _call(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> _Step:
        send, key = self._plan(messages, opts, schema)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        reservation = self._reserve(messages, send)

        def attempt() -> RawReply:
            with self.limiter:
                return self._request(messages, send, schema)

        try:
            reply, attempts = self.retry.call(attempt)
        except BaseException:
            if self.budget is not None and reservation is not None:
                self.budget.release(reservation)
            raise
        return self._settle(key, reservation, reply, attempts)

    async def _acall(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> _Step:
        send, key = self._plan(messages, opts, schema)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        reservation = self._reserve(messages, send)

        async def attempt() -> RawReply:
            async with self.limiter:
                return await self._arequest(messages, send, schema)

        try:
            reply, attempts = await self.retry.acall(attempt)
        except BaseException:
            if self.budget is not None and reservation is not None:
                self.budget.release(reservation)
            raise
        return self._settle(key, reservation, reply, attempts)

    def _completion(self, steps: list[_Step], parsed: Any, repairs: int) -> Completion:
        return Completion(
            text=steps[-1].reply.text,
            parsed=parsed,
            usage=sum((s.reply.usage for s in steps), Usage()),
            cost=sum(s.cost for s in steps),
            model=self.model_id,
            cached=all(s.cached for s in steps),
            attempts=sum(s.attempts for s in steps),
            repairs=repairs,
        )
