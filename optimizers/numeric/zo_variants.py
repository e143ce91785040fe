"""ZO-Bench variants: forward-gradient, block-wise ZO and hybrid ZO/FO optimizers.

Zhang et al., "Revisiting Zeroth-Order Optimization for Memory-Efficient LLM Fine-Tuning:
A Benchmark" (ICML 2024) compare, next to MeZO-style ZO-SGD / ZO-Adam:

- **forward gradient** (:class:`ForwardGradient`): the exact directional derivative ``∇f·v``
  from forward-mode AD (one forward pass carrying tangents, no stored activations), used as
  ``g = (∇f·v) v`` with ``v ~ N(0, I)``: unbiased like ZO, without the finite-difference error.
- **block-wise ZO** (:class:`ZOBlock`): perturb one block (layer) at a time and estimate its
  gradient from its own pair of forward passes. More forwards per step, much lower variance,
  since each estimate lives in a block-sized space instead of the whole model's.
- **hybrid ZO/FO** (:class:`ZOHybrid`): back-propagate through the chosen blocks (typically the
  last layers or the head, where activations are cheap) and use ZO for the rest; the ZO blocks
  are frozen while the loss is built, so autograd stores nothing for them.

All take ``step(closure)`` where the closure runs a forward pass and returns the loss without
calling ``backward()``. Perturbations ``z`` are regenerated from per-step seeds, never stored.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.autograd.forward_ad as fwAD

from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.nonfinite import NonFiniteError, check_policy
from optimizers.numeric.registry import register

if TYPE_CHECKING:
    from typing import Unpack

    from optimizers.numeric.zeroth_order import SeededOptions

__all__ = ["ForwardGradient", "ZOBlock", "ZOHybrid"]

_SEED_SPACE = 2**62
Closure = Callable[[], torch.Tensor]


def _new_generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


def _draw_seed(gen: torch.Generator) -> int:
    return int(torch.randint(_SEED_SPACE, (1,), generator=gen).item())


def _direction(p: torch.Tensor, seed: int, index: int) -> torch.Tensor:
    """The Gaussian direction of parameter ``index`` for ``seed`` (same seed, same tensor)."""
    gen = torch.Generator(device=p.device)
    gen.manual_seed((seed * 1_000_003 + index * 7919) % _SEED_SPACE)
    return torch.randn(p.shape, generator=gen, device=p.device, dtype=p.dtype)


@torch.no_grad()
def _seeded_add(params: Sequence[tuple[int, torch.Tensor]], seed: int, scale: float) -> None:
    """``p += scale * z_p`` for each ``(index, p)``, with ``z_p`` regenerated from ``seed``."""
    for index, p in params:
        p.add_(_direction(p, seed, index), alpha=scale)


def _require_closure(closure: Closure | None, name: str) -> Closure:
    if closure is None:
        raise ValueError(
            f"{name}.step needs a closure that runs the forward pass and returns the loss "
            "(without calling backward)"
        )
    return closure


def _sgd_update(state: dict[str, Any], p: Any, grad: Any, group: dict[str, Any]) -> None:
    """Step ``p`` against ``grad`` as torch's SGD does: heavy-ball momentum, then ``lr``.

    The momentum buffer lives in ``state`` (the parameter's optimizer state).
    """
    if group["momentum"]:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.clone()
        else:
            buf.mul_(group["momentum"]).add_(grad)
        grad = buf
    p.add_(grad, alpha=-group["lr"])


class _SeededState:
    """Random stream, step count and non-finite policy shared by the optimizers here.

    The stream and count are saved with the torch state, so a resumed run is identical.
    """

    _gen: torch.Generator
    steps: int
    nonfinite: str
    skipped_steps: int

    def _init_bookkeeping(self, seed: int | None = None, nonfinite: str = "raise") -> None:
        self._gen = _new_generator(seed)
        self.steps = 0
        self.nonfinite = check_policy(nonfinite)
        self.skipped_steps = 0

    def _skip_for_nonfinite(self, values: Sequence[float]) -> bool:
        """Apply the ``nonfinite`` policy to a step's loss values; True means skip the update.

        Callers have already put the parameters back where the step started.
        """
        if self.nonfinite == "ignore" or all(math.isfinite(v) for v in values):
            return False
        if self.nonfinite == "raise":
            raise NonFiniteError(
                f"{type(self).__name__}: a loss or derivative was not finite ({list(values)}); "
                "the parameters were left unchanged. Lower eps or the learning rate, or pass "
                "nonfinite='skip'."
            )
        self.skipped_steps += 1
        return True

    def _extra_state(self) -> dict[str, Any]:
        return {"steps": self.steps, "rng": self._gen.get_state()}

    def _load_extra_state(self, extra: dict[str, Any] | None) -> None:
        if extra is not None:
            self.steps = int(extra["steps"])
            self._gen.set_state(extra["rng"])


class _SeededOptimizer(torch.optim.Optimizer, _SeededState):
    """A torch optimizer whose saved state also carries the random stream and step count."""

    def state_dict(self) -> dict[str, Any]:
        """Torch state plus the random stream (directions or perturbations) and step count."""
        return {**super().state_dict(), "zo": self._extra_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "zo"})
        self._load_extra_state(state_dict.get("zo"))


class ForwardGradient(_SeededOptimizer):
    """SGD on forward gradients ``(∇f·v) v`` computed with forward-mode AD (no backward pass).

    Args:
        params: parameters of ``module`` to train (or groups of them).
        module: the ``nn.Module`` the closure calls; its parameters are swapped for dual tensors
            during the forward pass, which is how forward-mode AD sees them.
        lr: learning rate.
        num_directions: directions averaged per step (each one is a forward pass).
        momentum: heavy-ball momentum (0 keeps no optimizer state at all).
        weight_decay: L2 decay added to the estimate.
        **options: ``seed`` and ``nonfinite`` (:class:`SeededOptions`).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        *,
        module: torch.nn.Module,
        lr: float = 1e-3,
        num_directions: int = 1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        **options: Unpack[SeededOptions],
    ) -> None:
        check_ranges(
            lr=(lr, ">= 0"),
            num_directions=(num_directions, ">= 1"),
            momentum=(momentum, "in [0, 1)"),
        )
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        super().__init__(params, defaults)
        self.num_directions = num_directions
        self._init_bookkeeping(**options)
        owners: dict[int, list[tuple[torch.nn.Module, str]]] = {}
        for sub in module.modules():
            for name, p in sub._parameters.items():
                if p is not None:
                    owners.setdefault(id(p), []).append((sub, name))
        self._owners = owners
        missing = [i for i, (_, p) in enumerate(self._indexed()) if id(p) not in owners]
        if missing:
            raise ValueError(
                f"parameters at positions {missing} do not belong to `module`; pass the module "
                "whose forward the closure runs"
            )

    def _indexed(self) -> list[tuple[int, torch.Tensor]]:
        flat = [p for g in self.param_groups for p in g["params"]]
        return [(i, p) for i, p in enumerate(flat) if p.requires_grad]

    def _jvp(self, closure: Closure, seed: int) -> tuple[float, float]:
        """Loss and directional derivative along the seed's direction, in one forward pass."""
        with fwAD.dual_level(), warnings.catch_warnings():
            # torch's first make_dual scripts its jvp decompositions and warns that
            # torch.jit.script is deprecated: torch-internal, nothing a caller can act on
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated")
            for index, p in self._indexed():
                dual = fwAD.make_dual(p.detach(), _direction(p, seed, index))
                for owner, name in self._owners[id(p)]:
                    owner._parameters[name] = dual
            try:
                out = closure()
                primal, tangent = fwAD.unpack_dual(out)
            finally:
                for _, p in self._indexed():
                    for owner, name in self._owners[id(p)]:
                        owner._parameters[name] = p  # type: ignore[assignment]
        if tangent is None:
            raise ValueError("the closure's loss does not depend on the optimized parameters")
        return float(primal.item()), float(tangent.item())

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor:  # type: ignore[override]
        """One forward-gradient step; returns the loss at the current parameters."""
        closure = _require_closure(closure, "ForwardGradient")
        probes = []
        loss = 0.0
        for _ in range(self.num_directions):
            seed = _draw_seed(self._gen)
            loss, jvp = self._jvp(closure, seed)
            probes.append((seed, jvp / self.num_directions))
        if self._skip_for_nonfinite([loss, *(w for _, w in probes)]):
            self.steps += 1
            return torch.tensor(loss)
        index_of = {id(p): i for i, p in self._indexed()}
        for group in self.param_groups:
            for p in group["params"]:
                if id(p) not in index_of:
                    continue
                grad = torch.zeros_like(p)
                for seed, weight in probes:
                    grad.add_(_direction(p, seed, index_of[id(p)]), alpha=weight)
                if group["weight_decay"]:
                    grad.add_(p, alpha=group["weight_decay"])
                _sgd_update(self.state[p], p, grad, group)
        self.steps += 1
        return torch.tensor(loss)


