"""The experience library's SQLite schema: tables, migrations, the row <-> Insight codec.

Version 1 held insights; version 2 added evolution (distribution, status, versions), taxonomy
labels, verified programs and the change log; version 3 stores each insight's content key
under a UNIQUE index, so the database itself keeps one insight per content (see
:meth:`Insight.content_key`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.alphaopt.insight import Distribution, Insight, InsightStats
from agents.alphaopt.taxonomy import Label, seed_labels
from agents.errors import AgentsError

SCHEMA_VERSION = 3


class Change(BaseModel):
    """One entry of the evolution change log."""

    id: int
    at: str
    kind: str = Field(description="add, refine, merge, split, retire, import, label, dedup")
    insight_ids: list[int]
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class VerifiedProgram(BaseModel):
    """A program whose solve matched an item's gold objective (a proxy gold program)."""

    item_id: str
    program: str
    objective: float


class LibraryError(AgentsError, RuntimeError):
    """The library file cannot be used (newer schema, not an optoforge library, bad export)."""


def migrate(db: sqlite3.Connection, where: object) -> None:
    """Bring the database to :data:`SCHEMA_VERSION` (inside the caller's transaction)."""
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version == 0 and db.execute("SELECT 1 FROM sqlite_master WHERE name='insights'").fetchone():
        raise LibraryError(f"{where} has tables but no schema version: not a library")
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"{where} uses library schema {version}, newer than this optoforge "
            f"({SCHEMA_VERSION}); upgrade optoforge to open it"
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](db)
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )


def read_export(path: str | Path, export_format: str) -> dict[str, Any]:
    """The JSON document of a library export at ``path`` (raises :class:`LibraryError`)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise LibraryError(f"{path}: not UTF-8 text ({err.reason})") from None
    except json.JSONDecodeError as err:
        raise LibraryError(f"{path}: not JSON ({err.msg})") from None
    if not isinstance(document, dict) or document.get("format") != export_format:
        raise LibraryError(f"{path}: not an optoforge library export (format {export_format})")
    return document


def change_from_row(row: Sequence[Any]) -> Change:
    """A change-log entry from its row (id, at, kind, insight_ids, reason, before, after)."""
    return Change(
        id=row[0],
        at=row[1],
        kind=row[2],
        insight_ids=json.loads(row[3]),
        reason=row[4],
        before=json.loads(row[5]) if row[5] else None,
        after=json.loads(row[6]) if row[6] else None,
    )


def content_key(insight: Insight) -> str:
    """The stored form of :meth:`Insight.content_key` (unique in the ``insights`` table)."""
    return json.dumps(insight.content_key(), ensure_ascii=False)


def columns(insight: Insight) -> tuple[Any, ...]:
    """The stored columns of ``insight``, in the order both INSERT and UPDATE name them."""
    return (
        json.dumps(insight.taxonomy),
        insight.condition,
        insight.explanation,
        insight.example,
        json.dumps(insight.provenance),
        insight.stats.model_dump_json(),
        insight.distribution.model_dump_json(),
        insight.status,
        insight.version,
        insight.iteration,
        content_key(insight),
    )


def _migrate_v1(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE insights (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            taxonomy TEXT NOT NULL,
            condition TEXT NOT NULL,
            explanation TEXT NOT NULL,
            example TEXT NOT NULL DEFAULT '',
            provenance TEXT NOT NULL DEFAULT '[]',
            stats TEXT NOT NULL DEFAULT '{}',
            created TEXT NOT NULL
        )"""
    )


def _migrate_v2(db: sqlite3.Connection) -> None:
    """Evolution: distribution, status and versions; taxonomy labels; programs; change log."""
    db.execute("ALTER TABLE insights ADD COLUMN distribution TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE insights ADD COLUMN status TEXT NOT NULL DEFAULT 'active'")
    db.execute("ALTER TABLE insights ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE insights ADD COLUMN iteration INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """CREATE TABLE labels (
            key TEXT PRIMARY KEY, track TEXT NOT NULL, l1 TEXT NOT NULL, l2 TEXT NOT NULL,
            definition TEXT NOT NULL, condition TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE programs (
            item_id TEXT PRIMARY KEY, program TEXT NOT NULL, objective REAL NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
            insight_ids TEXT NOT NULL, reason TEXT NOT NULL, before TEXT, after TEXT
        )"""
    )
    for label in seed_labels():
        put_label(db, label)


def _migrate_v3(db: sqlite3.Connection) -> None:
    """One insight per content key: fold the duplicates older writers left, then enforce it.

    A later duplicate is folded into the earliest copy (:meth:`Insight.absorbed`, the rule
    ``add()`` and ``import_json()`` follow) and removed; the change log records each fold. If
    the earliest copy was taken out of retrieval but a duplicate was still active, the kept
    insight is active, so opening a library never hides an insight that was in use.
    """
    db.execute("ALTER TABLE insights ADD COLUMN content_key TEXT")
    kept: dict[str, Insight] = {}
    for row in db.execute(f"SELECT {COLUMNS} FROM insights ORDER BY id").fetchall():
        insight = row_to_insight(row)
        key = content_key(insight)
        first = kept.get(key)
        if first is None:
            kept[key] = insight
            db.execute("UPDATE insights SET content_key=? WHERE id=?", (key, insight.id))
            continue
        folded = first.absorbed(insight)
        if insight.status == "active":
            folded = folded.model_copy(update={"status": "active"})
        kept[key] = folded
        db.execute("DELETE FROM insights WHERE id=?", (insight.id,))
        write_row(db, folded)
        db.execute(
            "INSERT INTO changes (at, kind, insight_ids, reason) VALUES (?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="seconds"),
                "dedup",
                json.dumps([first.id, insight.id]),
                f"insight {insight.id} was identical to {first.id}: folded into it",
            ),
        )
    db.execute("CREATE UNIQUE INDEX insights_content_key ON insights (content_key)")


MIGRATIONS = {1: _migrate_v1, 2: _migrate_v2, 3: _migrate_v3}


def put_label(db: sqlite3.Connection, label: Label) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO labels (key, track, l1, l2, definition, condition) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ("/".join(label.key), label.track, label.l1, label.l2, label.definition, label.condition),
    )
    return cursor.rowcount > 0


COLUMNS = (
    "id, taxonomy, condition, explanation, example, provenance, stats, distribution, status, "
    "version, iteration"
)
INSERT = (
    "INSERT INTO insights (taxonomy, condition, explanation, example, provenance, stats, "
    "distribution, status, version, iteration, content_key, created) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE = (
    "UPDATE insights SET taxonomy=?, condition=?, explanation=?, example=?, provenance=?, "
    "stats=?, distribution=?, status=?, version=?, iteration=?, content_key=? WHERE id=?"
)


def write_row(db: sqlite3.Connection, insight: Insight) -> None:
    """Store ``insight`` over the row with its id."""
    db.execute(UPDATE, (*columns(insight), insight.id))


def row_to_insight(row: Sequence[Any]) -> Insight:
    return Insight(
        id=row[0],
        taxonomy=json.loads(row[1]),
        condition=row[2],
        explanation=row[3],
        example=row[4],
        provenance=json.loads(row[5]),
        stats=InsightStats.model_validate(json.loads(row[6])),
        distribution=Distribution.model_validate(json.loads(row[7])),
        status=row[8],
        version=row[9],
        iteration=row[10],
    )
