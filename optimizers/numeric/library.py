"""Optimizers from pytorch-optimizer (checked against pytorch-optimizer 4.1.0).

- lion: ``Lion``, Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"
- adabelief: ``AdaBelief``, Zhuang et al. 2020, "AdaBelief Optimizer"
- diffgrad: ``DiffGrad``, Dubey et al. 2019, "diffGrad: An Optimization Method for CNNs"
- adamp: ``AdamP``, Heo et al. 2021, "AdamP: Slowing Down the Slowdown for Momentum Optimizers"
- exadam: ``EXAdam``, Adly 2024, "EXAdam: The Power of Adaptive Cross-Moments"
- apollo / apollo_mini: ``APOLLO``, Zhu et al. 2024, "APOLLO: SGD-like Memory, AdamW-level
  Performance" (arXiv:2412.05270), main and rank-1 "Mini" settings

pytorch-optimizer also ships ``ApolloDQN``, the unrelated 2020 "Apollo: An Adaptive
Parameter-wise Diagonal Quasi-Newton Method"; ``apollo`` here is deliberately the 2024 APOLLO
(``pytorch_optimizer.APOLLO``: random low-rank projection of matrix gradients, AdamW moments in
the projected space, and the update scaled channel- or tensor-wise by the ratio of the
projected Adam step's norm to the projected gradient's norm).
The library's defaults are the papers' unless a factory says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import torch

from optimizers.numeric.registry import register

SOURCE = "pytorch_optimizer"


def _simple(class_name: str) -> Any:
    def factory(params: Iterable[Any], **kw: Any) -> torch.optim.Optimizer:
        import pytorch_optimizer

        return getattr(pytorch_optimizer, class_name)(params, **kw)

    factory.__name__ = class_name.lower()
    factory.__doc__ = f"``pytorch_optimizer.{class_name}`` with the library's (paper) defaults."
    return factory


def _apollo_groups(params: Iterable[Any], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Give each matrix its own group carrying APOLLO's projection options.

    pytorch-optimizer projects only parameters in groups that have a ``rank`` key (otherwise
    APOLLO silently degrades to AdamW); the rank is clipped to the matrix's smaller side.
    """
    items = list(params)
    groups = [g if isinstance(g, dict) else {"params": [g]} for g in items]
    out: list[dict[str, Any]] = []
    for group in groups:
        rest = {k: v for k, v in group.items() if k != "params"}
        plain = [p for p in group["params"] if p.ndim != 2]
        if plain:
            out.append({**rest, "params": plain})
        for p in group["params"]:
            if p.ndim == 2:
                rank = min(int(options["rank"]), *p.shape)
                out.append({**options, **rest, "rank": rank, "params": [p]})
    return out


def apollo(
    params: Iterable[Any],
    lr: float = 1e-2,
    *,
    rank: int = 256,
    scale: float = 1.0,
    scale_type: Literal["channel", "tensor"] = "channel",
    update_proj_gap: int = 200,
    projection_type: str = "std",
    **kw: Any,
) -> torch.optim.Optimizer:
    """APOLLO (Zhu et al., 2024) with the paper's main setting.

    Update for a matrix W with gradient G (R a random Gaussian projection redrawn every T
    steps): R = PG; Adam moments M, V on R; S = ‖M̂/(√V̂+ε)‖ / ‖R‖ per channel (or per tensor);
    W ← W - η √α · S ⊙ G (with a norm-growth limiter of 1.01 per step). Defaults: rank 256,
    channel-wise scaling, α = 1, T = 200, η = 1e-2 (the paper's LLaMA pre-training settings).
    Non-matrix parameters get plain AdamW steps.
    """
    import pytorch_optimizer

    options = {
        "rank": rank,
        "scale": scale,
        "update_proj_gap": update_proj_gap,
        "projection_type": projection_type,
    }
    groups = _apollo_groups(params, options)
    return pytorch_optimizer.APOLLO(groups, lr=lr, scale_type=scale_type, **kw)


def apollo_mini(params: Iterable[Any], lr: float = 1e-2, **kw: Any) -> torch.optim.Optimizer:
    """APOLLO-Mini: rank 1, tensor-wise scaling, α = 128 (√α ≈ 11.3), as in the paper."""
    kw = {"rank": 1, "scale": 128.0, "scale_type": "tensor", **kw}
    return apollo(params, lr=lr, **kw)


for _name, _cls in [
    ("lion", "Lion"),
    ("adabelief", "AdaBelief"),
    ("diffgrad", "DiffGrad"),
    ("adamp", "AdamP"),
    ("exadam", "EXAdam"),
]:
    register(_name, _simple(_cls), source=SOURCE)
register("apollo", apollo, source=SOURCE)
register("apollo_mini", apollo_mini, source=SOURCE)
