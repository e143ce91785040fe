"""AdAdaGrad: AdaGrad / AdaGrad-Norm / Adam steps with a norm-test adaptive batch size.

Lau, Liu, Kolar, "AdAdaGrad: Adaptive Batch Size Schemes for Adaptive Gradient Methods"
(arXiv:2402.11215, 2024). The batch-size rule is the norm test of adaptive sampling (Byrd,
Chin, Nocedal, Wu, 2012) applied to adaptive gradient methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from optimizers.numeric.adam_moments import adam_moments
from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.registry import register

BASES = ("adagrad", "adagrad_norm", "adam")


class NormTestBatchSize:
    """Batch-size controller: grow the batch when the gradient noise dominates its mean.

    For a batch B of size b with per-sample gradients ∇f_i and mean ∇F_B, the norm test asks

        Var_B / b ≤ η² ‖∇F_B‖²,   Var_B = 1/(b-1) Σ_i ‖∇f_i - ∇F_B‖²

    and when it fails sets the next batch size to ⌈Var_B / (η² ‖∇F_B‖²)⌉ (never smaller than
    the current one, capped at ``max_batch_size``). Larger η tolerates more noise; the paper
    treats η as a tuned constant, and 0.1 here is a starting point rather than a paper value.
    """

    def __init__(
        self, initial: int = 32, eta: float = 0.1, max_batch_size: int | None = None
    ) -> None:
        if initial < 2:
            raise ValueError(f"the norm test needs batches of at least 2 samples, got {initial}")
        check_ranges(eta=(eta, "> 0"))
        self.batch_size = int(initial)
        self.eta = float(eta)
        self.max_batch_size = max_batch_size
        self.last_ratio: float | None = None
        """Var_B / (b η² ‖∇F_B‖²) of the last update: > 1 means the test failed."""

    def update(self, per_sample_grads: Sequence[torch.Tensor]) -> int:
        """Run the norm test on one batch's per-sample gradients; return the next batch size.

        ``per_sample_grads[j]`` has shape ``(b, *param_j.shape)``.
        """
        b = int(per_sample_grads[0].shape[0])
        if b < 2:
            raise ValueError("the norm test needs at least 2 per-sample gradients")
        variance = torch.zeros((), dtype=torch.float64)
        mean_sq = torch.zeros((), dtype=torch.float64)
        for g in per_sample_grads:
            g64 = g.detach().to(torch.float64).reshape(b, -1)
            mean = g64.mean(0)
            variance += (g64 - mean).pow(2).sum().cpu() / (b - 1)
            mean_sq += mean.pow(2).sum().cpu()
        threshold = self.eta**2 * float(mean_sq)
        if threshold == 0.0:  # a zero mean gradient: any noise fails the test
            self.last_ratio = math.inf
            wanted = self.max_batch_size or self.batch_size
        else:
            self.last_ratio = float(variance) / (b * threshold)
            wanted = math.ceil(float(variance) / threshold) if self.last_ratio > 1 else b
        new = max(self.batch_size, wanted)
        if self.max_batch_size is not None:
            new = min(new, self.max_batch_size)
        self.batch_size = int(new)
        return self.batch_size

    def state_dict(self) -> dict[str, Any]:
        """The batch size, the norm test's ``eta`` and the batch-size cap."""
        return {"batch_size": self.batch_size, "eta": self.eta, "max": self.max_batch_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (for resuming a run)."""
        self.batch_size = int(state["batch_size"])
        self.eta = float(state["eta"])
        self.max_batch_size = state["max"]


class AdAdaGrad(torch.optim.Optimizer):
    """AdaGrad-family steps plus a :class:`NormTestBatchSize` controller (``batch_size``).

    Steps (g the mean mini-batch gradient, in ``p.grad``):

    - ``base="adagrad"`` (AdAdaGrad):      s ← s + g²;      θ ← θ - η g / (√s + ε)
    - ``base="adagrad_norm"`` (AdAdaGradNorm): b² ← b² + ‖g‖² over the group; θ ← θ - η g / (b + ε)
    - ``base="adam"``: Adam's bias-corrected moments (the paper's extension to Adam).

    Use: read ``optimizer.batch_size`` to draw the next batch; after the forward pass call
    :meth:`observe` with per-sample gradients (e.g. from :func:`per_sample_gradients`): it sets
    ``p.grad`` to their mean and updates the batch size; then ``step()``.
    Defaults: η = 1e-2, ε = 1e-10 (torch's AdaGrad), β = (0.9, 0.999) for ``adam``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        *,
        base: str = "adagrad",
        betas: tuple[float, float] = (0.9, 0.999),
        initial_batch_size: int = 32,
        eta: float = 0.1,
        max_batch_size: int | None = None,
    ) -> None:
        if base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {base!r}")
        defaults = {"lr": lr, "eps": eps, "weight_decay": weight_decay, "betas": betas}
        super().__init__(params, defaults)
        self.base = base
        self.controller = NormTestBatchSize(initial_batch_size, eta, max_batch_size)

    @property
    def batch_size(self) -> int:
        """The batch size the norm test asks for next."""
        return self.controller.batch_size

    def observe(self, per_sample_grads: Sequence[torch.Tensor], *, set_grads: bool = True) -> int:
        """Feed one batch's per-sample gradients (parameter order); return the next batch size."""
        params = [p for group in self.param_groups for p in group["params"]]
        if len(per_sample_grads) != len(params):
            raise ValueError(
                f"got per-sample gradients for {len(per_sample_grads)} tensors, but the "
                f"optimizer has {len(params)} parameters (pass them in parameter order)"
            )
        if set_grads:
            for p, g in zip(params, per_sample_grads, strict=True):
                p.grad = g.detach().mean(0).to(p.dtype)
        return self.controller.update(per_sample_grads)

    def state_dict(self) -> dict[str, Any]:
        """torch's optimizer state plus the controller's, under ``batch_size_controller``."""
        sd = super().state_dict()
        sd["batch_size_controller"] = self.controller.state_dict()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore torch's state and, when saved, the batch-size controller's."""
        controller = state_dict.get("batch_size_controller")
        super().load_state_dict(
            {k: v for k, v in state_dict.items() if k != "batch_size_controller"}
        )
        if controller is not None:
            self.controller.load_state_dict(controller)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One AdaGrad, AdaGrad-Norm or Adam step (per ``base``) on params with a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if self.base == "adagrad_norm":
                self._adagrad_norm(group, params)
                continue
            for p in params:
                grad = _grad(p, group["weight_decay"])
                state = self.state[p]
                if self.base == "adagrad":
                    if not state:
                        state["sum"] = torch.zeros_like(p)
                    state["sum"].addcmul_(grad, grad)
                    p.addcdiv_(grad, state["sum"].sqrt().add_(group["eps"]), value=-group["lr"])
                else:
                    self._adam(p, grad, state, group)
        return loss

    def _adagrad_norm(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        # One scalar accumulator for the whole group, kept in the first parameter's state.
        state = self.state[params[0]]
        if "norm_sum" not in state:
            state["norm_sum"] = torch.zeros((), dtype=params[0].dtype, device=params[0].device)
        grads = [_grad(p, group["weight_decay"]) for p in params]
        state["norm_sum"] += torch.stack([g.pow(2).sum() for g in grads]).sum()
        scale = -group["lr"] / (state["norm_sum"].sqrt() + group["eps"])
        for p, g in zip(params, grads, strict=True):
            p.add_(g * scale)

    def _adam(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        exp_avg, denom, bias1 = adam_moments(state, grad, group["betas"], group["eps"], like=p)
        p.addcdiv_(exp_avg, denom, value=-group["lr"] / bias1)


def _grad(p: torch.Tensor, weight_decay: float) -> torch.Tensor:
    """The gradient with L2 weight decay folded in (AdaGrad's classic coupling)."""
    assert p.grad is not None  # callers pass only parameters that have a gradient
    return p.grad.add(p, alpha=weight_decay) if weight_decay else p.grad


def per_sample_gradients(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
) -> list[torch.Tensor]:
    """Per-sample gradients of ``loss_fn(model(x_i), y_i)``, one ``(b, *shape)`` tensor per
    trainable parameter in ``model.parameters()`` order (torch.func vmap over grad)."""
    from torch.func import functional_call, grad, vmap

    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}

    def sample_loss(ps: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> Any:
        out = functional_call(model, ps, (x.unsqueeze(0),))
        return loss_fn(out, y.unsqueeze(0))

    grads = vmap(grad(sample_loss), in_dims=(None, 0, 0))(params, inputs, targets)
    return [grads[n] for n in names]


register("adadagrad", AdAdaGrad, source="torch")
