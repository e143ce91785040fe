"""SGD-SaI: g-SNR scales measured once on the first gradient, then SGD with momentum."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.sgd_sai import SGDSaI  # noqa: E402

pytestmark = pytest.mark.torch


def _fixed_batch_model() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    x = torch.randn(16, 5)
    y = torch.randint(0, 3, (16,))
    return model, x, y


def _hand_gsnr(values: list[float], eps: float) -> float:
    n = len(values)
    norm = math.sqrt(sum(v * v for v in values))
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return norm / (std + eps)


def test_scaled_rates_equal_hand_computed_gsnr_on_a_fixed_batch() -> None:
    model, x, y = _fixed_batch_model()
    opt = SGDSaI(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.0, eps=1e-8)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    grads = [p.grad.reshape(-1).tolist() for p in model.parameters()]
    opt.step()

    expected = [0.05 * _hand_gsnr(g, 1e-8) for g in grads]
    assert opt.scaled_lrs()[0] == pytest.approx(expected, rel=1e-9)
    # blocks really get different rates: that is the point of the method
    assert max(expected) / min(expected) > 1.5


def test_first_update_is_scaled_rate_times_gradient() -> None:
    model, x, y = _fixed_batch_model()
    before = [p.detach().clone() for p in model.parameters()]
    opt = SGDSaI(model.parameters(), lr=0.05, weight_decay=0.0)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    opt.step()
    for p, p0, g, rate in zip(model.parameters(), before, grads, opt.scaled_lrs()[0], strict=True):
        torch.testing.assert_close(p.detach(), p0 - rate * g)


def test_scales_stay_fixed_and_momentum_is_an_ema() -> None:
    model, x, y = _fixed_batch_model()
    opt = SGDSaI(model.parameters(), lr=0.05, momentum=0.8, weight_decay=0.0)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    first_grads = [p.grad.detach().clone() for p in model.parameters()]
    opt.step()
    rates = opt.scaled_lrs()
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x * 3.0), y).backward()
    second_grads = [p.grad.detach().clone() for p in model.parameters()]
    opt.step()

    assert opt.scaled_lrs() == rates
    for p, g1, g2 in zip(model.parameters(), first_grads, second_grads, strict=True):
        torch.testing.assert_close(opt.state[p]["momentum_buffer"], 0.8 * g1 + 0.2 * g2)


def test_state_holds_one_tensor_per_parameter() -> None:
    model, x, y = _fixed_batch_model()
    opt = SGDSaI(model.parameters())
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    for p in model.parameters():
        tensors = [v for v in opt.state[p].values() if isinstance(v, torch.Tensor)]
        assert len(tensors) == 1 and tensors[0].shape == p.shape


def test_block_without_spread_uses_its_gradient_norm() -> None:
    scalar = torch.nn.Parameter(torch.tensor([2.0]))
    opt = SGDSaI([scalar], lr=0.1, weight_decay=0.0)
    scalar.grad = torch.tensor([-0.5])
    opt.step()
    # ||g|| / (0 + eps) would move it by 5e6; ||g|| moves it by lr * 0.5 * 0.5
    assert opt.scaled_lrs()[0] == [pytest.approx(0.05)]
    assert scalar.item() == pytest.approx(2.0 + 0.1 * 0.5 * 0.5)


def test_decoupled_weight_decay_shrinks_by_lr_times_decay() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = SGDSaI([w], lr=0.1, weight_decay=0.5)
    w.grad = torch.zeros(3)
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([0.95, -1.9, 2.85]))


def test_trains_a_small_classifier() -> None:
    model, x, y = _fixed_batch_model()
    opt = SGDSaI(model.parameters(), lr=0.1, weight_decay=0.0)
    loss0 = torch.nn.functional.cross_entropy(model(x), y).item()
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * loss0
