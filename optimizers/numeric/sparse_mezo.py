"""Sparse MeZO: zeroth-order SGD that perturbs and updates only small-magnitude weights.

Liu et al., "Sparse MeZO: Less Parameters for Better Performance in Zeroth-Order LLM
Fine-Tuning" (2024). Each step estimates a directional derivative from two forward passes,
``g = (L(θ + ε m⊙z) - L(θ - ε m⊙z)) / 2ε``, and moves ``θ <- θ - lr · g · m⊙z``, where
``z ~ N(0, I)`` and the mask ``m`` selects, per layer (parameter tensor), the weights whose
magnitude is at most a threshold ``h``: the ``(1 - sparsity)`` quantile of ``|θ|`` in that layer.

Memory: like MeZO, ``z`` is never stored; it is regenerated from a per-step seed. Like the
paper's memory-optimized variant, the mask is never stored either: it is recomputed on the fly
from the current weights and the per-layer threshold (one float per layer). On top of that this
implementation walks each parameter in fixed-size chunks, so the extra memory of a step is
O(chunk_size) rather than O(largest layer); the threshold of a large layer is estimated from a
fixed-size random sample of its entries.

A consequence of recomputing the mask from the current (perturbed) weights, shared with the
paper's algorithm: a masked weight within ``ε|z|`` of the threshold can leave the mask mid-step
and keep a residue of at most ``2ε|z|``. Unmasked weights are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["SparseMeZO", "layer_threshold"]

_SEED_SPACE = 2**62


def layer_threshold(
    param: torch.Tensor,
    sparsity: float,
    *,
    sample_size: int | None = 65536,
    generator: torch.Generator | None = None,
) -> float:
    """Return the magnitude threshold ``h`` so that ``|param| <= h`` keeps ``1 - sparsity`` of it.

    Layers with more than ``sample_size`` entries are estimated from that many entries drawn
    uniformly (with replacement), so no full-size temporary is made; ``None`` means exact.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if sparsity == 0.0:
        return float("inf")
    flat = param.detach().reshape(-1)
    n = flat.numel()
    if sample_size is not None and n > sample_size:
        idx = torch.randint(n, (sample_size,), generator=generator, device=flat.device)
        values = flat[idx].abs()
    else:
        values = flat.abs()
    k = max(1, round((1.0 - sparsity) * values.numel()))
    return float(values.float().kthvalue(k).values.item())


