"""The request pipeline every backend shares: cache, budget, limiter, retries, structured output.

A backend subclasses `ChatBackend` and implements only its transport, `_request` (and
`_arequest` when it has a native async client), returning a `RawReply` or raising an
`LLMError` subclass. Everything else (what gets retried, cached, charged and parsed) is here,
once, so all backends behave the same.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from trace_core.llm.base import Completion, Message, RawReply, Usage, estimate_tokens, messages_text
from trace_core.llm.cache import ReplyCache, cache_enabled_by_env, cache_key
from trace_core.llm.copying import CopySafe
from trace_core.llm.errors import (
    LLMConfigError,
    LLMOutputError,
    LLMRequestError,
)
from trace_core.llm.json_modes import MODES, candidates, check_mode, pinned_mode, refused_mode
from trace_core.llm.json_modes import remember as remember_mode
from trace_core.llm.limiter import Limiter
from trace_core.llm.retry import AttemptOptions, RetryPolicy
from trace_core.llm.settings import MAX_TOKENS_ENV, default_max_tokens
from trace_core.llm.structured import StructuredSession, parse_reply, schema_of
from trace_core.llm.usage import Budget, CallRecord, Reservation, UsageTracker, cost_of, price_of

_log = logging.getLogger("trace_core.llm")


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
    cost: float | None


@dataclass
class _Pending:
    """A request about to be paid for: its cache key, budget reservation and options."""

    key: str | None
    reservation: Reservation | None
    fallback: AttemptOptions


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
    - ``max_tokens``: reply length cap when ``defaults`` sets none (default
      ``$OPTOFORGE_MAX_TOKENS`` or 1024; 0 sends none). A structured reply cut at the cap is
      re-asked once with twice the cap, then reported as cut (`LLMOutputError`).
    - ``json_mode``: how structured output is requested (`trace_core.llm.json_modes`): ``auto``
      (default, or ``$OPTOFORGE_JSON_MODE``) negotiates per endpoint; a mode name pins it.

    Per call, ``opts`` may hold generation options plus ``seed``, ``rollout_id`` (cache key
    only), ``timeout``, ``stream``, ``cache`` (bool), ``max_repairs`` and
    ``schema_instruction`` (False: the prompt already states the JSON format, so do not append
    the schema to it).
    """

    provider: ClassVar[str] = "base"
    # True when the transport sends `json_modes` requests (OpenAI-compatible servers).
    negotiates_json: ClassVar[bool] = False

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
        max_tokens: int | None = None,
        json_mode: str | None = None,
    ) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()
        self.budget = budget
        self.limiter = limiter or Limiter(max_in_flight)
        self.usage = usage or UsageTracker()
        self.max_repairs = max_repairs
        self.defaults = dict(defaults or {})
        limit = default_max_tokens() if max_tokens is None else int(max_tokens)
        if limit > 0:
            self.defaults.setdefault("max_tokens", limit)
        self.json_mode = check_mode(json_mode)
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

    def _price_key(self) -> tuple[str | None, str | None]:
        """(provider, endpoint) for price lookups; endpoint None: the provider's own API."""
        return self.provider, None

    def endpoint_key(self) -> tuple[str, ...]:
        """Who answers this backend's requests: the key JSON-mode negotiation remembers."""
        return tuple(f"{k}={v}" for k, v in sorted(self._identity().items()))

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
        first_limit = opts.get("max_tokens")
        steps: list[_Step] = []
        while True:
            steps.append(self._structured_call(session.messages, opts, schema))
            done, opts = self._review(session, steps[-1], opts, first_limit)
            if done:
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
        first_limit = opts.get("max_tokens")
        steps: list[_Step] = []
        while True:
            steps.append(await self._astructured_call(session.messages, opts, schema))
            done, opts = self._review(session, steps[-1], opts, first_limit)
            if done:
                return self._completion(steps, session.value, session.repairs)

    # -- structured output: JSON mode, cut replies ------------------------------------------------

    def _modes(self, opts: dict[str, Any]) -> tuple[list[str | None], str | None]:
        """The JSON modes to try in order, and the pinned one (None: negotiating)."""
        if not self.negotiates_json:
            return [None], None
        pinned = pinned_mode(opts.get("json_mode") or self.json_mode)
        return list(candidates(self.endpoint_key(), pinned)), pinned

    def _mode_refused(
        self, err: LLMRequestError, mode: str | None, pinned: str | None, last: bool
    ) -> bool:
        """True to try the next mode; raises a pinned mode's refusal with what to do."""
        if mode is None or mode == "prompt" or not refused_mode(err):
            return False
        if pinned is not None:
            raise LLMRequestError(
                f"{err} The server refused JSON mode {mode!r}, pinned by json_mode / "
                f"OPTOFORGE_JSON_MODE / --json-mode: pin another ({', '.join(MODES)}) or use "
                "'auto' to negotiate.",
                status=err.status,
            ) from err
        if not last:
            _log.info("%s refused JSON mode %s; trying the next mode", self.model_id, mode)
        return not last

    @contextmanager
    def _refused_mode_skipped(
        self, mode: str | None, pinned: str | None, *, last: bool
    ) -> Iterator[None]:
        """Swallow a request error that means "this JSON mode is refused" so the next is tried."""
        try:
            yield
        except LLMRequestError as err:
            if not self._mode_refused(err, mode, pinned, last=last):
                raise

    def _kept_mode(self, mode: str | None, step: _Step) -> _Step:
        """Remember the JSON mode the endpoint accepted, and pass the step on."""
        if mode is not None:
            remember_mode(self.endpoint_key(), mode)
        return step

    def _structured_call(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any]
    ) -> _Step:
        modes, pinned = self._modes(opts)
        for i, mode in enumerate(modes):
            with self._refused_mode_skipped(mode, pinned, last=i + 1 == len(modes)):
                return self._kept_mode(mode, self._call(messages, _with_mode(opts, mode), schema))
        raise AssertionError("unreachable: the last mode returns or raises")

    async def _astructured_call(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any]
    ) -> _Step:
        modes, pinned = self._modes(opts)
        for i, mode in enumerate(modes):
            with self._refused_mode_skipped(mode, pinned, last=i + 1 == len(modes)):
                step = await self._acall(messages, _with_mode(opts, mode), schema)
                return self._kept_mode(mode, step)
        raise AssertionError("unreachable: the last mode returns or raises")

    def _review(
        self, session: StructuredSession, step: _Step, opts: dict[str, Any], first_limit: Any
    ) -> tuple[bool, dict[str, Any]]:
        """Accept a structured reply (True), or say how to ask again (False, new options).

        A reply cut at ``max_tokens`` is re-asked once with twice the limit, then reported as
        cut (a bigger limit, not a stronger model, is the fix).
        """
        reply = step.reply
        if reply.finish_reason != "length":
            return session.accept(reply.text), opts
        try:
            session.value = parse_reply(reply.text, session.response_format)
            return True, opts
        except ValueError:
            pass
        limit = int(opts.get("max_tokens") or 0)
        ceiling = 2 * int(first_limit or 0)
        if 0 < limit < ceiling:
            grown = min(2 * limit, ceiling)
            _log.info("%s: reply cut at max_tokens=%d; asking with %d", self.model_id, limit, grown)
            return False, {**opts, "max_tokens": grown}
        where = f"max_tokens={limit}" if limit else "the server's default max_tokens"
        raise LLMOutputError(
            f"{self.model_id}: the reply was cut off at {where} before its JSON was "
            "complete (finish_reason=length). Raise the limit: max_tokens=... on the backend or "
            f"the call, or {MAX_TOKENS_ENV}=N.",
            raw_text=reply.text,
            reason="cut at max_tokens",
        )

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
        provider, endpoint = self._price_key()
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
        est_cost = cost_of(self.model, usage, provider=provider, endpoint=endpoint)
        if est_cost is None and self.budget.max_cost is not None:
            raise LLMConfigError(
                f"{self.model_id}: its price is unknown, so the cost budget cannot be kept. Set "
                "it with trace_core.llm.register_price(model, input_per_mtok, output_per_mtok, "
                "provider=..., endpoint=...) or drop the cost limit."
            )
        return self.budget.reserve(prompt + completion, est_cost or 0.0)

    def _settle(
        self, key: str | None, reservation: Reservation | None, reply: RawReply, attempts: int
    ) -> _Step:
        # The name that was asked for first, then the provider's (an alias may resolve to it).
        provider, endpoint = self._price_key()
        served = reply.model and price_of(reply.model, provider=provider, endpoint=endpoint)
        known = price_of(self.model, provider=provider, endpoint=endpoint)
        priced = reply.model if served and not known else self.model
        cost = cost_of(priced, reply.usage, provider=provider, endpoint=endpoint)
        if self.budget is not None and reservation is not None:
            self.budget.commit(reservation, reply.usage, cost)
        if key is not None and self.cache is not None:
            self.cache.put(key, reply)
        self.usage.record(CallRecord(self.model_id, reply.usage, cost, False, attempts))
        return _Step(reply, attempts=attempts, cached=False, cost=cost)

    def _prepare(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> _Step | _Pending:
        """A cached step, or what a paid request needs: cache key, reservation, options."""
        send, key = self._plan(messages, opts, schema)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        return _Pending(key, self._reserve(messages, send), AttemptOptions(send))

    @contextmanager
    def _released_on_error(self, pending: _Pending) -> Iterator[None]:
        """Give the reservation back to the budget when the request fails for good."""
        try:
            yield
        except BaseException:
            if self.budget is not None and pending.reservation is not None:
                self.budget.release(pending.reservation)
            raise

    def _call(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> _Step:
        pending = self._prepare(messages, opts, schema)
        if isinstance(pending, _Step):
            return pending

        def attempt() -> RawReply:
            with self.limiter, pending.fallback as sent:
                return self._request(messages, sent, schema)

        with self._released_on_error(pending):
            reply, attempts = self.retry.call(attempt)
        return self._settle(pending.key, pending.reservation, reply, attempts)

    async def _acall(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> _Step:
        pending = self._prepare(messages, opts, schema)
        if isinstance(pending, _Step):
            return pending

        async def attempt() -> RawReply:
            async with self.limiter:
                with pending.fallback as sent:
                    return await self._arequest(messages, sent, schema)

        with self._released_on_error(pending):
            reply, attempts = await self.retry.acall(attempt)
        return self._settle(pending.key, pending.reservation, reply, attempts)

    def _completion(self, steps: list[_Step], parsed: Any, repairs: int) -> Completion:
        costs = [s.cost for s in steps]
        return Completion(
            text=steps[-1].reply.text,
            parsed=parsed,
            usage=sum((s.reply.usage for s in steps), Usage()),
            cost=None if None in costs else sum(c or 0.0 for c in costs),
            finish_reason=steps[-1].reply.finish_reason,
            model=self.model_id,
            cached=all(s.cached for s in steps),
            attempts=sum(s.attempts for s in steps),
            repairs=repairs,
        )


def _with_mode(opts: dict[str, Any], mode: str | None) -> dict[str, Any]:
    """``opts`` carrying JSON ``mode`` (none for backends that do not negotiate)."""
    rest = {k: v for k, v in opts.items() if k != "json_mode"}
    return {**rest, "json_mode": mode} if mode is not None else rest
