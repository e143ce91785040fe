"""ExperienceLibrary: the insight store, in SQLite.

Durability: the database runs in WAL mode with ``synchronous=FULL`` and every change is one
``BEGIN IMMEDIATE ... COMMIT`` transaction, so a method that changes the library returns only
after its transaction is committed, and a killed process (SIGKILL) loses nothing that was
returned. Several processes may open the same file; SQLite serialises their writers.

Besides insights the store keeps the taxonomy labels (seeded on creation, grown online), the
solver-verified programs found for training items (so evolution need not rediscover them) and a
change log of every evolution step (add, refine, merge, retire) with its reason.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.alphaopt.exchange import open_database, write_export
from agents.alphaopt.insight import Bucket, Insight, InsightStats
from agents.alphaopt.schema import (
    COLUMNS,
    INSERT,
    SCHEMA_VERSION,
    Change,
    VerifiedProgram,
    change_from_row,
    columns,
    content_key,
    migrate,
    put_label,
    read_export,
    row_to_insight,
    write_row,
)
from agents.alphaopt.schema import LibraryError as LibraryError  # re-exported: its old home
from agents.alphaopt.taxonomy import Label, label_key
from agents.errors import AgentsError

EXPORT_FORMAT = "optoforge-alphaopt-library"


class InsightNotFound(AgentsError, KeyError):
    """No insight has the requested id."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _snapshot(insight: Insight) -> dict[str, Any]:
    return insight.model_dump(
        mode="json", include={"taxonomy", "condition", "explanation", "example", "status"}
    )


