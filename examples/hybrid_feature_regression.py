"""Train a linear model's weights (tensor) and its feature-extraction code (text) together.

The workflow: ``features(x)`` (a trainable function: its source is a parameter an LLM may
rewrite) turns inputs into feature tensors; a linear model with weights ``w`` (a tensor
parameter) combines them; the loss is the mean squared error. The data follow y = 3x² + 1, which
the starting features [x, 1] cannot fit. Each round, Adam takes a few gradient steps on ``w``
(torch backward through the traced graph), then the LLM reads the graph, the loss and the
residuals and may rewrite ``features``; one ``HybridOptimizer`` drives both.

Run it with any model id (``--llm openai:gpt-4o-mini``, or ``OPTOFORGE_LLM``); the test runs it
with a scripted LLM.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from typing import Any

import torch

from optimizers.numeric.hybrid import HybridOptimizer
from trace_core import ExecutionError, bundle, node


@bundle(trainable=True)
def features(x):
    """Turn the input tensor into exactly two feature tensors (the model has two weights)."""
    return [x, x * 0 + 1.0]


@bundle()
def predict(w, feats):
    """Linear model: the weighted sum of the features."""
    return sum(wi * f for wi, f in zip(w, feats, strict=True))


@bundle()
def mse(prediction, target):
    """Mean squared error of the predictions."""
    return ((prediction - target) ** 2).mean()


@dataclass
class Report:
    """How a run ended."""

    losses: list[float]
    weights: list[float]
    features_source: str
    llm_calls: int


def describe(prediction: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> str:
    """Feedback text: the loss and where the residuals are largest."""
    residual = (prediction - target).detach()
    worst = torch.argsort(residual.abs(), descending=True)[:3]
    points = ", ".join(
        f"x={x[i]:.2f}: predicted {prediction[i]:.2f}, wanted {target[i]:.2f}" for i in worst
    )
    return (
        f"Mean squared error {float(((residual) ** 2).mean()):.4f} (0 is a perfect fit). "
        f"Largest errors at {points}. The weights are fitted by gradient descent; change the "
        "features so that a linear combination of them can fit the data."
    )


def main(
    llm: Any = None, rounds: int = 4, steps_per_round: int = 60, device: str = "cpu"
) -> Report:
    """Run the hybrid training loop and return the losses, weights and final features code."""
    from optimizers.optoprime import OptoPrime

    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 32, device=device)
    y = 3 * x**2 + 1
    w = node(torch.zeros(2, device=device, requires_grad=True), name="weights", trainable=True)
    code = features.code_parameter()
    code.set(features.source)  # start from the written features, even on a second run
    optimizer = HybridOptimizer(
        [w, code],
        functools.partial(OptoPrime, llm=llm, objective="Minimize the mean squared error."),
        numeric="adam",
        lr=0.1,
    )
    losses: list[float] = []
    calls = 0
    for _ in range(rounds):
        try:
            for _ in range(steps_per_round):  # cheap tensor steps: torch backward only
                optimizer.zero_feedback()
                loss = mse(predict(w, features(x)), y)
                optimizer.backward(loss)
                optimizer.step()
                losses.append(float(loss.data.detach()))
            optimizer.zero_feedback()  # then one LLM step on the features code
            prediction = predict(w, features(x))
            output, feedback = mse(prediction, y), describe(prediction.data, y, x)
        except ExecutionError as err:  # code the LLM wrote fails: the error is the feedback
            optimizer.zero_feedback()
            output, feedback = err.exception_node, str(err)
        optimizer.backward(output, feedback)
        result = optimizer.step()
        calls += result.llm is not None
        if result.llm is not None and result.llm.error:
            print(f"  step error: {result.llm.error}")
    return Report(losses, w.data.detach().cpu().tolist(), code.data, calls)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", default=None, help="model id, e.g. openai:gpt-4o-mini")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    report = main(args.llm, rounds=args.rounds)
    print(f"final MSE {report.losses[-1]:.4f}; weights {report.weights}")
    print(report.features_source)
