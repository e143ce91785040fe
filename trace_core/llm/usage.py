"""Token usage, cost and budgets.

Cost comes from a small price table (US dollars per million tokens) that users extend with
`register_price`. A `Budget` caps calls, tokens and cost for a run and refuses a call *before*
it is sent when it would pass a limit, so a run stops cleanly at the limit instead of after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from trace_core.llm.base import Usage
from trace_core.llm.copying import CopySafe
from trace_core.llm.errors import BudgetExceeded
from trace_core.llm.meter import LLMUsage


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, usage: Usage) -> float:
        """The cost of ``usage`` at this price."""
        return (
            usage.prompt_tokens * self.input_per_mtok
            + usage.completion_tokens * self.output_per_mtok
        ) / 1_000_000


# List prices at the time of writing, keyed by (provider, model prefix); a provider of None
# matches every provider's own API. Extend or override with `register_price`.
_PRICES: dict[tuple[str | None, str], Price] = {
    ("openai", "gpt-4o-mini"): Price(0.15, 0.60),
    ("openai", "gpt-4o"): Price(2.50, 10.00),
    ("openai", "gpt-4.1-nano"): Price(0.10, 0.40),
    ("openai", "gpt-4.1-mini"): Price(0.40, 1.60),
    ("openai", "gpt-4.1"): Price(2.00, 8.00),
    ("openai", "o4-mini"): Price(1.10, 4.40),
    ("openai", "o3-mini"): Price(1.10, 4.40),
    ("anthropic", "claude-3-5-haiku"): Price(0.80, 4.00),
    ("anthropic", "claude-3-5-sonnet"): Price(3.00, 15.00),
    ("anthropic", "claude-3-7-sonnet"): Price(3.00, 15.00),
}
# Prices of models behind one endpoint (a proxy, a hosted server): (endpoint, model prefix).
_ENDPOINT_PRICES: dict[tuple[str, str], Price] = {}
# Providers that run on this machine: every call is free.
FREE_PROVIDERS = frozenset({"local", "scripted"})
_FREE = Price(0.0, 0.0)
_PRICES_LOCK = threading.Lock()
_WARNED: set[tuple[str | None, str | None, str]] = set()
_log = logging.getLogger("trace_core.llm")


def register_price(
    model: str,
    input_per_mtok: float,
    output_per_mtok: float,
    *,
    provider: str | None = None,
    endpoint: str | None = None,
) -> None:
    """Set the price of ``model`` (matched as a prefix of the model name, longest first).

    ``provider`` limits it to that provider's own API (``openai``, ``anthropic``...; None: any);
    ``endpoint`` (a base URL) prices a model served by that endpoint, e.g. a paid proxy.
    """
    if input_per_mtok < 0 or output_per_mtok < 0:
        raise ValueError(f"prices must be >= 0, got {input_per_mtok}, {output_per_mtok}")
    with _PRICES_LOCK:
        if endpoint is not None:
            _ENDPOINT_PRICES[(normalize_endpoint(endpoint), model)] = Price(
                input_per_mtok, output_per_mtok
            )
        else:
            _PRICES[(provider, model)] = Price(input_per_mtok, output_per_mtok)


def normalize_endpoint(url: str) -> str:
    """``url`` without a trailing slash, lower-cased scheme and host, for price lookups."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def is_local_endpoint(url: str | None) -> bool:
    """True when ``url`` is a server on this machine (loopback), whose calls cost nothing."""
    if not url:
        return False
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host in ("::1", "0.0.0.0")


def _longest_prefix(bare: str, names: list[str]) -> str | None:
    if bare in names:
        return bare
    matches = [name for name in names if bare.startswith(name)]
    return max(matches, key=len) if matches else None