class ExperienceLibrary:
    """A persistent, crash-safe store of :class:`Insight` records (SQLite at ``path``).

    Thread-safe: one connection guarded by a lock. Use as a context manager or call
    :meth:`close`. A new file is created with the seed taxonomy; an older schema is migrated.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise LibraryError(f"library {self.path} is a folder; give a .sqlite file path")
        self._lock = threading.RLock()
        self._db = open_database(self.path)
        try:
            self._migrate()
        except sqlite3.DatabaseError as err:  # "file is not a database"
            self._db.close()
            raise LibraryError(
                f"library {self.path} cannot be opened as an optoforge library ({err}); give "
                "the path of a library file, or a new path to create one"
            ) from None

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ExperienceLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ExperienceLibrary({str(self.path)!r})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction() as db:
            migrate(db, self.path)

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0])

    # -- insights ----------------------------------------------------------------------------

    def _insert(self, db: sqlite3.Connection, insight: Insight) -> int:
        cursor = db.execute(INSERT, (*columns(insight), _now()))
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def _twin(self, db: sqlite3.Connection, insight: Insight) -> Insight | None:
        """The stored insight identical to ``insight`` (same content key), if any."""
        row = db.execute(
            f"SELECT {COLUMNS} FROM insights WHERE content_key=?", (content_key(insight),)
        ).fetchone()
        return None if row is None else row_to_insight(row)

    def _put(self, db: sqlite3.Connection, insight: Insight) -> tuple[Insight, bool]:
        """The one write rule: store ``insight``, or fold it into its stored twin.

        Returns the stored insight and whether it is new. A twin keeps its id, texts and
        status and gains the new provenance, distribution and counters
        (:meth:`Insight.absorbed`), so repeating the same write changes nothing.
        """
        twin = self._twin(db, insight)
        if twin is None:
            new_id = self._insert(db, insight)
            return insight.model_copy(update={"id": new_id}), True
        folded = twin.absorbed(insight)
        if folded != twin:
            write_row(db, folded)
        return folded, False

    def _log(
        self,
        db: sqlite3.Connection,
        kind: str,
        ids: Iterable[int],
        reason: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO changes (at, kind, insight_ids, reason, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                _now(),
                kind,
                json.dumps(list(ids)),
                reason,
                None if before is None else json.dumps(before),
                None if after is None else json.dumps(after),
            ),
        )

    def _get(self, db: sqlite3.Connection, insight_id: int) -> Insight:
        row = db.execute(f"SELECT {COLUMNS} FROM insights WHERE id=?", (insight_id,)).fetchone()
        if row is None:
            raise InsightNotFound(f"no insight with id {insight_id} in {self.path}")
        return row_to_insight(row)

    def add(self, insight: Insight, reason: str = "added") -> int:
        """Store ``insight`` (its ``id`` is ignored) and return its id, once committed.

        An insight identical to a stored one (:meth:`Insight.content_key`: same taxonomy and
        texts up to case and spacing) is not stored twice: the stored one absorbs its
        provenance, distribution and counters and its id is returned, exactly as
        :meth:`import_json` does. A writer restarted over the same items adds nothing new.
        """
        with self._transaction() as db:
            stored, new = self._put(db, insight)
            assert stored.id is not None
            if new:
                self._log(db, "add", [stored.id], reason, after=_snapshot(insight))
        return stored.id

    def get(self, insight_id: int) -> Insight:
        """The insight with ``insight_id`` (raises :class:`InsightNotFound`)."""
        with self._lock:
            return self._get(self._db, insight_id)

    def all(self, *, include_inactive: bool = False) -> list[Insight]:
        """Active insights by id (``include_inactive``: also retired and merged ones)."""
        where = "" if include_inactive else "WHERE status='active'"
        with self._lock:
            rows = self._db.execute(f"SELECT {COLUMNS} FROM insights {where} ORDER BY id")
            return [row_to_insight(row) for row in rows.fetchall()]

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM insights WHERE status='active'")
            return int(row.fetchone()[0])

    def update(self, insight: Insight, *, kind: str, reason: str) -> Insight:
        """Replace the content of ``insight.id``, bump its version and log ``kind``/``reason``.

        When the new content is identical to another stored insight, that one absorbs this
        insight (the one-insight-per-content rule) and is returned; this one keeps its old
        texts with status ``merged``.
        """
        if insight.id is None:
            raise ValueError("update() needs an insight with an id; use add() for new insights")
        with self._transaction() as db:
            before = self._get(db, insight.id)
            updated = insight.model_copy(update={"version": before.version + 1})
            twin = self._twin(db, updated)
            if twin is not None and twin.id is not None and twin.id != insight.id:
                folded = twin.absorbed(updated)
                write_row(db, folded)
                write_row(db, before.model_copy(update={"status": "merged"}))
                why = f"{reason}; identical to insight {twin.id}, merged into it"
                self._log(db, kind, [insight.id, twin.id], why, _snapshot(before))
                return folded
            write_row(db, updated)
            self._log(db, kind, [insight.id], reason, _snapshot(before), _snapshot(updated))
        return updated

    def retire(self, insight_id: int, reason: str) -> None:
        """Take an insight out of retrieval for good (it stays in the file and the log)."""
        with self._transaction() as db:
            before = self._get(db, insight_id)
            after = before.model_copy(update={"status": "retired"})
            write_row(db, after)
            self._log(db, "retire", [insight_id], reason, _snapshot(before), _snapshot(after))

    def merge(self, source_ids: Sequence[int], merged: Insight, reason: str) -> int:
        """Replace ``source_ids`` by ``merged`` in one transaction; returns the merged id.

        The merged insight inherits the union of the sources' provenance and distribution and
        their summed stats; the sources are kept with status ``merged``. A result identical to
        a stored insight is that insight (one insight per content), made active: a source
        then stays as the result, another insight takes the merge in.
        """
        with self._transaction() as db:
            sources = [self._get(db, source_id) for source_id in source_ids]
            provenance = list(
                dict.fromkeys([*merged.provenance, *(p for s in sources for p in s.provenance)])
            )
            distribution = merged.distribution
            for source in sources:
                distribution = source.distribution.union(distribution)
            stats = InsightStats(
                retrieved=merged.stats.retrieved + sum(s.stats.retrieved for s in sources),
                helped=merged.stats.helped + sum(s.stats.helped for s in sources),
                hurt=merged.stats.hurt + sum(s.stats.hurt for s in sources),
            )
            combined = merged.model_copy(
                update={"provenance": provenance, "distribution": distribution, "stats": stats}
            )
            new_id = self._put_live(db, combined)
            for source in sources:
                if source.id != new_id:
                    write_row(db, source.model_copy(update={"status": "merged"}))
            self._log(db, "merge", [*source_ids, new_id], reason, after=_snapshot(combined))
        return new_id

    def _put_live(self, db: sqlite3.Connection, insight: Insight) -> int:
        """:meth:`_put` for the result of an evolution step: the stored insight is active.

        When the result is identical to a source of the step, that source simply stays (it is
        the result); when it is identical to another stored insight, that one takes it in.
        """
        stored, new = self._put(db, insight)
        assert stored.id is not None
        if not new and stored.status != "active":
            write_row(db, stored.model_copy(update={"status": "active"}))
        return stored.id

    def split(self, source_id: int, parts: Sequence[Insight], reason: str) -> list[int]:
        """Replace one insight by narrower ``parts`` in one transaction; returns their ids.

        Parts identical to a stored insight are that insight, made active (a part identical to
        the source keeps the source active rather than marking it ``split``).
        """
        with self._transaction() as db:
            source = self._get(db, source_id)
            ids = list(dict.fromkeys(self._put_live(db, part) for part in parts))
            if source_id not in ids:
                write_row(db, self._get(db, source_id).model_copy(update={"status": "split"}))
            self._log(db, "split", [source_id, *ids], reason, before=_snapshot(source))
        return ids

    def record(
        self,
        insight_id: int,
        item_id: str,
        bucket: Bucket | None = None,
        *,
        retrieved: int = 0,
        helped: int = 0,
        hurt: int = 0,
    ) -> None:
        """Count a use of an insight on ``item_id`` and (optionally) file it under ``bucket``."""
        with self._transaction() as db:
            insight = self._get(db, insight_id)
            stats = InsightStats(
                retrieved=insight.stats.retrieved + retrieved,
                helped=insight.stats.helped + helped,
                hurt=insight.stats.hurt + hurt,
            )
            distribution = (
                insight.distribution.placed(bucket, item_id) if bucket else insight.distribution
            )
            write_row(db, insight.model_copy(update={"stats": stats, "distribution": distribution}))

    def count_retrieved(self, insight_ids: Iterable[int]) -> None:
        """Add one to the ``retrieved`` counter of each insight (one transaction)."""
        with self._transaction() as db:
            for insight_id in insight_ids:
                db.execute(
                    "UPDATE insights SET stats=json_set(stats, '$.retrieved', "
                    "COALESCE(json_extract(stats, '$.retrieved'), 0) + 1) WHERE id=?",
                    (insight_id,),
                )

    # -- taxonomy, programs, change log ------------------------------------------------------

    def labels(self) -> list[Label]:
        """Every taxonomy label, seed and learned."""
        with self._lock:
            rows = self._db.execute(
                "SELECT track, l1, l2, definition, condition FROM labels ORDER BY rowid"
            ).fetchall()
        return [Label(track=r[0], l1=r[1], l2=r[2], definition=r[3], condition=r[4]) for r in rows]

    def has_label(self, path: Sequence[str]) -> bool:
        """True when the taxonomy has the label at ``path`` (matched case-insensitively)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM labels WHERE key=?", ("/".join(label_key(path)),)
            ).fetchone()
        return row is not None

    def add_label(self, label: Label, reason: str = "new label") -> bool:
        """Add a taxonomy label; False when an equal path (ignoring case) already exists."""
        with self._transaction() as db:
            added = put_label(db, label)
            if added:
                self._log(db, "label", [], f"{'/'.join(label.path)}: {reason}")
        return added

    def save_program(self, item_id: str, program: str, objective: float) -> None:
        """Remember a solver-verified program for a training item."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO programs (item_id, program, objective) VALUES (?, ?, ?)",
                (item_id, program, objective),
            )

    def program(self, item_id: str) -> VerifiedProgram | None:
        """The verified program of ``item_id``, if one was found."""
        with self._lock:
            row = self._db.execute(
                "SELECT item_id, program, objective FROM programs WHERE item_id=?", (item_id,)
            ).fetchone()
        return (
            None
            if row is None
            else VerifiedProgram(item_id=row[0], program=row[1], objective=row[2])
        )

    def changes(self, insight_id: int | None = None) -> list[Change]:
        """The change log, oldest first (only entries naming ``insight_id`` when given)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, kind, insight_ids, reason, before, after FROM changes ORDER BY id"
            ).fetchall()
        changes = [change_from_row(r) for r in rows]
        if insight_id is None:
            return changes
        return [change for change in changes if insight_id in change.insight_ids]

    # -- export / import ---------------------------------------------------------------------

    def export_json(self, path: str | Path) -> int:
        """Write every insight (any status), the labels and the programs as JSON; returns count."""
        insights = self.all(include_inactive=True)
        with self._lock:
            programs = self._db.execute("SELECT item_id, program, objective FROM programs")
            program_rows = programs.fetchall()
        document = {
            "format": EXPORT_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "insights": [insight.model_dump(mode="json") for insight in insights],
            "labels": [label.model_dump(mode="json") for label in self.labels()],
            "programs": [
                {"item_id": r[0], "program": r[1], "objective": r[2]} for r in program_rows
            ],
        }
        write_export(Path(path), document)
        return len(insights)

    def import_json(self, path: str | Path) -> dict[str, int]:
        """Merge an export into this library (one transaction).

        Each insight is written by the rule :meth:`add` follows: new insights get new ids; one
        identical to an insight already here (same taxonomy, condition, explanation and
        example, ignoring case and spacing) is not duplicated: the existing one gains the
        imported provenance and distribution, and keeps the larger of each stats counter (so
        importing the same file twice changes nothing). A library holds no two identical
        insights, so importing its export into an empty library gives back the same insights.
        Returns counts: ``added``, ``deduplicated``, ``labels``.
        """
        document = read_export(path, EXPORT_FORMAT)
        try:
            return self._merge(document, path)
        except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as err:
            first = str(err).splitlines()[0]
            raise LibraryError(
                f"{path}: malformed library export ({type(err).__name__}: {first}); nothing "
                "was imported. Export it again with `optoforge library export`"
            ) from None

    def _merge(self, document: dict[str, Any], path: str | Path) -> dict[str, int]:
        """Merge a parsed export in one transaction (any bad row rolls all of it back)."""
        imported = [Insight.model_validate(row) for row in document.get("insights", [])]
        counts = {"added": 0, "deduplicated": 0, "labels": 0}
        with self._transaction() as db:
            for row in document.get("labels", []):
                counts["labels"] += put_label(db, Label.model_validate(row))
            for row in document.get("programs", []):
                db.execute(
                    "INSERT OR IGNORE INTO programs (item_id, program, objective) VALUES (?, ?, ?)",
                    (row["item_id"], row["program"], float(row["objective"])),
                )
            for insight in imported:
                _, new = self._put(db, insight)
                counts["added" if new else "deduplicated"] += 1
            self._log(db, "import", [], f"imported {path}: {counts}")
        return counts
