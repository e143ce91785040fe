"""trace_core: record a workflow as a graph (OPTO) and propagate feedback through it.

Public names are loaded lazily so that ``import trace_core`` stays cheap and never imports
torch, openai or litellm.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
