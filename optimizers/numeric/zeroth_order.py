"""Zeroth-order optimizers: MeZO (in-place ZO-SGD) and ZO-Adam, from loss values only.

Both estimate the gradient with a two-point SPSA estimate along a random Gaussian direction z:

    g_proj = (L(θ + εz) - L(θ - εz)) / (2ε),        ĝ = g_proj · z

``step(closure)`` follows torch's closure convention, except that the closure only returns the
loss (it runs under ``torch.no_grad()`` and must not call ``backward()``). z is never stored:
it is regenerated from a per-step seed, one parameter tensor at a time, so the only extra memory
is one temporary the size of the largest parameter (MeZO's point). The per-step seed is a
function of ``(seed, step)``, so a ``state_dict`` round trip resumes the exact trajectory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypedDict

import torch

from optimizers.numeric.adam_moments import adam_moments
from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.nonfinite import NonFiniteError, check_policy
from optimizers.numeric.registry import register, require_tensors

if TYPE_CHECKING:
    from typing import Unpack

Closure = Callable[[], Any]

_SEED_STRIDE = 1_000_003  # a prime: distinct (seed, step) pairs give distinct per-step seeds


class ZerothOrderOptions(TypedDict, total=False):
    """Keyword options every SPSA optimizer takes, declared once for all of them.

    ``seed`` (default 0) seeds the perturbation stream; with the step count (saved in
    ``state_dict``) it fixes every step's perturbation, so a resumed run is identical.
    ``nonfinite`` (default "raise"; or "skip", "ignore") is what a NaN/inf probe loss does.
    """

    seed: int
    nonfinite: str


class SeededOptions(TypedDict, total=False):
    """The same for the ZO-Bench variants (``zo_variants``), whose ``seed`` may be None: random."""

    seed: int | None
    nonfinite: str


class ZerothOrderOptimizer(torch.optim.Optimizer):
    """Base for SPSA-style optimizers: perturbation by seed replay, projected gradient, policy.

    Subclasses implement :meth:`_update` (apply one step given the projected gradient and the
    step's seed). ``nonfinite`` ("raise", "skip", "ignore") applies to the two loss values:
    a NaN/inf loss leaves the parameters where they were before the step.
    """

    def __init__(
        self,
        params: Iterable[Any],
        defaults: dict[str, Any],
        *,
        eps: float,
        seed: int = 0,
        nonfinite: str = "raise",
    ) -> None:
        if eps <= 0:
            raise ValueError(f"perturbation eps must be > 0, got {eps}")
        params = require_tensors(type(self).__name__, params)
        super().__init__(params, {**defaults, "eps": eps})
        self.seed = int(seed)
        self.nonfinite = check_policy(nonfinite)
        self.zo_step = 0  # global step counter; part of the state dict
        self.skipped_steps = 0

    # ---- state: the step counter lives next to torch's per-parameter state -------------------
    def state_dict(self) -> dict[str, Any]:
        """torch's state plus the perturbation seed and step counter, under ``zeroth_order``."""
        sd = super().state_dict()
        sd["zeroth_order"] = {"seed": self.seed, "step": self.zo_step}
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore torch's state, seed and step counter (so resumed steps draw the same noise)."""
        extra = state_dict.get("zeroth_order", {"seed": self.seed, "step": 0})
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "zeroth_order"})
        self.seed = int(extra["seed"])
        self.zo_step = int(extra["step"])

    # ---- the shared machinery ----------------------------------------------------------------
    def _step_seed(self) -> int:
        return (self.seed * _SEED_STRIDE + self.zo_step) % (2**63 - 1)

    def _for_each_direction(
        self, step_seed: int, apply: Callable[[dict[str, Any], torch.Tensor, torch.Tensor], None]
    ) -> None:
        """Call ``apply(group, param, z)`` with z regenerated from ``step_seed``.

        One z exists at a time: it is dropped before the next one is drawn, which is what keeps
        the peak overhead at one copy of the largest parameter (a generator yielding z would
        hold two, since the caller keeps the previous z while the next is drawn).
        """
        generators: dict[torch.device, torch.Generator] = {}
        for group in self.param_groups:
            # Every tensor moves, requires_grad or not: the estimate needs only loss values, and
            # a tensor made without requires_grad is the natural way to hold such weights.
            for p in group["params"]:
                gen = generators.get(p.device)
                if gen is None:
                    gen = generators[p.device] = torch.Generator(device=p.device)
                    gen.manual_seed(step_seed)
                z = torch.randn(p.shape, generator=gen, device=p.device, dtype=p.dtype)
                apply(group, p, z)
                del z

    def _perturb(self, step_seed: int, scale: float) -> None:
        def shift(group: dict[str, Any], p: torch.Tensor, z: torch.Tensor) -> None:
            p.add_(z, alpha=scale * group["eps"])

        self._for_each_direction(step_seed, shift)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor:  # type: ignore[override]
        """Take one zeroth-order step; ``closure()`` returns the loss without calling backward."""
        if closure is None:
            raise TypeError(
                f"{type(self).__name__}.step needs a closure that returns the loss "
                "(zeroth-order optimizers evaluate the loss themselves; no backward() needed)"
            )
        seed = self._step_seed()
        self._perturb(seed, +1.0)
        loss_plus = _as_float(closure())
        self._perturb(seed, -2.0)
        loss_minus = _as_float(closure())
        self._perturb(seed, +1.0)  # back to θ (up to float rounding)
        loss = torch.tensor((loss_plus + loss_minus) / 2)
        if not (torch.isfinite(torch.tensor([loss_plus, loss_minus])).all()):
            if self.nonfinite == "raise":
                raise NonFiniteError(
                    f"{type(self).__name__}: the loss was not finite at θ±εz "
                    f"(L+={loss_plus}, L-={loss_minus}); the parameters were left unchanged. "
                    "Lower eps or the learning rate, or pass nonfinite='skip'."
                )
            if self.nonfinite == "skip":
                self.skipped_steps += 1
                self.zo_step += 1
                return loss
        eps = self.param_groups[0]["eps"]
        projected_grad = (loss_plus - loss_minus) / (2 * eps)
        self._update(seed, projected_grad)
        self.zo_step += 1
        return loss

    def _update(self, step_seed: int, projected_grad: float) -> None:
        raise NotImplementedError


