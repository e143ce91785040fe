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

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import torch

from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.registry import register
from optimizers.numeric.zeroth_order import ZerothOrderOptimizer

if TYPE_CHECKING:
    from typing import Unpack

    from optimizers.numeric.zeroth_order import ZerothOrderOptions

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


class SparseMeZO(ZerothOrderOptimizer):
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
        **options: ``seed`` and ``nonfinite``, as for every zeroth-order optimizer
            (:class:`~optimizers.numeric.zeroth_order.ZerothOrderOptions`).

    ``step(closure)``: the closure runs a forward pass and returns the loss; it must not call
    ``backward()``. Returns the mean of the two probe losses. The step skeleton (probe, restore,
    update, non-finite policy, state) is MeZO's, from ``optimizers.numeric.zeroth_order``; this
    class changes how a direction is applied.
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
        **options: Unpack[ZerothOrderOptions],
    ) -> None:
        check_ranges(
            lr=(lr, ">= 0"),
            sparsity=(sparsity, "in [0, 1)"),
            threshold_every=(threshold_every, ">= 1"),
            chunk_size=(chunk_size, ">= 1"),
        )
        super().__init__(
            params,
            {"lr": lr, "sparsity": sparsity, "weight_decay": weight_decay},
            eps=eps,
            **options,
        )
        self.threshold_every = threshold_every
        self.threshold_sample = threshold_sample
        self.chunk_size = chunk_size

    def _params(self) -> Iterator[tuple[dict[str, Any], int, torch.Tensor]]:
        index = 0
        for group in self.param_groups:
            for p in group["params"]:  # requires_grad or not: zeroth order needs no gradients
                if not p.is_contiguous():
                    raise ValueError(
                        "SparseMeZO walks parameters as flat views and needs them contiguous;"
                        " make the module's weights contiguous before building the optimizer"
                    )
                yield group, index, p
                index += 1

    def _refresh_thresholds(self, step_seed: int) -> None:
        gen = torch.Generator()
        gen.manual_seed(step_seed)
        for group, _, p in self._params():
            self.state[p]["threshold"] = layer_threshold(
                p, group["sparsity"], sample_size=self.threshold_sample, generator=gen
            )

    def _masked_add(self, step_seed: int, coefficient: Callable[[dict[str, Any]], float]) -> None:
        """Add ``coefficient(group) * m⊙z`` to every parameter, chunk by chunk.

        ``z`` of each chunk is regenerated from ``(step_seed, parameter, chunk)``; the mask of a
        chunk is ``|θ| <= h`` on its current values, computed just before use and dropped after.
        """
        generators: dict[torch.device, torch.Generator] = {}
        for group, index, p in self._params():
            scale = coefficient(group)
            if scale == 0.0:
                continue
            threshold = self.state[p]["threshold"]
            flat = p.view(-1)
            gen = generators.get(p.device)
            if gen is None:
                gen = generators[p.device] = torch.Generator(device=p.device)
            for chunk_index, start in enumerate(range(0, flat.numel(), self.chunk_size)):
                chunk = flat[start : start + self.chunk_size]
                gen.manual_seed((step_seed * 1_000_003 + index * 7919 + chunk_index) % _SEED_SPACE)
                z = torch.randn(chunk.shape, generator=gen, device=p.device, dtype=p.dtype)
                mask = chunk.abs().le_(threshold)  # 1.0 where masked, in the abs temporary
                chunk.addcmul_(z, mask, value=scale)
                del z, mask

    def _perturb(self, step_seed: int, scale: float) -> None:
        self._masked_add(step_seed, lambda group: scale * group["eps"])

    def _update(self, step_seed: int, projected_grad: float) -> None:
        self._masked_add(step_seed, lambda group: -group["lr"] * projected_grad)
        for group, _, p in self._params():
            wd = group["weight_decay"]
            if wd == 0.0:
                continue
            threshold = self.state[p]["threshold"]
            flat = p.view(-1)
            for start in range(0, flat.numel(), self.chunk_size):
                chunk = flat[start : start + self.chunk_size]
                chunk.sub_(chunk * (chunk.abs() <= threshold), alpha=group["lr"] * wd)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> torch.Tensor:  # type: ignore[override]
        """Refresh the per-layer thresholds when due, then take MeZO's two-probe step."""
        if self.zo_step % self.threshold_every == 0:
            self._refresh_thresholds(self._step_seed())
        return super().step(closure)

    @property
    def last_thresholds(self) -> list[float]:
        """The per-layer thresholds ``h`` in use (one per trainable tensor, in group order)."""
        return [self.state[p]["threshold"] for _, _, p in self._params()]


register("sparse_mezo", SparseMeZO, source="torch", zeroth_order=True)
