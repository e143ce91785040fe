"""Tensor parameters: torch autograd stays intact and backward() runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from trace_core import InvalidUpdate, bundle, model, node

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def test_ops_on_tensor_nodes_keep_autograd_and_backward_sets_grad() -> None:
    w = node(torch.tensor([1.0, 2.0], requires_grad=True), name="w", trainable=True)
    loss = (w * w).sum()
    assert loss.data.grad_fn is not None
    loss.backward("reduce the loss")
    assert torch.allclose(w.data.grad, torch.tensor([2.0, 4.0]))
    assert w.feedback == ["reduce the loss"]


def test_bundled_tensor_op_keeps_autograd() -> None:
    @bundle
    def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((pred - target) ** 2).mean()

    w = node(torch.tensor([3.0], requires_grad=True), trainable=True)
    loss = mse(w, torch.tensor([1.0]))
    loss.backward()
    assert torch.allclose(w.data.grad, torch.tensor([4.0]))
    assert w.feedback == []


def test_set_on_tensor_parameter_updates_in_place_and_checks_shape() -> None:
    t = torch.zeros(3)
    w = node(t, trainable=True)
    w.set([1.0, 2.0, 3.0])
    assert w.data is t
    assert t.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(InvalidUpdate, match="shape"):
        w.set(torch.zeros(2))


def test_tensor_parameter_save_load_round_trip(tmp_path: Path) -> None:
    @model
    class Net:
        def __init__(self) -> None:
            self.weight = node(torch.zeros(2, 2), name="weight", trainable=True)

    a = Net()
    a.weight.set(torch.eye(2))
    b = Net()
    b.load(a.save(tmp_path / "net.json"))
    assert torch.equal(b.weight.data, torch.eye(2))