class ZOBlock(torch.optim.Optimizer, _SeededState):
    """Block-wise ZO-SGD: each block gets its own two-point estimate from its own forward pair.

    Args:
        params: parameters or groups.
        lr, eps: learning rate and perturbation scale.
        blocks: ``"param"`` (each tensor is a block, the ZO-Bench "linear" level) or
            ``"group"`` (each param group is a block, e.g. one transformer layer).
        blocks_per_step: how many blocks to visit per step, cycling through them (None = all).
        coordinate: update a block right after its estimate (block-coordinate descent), so later
            blocks see the new values; otherwise all blocks move together at the end.
        **options: ``seed`` and ``nonfinite`` (:class:`SeededOptions`).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        eps: float = 1e-3,
        *,
        blocks: str = "param",
        blocks_per_step: int | None = None,
        coordinate: bool = False,
        **options: Unpack[SeededOptions],
    ) -> None:
        check_ranges(lr=(lr, ">= 0"), eps=(eps, "> 0"))
        if blocks not in ("param", "group"):
            raise ValueError(f"blocks must be 'param' or 'group', got {blocks!r}")
        super().__init__(params, {"lr": lr, "eps": eps})
        self._blocks: list[tuple[dict[str, Any], list[tuple[int, torch.Tensor]]]] = []
        index = 0
        for group in self.param_groups:
            members = []
            for p in group["params"]:  # requires_grad or not: only loss values are needed
                members.append((index, p))
                index += 1
            if blocks == "group":
                self._blocks.append((group, members))
            else:
                self._blocks.extend((group, [m]) for m in members)
        if blocks_per_step is not None and blocks_per_step < 1:
            raise ValueError(f"blocks_per_step must be >= 1 or None, got {blocks_per_step}")
        self.blocks_per_step = blocks_per_step or len(self._blocks)
        self.coordinate = coordinate
        self._init_bookkeeping(**options)
        self._cursor = 0

    @property
    def num_blocks(self) -> int:
        """Number of blocks the parameters were split into."""
        return len(self._blocks)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor:  # type: ignore[override]
        """Estimate and apply block gradients; returns the mean probe loss."""
        closure = _require_closure(closure, "ZOBlock")
        pending: list[tuple[list[tuple[int, torch.Tensor]], int, float]] = []
        losses = []
        for _ in range(self.blocks_per_step):
            group, members = self._blocks[self._cursor]
            self._cursor = (self._cursor + 1) % len(self._blocks)
            seed, eps = _draw_seed(self._gen), group["eps"]
            _seeded_add(members, seed, eps)
            plus = float(closure().item())
            _seeded_add(members, seed, -2.0 * eps)
            minus = float(closure().item())
            _seeded_add(members, seed, eps)
            losses += [plus, minus]
            if self._skip_for_nonfinite([plus, minus]):
                continue
            coefficient = -group["lr"] * (plus - minus) / (2.0 * eps)
            if self.coordinate:
                _seeded_add(members, seed, coefficient)
            else:
                pending.append((members, seed, coefficient))
        for members, seed, coefficient in pending:
            _seeded_add(members, seed, coefficient)
        self.steps += 1
        return torch.tensor(sum(losses) / len(losses))

    def state_dict(self) -> dict[str, Any]:
        """Torch state plus the perturbation stream and the block cursor."""
        return {**super().state_dict(), "zo": {**self._extra_state(), "cursor": self._cursor}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "zo"})
        extra = state_dict.get("zo")
        self._load_extra_state(extra)
        if extra is not None:
            self._cursor = int(extra["cursor"])


class ZOHybrid(_SeededOptimizer):
    """Hybrid ZO/FO: back-propagation for groups marked ``mode="fo"``, ZO-SGD for the rest.

    Example: ``ZOHybrid([{"params": body.parameters()},
    {"params": head.parameters(), "mode": "fo", "lr": 1e-2}], lr=1e-3, eps=1e-3)``.

    Per step: one forward with autograd on (only FO parameters require grad, so activations
    before the first FO block are not kept), then two ZO probe forwards; both parts move at once
    from the same starting point. FO groups use SGD with optional ``momentum``.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        eps: float = 1e-3,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        **options: Unpack[SeededOptions],
    ) -> None:
        defaults = {
            "lr": lr,
            "eps": eps,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "mode": "zo",
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            if group["mode"] not in ("zo", "fo"):
                raise ValueError(f"a group's mode must be 'zo' or 'fo', got {group['mode']!r}")
        self._init_bookkeeping(**options)

    def _members(self, mode: str) -> list[tuple[dict[str, Any], int, torch.Tensor]]:
        out, index = [], 0
        for group in self.param_groups:
            for p in group["params"]:
                if group["mode"] == mode and p.requires_grad:
                    out.append((group, index, p))
                index += 1
        return out

    def _first_order_grads(self, closure: Closure) -> tuple[float, list[torch.Tensor | None]]:
        zo = self._members("zo")
        fo = [p for _, _, p in self._members("fo")]
        for _, _, p in zo:
            p.requires_grad_(False)
        try:
            with torch.enable_grad():
                loss = closure()
                grads = torch.autograd.grad(loss, fo, allow_unused=True) if fo else ()
        finally:
            for _, _, p in zo:
                p.requires_grad_(True)
        return float(loss.item()), list(grads)

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor:  # type: ignore[override]
        """FO gradients for FO groups, a two-point estimate for ZO groups; returns the loss."""
        closure = _require_closure(closure, "ZOHybrid")
        loss, grads = self._first_order_grads(closure)
        checked = [loss]
        checked += [0.0 if g is None or bool(torch.isfinite(g).all()) else math.nan for g in grads]

        zo = self._members("zo")
        projected, seed = 0.0, 0
        if zo:
            indexed = [(i, p) for _, i, p in zo]
            seed, eps = _draw_seed(self._gen), zo[0][0]["eps"]
            _seeded_add(indexed, seed, eps)
            plus = float(closure().item())
            _seeded_add(indexed, seed, -2.0 * eps)
            minus = float(closure().item())
            _seeded_add(indexed, seed, eps)  # back to θ
            projected = (plus - minus) / (2.0 * eps)
            checked += [plus, minus]
        self.steps += 1
        if self._skip_for_nonfinite(checked):
            return torch.tensor(loss)

        for group, index, p in zo:
            p.add_(_direction(p, seed, index), alpha=-group["lr"] * projected)
            if group["weight_decay"]:
                p.mul_(1.0 - group["lr"] * group["weight_decay"])
        for (group, _, p), grad in zip(self._members("fo"), grads, strict=True):
            if grad is None:
                continue
            if group["weight_decay"]:
                grad = grad.add(p, alpha=group["weight_decay"])
            _sgd_update(self.state[p], p, grad, group)
        return torch.tensor(loss)


# forward_grad and zo_hybrid select their tensors by requires_grad (dual tensors; FO groups).
register(
    "forward_grad",
    ForwardGradient,
    source="torch",
    zeroth_order=True,
    needs_grad=True,
    required={
        "module": "<the nn.Module the closure calls>: forward-mode AD swaps that module's "
        "parameters for dual tensors during the forward pass"
    },
)
register("zo_block", ZOBlock, source="torch", zeroth_order=True)
register("zo_hybrid", ZOHybrid, source="torch", zeroth_order=True, needs_grad=True)
