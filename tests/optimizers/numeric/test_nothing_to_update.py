"""No silent no-ops: zeroth-order optimizers move tensors made without requires_grad, and an
optimizer that could never update anything refuses to be built."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="numeric optimizers need torch")

from optimizers import OptoPrime  # noqa: E402
from optimizers.errors import NothingToOptimizeError  # noqa: E402
from optimizers.numeric import create  # noqa: E402
from trace_core import node  # noqa: E402


def _quadratic_run(name: str, **kw: object) -> tuple[torch.Tensor, float, float]:
    """50 steps on ||w - 1||^2 from w = 0, with w made WITHOUT requires_grad."""
    w = torch.zeros(64)
    assert not w.requires_grad

    def loss() -> torch.Tensor:
        return ((w - 1.0) ** 2).sum()

    before = float(loss())
    optimizer = create(name, [w], **kw)
    for _ in range(50):
        optimizer.step(loss)
    return w, before, float(loss())


@pytest.mark.parametrize(
    ("name", "kw"),
    [("mezo", {"lr": 1e-2}), ("sparse_mezo", {"lr": 1e-2, "sparsity": 0.5}), ("zo_block", {})],
)
def test_zeroth_order_updates_tensors_without_requires_grad(name: str, kw: dict) -> None:
    w, before, after = _quadratic_run(name, **kw)
    assert bool((w != 0).any())  # before the fix every entry stayed exactly 0
    assert after < 0.9 * before


@pytest.mark.parametrize("name", ["adam", "sgd", "mezo", "sparse_mezo"])
def test_an_empty_parameter_list_is_refused_at_construction(name: str) -> None:
    with pytest.raises(NothingToOptimizeError, match="empty parameter list"):
        create(name, [])


def test_first_order_optimizer_without_any_grad_tensor_is_refused() -> None:
    with pytest.raises(NothingToOptimizeError, match="requires_grad=True"):
        create("adam", [torch.zeros(3), torch.ones(2)], lr=0.1)
    create("adam", [torch.zeros(3, requires_grad=True), torch.ones(2)], lr=0.1)  # one is enough


def test_direct_construction_of_mezo_refuses_an_empty_list() -> None:
    from optimizers.numeric.zeroth_order import MeZO

    with pytest.raises(NothingToOptimizeError):
        MeZO([])


def test_llm_optimizer_with_nothing_trainable_is_refused() -> None:
    with pytest.raises(NothingToOptimizeError, match="none is trainable"):
        OptoPrime([])
    with pytest.raises(NothingToOptimizeError, match="none is trainable"):
        OptoPrime([node("constant text")])
    assert isinstance(NothingToOptimizeError("x"), ValueError)  # old except clauses still work