def _as_float(loss: Any) -> float:
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ValueError(
                f"the closure must return a scalar loss, got shape {tuple(loss.shape)}"
            )
        return float(loss.detach())
    return float(loss)


class MeZO(ZerothOrderOptimizer):
    """MeZO: memory-efficient zeroth-order SGD (Malladi et al., 2023).

    Paper: "Fine-Tuning Language Models with Just Forward Passes", NeurIPS 2023, Algorithm 1.
    With z regenerated from the step's seed s (never stored):

        θ ← θ + εz;  ℓ+ = L(θ);  θ ← θ - 2εz;  ℓ- = L(θ);  θ ← θ + εz
        g = (ℓ+ - ℓ-) / (2ε)
        θ ← θ - η (g z + λ θ)           (z regenerated from s once more)

    Defaults are the paper's for OPT fine-tuning: ε = 1e-3, η = 1e-6, λ = 0 (the learning rate
    must be tuned per task; the paper sweeps {1e-6, 1e-7}). Memory: parameters plus one
    temporary the size of the largest parameter tensor.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-6,
        eps: float = 1e-3,
        weight_decay: float = 0.0,
        **options: Unpack[ZerothOrderOptions],
    ) -> None:
        check_ranges(lr=(lr, "> 0"))
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay}, eps=eps, **options)

    def _update(self, step_seed: int, projected_grad: float) -> None:
        def sgd(group: dict[str, Any], p: torch.Tensor, z: torch.Tensor) -> None:
            if group["weight_decay"]:
                p.mul_(1 - group["lr"] * group["weight_decay"])
            p.add_(z, alpha=-group["lr"] * projected_grad)

        self._for_each_direction(step_seed, sgd)


class ZOAdam(ZerothOrderOptimizer):
    """ZO-Adam: Adam moments over the SPSA gradient estimate (ZO-AdaMM, Chen et al., 2019).

    Paper: "ZO-AdaMM: Zeroth-Order Adaptive Momentum Method for Black-Box Optimization",
    NeurIPS 2019; the LLM fine-tuning form benchmarked by Zhang et al., "Revisiting Zeroth-Order
    Optimization for Memory-Efficient LLM Fine-Tuning" (ICML 2024). With ĝ = g·z:

        m ← β1 m + (1-β1) ĝ;   v ← β2 v + (1-β2) ĝ²
        θ ← θ - η (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + δ) - η λ θ

    Defaults: η = 1e-3, β = (0.9, 0.999), δ = 1e-8, ε = 1e-3. Unlike MeZO this keeps two
    moment tensors per parameter (Adam's memory), trading memory for fewer steps.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-3,
        adam_eps: float = 1e-8,
        weight_decay: float = 0.0,
        **options: Unpack[ZerothOrderOptions],
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "adam_eps": adam_eps, "weight_decay": weight_decay}
        super().__init__(params, defaults, eps=eps, **options)

    def _update(self, step_seed: int, projected_grad: float) -> None:
        self._for_each_direction(step_seed, lambda g, p, z: self._adam(g, p, z, projected_grad))

    def _adam(
        self, group: dict[str, Any], p: torch.Tensor, z: torch.Tensor, projected_grad: float
    ) -> None:
        grad = z.mul_(projected_grad)  # z is a fresh temporary: reuse its memory for ĝ
        exp_avg, denom, bias1 = adam_moments(
            self.state[p], grad, group["betas"], group["adam_eps"], like=p
        )
        if group["weight_decay"]:
            p.mul_(1 - group["lr"] * group["weight_decay"])
        p.addcdiv_(exp_avg, denom, value=-group["lr"] / bias1)


register("mezo", MeZO, source="torch", zeroth_order=True)
register("zo_adam", ZOAdam, source="torch", zeroth_order=True)