def price_of(
    model: str, *, provider: str | None = None, endpoint: str | None = None
) -> Price | None:
    """The price of ``model`` served by ``provider`` at ``endpoint``; ``None`` when unknown.

    ``model`` may carry a provider prefix (``openai/gpt-4o-mini``) or a date suffix
    (``gpt-4o-mini-2024-07-18``): the longest table entry that prefixes the bare name wins.
    ``endpoint`` None means the provider's own API. A price registered for the endpoint wins,
    then one registered for no provider in particular; otherwise a loopback endpoint (a server
    on this machine) and the ``local`` / ``scripted`` providers are free, and any other
    endpoint has no known price: list prices are for the provider's API, not for whoever
    serves a model of the same name.
    """
    bare = model.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    with _PRICES_LOCK:
        if endpoint is not None:
            where = normalize_endpoint(endpoint)
            names = [name for ep, name in _ENDPOINT_PRICES if ep == where]
            found = _longest_prefix(bare, names)
            if found is not None:
                return _ENDPOINT_PRICES[(where, found)]
        # A price registered for no provider in particular is the model's price anywhere.
        found = _longest_prefix(bare, [name for prov, name in _PRICES if prov is None])
        if found is not None:
            return _PRICES[(None, found)]
        if provider in FREE_PROVIDERS or is_local_endpoint(endpoint):
            return _FREE
        if endpoint is not None:
            return None
        names = [name for prov, name in _PRICES if provider is None or prov == provider]
        found = _longest_prefix(bare, names)
        if found is None:
            return None
        if (provider, found) in _PRICES:
            return _PRICES[(provider, found)]
        return next(price for (_, name), price in _PRICES.items() if name == found)


def cost_of(
    model: str, usage: Usage, *, provider: str | None = None, endpoint: str | None = None
) -> float | None:
    """Dollars for ``usage`` on ``model``; ``None`` (with one logged warning) when unpriced."""
    price = price_of(model, provider=provider, endpoint=endpoint)
    if price is not None:
        return price.cost(usage)
    key = (provider, endpoint, model)
    with _PRICES_LOCK:
        first = key not in _WARNED
        _WARNED.add(key)
    if first:
        where = f" at {endpoint}" if endpoint else ""
        _log.warning(
            "no price known for %s%s (provider %s): its cost is reported as unknown (None); "
            "set it with trace_core.llm.register_price(%r, input_per_mtok, output_per_mtok, "
            "provider=..., endpoint=...)",
            model,
            where,
            provider or "?",
            model,
        )
    return None


@dataclass(frozen=True)
class CallRecord:
    """One finished call as the tracker saw it."""

    model: str
    usage: Usage
    cost: float | None
    cached: bool
    attempts: int


