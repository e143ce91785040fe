"""Scoring a model's answer against a task's expected output.

A metric is ``metric(prediction: str, expected: Any) -> float`` with 1.0 meaning correct.
Built in: ``exact`` (equal after trimming and collapsing whitespace) and ``contains`` (the
expected text occurs in the answer, ignoring case). ``python:package.module.fn`` (or
``package.module:fn``) loads a user function with that signature; it may return a bool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optimizers.errors import OptimizerError
from optimizers.prompting.program import as_text
from trace_core.registry import Registry, import_target

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


METRICS: Registry[Metric] = Registry(
    "metric",
    error=MetricError,
    hint="Or name your own as python:package.module.function",
    sort_known=False,
)
METRICS.register("exact", exact)
METRICS.register("contains", contains)


def register_metric(name: str, metric: str | Metric) -> None:
    """Make ``name`` resolve to ``metric`` (a function or a ``"module:fn"`` path, loaded lazily)."""
    METRICS.register(name, metric)


def load_metric(spec: str | Metric) -> Metric:
    """Resolve a registered name (``exact``, ``contains``), ``python:module.fn``, ``module:fn``."""
    if callable(spec):
        return _checked(spec, getattr(spec, "__name__", "metric"))
    if spec in METRICS:
        metric = METRICS.load(spec)
        return metric if spec in ("exact", "contains") else _checked(metric, spec)
    target = spec.removeprefix("python:")
    if ":" not in target:
        module_name, _, attr = target.rpartition(".")
        target = f"{module_name}:{attr}" if module_name else ""
    if not target:
        raise METRICS.unknown(spec)
    fn = import_target(target, error=MetricError, what=f"metric {spec!r}")
    if not callable(fn):
        raise MetricError(f"metric {spec!r}: {target} is not a function")
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
