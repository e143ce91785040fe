"""The SQLite schema of an experience library: tables, migrations, rows and row models.

``agents.alphaopt.store`` owns the connection and the transactions; this module says what the
tables hold and how an :class:`Insight` becomes a row and back. A new schema version is one
more ``_migrate_vN`` function added to ``MIGRATIONS``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from agents.alphaopt.insight import Distribution, Insight, InsightStats
from agents.alphaopt.taxonomy import Label, seed_labels

SCHEMA_VERSION = 2


class Change(BaseModel):
    """One entry of the evolution change log."""

    id: int
    at: str
    kind: str = Field(description="add, refine, merge, split, retire, import, label")
    insight_ids: list[int]
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class VerifiedProgram(BaseModel):
    """A program whose solve matched an item's gold objective (a proxy gold program)."""

    item_id: str
    program: str
    objective: float


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
    )


def now() -> str:
    """The current UTC time as stored in the change log."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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


MIGRATIONS = {1: _migrate_v1, 2: _migrate_v2}


def put_label(db: sqlite3.Connection, label: Label) -> bool:
    """Store ``label`` unless its key is there; True when it was new."""
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


def row_to_insight(row: Sequence[Any]) -> Insight:
    """The :class:`Insight` a row of ``SELECT {COLUMNS} FROM insights`` holds."""
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


def snapshot(insight: Insight) -> dict[str, Any]:
    """The fields of ``insight`` the change log records before and after a change."""
    return insight.model_dump(
        mode="json", include={"taxonomy", "condition", "explanation", "example", "status"}
    )