class SparseMeZO(torch.optim.Optimizer):
    """Zeroth-order SGD on the small-magnitude weights of each layer, with on-the-fly masks.

    Args:
        params: parameters or parameter groups; every tensor is one layer for the threshold.
        lr: learning rate.
        eps: perturbation scale ε.
        sparsity: fraction of each layer left untouched (the largest-magnitude weights).
        weight_decay: L2 decay applied to masked weights only (so unmasked ones stay fixed).
        threshold_every: recompute the per-layer thresholds every this many steps (the paper's
            masks are dynamic: the thresholds follow the weights).
        threshold_sample: entries sampled to estimate a large layer's threshold (None = exact).
        chunk_size: number of entries perturbed at a time; bounds the extra memory of a step.
        seed: seed of the optimizer's own random stream (perturbations and threshold samples).

    ``step(closure)``: the closure runs a forward pass and returns the loss; it must not call
    ``backward()``. Returns the mean of the two probe losses.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        eps: float = 1e-3,
        sparsity: float = 0.75,
        weight_decay: float = 0.0,
        *,
        threshold_every: int = 1,
        threshold_sample: int | None = 65536,
        chunk_size: int = 65536,
        seed: int | None = None,
    ) -> None:
        if lr < 0.0:
            raise ValueError(f"lr must be >= 0, got {lr}")
        if eps <= 0.0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
        if threshold_every < 1:
            raise ValueError(f"threshold_every must be >= 1, got {threshold_every}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        defaults = {"lr": lr, "eps": eps, "sparsity": sparsity, "weight_decay": weight_decay}
        super().__init__(params, defaults)
        self.threshold_every = threshold_every
        self.threshold_sample = threshold_sample
        self.chunk_size = chunk_size
        self._rng = torch.Generator()
        self._rng.manual_seed(
            seed if seed is not None else int(torch.randint(_SEED_SPACE, (1,)).item())
        )
        self._steps = 0
        self.last_projected_grad: float | None = None

    def _params(self) -> Iterable[tuple[dict[str, Any], int, torch.Tensor]]:
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.requires_grad:
                    yield group, index, p
                index += 1

    def _refresh_thresholds(self) -> None:
        for group, _, p in self._params():
            self.state[p]["threshold"] = layer_threshold(
                p, group["sparsity"], sample_size=self.threshold_sample, generator=self._rng
            )

    @torch.no_grad()
    def _apply(self, seed: int, coefficient: Callable[[dict[str, Any]], float]) -> None:
        """Add ``coefficient(group) * m⊙z`` to every parameter, chunk by chunk, ``z`` from ``seed``.

        The mask of each chunk is ``|θ| <= h`` on the chunk's current values, computed just
        before it is used and dropped right after.
        """
        for group, index, p in self._params():
            scale = coefficient(group)
            if scale == 0.0:
                continue
            threshold = self.state[p]["threshold"]
            flat = p.data.view(-1) if p.data.is_contiguous() else None
            if flat is None:
                raise ValueError(
                    "SparseMeZO needs contiguous parameters; call .contiguous() on the module's "
                    "weights before building the optimizer"
                )
            gen = torch.Generator(device=p.device)
            for chunk_index, start in enumerate(range(0, flat.numel(), self.chunk_size)):
                chunk = flat[start : start + self.chunk_size]
                gen.manual_seed((seed * 1_000_003 + index * 7919 + chunk_index) % _SEED_SPACE)
                z = torch.randn(chunk.shape, generator=gen, device=p.device, dtype=p.dtype)
                z.mul_(chunk.abs() <= threshold)
                chunk.add_(z, alpha=scale)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:  # type: ignore[override]
        """Run the two probe forwards and update the masked weights; returns the mean probe loss."""
        if closure is None:
            raise ValueError(
                "SparseMeZO.step needs a closure that runs the forward pass and returns the loss"
            )
        if self._steps % self.threshold_every == 0:
            self._refresh_thresholds()
        seed = int(torch.randint(_SEED_SPACE, (1,), generator=self._rng).item())

        self._apply(seed, lambda g: g["eps"])
        loss_plus = closure()
        self._apply(seed, lambda g: -2.0 * g["eps"])
        loss_minus = closure()
        diff = float((loss_plus - loss_minus).item())
        # restore (+ε) and update (-lr·g) in one pass; g = diff / 2ε is per group because ε is.
        self._apply(seed, lambda g: g["eps"] - g["lr"] * diff / (2.0 * g["eps"]))
        self._decay_masked()

        self._steps += 1
        self.last_projected_grad = diff / (2.0 * self.param_groups[0]["eps"])
        return (loss_plus.detach() + loss_minus.detach()) / 2.0

    @torch.no_grad()
    def _decay_masked(self) -> None:
        for group, _, p in self._params():
            wd = group["weight_decay"]
            if wd == 0.0:
                continue
            threshold = self.state[p]["threshold"]
            flat = p.data.view(-1)
            for start in range(0, flat.numel(), self.chunk_size):
                chunk = flat[start : start + self.chunk_size]
                keep = chunk.abs() <= threshold
                chunk.sub_(chunk * keep, alpha=group["lr"] * wd)

    def state_dict(self) -> dict[str, Any]:
        """Torch state plus the step count and the random stream, so a resumed run is identical."""
        sd = super().state_dict()
        sd["sparse_mezo"] = {"steps": self._steps, "rng": self._rng.get_state()}
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        extra = state_dict.get("sparse_mezo")
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "sparse_mezo"})
        if extra is not None:
            self._steps = int(extra["steps"])
            self._rng.set_state(extra["rng"])
