"""HybridOptimizer: tensor parameters by a torch optimizer, everything else by an LLM optimizer.

One workflow can hold a tensor parameter (a linear model's weights) next to a text or code
parameter (the feature-extraction function). ``backward(output, feedback)`` sends the feedback
through the trace graph and, when the output is a scalar tensor loss, runs torch's backward
(trace_core does both in ``Node.backward``). ``step()`` then

1. steps every tensor parameter that received a gradient with the numeric optimizer;
2. steps every tensor parameter that did not (the graph is not differentiable with respect to
   it: the value passed through non-torch code) with a zeroth-order optimizer, if ``step`` was
   given a ``closure`` that re-runs the workflow and returns the loss;
3. steps the other parameters with the LLM optimizer (after the numeric step, so the LLM sees
   the gradients' effect on the next run rather than racing it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from optimizers.errors import OptimizerError
from optimizers.numeric.registry import create, entry
from optimizers.numeric.state_json import from_json, to_json

_log = logging.getLogger(__name__)


class HybridStateError(OptimizerError, ValueError):
    """A hybrid state dict does not match this optimizer's parameters or optimizers."""


@dataclass
class HybridStepResult:
    """What one hybrid step did: the LLM optimizer's result plus the numeric side.

    ``updates``, ``rejected``, ``reasoning`` and ``usage`` forward to the LLM result, so loops
    written for LLM optimizers keep working.
    """

    llm: Any = None
    gradient: list[str] = field(default_factory=list)
    """Tensor parameters stepped with their torch gradient."""
    zeroth_order: list[str] = field(default_factory=list)
    """Tensor parameters stepped from loss values (no gradient reached them)."""
    not_updated: list[str] = field(default_factory=list)
    """Tensor parameters with no gradient and no closure to estimate one: left unchanged."""
    loss: float | None = None
    """The loss the zeroth-order step measured, when it ran."""

    @property
    def updates(self) -> dict[str, Any]:
        """New values the LLM optimizer set this step, by parameter name ({} without one)."""
        return dict(getattr(self.llm, "updates", {}) or {})

    @property
    def rejected(self) -> list[Any]:
        """Updates the LLM optimizer proposed but rejected this step."""
        return list(getattr(self.llm, "rejected", []) or [])

    @property
    def reasoning(self) -> str:
        """The LLM optimizer's reasoning for this step ("" without one)."""
        return str(getattr(self.llm, "reasoning", "") or "")

    @property
    def usage(self) -> Any:
        """LLM usage of this step, or None when there is no LLM optimizer."""
        return getattr(self.llm, "usage", None)

    @property
    def error(self) -> str | None:
        """Why the LLM step failed, or None."""
        return getattr(self.llm, "error", None)


def is_tensor_parameter(param: Any) -> bool:
    """True for a node whose value is a torch tensor (a tensor ``ParameterNode``)."""
    return isinstance(getattr(param, "data", None), torch.Tensor)


def _names(params: list[Any]) -> dict[str, Any]:
    """Name -> parameter: the node's name, or its unique label when names collide."""
    counts: dict[str, int] = {}
    for p in params:
        counts[p.name] = counts.get(p.name, 0) + 1
    return {(p.name if counts[p.name] == 1 else p.label): p for p in params}


