"""ZO-Bench variants: forward gradient, block-wise ZO, hybrid ZO/FO."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.zo_variants import ForwardGradient, ZOBlock, ZOHybrid  # noqa: E402

pytestmark = pytest.mark.torch


def _problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=gen)
    y = torch.tanh(x @ torch.randn(8, 1, generator=gen))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return model, x, y


def _loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.mse_loss(model(x), y)


def _train(opt: torch.optim.Optimizer, model: torch.nn.Module, x, y) -> tuple[float, float]:
    """Run 300 steps of ``opt`` on the problem; the loss before and after."""
    loss0 = _loss(model, x, y).item()
    for _ in range(300):
        opt.step(lambda: _loss(model, x, y))
    return loss0, _loss(model, x, y).item()


def test_forward_gradient_is_an_unbiased_gradient_estimate() -> None:
    model, x, y = _problem()
    start = [p.detach().clone() for p in model.parameters()]
    exact = torch.autograd.grad(_loss(model, x, y), list(model.parameters()))
    opt = ForwardGradient(model.parameters(), module=model, lr=1.0, seed=0)
    total = [torch.zeros_like(p) for p in start]
    trials = 400
    for _ in range(trials):
        opt.step(lambda: _loss(model, x, y))
        with torch.no_grad():
            for acc, p, p0 in zip(total, model.parameters(), start, strict=True):
                acc.add_(p0 - p)
                p.copy_(p0)
    mean = torch.cat([t.reshape(-1) for t in total]) / trials
    exact_flat = torch.cat([g.reshape(-1) for g in exact])
    cosine = torch.nn.functional.cosine_similarity(mean, exact_flat, dim=0).item()
    assert cosine > 0.9


def test_forward_gradient_trains_and_restores_real_parameters() -> None:
    model, x, y = _problem()
    params = list(model.parameters())
    opt = ForwardGradient(params, module=model, lr=0.02, num_directions=4, seed=0)
    loss0, loss = _train(opt, model, x, y)
    assert loss < 0.5 * loss0
    assert list(model.parameters()) == params  # the module still holds its own Parameters


def test_forward_gradient_rejects_parameters_of_another_module() -> None:
    model, _, _ = _problem()
    with pytest.raises(ValueError, match="do not belong"):
        ForwardGradient(torch.nn.Linear(2, 2).parameters(), module=model)


def test_block_wise_zo_visits_one_block_per_step_when_asked() -> None:
    model, x, y = _problem()
    opt = ZOBlock(model.parameters(), lr=1e-2, blocks_per_step=1, seed=0)
    assert opt.num_blocks == 4
    before = [p.detach().clone() for p in model.parameters()]
    opt.step(lambda: _loss(model, x, y))
    moved = [
        not torch.equal(p.detach(), p0) for p, p0 in zip(model.parameters(), before, strict=True)
    ]
    assert moved == [True, False, False, False]
    opt.step(lambda: _loss(model, x, y))
    moved = [
        not torch.equal(p.detach(), p0) for p, p0 in zip(model.parameters(), before, strict=True)
    ]
    assert moved == [True, True, False, False]


@pytest.mark.parametrize("coordinate", [False, True])
def test_block_wise_zo_trains(coordinate: bool) -> None:
    model, x, y = _problem()
    opt = ZOBlock(model.parameters(), lr=5e-3, eps=1e-3, coordinate=coordinate, seed=0)
    loss0, loss = _train(opt, model, x, y)
    assert loss < 0.5 * loss0


def test_hybrid_first_order_groups_take_exact_sgd_steps() -> None:
    model, x, y = _problem()
    body, head = model[0], model[2]
    exact = torch.autograd.grad(_loss(model, x, y), list(head.parameters()))
    head_before = [p.detach().clone() for p in head.parameters()]
    body_before = [p.detach().clone() for p in body.parameters()]
    opt = ZOHybrid(
        [{"params": body.parameters(), "lr": 0.0}, {"params": head.parameters(), "mode": "fo"}],
        lr=0.1,
        seed=0,
    )
    opt.step(lambda: _loss(model, x, y))
    for p, p0, g in zip(head.parameters(), head_before, exact, strict=True):
        torch.testing.assert_close(p.detach(), p0 - 0.1 * g)
    for p, p0 in zip(body.parameters(), body_before, strict=True):
        torch.testing.assert_close(p.detach(), p0, atol=1e-6, rtol=0)
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_hybrid_builds_no_autograd_graph_through_zo_blocks() -> None:
    model, x, y = _problem()
    seen: list[bool] = []

    def closure() -> torch.Tensor:
        seen.append(model[0].weight.requires_grad)
        return _loss(model, x, y)

    opt = ZOHybrid(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "mode": "fo"}]
    )
    opt.step(closure)
    assert seen[0] is False  # frozen during the first-order forward
    assert model[0].weight.requires_grad


def test_hybrid_trains() -> None:
    model, x, y = _problem()
    opt = ZOHybrid(
        [{"params": model[0].parameters()}, {"params": model[2].parameters(), "mode": "fo"}],
        lr=1e-2,
        seed=0,
    )
    loss0, loss = _train(opt, model, x, y)
    assert loss < 0.5 * loss0


def test_unknown_mode_is_rejected() -> None:
    model, _, _ = _problem()
    with pytest.raises(ValueError, match="mode"):
        ZOHybrid([{"params": model.parameters(), "mode": "both"}])
