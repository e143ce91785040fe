"""Adam's bias-corrected moment estimates, shared by the optimizers that take Adam steps.

ZO-Adam (on the SPSA estimate), AdAdaGrad's ``base="adam"`` and FRUGAL's state-full subspace all
keep Adam's two moments per tensor, in the tensor's optimizer state:

    m ← β1 m + (1-β1) g;   v ← β2 v + (1-β2) g²;   step = m / (1-β1^t) / (sqrt(v / (1-β2^t)) + ε)

Each caller decides what ``g`` is and how the step is applied (in place, on columns, with its
own weight decay); the moments are updated here only.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["adam_moments"]


def adam_moments(
    state: dict[str, Any],
    grad: torch.Tensor,
    betas: tuple[float, float],
    eps: float,
    *,
    like: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Advance Adam's moments in ``state`` by ``grad``; return ``(m, sqrt(v̂) + eps, 1 - β1^t)``.

    The step is ``m / (1 - β1^t) / (sqrt(v̂) + eps)``; it is returned in parts so a caller can
    fuse it into ``addcdiv_``. An empty ``state`` is started with zero moments shaped like
    ``like`` (callers that size their moments themselves, as FRUGAL does, pass None).
    """
    beta1, beta2 = betas
    if not state and like is not None:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(like)
        state["exp_avg_sq"] = torch.zeros_like(like)
    state["step"] += 1
    t = state["step"]
    state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
    state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (state["exp_avg_sq"] / (1 - beta2**t)).sqrt_().add_(eps)
    return state["exp_avg"], denom, 1 - beta1**t
