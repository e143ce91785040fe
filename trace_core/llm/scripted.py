"""A scripted LLM for tests and examples: replies from a list or from a function of the messages.

It runs the same pipeline as the real backends (structured parsing and repair, budget, usage,
retries), so code tested against it behaves the same against a provider.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from trace_core.llm.backend import ChatBackend
from trace_core.llm.base import Message, RawReply, Usage, estimate_tokens, messages_text
from trace_core.llm.errors import LLMError
from trace_core.llm.retry import RetryPolicy

Reply = str | BaseException
Script = Sequence[Reply] | Callable[[list[Message]], str]


class ScriptedLLM(ChatBackend):
    """Replies in order from ``replies``, or ``replies(messages)`` when it is a function.

    A list item that is an exception is raised instead of replying (e.g. `LLMRateLimited` to
    exercise retries). ``calls`` holds every message list received, in order. Usage is
    estimated at about four characters a token. The cache is off unless ``cache=`` says
    otherwise, so a script is consumed exactly as written.
    """

    provider = "scripted"

    def __init__(self, replies: Script, *, model: str = "scripted", **kw: Any) -> None:
        kw.setdefault("cache", False)
        kw.setdefault("max_tokens", 0)  # scripted replies have no length to cap
        kw.setdefault("retry", RetryPolicy(initial_wait=0.0, max_wait=0.0, jitter=0.0))
        super().__init__(model, **kw)
        self._script: Script = replies if callable(replies) else list(replies)
        self._next = 0
        self._lock = threading.Lock()
        self.calls: list[list[Message]] = []

    @property
    def remaining(self) -> int | None:
        """Replies not yet used, or ``None`` for a function script."""
        if callable(self._script):
            return None
        return len(self._script) - self._next

    def _request(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        with self._lock:
            self.calls.append([dict(m) for m in messages])
            fn: Callable[[list[Message]], str] | None = None
            item: Reply | None = None
            if callable(self._script):
                fn = self._script
            else:
                if self._next >= len(self._script):
                    raise LLMError(
                        f"ScriptedLLM ran out of replies after {len(self._script)} call(s); "
                        "give it more replies or a function of the messages."
                    )
                item = self._script[self._next]
                self._next += 1
        text = fn(messages) if fn is not None else item
        if isinstance(text, BaseException):
            raise text
        if not isinstance(text, str):
            raise LLMError(f"ScriptedLLM replies must be str, got {type(text).__name__}")
        prompt = estimate_tokens(messages_text(messages))
        completion = estimate_tokens(text)
        usage = Usage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )
        return RawReply(text=text, usage=usage, model=self.model, finish_reason="stop")
