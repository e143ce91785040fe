"""The JSON exchange format of an experience library: writing an export, reading one back.

``ExperienceLibrary.export_json`` / ``import_json`` gather and merge the contents; this module
owns the file: written atomically (no temporary file is left behind, whatever fails), and read
back only when it is UTF-8 JSON carrying the export format tag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trace_core.durable import write_atomic

EXPORT_FORMAT = "optoforge-alphaopt-library"


def _library_error(message: str) -> Exception:
    from agents.alphaopt.store import LibraryError

    return LibraryError(message)


def write_export(document: dict[str, Any], path: str | Path) -> None:
    """Write ``document`` to ``path`` atomically; a folder or unwritable path is refused."""
    target = Path(path)
    if target.is_dir():
        raise _library_error(f"{target} is a folder; give the path of a .json file to write")
    try:
        write_atomic(target, json.dumps(document, indent=2, ensure_ascii=False))
    except OSError as err:
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
        raise _library_error(f"cannot write {target}: {err.strerror or err}") from None


def read_export(path: str | Path) -> dict[str, Any]:
    """The parsed export at ``path``; LibraryError when it is not UTF-8 JSON of our format."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise _library_error(f"{path}: not UTF-8 text ({err.reason})") from None
    except json.JSONDecodeError as err:
        raise _library_error(f"{path}: not JSON ({err.msg})") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise _library_error(f"{path}: not an optoforge library export (format {EXPORT_FORMAT})")
    return document
