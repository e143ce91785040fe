"""A disk cache of LLM replies in SQLite (WAL), safe for concurrent threads and processes.

The key is a SHA-256 of everything that determines a reply: the backend's identity (provider,
model, endpoint), the messages, the generation options, the requested schema and an explicit
``seed`` / ``rollout_id``. Pass a different ``rollout_id`` to draw a fresh sample of the same
prompt. Location: ``$OPTOFORGE_CACHE_DIR/llm.sqlite``, by default under the user cache directory;
``OPTOFORGE_CACHE=0`` turns caching off. Nothing is opened until the first lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from trace_core.llm.base import RawReply, Usage
from trace_core.llm.copying import CopySafe

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    created REAL NOT NULL
)
"""


# Switching a new file to WAL takes an exclusive lock, and SQLite reports a clash there as
# "database is locked" at once instead of waiting out busy_timeout. Threads of this process
# set up their connections one at a time; other processes are waited out with a retry.
_SETUP_LOCK = threading.Lock()


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def _prepare(conn: sqlite3.Connection) -> None:
    """Put ``conn`` in WAL mode and create the table, waiting out other processes' locks."""
    for attempt in Retrying(
        retry=retry_if_exception(_is_locked),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        stop=stop_after_delay(30),
        reraise=True,
    ):
        with attempt, _SETUP_LOCK:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)


def cache_enabled_by_env() -> bool:
    """False when ``OPTOFORGE_CACHE`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get("OPTOFORGE_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def default_cache_dir() -> Path:
    """``$OPTOFORGE_CACHE_DIR``, else ``<user cache dir>/optoforge``."""
    env = os.environ.get("OPTOFORGE_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("optoforge"))


def cache_key(
    identity: dict[str, Any], messages: list[dict[str, Any]], opts: dict[str, Any]
) -> str:
    """The SHA-256 hex key of a request (stable across processes and Python versions)."""
    payload = json.dumps(
        {"identity": identity, "messages": messages, "opts": opts},
        sort_keys=True,
        separators=(",", ":"),
        default=repr,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ReplyCache(CopySafe):
    """Replies by request key, with hit and miss counters for this instance.

    Each thread gets its own connection (sqlite3 connections must not cross threads); WAL lets
    readers run beside a writer and ``busy_timeout`` makes concurrent writers from other
    processes wait instead of failing.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._local = threading.local()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def path(self) -> Path:
        """The SQLite file (resolved on first use from the environment when not given)."""
        if self._path is None:
            self._path = default_cache_dir() / "llm.sqlite"
        return self._path

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            _prepare(conn)
            self._local.conn = conn
        return conn

    def get(self, key: str) -> RawReply | None:
        """The stored reply for ``key``, counting a hit or a miss."""
        row = (
            self._connection()
            .execute("SELECT model, text, usage FROM replies WHERE key = ?", (key,))
            .fetchone()
        )
        with self._lock:
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        model, text, usage = row
        return RawReply(text=text, usage=Usage.model_validate_json(usage), model=model)

    def put(self, key: str, reply: RawReply) -> None:
        """Store ``reply`` under ``key`` (the last writer wins; replies for a key are equal)."""
        self._connection().execute(
            "INSERT OR REPLACE INTO replies (key, model, text, usage, created) VALUES (?,?,?,?,?)",
            (key, reply.model, reply.text, reply.usage.model_dump_json(), time.time()),
        )

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def clear(self) -> None:
        """Delete every stored reply."""
        self._connection().execute("DELETE FROM replies")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
