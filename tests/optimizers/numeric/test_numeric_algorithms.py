"""The update rules written here do what their papers say, checked on cases with known answers."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from optimizers import numeric  # noqa: E402
from optimizers.numeric.adadagrad import NormTestBatchSize, per_sample_gradients  # noqa: E402
from optimizers.numeric.frugal import COLUMNS, FREE, FULL  # noqa: E402
from optimizers.numeric.memory import state_bytes  # noqa: E402


# -- MeZO ---------------------------------------------------------------------------------
def test_mezo_step_is_spsa_along_the_replayed_direction() -> None:
    """On a linear loss c·θ the two-point estimate is exactly c·z, so θ' = θ - η (c·z) z."""
    c = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    theta = torch.tensor([0.3, 0.1, -0.2, 0.0], dtype=torch.float64, requires_grad=True)
    start = theta.detach().clone()
    opt = numeric.create("mezo", [theta], lr=0.01, eps=1e-3, seed=7)
    seed = opt._step_seed()
    opt.step(lambda: c @ theta)
    z = torch.randn(4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    expected = start - 0.01 * float(c @ z) * z
    assert torch.allclose(theta.detach(), expected, atol=1e-12)


def test_mezo_closure_runs_without_autograd() -> None:
    theta = torch.zeros(3, requires_grad=True)
    seen = []

    def closure() -> torch.Tensor:
        seen.append(torch.is_grad_enabled())
        return (theta**2).sum()

    numeric.create("mezo", [theta]).step(closure)
    assert seen == [False, False] and theta.grad is None


def test_zeroth_order_step_without_closure_explains_itself() -> None:
    opt = numeric.create("zo_adam", [torch.zeros(2, requires_grad=True)])
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step()


# -- FRUGAL -------------------------------------------------------------------------------
def _frugal_params() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    shapes = [(40, 30), (30, 20), (20, 10), (10, 10), (10,)]
    return [torch.randn(s, generator=gen).requires_grad_() for s in shapes]


def test_frugal_state_free_part_moves_by_lr_times_sign() -> None:
    params = _frugal_params()
    opt = numeric.create("frugal", params, lr=0.01, density=0.25, projection="blocks")
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.randn_like(p)
    opt.step()
    modes = {id(p): opt.state[p]["mode"] for p in params}
    assert FREE in modes.values() and FULL in modes.values()
    for p, b in zip(params, before, strict=True):
        if modes[id(p)] == FREE:
            assert torch.allclose(p.detach(), b - 0.01 * p.grad.sign())
            assert "exp_avg" not in opt.state[p]


def test_frugal_keeps_about_density_of_adam_state() -> None:
    # eight equal matrices, so whole-tensor blocks can hit the density too
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(20, 20, generator=gen).requires_grad_() for _ in range(8)]
    for projection in ("blocks", "columns"):
        opt = numeric.create("frugal", params, density=0.25, projection=projection)
        adam = numeric.create("adam", params)
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        adam.step()
        ratio = state_bytes(opt) / state_bytes(adam)
        assert 0.2 < ratio < 0.45, (projection, ratio)


def test_frugal_redraws_the_subspace_every_update_gap_steps() -> None:
    params = _frugal_params()
    opt = numeric.create("frugal", params, density=0.3, update_gap=3, projection="columns")
    drawn = []
    for _ in range(7):
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        drawn.append(opt.state[params[0]]["columns"].tolist())
        assert opt.state[params[0]]["mode"] == COLUMNS
    assert drawn[0] == drawn[1] == drawn[2] != drawn[3] == drawn[4] == drawn[5] != drawn[6]
    assert opt.state[params[0]]["step"] == 1  # moments restart with each new subspace


# -- AdAdaGrad ----------------------------------------------------------------------------
def test_norm_test_keeps_batch_when_noise_is_small() -> None:
    controller = NormTestBatchSize(initial=8, eta=0.5)
    same = [torch.ones(8, 3) + 1e-3 * torch.randn(8, 3)]
    assert controller.update(same) == 8
    assert controller.last_ratio is not None and controller.last_ratio < 1


def test_norm_test_grows_batch_to_the_papers_formula() -> None:
    gen = torch.Generator().manual_seed(0)
    grads = torch.randn(16, 5, generator=gen, dtype=torch.float64) + 0.1
    eta = 0.2
    mean = grads.mean(0)
    variance = float(((grads - mean) ** 2).sum() / 15)
    expected = math.ceil(variance / (eta**2 * float(mean.pow(2).sum())))
    controller = NormTestBatchSize(initial=16, eta=eta)
    assert controller.update([grads]) == expected > 16
    capped = NormTestBatchSize(initial=16, eta=eta, max_batch_size=64)
    assert capped.update([grads]) == 64


def test_per_sample_gradients_match_one_backward_per_sample() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, y = torch.randn(4, 3), torch.randn(4, 2)
    grads = per_sample_gradients(model, torch.nn.functional.mse_loss, x, y)
    for i in range(4):
        model.zero_grad()
        torch.nn.functional.mse_loss(model(x[i : i + 1]), y[i : i + 1]).backward()
        for g, p in zip(grads, model.parameters(), strict=True):
            assert torch.allclose(g[i], p.grad, atol=1e-6)


@pytest.mark.parametrize("base", ["adagrad", "adagrad_norm", "adam"])
def test_adadagrad_trains_and_grows_its_batch(base: str) -> None:
    torch.manual_seed(0)
    x = torch.randn(512, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.5 * torch.randn(512, 1)
    model = torch.nn.Linear(4, 1)
    lr = 0.1 if base == "adam" else 0.5
    opt = numeric.create(
        "adadagrad", model.parameters(), lr=lr, base=base, initial_batch_size=4, eta=0.5,
        max_batch_size=256,
    )  # fmt: skip
    start = float(torch.nn.functional.mse_loss(model(x), y).detach())
    for _ in range(60):
        idx = torch.randint(0, 512, (opt.batch_size,))
        opt.observe(per_sample_gradients(model, torch.nn.functional.mse_loss, x[idx], y[idx]))
        opt.step()
    final = float(torch.nn.functional.mse_loss(model(x), y).detach())
    assert final < 0.2 * start
    assert opt.batch_size > 4