@dataclass
class UsageTracker(CopySafe):
    """Per-call usage records and running totals; safe to share between threads.

    Cached calls are recorded (``cached=True``) but excluded from the token and cost totals:
    they sent no request and cost nothing.
    """

    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, record: CallRecord) -> None:
        """Add one finished call."""
        with self._lock:
            self.records.append(record)

    @property
    def total(self) -> Usage:
        """Tokens of all uncached calls."""
        with self._lock:
            rows = [r.usage for r in self.records if not r.cached]
        return sum(rows, Usage())

    @property
    def cost(self) -> float:
        """Dollars of all uncached calls whose price is known (see `unpriced_calls`)."""
        with self._lock:
            return sum(r.cost or 0.0 for r in self.records if not r.cached)

    @property
    def unpriced_calls(self) -> int:
        """Uncached calls to models with no known price: `cost` leaves them out."""
        with self._lock:
            return sum(1 for r in self.records if not r.cached and r.cost is None)

    @property
    def calls(self) -> int:
        """Calls that reached the provider (cache hits excluded)."""
        with self._lock:
            return sum(1 for r in self.records if not r.cached)

    @property
    def cached_calls(self) -> int:
        """Calls answered from the cache."""
        with self._lock:
            return sum(1 for r in self.records if r.cached)

    def totals(self) -> LLMUsage:
        """Calls, tokens and dollars of the uncached calls, as the project's one usage type."""
        with self._lock:
            rows = [r for r in self.records if not r.cached]
        total = LLMUsage()
        for row in rows:
            total.add(row)
        return total

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary for reports."""
        total = self.total
        return {
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "prompt_tokens": total.prompt_tokens,
            "completion_tokens": total.completion_tokens,
            "total_tokens": total.total_tokens,
            # An unknown price makes the total unknown: None, not a misleading 0.0.
            "cost": None if self.unpriced_calls else self.cost,
            "unpriced_calls": self.unpriced_calls,
        }


@dataclass(frozen=True)
class Reservation:
    """What a call set aside from a budget while it runs."""

    tokens: int
    cost: float


class Budget(CopySafe):
    """Limits on calls, tokens and dollars for a run, shared by every LLM given it.

    A call first reserves its share: one call, its estimated tokens (prompt estimate plus
    ``max_tokens`` when given) and their cost. If spent plus reserved plus that share would pass
    a limit, `reserve` raises `BudgetExceeded` and no request is sent. When the call ends the
    reservation is replaced by the real usage. Reservations make the limits hold under
    concurrency: 16 threads against ``max_calls=10`` send exactly 10 requests.
    ``state_dict`` / ``load_state_dict`` let a resumed run continue with what it had spent.
    """

    _COPY_RESET: ClassVar[dict[str, Callable[[], Any]]] = {
        "_in_flight": int,
        "_reserved_tokens": int,
        "_reserved_cost": float,
    }

    def __init__(
        self,
        max_calls: int | None = None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
    ) -> None:
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.calls = 0
        self.tokens = 0
        self.cost = 0.0
        self._in_flight = 0
        self._reserved_tokens = 0
        self._reserved_cost = 0.0
        self._lock = threading.Lock()

    def reserve(self, est_tokens: int = 0, est_cost: float = 0.0) -> Reservation:
        """Set aside one call; raise `BudgetExceeded` if it would pass a limit."""
        with self._lock:
            calls = self.calls + self._in_flight
            if self.max_calls is not None and calls + 1 > self.max_calls:
                raise self._exceeded("calls", calls, self.max_calls)
            tokens = self.tokens + self._reserved_tokens
            if self.max_tokens is not None and tokens + est_tokens > self.max_tokens:
                raise self._exceeded(
                    "tokens",
                    tokens,
                    self.max_tokens,
                    f" (the call needs up to {est_tokens}: its prompt plus max_tokens)",
                )
            cost = self.cost + self._reserved_cost
            if self.max_cost is not None and cost + est_cost > self.max_cost:
                raise self._exceeded("cost", cost, self.max_cost)
            self._in_flight += 1
            self._reserved_tokens += est_tokens
            self._reserved_cost += est_cost
        return Reservation(est_tokens, est_cost)

    def commit(self, reservation: Reservation, usage: Usage, cost: float | None) -> None:
        """Replace ``reservation`` by what the call really used (unknown cost counts 0)."""
        with self._lock:
            self._release(reservation)
            self.calls += 1
            self.tokens += usage.total_tokens
            self.cost += cost or 0.0

    def release(self, reservation: Reservation) -> None:
        """Give back ``reservation`` of a call that failed without a reply."""
        with self._lock:
            self._release(reservation)

    def _release(self, reservation: Reservation) -> None:
        self._in_flight -= 1
        self._reserved_tokens -= reservation.tokens
        self._reserved_cost -= reservation.cost

    def _exceeded(self, limit: str, spent: float, maximum: float, need: str = "") -> BudgetExceeded:
        return BudgetExceeded(
            f"LLM budget reached: {limit} used {spent:g} of {maximum:g}{need}; the call was not "
            "sent. "
            "Raise the Budget limit or resume the run with a new Budget.",
            limit=limit,
            spent=spent,
            maximum=maximum,
        )

    @property
    def remaining_calls(self) -> int | None:
        """Calls left, or ``None`` when calls are unlimited."""
        if self.max_calls is None:
            return None
        with self._lock:
            return max(0, self.max_calls - self.calls - self._in_flight)

    def state_dict(self) -> dict[str, Any]:
        """Limits and spending, JSON-able, to save with a run."""
        with self._lock:
            return {
                "max_calls": self.max_calls,
                "max_tokens": self.max_tokens,
                "max_cost": self.max_cost,
                "calls": self.calls,
                "tokens": self.tokens,
                "cost": self.cost,
            }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore limits and spending saved by `state_dict`."""
        with self._lock:
            self.max_calls = state.get("max_calls")
            self.max_tokens = state.get("max_tokens")
            self.max_cost = state.get("max_cost")
            self.calls = int(state.get("calls", 0))
            self.tokens = int(state.get("tokens", 0))
            self.cost = float(state.get("cost", 0.0))

    def __repr__(self) -> str:
        return (
            f"Budget(max_calls={self.max_calls}, max_tokens={self.max_tokens}, "
            f"max_cost={self.max_cost}; spent calls={self.calls}, tokens={self.tokens}, "
            f"cost={self.cost:.6f})"
        )
