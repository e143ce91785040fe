"""SGD-SaI: SGD with momentum whose per-block learning rates are scaled once, at initialization.

Xu et al., "No More Adam: Learning Rate Scaling at Initialization is All You Need" (2024).
At the first step every parameter block (one parameter tensor) gets a fixed scale, its gradient
signal-to-noise ratio ``g-SNR = ||g||_2 / (std(g) + eps)`` measured on that first gradient.
From then on the update is plain SGD with momentum, ``p <- p * (1 - lr * wd) - lr * gsnr * m``,
so the optimizer keeps one state tensor per parameter (the momentum buffer) where AdamW keeps two.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.registry import register

__all__ = ["SGDSaI", "gradient_snr"]


def gradient_snr(grad: torch.Tensor, eps: float = 1e-8) -> float:
    """Return a block's g-SNR: its gradient's L2 norm over the (unbiased) std of its entries.

    Computed in float64. When the entries have no spread to measure (a one-element block, or
    an exactly constant gradient) the ratio is undefined; the paper's reference code then
    divides by ``eps`` alone, which turns a scalar parameter's step into ``||g|| / 1e-8`` and
    diverges, so here, as in pytorch-optimizer's SGDSaI, such a block's g-SNR is ``||g||``.
    """
    flat = grad.detach().reshape(-1).double()
    norm = flat.norm().item()
    std = flat.std().item() if flat.numel() > 1 else 0.0
    if math.isnan(std) or std == 0.0:
        return norm
    return norm / (std + eps)


class SGDSaI(torch.optim.Optimizer):
    """SGD with momentum and per-parameter learning-rate scales fixed by the first gradient's g-SNR.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        lr: base learning rate; each block's effective rate is ``lr * gsnr``.
        momentum: EMA coefficient of the momentum buffer (the buffer starts at the first gradient).
        weight_decay: decoupled weight decay, applied as ``p *= 1 - lr * weight_decay``.
        eps: added to the gradient std so constant gradients do not divide by zero.

    Call it like ``torch.optim.SGD``: ``loss.backward(); opt.step()``. The scales are computed
    on the first ``step()`` in which a parameter has a gradient and never change afterwards;
    read them with :meth:`scaled_lrs`.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 1e-2,
        eps: float = 1e-8,
    ) -> None:
        check_ranges(
            lr=(lr, ">= 0"),
            momentum=(momentum, "in [0, 1)"),
            weight_decay=(weight_decay, ">= 0"),
            eps=(eps, "> 0"),
        )
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "eps": eps}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:  # type: ignore[override]
        """One SGD-with-momentum update; a block's g-SNR is measured at its first step."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, beta = group["lr"], group["momentum"]
            decay = 1.0 - lr * group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if "gsnr" not in state:
                    state["gsnr"] = gradient_snr(grad, group["eps"])
                    state["momentum_buffer"] = grad.detach().clone()
                else:
                    state["momentum_buffer"].mul_(beta).add_(grad, alpha=1.0 - beta)
                p.mul_(decay).add_(state["momentum_buffer"], alpha=-lr * state["gsnr"])
        return loss

    def scaled_lrs(self) -> list[list[float | None]]:
        """Per group, each parameter's effective rate ``lr * gsnr`` (None before its first step)."""
        out: list[list[float | None]] = []
        for group in self.param_groups:
            rates: list[float | None] = []
            for p in group["params"]:
                gsnr = self.state[p].get("gsnr") if p in self.state else None
                rates.append(None if gsnr is None else group["lr"] * gsnr)
            out.append(rates)
        return out


register("sgd_sai", SGDSaI, source="torch")
