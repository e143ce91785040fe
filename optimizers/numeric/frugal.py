"""FRUGAL: AdamW on a state-full subspace, state-free signSGD on the rest.

Zmushko, Beznosikov, Takáč, Horváth, "FRUGAL: Memory-Efficient Optimization by Reducing State
Overhead for Scalable Training", ICML 2025 (arXiv:2411.07837).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from optimizers.numeric.adam_moments import adam_moments
from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.registry import register

_SEED_STRIDE = 1_000_003
PROJECTIONS = ("blocks", "columns")
# Per-parameter modes, stored as ints: torch's load_state_dict mangles string state values.
FREE, FULL, COLUMNS = 0, 1, 2


class FRUGAL(torch.optim.Optimizer):
    """Gradient splitting: a state-full AdamW update on a subspace, signSGD on its complement.

    Every ``update_gap`` (T) steps a new state-full subspace S is drawn; then, with g the
    gradient, P_S the projection onto S and the moments kept only on S:

        m ← β1 m + (1-β1) P_S g;   v ← β2 v + (1-β2) (P_S g)²
        θ ← θ - η P_S^T [ m̂ / (sqrt(v̂) + ε) ] - η_free sign(g - P_S^T P_S g) - η λ θ

    (m̂, v̂ bias-corrected by the steps since S was drawn; the moments restart at zero when S
    changes, as in the paper). ``projection`` picks S:

    - ``"blocks"`` (the paper's blockwise variant): whole parameter tensors, drawn at random
      until they hold a ``density`` fraction of the group's elements;
    - ``"columns"``: for each matrix, a random ``density`` fraction of its columns.

    Tensors with fewer than 2 dimensions (biases, norm scales) are always state-full: they are
    tiny, and the paper keeps norms state-full too. Defaults follow the paper's main setting:
    density ρ = 0.25, T = 200, AdamW β = (0.9, 0.999), ε = 1e-8, and a state-free signSGD step
    with the same learning rate (``free_lr=None``). ``state_free="sgd"`` uses plain SGD instead.
    Optimizer memory is about 2ρ of AdamW's.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        density: float = 0.25,
        update_gap: int = 200,
        projection: str = "blocks",
        free_lr: float | None = None,
        state_free: str = "signsgd",
        seed: int = 0,
    ) -> None:
        check_ranges(density=(density, "in [0, 1]"), update_gap=(update_gap, ">= 1"))
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
        if state_free not in ("signsgd", "sgd"):
            raise ValueError(f"state_free must be 'signsgd' or 'sgd', got {state_free!r}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "density": density,
            "update_gap": update_gap,
            "projection": projection,
            "free_lr": free_lr,
            "state_free": state_free,
            "seed": seed,
            "frugal_step": 0,  # lives in the group so state_dict() carries it
        }
        super().__init__(params, defaults)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore torch's state, keeping column indices integer (torch casts them to floats)."""
        super().load_state_dict(state_dict)
        # torch casts floating-point-param state to the param dtype; column indices stay ints.
        for state in self.state.values():
            if "columns" in state:
                state["columns"] = state["columns"].long()

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One FRUGAL step; draws a new state-full subspace every ``update_gap`` steps."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for index, group in enumerate(self.param_groups):
            if group["frugal_step"] % group["update_gap"] == 0:
                self._choose_subspace(index, group)
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
            group["frugal_step"] += 1
        return loss

    def _choose_subspace(self, index: int, group: dict[str, Any]) -> None:
        """Draw the state-full subspace for this period and reset the moments (paper, Alg. 1)."""
        period = group["frugal_step"] // group["update_gap"]
        gen = torch.Generator().manual_seed(
            (group["seed"] * _SEED_STRIDE + period) * 31 + index  # deterministic per period
        )
        params = group["params"]
        matrices = [p for p in params if p.ndim >= 2]
        chosen: set[int] = set()
        if group["projection"] == "blocks" and matrices:
            budget = group["density"] * sum(p.numel() for p in matrices)
            taken = 0
            for i in torch.randperm(len(matrices), generator=gen).tolist():
                if taken >= budget:
                    break
                chosen.add(id(matrices[i]))
                taken += matrices[i].numel()
        for p in params:
            self.state[p].clear()
            state = self.state[p]
            if p.ndim < 2 or id(p) in chosen:
                state["mode"] = FULL
            elif group["projection"] == "columns":
                ncols = p[0].numel()
                k = min(ncols, max(1, math.ceil(group["density"] * ncols)))
                cols = torch.randperm(ncols, generator=gen)[:k].sort().values
                state["mode"] = COLUMNS
                state["columns"] = cols.to(p.device)
            else:
                state["mode"] = FREE
                continue
            shape = (p.shape[0], len(state["columns"])) if state["mode"] == COLUMNS else p.shape
            state["step"] = 0
            state["exp_avg"] = torch.zeros(shape, dtype=p.dtype, device=p.device)
            state["exp_avg_sq"] = torch.zeros(shape, dtype=p.dtype, device=p.device)

    def _adam_direction(self, state: dict[str, Any], grad: torch.Tensor, group: dict) -> Any:
        exp_avg, denom, bias1 = adam_moments(state, grad, group["betas"], group["eps"])
        return exp_avg / denom / bias1

    def _free_direction(self, grad: torch.Tensor, group: dict[str, Any]) -> torch.Tensor:
        return grad.sign() if group["state_free"] == "signsgd" else grad.clone()

    def _update(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        state = self.state[p]
        lr = group["lr"]
        free_lr = lr if group["free_lr"] is None else group["free_lr"]
        if group["weight_decay"]:
            p.mul_(1 - lr * group["weight_decay"])
        grad = p.grad
        assert grad is not None  # step() only updates parameters that have a gradient
        mode = state["mode"]
        if mode == FULL:
            p.add_(self._adam_direction(state, grad, group), alpha=-lr)
        elif mode == FREE:
            p.add_(self._free_direction(grad, group), alpha=-free_lr)
        else:  # columns: Adam on the chosen columns, state-free on the others
            cols = state["columns"]
            g2 = grad.reshape(p.shape[0], -1)
            p2 = p.view(p.shape[0], -1)
            free = self._free_direction(g2, group)
            free[:, cols] = 0
            p2.add_(free, alpha=-free_lr)
            p2[:, cols] -= lr * self._adam_direction(state, g2[:, cols], group)


register("frugal", FRUGAL, source="torch")
