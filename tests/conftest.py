"""Test-wide fixtures: no real network for LLM SDKs, a private cache dir, fresh state."""

from __future__ import annotations

import socket

import pytest

_REAL_CONNECT = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> object:
    """Refuse connections to anything but loopback and unix sockets (no real LLM requests)."""
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if not (host.startswith("127.") or host in ("localhost", "::1", "0.0.0.0")):
            raise RuntimeError(f"tests may not open network connections (tried {address!r})")
    return _REAL_CONNECT(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network_and_private_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setenv("OPTOFORGE_CACHE_DIR", str(tmp_path_factory.mktemp("llm-cache")))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for key in ("OPENAI_API_KEY", "OPTOFORGE_LLM", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(key, raising=False)
