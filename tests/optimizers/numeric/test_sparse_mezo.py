"""Sparse MeZO: perturbs/updates only small-magnitude weights, with no full-size temporaries."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.memory import PeakTensorMemory  # noqa: E402
from optimizers.numeric.sparse_mezo import SparseMeZO, layer_threshold  # noqa: E402

pytestmark = pytest.mark.torch


def numeric_create(name: str, params: object, **kw: object) -> torch.optim.Optimizer:
    from optimizers.numeric import create

    return create(name, params, **kw)


def _regression(device: str = "cpu") -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 16, generator=gen).to(device)
    true_w = torch.randn(16, 1, generator=gen).to(device)
    y = x @ true_w
    model = torch.nn.Linear(16, 1, bias=False).to(device)
    torch.nn.init.zeros_(model.weight)
    return model, x, y


@pytest.mark.parametrize("sample_size", [None, 8192])
def test_threshold_keeps_requested_fraction(sample_size: int | None) -> None:
    w = torch.randn(200, 100, generator=torch.Generator().manual_seed(1))
    h = layer_threshold(w, 0.75, sample_size=sample_size, generator=torch.Generator())
    kept = (w.abs() <= h).float().mean().item()
    assert kept == pytest.approx(0.25, abs=0.03 if sample_size else 1e-3)


def test_step_touches_only_masked_parameters() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    x, y = torch.randn(8, 32), torch.randint(0, 4, (8,))
    opt = SparseMeZO(model.parameters(), lr=1e-2, eps=1e-3, sparsity=0.75, seed=3)
    before = [p.detach().clone() for p in model.parameters()]

    opt.step(lambda: torch.nn.functional.cross_entropy(model(x), y))

    for p, p0 in zip(model.parameters(), before, strict=True):
        threshold = opt.state[p]["threshold"]
        changed = p.detach() != p0
        assert changed.any()
        assert (p0[changed].abs() <= threshold).all(), "an unmasked (large) weight moved"
        assert changed.float().mean().item() <= 0.25 + 1e-6


def test_step_allocates_no_full_size_copy() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(1024, 1024)
    x, y = torch.randn(2, 1024), torch.randn(2, 1024)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    opt = SparseMeZO(model.parameters(), lr=1e-4, chunk_size=4096, threshold_sample=4096, seed=0)

    def closure() -> torch.Tensor:
        return torch.nn.functional.mse_loss(model(x), y)

    with PeakTensorMemory() as sparse_meter:
        opt.step(closure)
    mezo = numeric_create("mezo", model.parameters(), lr=1e-4)
    with PeakTensorMemory() as mezo_meter:
        mezo.step(closure)

    weight_bytes = model.weight.numel() * model.weight.element_size()
    # MeZO draws one full-size z per tensor; a stored bool mask would be a quarter of that
    assert mezo_meter.peak >= weight_bytes
    assert sparse_meter.peak < param_bytes / 16


def test_reduces_loss_on_linear_regression() -> None:
    model, x, y = _regression()
    opt = SparseMeZO(model.parameters(), lr=2e-2, eps=1e-3, sparsity=0.5, seed=0)

    def closure() -> torch.Tensor:
        return torch.nn.functional.mse_loss(model(x), y)

    loss0 = closure().item()
    for _ in range(400):
        opt.step(closure)
    assert closure().item() < 0.2 * loss0


def test_resumed_run_is_identical() -> None:
    model, x, y = _regression()
    opt = SparseMeZO(model.parameters(), lr=1e-2, seed=5)

    def closure() -> torch.Tensor:
        return torch.nn.functional.mse_loss(model(x), y)

    for _ in range(3):
        opt.step(closure)
    saved_weights = model.weight.detach().clone()
    saved_state = opt.state_dict()
    for _ in range(3):
        opt.step(closure)
    expected = model.weight.detach().clone()

    model.weight.data.copy_(saved_weights)
    resumed = SparseMeZO(model.parameters(), lr=1e-2, seed=99)
    resumed.load_state_dict(saved_state)
    for _ in range(3):
        resumed.step(closure)
    torch.testing.assert_close(model.weight.detach(), expected)


def test_step_without_closure_says_what_to_pass() -> None:
    model, _, _ = _regression()
    with pytest.raises(TypeError, match="closure"):
        SparseMeZO(model.parameters()).step()
