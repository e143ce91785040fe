"""Scoring a model's answer against a task's expected output.

A metric is ``metric(prediction: str, expected: Any) -> float`` with 1.0 meaning correct.
Built in: ``exact`` (equal after trimming and collapsing whitespace) and ``contains`` (the
expected text occurs in the answer, ignoring case). ``python:package.module.fn`` (or
``package.module:fn``) loads a user function with that signature; it may return a bool.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from optimizers.errors import OptimizerError
from optimizers.prompting.program import as_text

Metric = Callable[[str, Any], float]


class MetricError(OptimizerError, ValueError):
    """A metric name cannot be resolved or a metric returned something that is not a score."""


def _normal(text: str) -> str:
    return " ".join(text.split())


def exact(prediction: str, expected: Any) -> float:
    """1.0 when the answer equals the expected output, up to surrounding/repeated whitespace."""
    return float(_normal(prediction) == _normal(as_text(expected)))


def contains(prediction: str, expected: Any) -> float:
    """1.0 when the expected output occurs in the answer, ignoring case and extra whitespace."""
    return float(_normal(as_text(expected)).casefold() in _normal(prediction).casefold())


BUILTIN: dict[str, Metric] = {"exact": exact, "contains": contains}


def load_metric(spec: str | Metric) -> Metric:
    """Resolve ``exact``, ``contains``, ``python:module.fn`` or ``module:fn`` to a metric."""
    if callable(spec):
        return _checked(spec, getattr(spec, "__name__", "metric"))
    if spec in BUILTIN:
        return BUILTIN[spec]
    target = spec.removeprefix("python:")
    if ":" in target:
        module_name, _, attr = target.partition(":")
    else:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise MetricError(
            f"unknown metric {spec!r}; use exact, contains, or python:package.module.function"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise MetricError(
            f"metric {spec!r}: cannot import module {module_name!r} ({err}); make sure it is "
            "on PYTHONPATH (e.g. run from the folder that holds it)"
        ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise MetricError(f"metric {spec!r}: {module_name} has no function {attr!r}")
    return _checked(fn, spec)


def _checked(fn: Callable[[str, Any], Any], name: str) -> Metric:
    def metric(prediction: str, expected: Any) -> float:
        value = fn(prediction, expected)
        if isinstance(value, bool | int | float):
            return float(value)
        raise MetricError(
            f"metric {name} returned {type(value).__name__} {value!r:.40}; it must return a "
            "number (1.0 = correct) or a bool"
        )

    metric.__name__ = getattr(fn, "__name__", name)
    return metric
