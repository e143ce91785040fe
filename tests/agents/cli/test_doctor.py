"""``optoforge doctor``: prints every sandbox layer, whether it works here, and its limits."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agents.cli import create_app
from trace_core.sandbox.isolation import Isolation


def test_doctor_lists_every_layer_with_its_state_and_limits() -> None:
    result = CliRunner().invoke(create_app(), ["doctor"], catch_exceptions=False)
    lines = result.output.splitlines()
    for layer in ("bwrap", "unshare", "rlimits"):
        assert any(line.startswith(layer) for line in lines)
    assert any("does not stop: reads any file" in line for line in lines)
    assert result.exit_code in (0, 1)


def test_doctor_says_why_the_strong_layer_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from trace_core.sandbox import isolation

    monkeypatch.setattr(
        isolation,
        "why_not",
        lambda layer: "`bwrap` is not installed" if layer is Isolation.BWRAP else None,
    )
    result = CliRunner().invoke(create_app(), ["doctor"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "bwrap    unavailable: `bwrap` is not installed" in result.output
    assert "untrusted code is refused" in result.output
