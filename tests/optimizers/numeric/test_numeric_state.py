"""state_dict round trips resume bit-identical trajectories; NaN/inf never corrupts parameters."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from optimizers import numeric  # noqa: E402
from optimizers.numeric.registry import entry  # noqa: E402
from tests.optimizers.numeric.problems import run  # noqa: E402

NAMES = [
    "sgd", "adam", "adamw", "frugal", "adadagrad", "mezo", "zo_adam",
    "lion", "adabelief", "diffgrad", "adamp", "exadam", "apollo", "apollo_mini",
]  # fmt: skip

# Settings that exercise the interesting state: FRUGAL re-draws its subspace mid-run.
KW = {
    "sgd": {"lr": 0.01, "momentum": 0.9},
    "frugal": {"lr": 0.01, "update_gap": 4, "projection": "columns", "density": 0.5},
    "mezo": {"lr": 1e-3, "seed": 3},
    "zo_adam": {"lr": 1e-2, "seed": 3},
    "adadagrad": {"lr": 0.05},
    # rank 2 < the matrices' sides, so the low-rank projection path is the one tested
    "apollo": {"lr": 0.01, "rank": 2},
    # √α ≈ 11 scales the step, and the rank-1 projection is drawn from torch's global RNG:
    # at 1e-3, 2 of 40 seeds diverge on these 8x3 matrices; at 1e-4, none of 40 do.
    "apollo_mini": {"lr": 1e-4},
}


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # pytorch-optimizer's APOLLO draws its random projections from the global generator
    torch.manual_seed(0)


def _problem(seed: int = 0) -> tuple[list[torch.Tensor], object]:
    """A small two-layer least-squares problem (matrix + bias, so FRUGAL has both kinds)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(32, 6, generator=gen)
    targets = torch.randn(32, 3, generator=gen)
    w1 = (0.3 * torch.randn(6, 8, generator=gen)).requires_grad_()
    w2 = (0.3 * torch.randn(8, 3, generator=gen)).requires_grad_()
    b = torch.zeros(3, requires_grad=True)

    def loss() -> torch.Tensor:
        return ((torch.tanh(inputs @ w1) @ w2 + b - targets) ** 2).mean()

    return [w1, w2, b], loss


def _same(a: object, b: object) -> bool:
    """Structural equality of optimizer states (tensors bitwise; objects by attributes)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and type(a) is type(b):
        return _same(vars(a), vars(b))
    return a == b


def _skip_unavailable(name: str) -> None:
    if name not in numeric.available():
        pytest.skip(f"{name} needs a library that is not installed")


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_bit_identical_trajectory(name: str) -> None:
    _skip_unavailable(name)
    kw = KW.get(name, {"lr": 0.01})
    params, loss = _problem()
    opt = numeric.create(name, params, **kw)
    run(opt, name, loss, 6)
    saved_params = [p.detach().clone() for p in params]
    saved_state = copy.deepcopy(opt.state_dict())
    reference = run(opt, name, loss, 7)
    reference_params = [p.detach().clone() for p in params]

    resumed_params, resumed_loss = _problem()
    with torch.no_grad():
        for p, v in zip(resumed_params, saved_params, strict=True):
            p.copy_(v)
    resumed = numeric.create(name, resumed_params, **kw)
    resumed.load_state_dict(saved_state)
    trajectory = run(resumed, name, resumed_loss, 7)

    assert trajectory == reference
    for a, b in zip(resumed_params, reference_params, strict=True):
        assert torch.equal(a, b)


def _poison(params: list[torch.Tensor], loss: object, name: str) -> object:
    """Give the optimizer one NaN gradient (or, for zeroth-order ones, a NaN loss)."""
    if entry(name).zeroth_order:
        return lambda: loss() * float("nan")
    for p in params:
        p.grad = torch.ones_like(p)
    params[1].grad[0, 0] = float("inf")
    params[2].grad[1] = float("nan")
    return None


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_gradient_raises_and_leaves_parameters_and_state(name: str) -> None:
    _skip_unavailable(name)
    params, loss = _problem()
    opt = numeric.create(name, params, **KW.get(name, {"lr": 0.01}))
    run(opt, name, loss, 3)
    before = [p.detach().clone() for p in params]
    state_before = copy.deepcopy(opt.state_dict())
    closure = _poison(params, loss, name)
    with pytest.raises(numeric.NonFiniteError, match=r"NaN or inf|not finite"):
        opt.step(closure) if closure else opt.step()
    for p, b in zip(params, before, strict=True):
        assert torch.allclose(p, b, rtol=0, atol=1e-6)  # ZO perturb/restore rounds in float32
    assert _same(opt.state_dict(), state_before)


@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_gradient_skip_policy_skips_then_keeps_training(name: str) -> None:
    _skip_unavailable(name)
    params, loss = _problem()
    opt = numeric.create(name, params, nonfinite="skip", **KW.get(name, {"lr": 0.01}))
    run(opt, name, loss, 2)
    before = [p.detach().clone() for p in params]
    state_before = copy.deepcopy(opt.state_dict())
    closure = _poison(params, loss, name)
    opt.step(closure) if closure else opt.step()
    assert opt.skipped_steps == 1
    if not entry(name).zeroth_order:  # ZO optimizers count the skipped step (fresh z next)
        assert _same(opt.state_dict(), state_before)
    for p, b in zip(params, before, strict=True):
        assert torch.allclose(p, b, rtol=0, atol=1e-6)
    start = float(loss().detach())
    run(opt, name, loss, 30)
    assert all(torch.isfinite(p).all() for p in params)
    assert float(loss().detach()) < start


def test_closure_gradients_are_checked_too() -> None:
    params, loss = _problem()
    opt = numeric.create("adam", params, lr=0.01)
    before = [p.detach().clone() for p in params]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = loss() * torch.tensor(float("inf"))
        value.backward()
        return value

    with pytest.raises(numeric.NonFiniteError):
        opt.step(closure)
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_unknown_nonfinite_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="nonfinite must be one of"):
        numeric.create("adam", [torch.zeros(1, requires_grad=True)], nonfinite="warn")
