"""The library's files: opening its SQLite database and writing an export, with one-line errors.

Both turn a path that cannot be used (a folder, an unwritable place, a file that is no
database) into a :class:`~agents.alphaopt.schema.LibraryError` that names the path and the fix,
and leave nothing half-written behind.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from agents.alphaopt.schema import LibraryError
from trace_core.durable import write_atomic


def open_database(path: Path) -> sqlite3.Connection:
    """A WAL connection to the library file at ``path`` (created, with its folder, when new)."""
    if path.is_dir():
        raise LibraryError(f"library {path} is a folder; give a .sqlite file path")
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as err:  # "file is not a database", a read-only folder
        raise LibraryError(
            f"library {path} cannot be opened as an optoforge library ({err}); give the path "
            "of a library file, or a new path to create one"
        ) from None
    except OSError as err:
        raise LibraryError(f"library {path}: {err.strerror or err}") from None
    return db


def write_export(target: Path, document: dict[str, Any]) -> None:
    """Write an export atomically; a failed write leaves no temporary file behind."""
    if target.is_dir():
        raise LibraryError(f"{target} is a folder; give the path of a .json file to write")
    try:
        write_atomic(target, json.dumps(document, indent=2, ensure_ascii=False))
    except OSError as err:
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
        raise LibraryError(f"cannot write {target}: {err.strerror or err}") from None
