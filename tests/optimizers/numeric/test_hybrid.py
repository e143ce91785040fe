"""HybridOptimizer: a tensor parameter and a code parameter of one workflow, one step()."""

from __future__ import annotations

import json
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.hybrid import HybridOptimizer, HybridStateError  # noqa: E402
from trace_core import bundle, node  # noqa: E402

XS = torch.linspace(-1, 1, 16)
YS = 3 * XS**2 + 1
BETTER_SOURCE = '''def features(x):
    """Turn the inputs into a list of feature tensors."""
    return [x**2, x * 0 + 1.0]
'''


class ScriptedTextOptimizer:
    """Stand-in LLM optimizer with the optimizers.base.Optimizer contract: its first step
    rewrites the first parameter to a scripted value, later steps keep it."""

    def __init__(self, parameters: list[Any], script: list[str] | None = None) -> None:
        self.parameters = list(parameters)
        self.script = list(script or [BETTER_SOURCE])
        self.feedback: list[Any] = []
        self.step_count = 0

    def zero_feedback(self) -> None:
        self.feedback.clear()
        for p in self.parameters:
            p.zero_feedback()

    def backward(self, output: Any, feedback: Any, *, score: float | None = None) -> None:
        output.backward(feedback)
        self.feedback.append(feedback)

    def step(self) -> dict[str, Any]:
        updates = {}
        if self.step_count < len(self.script):
            self.parameters[0].set(self.script[self.step_count])
            updates = {self.parameters[0].name: self.script[self.step_count]}
        self.step_count += 1
        return {"updates": updates}

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step_count, "source": self.parameters[0].data}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = state["step"]
        self.parameters[0].set(state["source"])


def _workflow(differentiable: bool = True) -> tuple[Any, Any, Any]:
    """features(x) (trainable code) -> linear model with weights w (tensor) -> MSE."""

    @bundle(trainable=True)
    def features(x):
        """Turn the inputs into a list of feature tensors."""
        return [x, x * 0 + 1.0]

    @bundle()
    def predict(w, feats):
        """Weighted sum of the features."""
        weights = w if differentiable else w.detach().tolist()  # no gradient path
        return sum(wi * f for wi, f in zip(weights, feats, strict=True))

    @bundle()
    def mse(pred, y):
        """Mean squared error."""
        return ((pred - y) ** 2).mean()

    w = node(torch.zeros(2, requires_grad=True), name="w", trainable=True)

    def run() -> Any:
        return mse(predict(w, features(XS)), YS)

    return w, features.code_parameter(), run


def _train(opt: HybridOptimizer, run: Any, steps: int, closure: bool = False) -> list[float]:
    losses = []
    for _ in range(steps):
        opt.zero_feedback()
        out = run()
        opt.backward(out, f"mean squared error {float(out.data.detach()):.4f}")
        opt.step((lambda: run().data) if closure else None)
        losses.append(float(out.data.detach()))
    return losses


def test_one_step_trains_tensor_by_gradient_and_code_by_llm() -> None:
    w, code, run = _workflow()
    opt = HybridOptimizer([w, code], ScriptedTextOptimizer, numeric="adam", lr=0.1)
    opt.zero_feedback()
    out = run()
    opt.backward(out, "too high")
    result = opt.step()
    assert result.gradient == ["w"]
    assert "x**2" in code.data
    assert not torch.equal(w.data, torch.zeros(2))
    losses = _train(opt, run, 150)
    assert losses[-1] < 1e-3  # y = 3x² + 1 is exact once the features are [x², 1]
    assert torch.allclose(w.data, torch.tensor([3.0, 1.0]), atol=0.05)


def test_non_differentiable_tensor_is_trained_from_loss_values() -> None:
    w, code, run = _workflow(differentiable=False)
    opt = HybridOptimizer(
        [w, code], ScriptedTextOptimizer, zeroth_order="mezo", zeroth_order_kw={"lr": 0.05}
    )
    opt.zero_feedback()
    first = run()
    opt.backward(first, "too high")
    result = opt.step(lambda: run().data)
    assert result.zeroth_order == ["w"] and result.gradient == []
    losses = _train(opt, run, 200, closure=True)
    assert losses[-1] < 0.1 * float(first.data)