class HybridOptimizer:
    """Train tensor and non-tensor parameters of one workflow together, in one ``step()``.

    Args:
        parameters: the workflow's trainable nodes (e.g. ``module.parameters()``).
        llm_optimizer: an LLM optimizer (``optimizers.base.Optimizer`` contract) over the
            non-tensor parameters, or a callable that builds one from them (``OptoPrime`` or
            ``functools.partial(OptoPrime, llm=...)``). May be None when every parameter is a
            tensor.
        numeric: registry name of the optimizer for tensors that get gradients.
        zeroth_order: registry name of the optimizer for tensors that get none.
        zeroth_order_kw: options for the zeroth-order optimizer.
        **numeric_kw: options for the numeric optimizer (``lr``, ``nonfinite``, ...).
    """

    def __init__(
        self,
        parameters: Iterable[Any],
        llm_optimizer: Any = None,
        numeric: str = "adam",
        *,
        zeroth_order: str = "mezo",
        zeroth_order_kw: dict[str, Any] | None = None,
        **numeric_kw: Any,
    ) -> None:
        self.parameters: list[Any] = list(parameters)
        self.tensor_parameters = [p for p in self.parameters if is_tensor_parameter(p)]
        self.other_parameters = [p for p in self.parameters if not is_tensor_parameter(p)]
        for p in self.tensor_parameters:
            if not p.data.requires_grad:
                raise ValueError(
                    f"tensor parameter {p.name!r} has requires_grad=False; create it with "
                    "torch.tensor(..., requires_grad=True) so it can be trained"
                )
        builder = isinstance(llm_optimizer, type) or not hasattr(llm_optimizer, "step")
        if llm_optimizer is not None and builder:
            llm_optimizer = llm_optimizer(self.other_parameters) if self.other_parameters else None
        overlap = [p.name for p in getattr(llm_optimizer, "parameters", []) or []
                   if is_tensor_parameter(p)]  # fmt: skip
        if overlap:
            raise ValueError(
                f"the llm_optimizer also holds tensor parameters {overlap}; build it over the "
                "non-tensor parameters only, or pass its class and let HybridOptimizer do it"
            )
        if llm_optimizer is None and self.other_parameters:
            raise ValueError(
                f"{len(self.other_parameters)} non-tensor parameters need an llm_optimizer "
                "(an optimizer instance, or a class such as OptoPrime to build one)"
            )
        self.llm_optimizer = llm_optimizer
        self.numeric_name = numeric
        self.zeroth_order_name = zeroth_order
        if not entry(zeroth_order).zeroth_order:
            raise ValueError(f"{zeroth_order!r} is not a zeroth-order optimizer")
        tensors = [p.data for p in self.tensor_parameters]
        self.numeric = create(numeric, tensors, **numeric_kw) if tensors else None
        self._zo_kw = dict(zeroth_order_kw or {})
        self.zeroth_order: torch.optim.Optimizer | None = None
        self.step_count = 0

    # -- what optimizers.Trainer reads (the LLM side; tensors live in state_dict) ---------
    @property
    def names(self) -> dict[str, Any]:
        """Prompt name -> non-tensor parameter (the values a Trainer snapshots as JSON)."""
        return dict(getattr(self.llm_optimizer, "names", {}) or {})

    @property
    def usage(self) -> Any:
        """The LLM optimizer's usage so far, or None when there is no LLM optimizer."""
        return getattr(self.llm_optimizer, "usage", None)

    @property
    def budget(self) -> Any:
        """The LLM optimizer's budget, or None when there is no LLM optimizer."""
        return getattr(self.llm_optimizer, "budget", None)

    # -- feedback --------------------------------------------------------------------------
    def zero_feedback(self) -> None:
        """Clear text feedback and tensor gradients (call before each forward pass)."""
        if self.llm_optimizer is not None:
            self.llm_optimizer.zero_feedback()
        for p in self.tensor_parameters:
            p.zero_feedback()
        if self.numeric is not None:
            self.numeric.zero_grad(set_to_none=True)

    zero_grad = zero_feedback

    def backward(self, output: Any, feedback: Any = None, **kw: Any) -> None:
        """Send ``feedback`` on ``output`` back through the graph (and torch's, for a loss).

        With ``feedback=None`` only torch's backward runs (the output must hold a scalar loss
        tensor): the next ``step()`` then moves the tensors and leaves the LLM side alone, so a
        loop can take many cheap gradient steps per LLM call.
        """
        if feedback is None or self.llm_optimizer is None:
            output.backward(feedback)
        else:
            self.llm_optimizer.backward(output, feedback, **kw)

    # -- the update ------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None) -> HybridStepResult:
        """Step tensors (gradient or zeroth-order), then the LLM-optimized parameters.

        ``closure`` re-runs the workflow and returns its loss (a number, a scalar tensor or a
        node holding one), without calling backward; it is needed only for tensor parameters
        that no gradient reaches.
        """
        result = HybridStepResult()
        names = _names(self.tensor_parameters)
        with_grad = {n for n, p in names.items() if p.data.grad is not None}
        without = [n for n in names if n not in with_grad]
        if with_grad and self.numeric is not None:
            self.numeric.step()
            result.gradient = sorted(with_grad)
        if without and closure is not None:
            result.loss = self._zeroth_order_step([names[n] for n in without], closure)
            result.zeroth_order = without
        elif without:
            result.not_updated = without
            _log.warning(
                "tensor parameters %s got no gradient and step() got no closure: not updated. "
                "Pass step(closure) returning the loss to train them from loss values.",
                without,
            )
        if self.llm_optimizer is not None and getattr(self.llm_optimizer, "feedback", True):
            result.llm = self.llm_optimizer.step()
        self.step_count += 1
        return result

    def propose(self) -> Any:
        """The LLM optimizer's proposal (tensor steps are not proposed: they are cheap to redo)."""
        return self.llm_optimizer.propose() if self.llm_optimizer is not None else None

    def _zeroth_order_step(self, params: list[Any], closure: Callable[[], Any]) -> float:
        tensors = [p.data for p in params]
        if self.zeroth_order is None or self._zo_tensors() != [id(t) for t in tensors]:
            self.zeroth_order = create(self.zeroth_order_name, tensors, **self._zo_kw)

        def loss_only() -> Any:
            with torch.no_grad():
                value = closure()
            return getattr(value, "data", value) if not isinstance(value, torch.Tensor) else value

        return float(self.zeroth_order.step(loss_only))

    def _zo_tensors(self) -> list[int]:
        assert self.zeroth_order is not None
        return [id(t) for g in self.zeroth_order.param_groups for t in g["params"]]

    # -- (de)serialization -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state of both sides: tensor values and numeric state, and the LLM state."""
        names = _names(self.tensor_parameters)
        return {
            "optimizer": "HybridOptimizer",
            "step": self.step_count,
            "numeric_name": self.numeric_name,
            "tensors": {n: to_json(p.data) for n, p in names.items()},
            "numeric": to_json(self.numeric.state_dict()) if self.numeric is not None else None,
            "zeroth_order": (
                {"names": [n for n, p in names.items() if id(p.data) in self._zo_tensors()],
                 "state": to_json(self.zeroth_order.state_dict())}
                if self.zeroth_order is not None
                else None
            ),
            "llm": self.llm_optimizer.state_dict() if self.llm_optimizer is not None else None,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` into an optimizer built over the same workflow."""
        if state.get("optimizer") != "HybridOptimizer":
            raise HybridStateError(f"not a HybridOptimizer state: {state.get('optimizer')!r}")
        if state.get("numeric_name") != self.numeric_name:
            raise HybridStateError(
                f"state was saved with numeric={state.get('numeric_name')!r}, this optimizer "
                f"uses {self.numeric_name!r}; build it with the same numeric optimizer"
            )
        names = _names(self.tensor_parameters)
        if set(state["tensors"]) != set(names):
            raise HybridStateError(
                f"tensor parameters differ: saved {sorted(state['tensors'])}, "
                f"here {sorted(names)}; build the optimizer over the same workflow"
            )
        for n, p in names.items():  # set() validates and copies in place (same tensor object)
            p.set(from_json(state["tensors"][n], device=p.data.device))
        if self.numeric is not None and state["numeric"] is not None:
            self.numeric.load_state_dict(from_json(state["numeric"]))
        zo = state.get("zeroth_order")
        if zo is not None:
            tensors = [names[n].data for n in zo["names"]]
            self.zeroth_order = create(self.zeroth_order_name, tensors, **self._zo_kw)
            self.zeroth_order.load_state_dict(from_json(zo["state"]))
        if self.llm_optimizer is not None and state.get("llm") is not None:
            self.llm_optimizer.load_state_dict(state["llm"])
        self.step_count = int(state.get("step", 0))
