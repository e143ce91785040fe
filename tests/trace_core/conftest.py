"""Fixtures for trace_core tests: no per-op propagator override leaks between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trace_core import propagators


@pytest.fixture(autouse=True)
def _clean_propagator_registry() -> Iterator[None]:
    before = propagators.registered()
    yield
    for name in list(propagators.registered()):
        if name not in before:
            propagators.unregister(name)
