"""LLM backends used by optimizers and agents.

``get_llm("openai:gpt-4o-mini")`` builds a backend; every backend implements `LLM`
(``complete`` / ``acomplete`` returning a `Completion`) through one shared pipeline: retries,
structured output with repair, a disk cache, usage and cost, budgets and a concurrency limiter.
Names load lazily: importing this package imports no provider SDK.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "LLM": "trace_core.llm.base",
    "Completion": "trace_core.llm.base",
    "Usage": "trace_core.llm.base",
    "Message": "trace_core.llm.base",
    "LLMError": "trace_core.llm.errors",
    "LLMConfigError": "trace_core.llm.errors",
    "LLMRequestError": "trace_core.llm.errors",
    "LLMAuthError": "trace_core.llm.errors",
    "LLMTransientError": "trace_core.llm.errors",
    "LLMRateLimited": "trace_core.llm.errors",
    "LLMOutputError": "trace_core.llm.errors",
    "BudgetExceeded": "trace_core.llm.errors",
    "ChatBackend": "trace_core.llm.backend",
    "get_llm": "trace_core.llm.registry",
    "default_llm": "trace_core.llm.registry",
    "register_provider": "trace_core.llm.registry",
    "parse_model_id": "trace_core.llm.registry",
    "local_model_available": "trace_core.llm.registry",
    "ScriptedLLM": "trace_core.llm.scripted",
    "OpenAIBackend": "trace_core.llm.openai_backend",
    "LiteLLMBackend": "trace_core.llm.litellm_backend",
    "LocalLLM": "trace_core.llm.local",
    "RetryPolicy": "trace_core.llm.retry",
    "ReplyCache": "trace_core.llm.cache",
    "Budget": "trace_core.llm.usage",
    "LLMUsage": "trace_core.llm.meter",
    "Meter": "trace_core.llm.meter",
    "UsageTracker": "trace_core.llm.usage",
    "register_price": "trace_core.llm.usage",
    "Limiter": "trace_core.llm.limiter",
    "extract_json": "trace_core.llm.structured",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
