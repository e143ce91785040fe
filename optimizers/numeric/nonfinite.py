"""What a step does when a gradient is NaN/inf: raise, skip the step, or step anyway.

A single NaN in a gradient turns every parameter it touches into NaN on the next step and the
run is lost; so by default a step checks the gradients first. The check is a torch step
pre-hook (``Optimizer.register_step_pre_hook``), so it works for any ``torch.optim.Optimizer``
subclass (torch, pytorch-optimizer, ours). Skipping sets the offending step's gradients to
``None`` (torch-style optimizers leave a parameter without a gradient, and its state, alone) and
a post-hook restores the param groups' own entries, since some optimizers count steps per group
(pytorch-optimizer's ``group["step"]``, FRUGAL's ``frugal_step``) even when no parameter has a
gradient. So a skipped step changes neither parameters nor state.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any, Literal

from optimizers.numeric.registry import NumericOptimizerError

if TYPE_CHECKING:
    import torch

Policy = Literal["raise", "skip", "ignore"]
POLICIES: tuple[str, ...] = ("raise", "skip", "ignore")

_log = logging.getLogger(__name__)


class NonFiniteError(NumericOptimizerError, FloatingPointError):
    """A gradient (or a zeroth-order loss) was NaN/inf; parameters were left unchanged."""


def check_policy(policy: str) -> Policy:
    """Validate a ``nonfinite`` policy name."""
    if policy not in POLICIES:
        raise ValueError(f"nonfinite must be one of {POLICIES}, got {policy!r}")
    return policy  # type: ignore[return-value]


def first_nonfinite_grad(optimizer: torch.optim.Optimizer) -> tuple[int, int, torch.Tensor] | None:
    """Return (group index, parameter index, parameter) of the first non-finite gradient.

    A NaN or inf anywhere makes a tensor's sum non-finite, so one sum per gradient (no
    temporaries, one device sync in all) clears the common case; ``isfinite`` over a whole
    tensor would allocate several tensor-sized temporaries. A sum that overflows although every
    element is finite is caught by the exact check that follows.
    """
    import torch

    where = [
        (g, i, p)
        for g, group in enumerate(optimizer.param_groups)
        for i, p in enumerate(group["params"])
        if p.grad is not None
    ]
    if not where:
        return None
    sums = torch.stack([p.grad.sum().float() for _, _, p in where])
    finite = torch.isfinite(sums)
    if bool(finite.all()):
        return None
    for k in (~finite).nonzero().flatten().tolist():
        if not bool(torch.isfinite(where[k][2].grad).all()):
            return where[k]
    return None


def nonfinite_message(what: str, g: int, i: int, p: torch.Tensor) -> str:
    """The error text for a NaN/inf ``what`` of parameter ``i`` in group ``g``, with fixes."""
    return (
        f"{what} of parameter {i} in param group {g} (shape {tuple(p.shape)}) contains NaN or "
        "inf; the parameters were left unchanged. Look for log(0), division by zero or overflow "
        "in the loss, lower the learning rate or clip gradients, or create the optimizer with "
        "nonfinite='skip' to skip such steps."
    )


def guard(
    optimizer: torch.optim.Optimizer, policy: str, *, zeroth_order: bool = False
) -> torch.optim.Optimizer:
    """Install the non-finite gradient policy on ``optimizer`` and return it.

    Zeroth-order optimizers have no gradients; they apply the policy to loss values themselves
    (they take ``nonfinite`` in their constructor), so they are returned unchanged.
    """
    policy = check_policy(policy)
    optimizer.skipped_steps = 0  # type: ignore[attr-defined]
    if zeroth_order or policy == "ignore":
        return optimizer

    saved_groups: list[dict[str, Any]] = []

    def settle(opt: torch.optim.Optimizer) -> None:
        bad = first_nonfinite_grad(opt)
        if bad is None:
            return
        g, i, p = bad
        if policy == "raise":
            raise NonFiniteError(nonfinite_message("gradient", g, i, p))
        if not saved_groups:
            saved_groups.extend(
                {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
                for group in opt.param_groups
            )
        for group in opt.param_groups:
            for q in group["params"]:
                q.grad = None
        opt.skipped_steps += 1  # type: ignore[attr-defined]
        _log.warning("skipped an optimizer step: non-finite gradient (param group %d, #%d)", g, i)

    def pre_hook(
        opt: torch.optim.Optimizer, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        # torch passes ``args`` with the optimizer itself first: (self, closure?, ...).
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if closure is None:
            settle(opt)
            return None

        # The closure computes the gradients inside step(): check right after each evaluation.
        def checked_closure() -> Any:
            loss = closure()
            settle(opt)
            return loss

        if "closure" in kwargs:
            return args, {**kwargs, "closure": checked_closure}
        return (args[0], checked_closure, *args[2:]), kwargs

    def post_hook(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if saved_groups:
            for group, saved in zip(opt.param_groups, saved_groups, strict=True):
                group.update(saved)
            saved_groups.clear()

    optimizer.register_step_pre_hook(pre_hook)
    optimizer.register_step_post_hook(post_hook)
    return optimizer
