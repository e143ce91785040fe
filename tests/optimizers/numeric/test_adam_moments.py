"""Adam's moments, kept once for ZO-Adam, AdAdaGrad and FRUGAL, step exactly like torch's Adam."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.adam_moments import adam_moments  # noqa: E402

pytestmark = pytest.mark.torch


def test_steps_from_the_moments_follow_torch_adam() -> None:
    torch.manual_seed(0)
    ours = torch.randn(5)
    theirs = ours.clone().requires_grad_(True)
    reference = torch.optim.Adam([theirs], lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    state: dict[str, object] = {}
    for _ in range(4):
        grad = torch.randn(5)
        theirs.grad = grad.clone()
        reference.step()
        exp_avg, denom, bias1 = adam_moments(state, grad, (0.8, 0.99), 1e-6, like=ours)
        ours.addcdiv_(exp_avg, denom, value=-0.1 / bias1)
    assert state["step"] == 4
    torch.testing.assert_close(ours, theirs.detach(), rtol=1e-5, atol=1e-6)


def test_moments_sized_by_the_caller_are_kept() -> None:
    state = {"step": 0, "exp_avg": torch.zeros(2), "exp_avg_sq": torch.zeros(2)}
    exp_avg, denom, bias1 = adam_moments(state, torch.tensor([1.0, -2.0]), (0.9, 0.999), 0.0)
    assert exp_avg is state["exp_avg"]
    torch.testing.assert_close(exp_avg / denom / bias1, torch.tensor([1.0, -1.0]))
