"""Small fixed-seed test problems and a step loop shared by the numeric optimizer tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from optimizers.numeric.registry import entry


def quadratic(dim: int = 10, seed: int = 0) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
    """A well-conditioned convex quadratic 0.5 xᵀAx - bᵀx (min value ≤ 0) and its parameter."""
    gen = torch.Generator().manual_seed(seed)
    m = torch.randn(dim, dim, generator=gen)
    a = m @ m.T / dim + torch.eye(dim)
    b = torch.randn(dim, generator=gen)
    x = torch.zeros(dim, requires_grad=True)

    def loss() -> torch.Tensor:
        return 0.5 * x @ a @ x - b @ x

    return x, loss


def rosenbrock(start: tuple[float, float] = (-1.0, 1.5)) -> tuple[torch.Tensor, Callable]:
    """The 2-D Rosenbrock function (1-x)² + 100(y-x²)², minimum 0 at (1, 1)."""
    xy = torch.tensor(start, requires_grad=True)

    def loss() -> torch.Tensor:
        return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2

    return xy, loss


def run(optimizer: torch.optim.Optimizer, name: str, loss: Callable, steps: int) -> list[float]:
    """Take ``steps`` steps; zeroth-order optimizers get a loss-only closure. Returns losses."""
    zeroth_order = entry(name).zeroth_order
    history: list[float] = []
    for _ in range(steps):
        if zeroth_order:
            value: Any = optimizer.step(loss)
        else:
            optimizer.zero_grad()
            value = loss()
            value.backward()
            optimizer.step()
        history.append(float(value.detach()) if isinstance(value, torch.Tensor) else float(value))
    return history
