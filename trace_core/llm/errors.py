"""The typed errors of the LLM layer.

Callers catch these and never a provider SDK's own exception types. Each message says what to
do next. The tree::

    LLMError                  (derives from trace_core.errors.OptoforgeError)
    ├── LLMConfigError        bad model id, missing key, missing optional package
    ├── LLMRequestError       the provider refused the request (400/401/403/404): never retried
    │   └── LLMAuthError      401/403: the key is missing, wrong or lacks access
    ├── LLMTransientError     5xx, timeouts, dropped connections: retried, raised when retries end
    │   └── LLMRateLimited    429: retried honouring Retry-After
    ├── LLMOutputError        the reply could not be used (no JSON, wrong schema, broken body)
    └── BudgetExceeded        the next call would pass a `Budget` limit; no request was sent
"""

from __future__ import annotations

from trace_core.errors import OptoforgeError


class LLMError(OptoforgeError):
    """Base class of every error raised by ``trace_core.llm``."""


class LLMConfigError(LLMError):
    """The LLM is not configured (unknown provider, missing key or package)."""


class LLMRequestError(LLMError):
    """The provider rejected the request itself; retrying the same request cannot help."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMAuthError(LLMRequestError):
    """The provider refused the credentials (HTTP 401/403)."""


class LLMTransientError(LLMError):
    """A failure that may pass on its own (5xx, timeout, dropped connection); retried."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class LLMRateLimited(LLMTransientError):
    """The provider answered 429; ``retry_after`` holds its Retry-After in seconds, if given."""


class LLMOutputError(LLMError):
    """The reply could not be turned into the requested output.

    ``raw_text`` is the last reply received (so a caller can log or show it) and ``reason``
    says what was wrong with it.
    """

    def __init__(self, message: str, *, raw_text: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.reason = reason


class BudgetExceeded(LLMError):
    """The next call would pass a `Budget` limit; it was refused before any request was sent."""

    def __init__(self, message: str, *, limit: str, spent: float, maximum: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.spent = spent
        self.maximum = maximum


RUN_ENDING_ERRORS: tuple[type[LLMError], ...] = (
    BudgetExceeded,
    LLMConfigError,
    LLMTransientError,
    LLMAuthError,
)
"""LLM errors that would fail every item of a run alike: a spent budget, a missing configuration,
a model unreachable after retries or refusing the key. Loops over items stop on them instead of
scoring every remaining item as failed (other LLM errors belong to one item)."""