def test_non_differentiable_tensor_without_closure_is_reported_not_updated() -> None:
    w, code, run = _workflow(differentiable=False)
    opt = HybridOptimizer([w, code], ScriptedTextOptimizer)
    opt.backward(run(), "too high")
    result = opt.step()
    assert result.not_updated == ["w"]
    assert torch.equal(w.data, torch.zeros(2))
    assert "x**2" in code.data  # the LLM side still stepped


def test_state_dict_is_json_and_resumes_bit_identical() -> None:
    w, code, run = _workflow()
    opt = HybridOptimizer([w, code], ScriptedTextOptimizer, numeric="adam", lr=0.05)
    _train(opt, run, 5)
    saved = json.loads(json.dumps(opt.state_dict()))
    reference = _train(opt, run, 5)
    reference_w = w.data.detach().clone()

    w2, code2, run2 = _workflow()
    resumed = HybridOptimizer([w2, code2], ScriptedTextOptimizer, numeric="adam", lr=0.05)
    resumed.load_state_dict(saved)
    assert code2.data == code.data
    assert _train(resumed, run2, 5) == reference
    assert torch.equal(w2.data, reference_w)


def test_state_dict_for_another_numeric_optimizer_is_refused() -> None:
    w, code, _ = _workflow()
    saved = HybridOptimizer([w, code], ScriptedTextOptimizer, numeric="adam").state_dict()
    other = HybridOptimizer([w, code], ScriptedTextOptimizer, numeric="sgd")
    with pytest.raises(HybridStateError, match="numeric='adam'"):
        other.load_state_dict(saved)


def test_text_parameters_without_llm_optimizer_are_refused() -> None:
    w, code, _ = _workflow()
    with pytest.raises(ValueError, match="need an llm_optimizer"):
        HybridOptimizer([w, code], None)


def test_llm_optimizer_over_tensor_parameters_is_refused() -> None:
    w, code, _ = _workflow()
    with pytest.raises(ValueError, match="also holds tensor parameters"):
        HybridOptimizer([w, code], ScriptedTextOptimizer([w, code]))


def test_package_exports_resolve() -> None:
    from optimizers import numeric

    for name in numeric.__all__:
        assert getattr(numeric, name) is not None


def test_trainer_drives_a_hybrid_optimizer() -> None:
    """optimizers.Trainer runs HybridOptimizer like an LLM optimizer; tensors get their grads."""
    optimizers = pytest.importorskip("optimizers.trainer")
    pytest.importorskip("optimizers.optoprime")
    from optimizers.optoprime import OptoPrime
    from trace_core.llm import ScriptedLLM

    w, code, _ = _workflow()
    llm = ScriptedLLM(lambda messages: '{"reasoning": "keep", "suggestion": {}}')
    opt = HybridOptimizer([w, code], lambda ps: OptoPrime(ps, llm=llm), numeric="adam", lr=0.1)

    @bundle()
    def loss_of(pred, y):
        """Squared error of one prediction."""
        return (pred - y) ** 2

    def forward(x: float) -> object:
        @bundle()
        def predict_one(w, x):
            """The linear model on features [x, 1]."""
            return w[0] * x + w[1]

        return loss_of(predict_one(w, x), 2 * x + 1)

    trainer = optimizers.Trainer(
        forward,
        opt,
        lambda value, target: (
            -float(value.detach()),
            f"squared error {float(value.detach()):.3f}",
        ),
        [(float(x), None) for x in torch.linspace(-1, 1, 8)],
        epochs=3,
        progress=False,
        keep_best=False,
    )
    trainer.fit()
    assert torch.allclose(w.data, torch.tensor([2.0, 1.0]), atol=0.5)
    assert len(llm.calls) == 3 * 8
