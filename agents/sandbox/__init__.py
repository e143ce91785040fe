"""Run generated Python programs in an isolated child process: ``agents.sandbox.run(code)``.

Importing this package loads no solver library, torch or LLM SDK; names load lazily.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "run": "agents.sandbox.runner",
    "RunResult": "agents.sandbox.runner",
    "DEFAULT_OUTPUT_LIMIT": "agents.sandbox.runner",
    "Isolation": "agents.sandbox.isolation",
    "available_isolation": "agents.sandbox.isolation",
    "SandboxError": "agents.sandbox.errors",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
