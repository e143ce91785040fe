"""Run generated Python programs in an isolated child process: ``trace_core.sandbox.run(code)``.

Importing this package loads no solver library, torch or LLM SDK; names load lazily.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "run": "trace_core.sandbox.runner",
    "RunResult": "trace_core.sandbox.runner",
    "DEFAULT_OUTPUT_LIMIT": "trace_core.sandbox.runner",
    "Isolation": "trace_core.sandbox.isolation",
    "available_isolation": "trace_core.sandbox.isolation",
    "SandboxError": "trace_core.sandbox.errors",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
