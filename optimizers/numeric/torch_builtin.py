"""torch's own optimizers: sgd, adam, adamw (optionally with 8-bit states via bitsandbytes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from optimizers.numeric.registry import OptimizerUnavailableError, register


def _eight_bit(name: str, params: Iterable[Any], **kw: Any) -> torch.optim.Optimizer:
    """Adam/AdamW with 8-bit block-quantized moments (bitsandbytes), when it installs and runs."""
    try:
        import bitsandbytes.optim as bnb_optim
    except Exception as exc:  # bitsandbytes raises RuntimeError, not ImportError, without a GPU
        raise OptimizerUnavailableError(
            f"eight_bit=True needs bitsandbytes, which failed to import ({exc}); "
            "pip install bitsandbytes, or drop eight_bit"
        ) from exc
    cls = {"adam": bnb_optim.Adam8bit, "adamw": bnb_optim.AdamW8bit}[name]
    return cls(params, **kw)


def sgd(params: Iterable[Any], lr: float = 1e-2, **kw: Any) -> torch.optim.Optimizer:
    """torch.optim.SGD (lr defaults to 1e-2 so the name alone gives a working optimizer)."""
    return torch.optim.SGD(params, lr=lr, **kw)


def adam(params: Iterable[Any], *, eight_bit: bool = False, **kw: Any) -> torch.optim.Optimizer:
    """torch.optim.Adam; ``eight_bit=True`` uses bitsandbytes' Adam8bit."""
    return _eight_bit("adam", params, **kw) if eight_bit else torch.optim.Adam(params, **kw)


def adamw(params: Iterable[Any], *, eight_bit: bool = False, **kw: Any) -> torch.optim.Optimizer:
    """torch.optim.AdamW; ``eight_bit=True`` uses bitsandbytes' AdamW8bit."""
    return _eight_bit("adamw", params, **kw) if eight_bit else torch.optim.AdamW(params, **kw)


register("sgd", sgd, source="torch")
register("adam", adam, source="torch")
register("adamw", adamw, source="torch")
