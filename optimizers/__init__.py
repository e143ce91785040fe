"""optimizers: LLM optimizers (OptoPrime, OPRO, TextGrad-style), numeric optimizers, trainer.

Names are loaded lazily so importing ``optimizers`` does not import torch or an LLM SDK.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
