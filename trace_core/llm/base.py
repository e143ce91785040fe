"""What every LLM backend returns and the protocol the rest of optoforge codes against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

Message = dict[str, Any]
"""One chat message, OpenAI-shaped: ``{"role": "user", "content": "..."}``."""


class Usage(BaseModel):
    """Token counts of one call (or a total of several)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class Completion(BaseModel):
    """The result of one `LLM.complete` call.

    ``parsed`` is the validated object when a ``response_format`` was requested. ``usage`` and
    ``cost`` add up every request the call made (repair re-asks included); a cached result
    costs nothing, and ``cost`` is ``None`` when the model's price is unknown (never a
    misleading 0.0). ``attempts`` counts HTTP attempts (retries and repair re-asks included),
    ``repairs`` the re-asks sent because a reply did not parse. ``finish_reason`` is the
    server's (``"length"``: the reply was cut at ``max_tokens``, see `truncated`).
    """

    text: str
    parsed: Any | None = None
    usage: Usage = Usage()
    cost: float | None = 0.0
    model: str = ""
    cached: bool = False
    attempts: int = 1
    repairs: int = 0
    finish_reason: str | None = None

    @property
    def truncated(self) -> bool:
        """True when the reply was cut off at ``max_tokens`` rather than finished."""
        return self.finish_reason == "length"


@runtime_checkable
class LLM(Protocol):
    """A chat model: messages in, `Completion` out (sync and async)."""

    def complete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """Answer ``messages``; with ``response_format`` (a pydantic model), parse the reply."""
        ...

    async def acomplete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """Async `complete`."""
        ...


@dataclass
class RawReply:
    """One provider response, before parsing: what a backend's transport returns."""

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None


def estimate_tokens(text: str) -> int:
    """A provider-neutral token estimate (about four characters a token)."""
    return (len(text) + 3) // 4


def messages_text(messages: list[Message]) -> str:
    """All message contents joined, for estimates and scripted usage."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)
