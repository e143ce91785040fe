"""Every public error class in trace_core, optimizers and agents derives from OptoforgeError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import pytest

from trace_core.errors import OptoforgeError

PACKAGES = ("trace_core", "optimizers", "agents")
# Modules whose import needs an optional dependency that may be absent, or that run on import.
_SKIP_PREFIXES = ("trace_core.sandbox._child", "agents.cli.__main__")


def _public_errors() -> dict[str, type[BaseException]]:
    """Import every module of the three packages and collect their public Exception subclasses."""
    found: dict[str, type[BaseException]] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if info.name.startswith(_SKIP_PREFIXES) or ".__main__" in info.name:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module = importlib.import_module(info.name)
            except ImportError as exc:
                if (exc.name or "").split(".")[0] in PACKAGES:
                    raise
                continue  # an optional dependency is not installed
            for name, obj in vars(module).items():
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, Exception)
                    and not issubclass(obj, Warning)
                    and not name.startswith("_")
                    and obj.__module__.split(".")[0] in PACKAGES
                ):
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_public_error_derives_from_optoforge_error() -> None:
    errors = _public_errors()
    assert len(errors) > 50  # the walk really found the project's errors
    outside = sorted(name for name, cls in errors.items() if not issubclass(cls, OptoforgeError))
    assert outside == []


@pytest.mark.parametrize(
    ("module", "name", "group"),
    [
        ("trace_core.llm.errors", "LLMRateLimited", "trace_core.llm.errors:LLMError"),
        ("trace_core.sandbox.errors", "SandboxError", "trace_core.errors:OptoforgeError"),
        (
            "optimizers.numeric.registry",
            "UnknownOptimizerError",
            "optimizers.errors:OptimizerError",
        ),
        ("agents.solvers.errors", "ModelError", "agents.errors:AgentsError"),
        ("agents.evaluation.dataset", "DatasetError", "agents.errors:AgentsError"),
    ],
)
def test_errors_are_grouped_per_package(module: str, name: str, group: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    group_module, group_name = group.split(":")
    assert issubclass(cls, getattr(importlib.import_module(group_module), group_name))


def test_existing_builtin_bases_are_kept() -> None:
    from agents.evaluation.dataset import DatasetError
    from optimizers.numeric.registry import UnknownOptimizerError
    from trace_core.errors import InvalidUpdate

    assert issubclass(DatasetError, ValueError)
    assert issubclass(UnknownOptimizerError, KeyError)
    assert issubclass(InvalidUpdate, ValueError)
