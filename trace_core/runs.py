"""One run directory for every resumable run: manifest, crash-safe journals, atomic state.

Training, evaluation, prompt search, AlphaOPT phases and ReSocratic synthesis all keep their
progress in a folder that must survive a kill at any moment and must never be mixed up with
another run. :class:`RunDir` is that folder:

- ``run.json``, the manifest, records which command made the run and the configuration that
  decides its outcome. A command refuses a folder that another command made (even with
  ``--overwrite``: deleting another tool's results is never what a typo meant), and ``--resume``
  refuses a configuration that differs, naming each difference.
- :class:`Journal` is an append-only JSONL file: one fsync-ed line per record, a last line torn
  by a kill is dropped (and truncated away), any other bad line is an error naming it.
- :meth:`RunDir.write_state` replaces a JSON state file atomically (old or new, never half).

The folder is checked before any work starts (a path that is a file, a folder that cannot be
written), so a bad ``--run-dir`` costs nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trace_core.durable import append_line, write_atomic
from trace_core.errors import OptoforgeError

MANIFEST = "run.json"


class RunDirError(OptoforgeError, ValueError):
    """A run directory cannot be used as asked: made by another command or configuration,
    occupied, not a folder, not writable, or holding a corrupt journal line."""


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (what a manifest stores and compares)."""
    return json.loads(json.dumps(value, default=str))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def config_differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``key: the run has X, this command Y`` for every key whose value differs."""
    return [
        f"{key}: the run has {_short(before.get(key))}, this command {_short(now.get(key))}"
        for key in sorted(set(before) | set(now))
        if before.get(key) != now.get(key)
    ]


def read_jsonl_lines(path: str | Path) -> list[tuple[int, Any]]:
    """``(line number, record)`` of every record of a JSONL journal, tolerating (and
    truncating) a torn last line.

    Raises :class:`RunDirError` naming the file and line when any other line is not JSON.
    """
    target = Path(path)
    if not target.exists():
        return []
    raw = target.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end != len(raw):  # the last append was cut off by a kill: drop its partial line
        with target.open("r+b") as handle:
            handle.truncate(end)
    records = []
    for number, line in enumerate(raw[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise RunDirError(
                f"{target}:{number}: not valid JSON ({err}); delete that line or start a new "
                "run directory"
            ) from err
    return records


def read_jsonl(path: str | Path) -> list[Any]:
    """Every record of a JSONL journal (see :func:`read_jsonl_lines`)."""
    return [record for _, record in read_jsonl_lines(path)]


class Journal:
    """Append-only, thread-safe JSONL log: each :meth:`append` is on disk when it returns."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def records(self) -> list[Any]:
        """Every complete record in append order (a torn last line is dropped)."""
        with self._lock:
            return read_jsonl(self.path)

    def append(self, record: Any) -> None:
        """Durably append one JSON value (a pydantic model's JSON text is passed as ``str``)."""
        line = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            append_line(self.path, line)

    def rewrite(self, records: Iterable[str]) -> None:
        """Replace the journal atomically with ``records`` (JSON lines), e.g. to drop a tail."""
        with self._lock:
            write_atomic(self.path, "".join(line + "\n" for line in records))

    def clear(self) -> None:
        """Delete the journal (``--overwrite``)."""
        with self._lock:
            self.path.unlink(missing_ok=True)


def check_writable_dir(path: str | Path, *, flag: str = "--run-dir") -> Path:
    """Create ``path`` if needed and prove a file can be written in it; else RunDirError.

    Called before any paid work, so a run directory that is a file, or lies on a read-only
    filesystem, fails in one line instead of after the first results.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise RunDirError(f"{flag} {target} is a file, not a folder; choose a folder path")
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, prefix=".probe-", delete=True):
            pass
    except OSError as err:
        reason = err.strerror or str(err)
        raise RunDirError(
            f"{flag} {target} cannot be written ({reason}); choose a writable folder"
        ) from err
    return target


class RunDir:
    """One run's folder: manifest checks on open, then journals and atomic state files.

    ``command`` names what made the run (``"evaluate"``, ``"prompt optimize"``, ``"train"``);
    ``config`` is a flat JSON-able dict of everything that decides the outcome. Opening:

    - a folder made by another command is refused;
    - ``resume`` continues a run whose configuration equals ``config`` (else refused, naming
      each difference); ``overwrite`` deletes this run's ``artifacts`` first;
    - otherwise a folder that already holds a run (``exclusive``: any file at all) is refused.

    ``details`` are extra manifest fields that are recorded but never compared (start time,
    worker count, ...). ``flag``, ``resume_flag`` and ``overwrite_flag`` name the options that
    chose the folder, continue a run and discard one (messages tell the user which to pass).
    """

    def __init__(
        self,
        path: str | Path,
        command: str,
        config: Mapping[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
        artifacts: Iterable[str] = (),
        exclusive: bool = False,
        details: Mapping[str, Any] | None = None,
        flag: str = "--run-dir",
        resume_flag: str = "--resume",
        overwrite_flag: str | None = "--overwrite",
    ) -> None:
        if resume and overwrite:
            raise RunDirError("--resume and --overwrite exclude each other; pass one")
        self.path = Path(path)
        self.command = command
        self.config: dict[str, Any] = _jsonable(dict(config))
        self.flag = flag
        self.artifacts = (MANIFEST, *artifacts)
        self.resumed = False
        check_writable_dir(self.path, flag=flag)
        manifest = self.read_manifest()
        if manifest is not None and "config" not in manifest:
            # Written before manifests named their command: the flat file is the configuration.
            manifest = {"command": command, "config": manifest}
        if manifest is not None:
            self._check_command(manifest)
        present = self._present(exclusive)
        if overwrite:
            self._clear()
        elif present and not resume:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            discard = f"{overwrite_flag} to delete its results and start over, " * bool(
                overwrite_flag
            )
            raise RunDirError(
                f"{self.path} already holds a run ({shown}); pass {resume_flag} to continue it, "
                f"{discard}or choose another {flag}"
            )
        elif resume and present:
            self._check_resume(manifest, present)
            self.resumed = True
        self.write_manifest(details or {})

    # -- manifest ----------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest of the run in this folder, or None when there is none yet."""
        path = self.path / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RunDirError(
                f"{path} is not a run manifest ({err}); choose another {self.flag}"
            ) from err
        if not isinstance(data, dict):
            raise RunDirError(f"{path} is not a run manifest; choose another {self.flag}")
        return data

    def write_manifest(self, details: Mapping[str, Any]) -> None:
        """Record command, configuration and ``details`` (atomically) in ``run.json``."""
        data = {
            **_jsonable(dict(details)),
            "command": self.command,
            "config": self.config,
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_atomic(self.path / MANIFEST, json.dumps(data, indent=1, ensure_ascii=False) + "\n")

    def _check_command(self, manifest: Mapping[str, Any]) -> None:
        made_by = manifest.get("command")
        if made_by != self.command:
            raise RunDirError(
                f"{self.path} holds a run of `optoforge {made_by or 'unknown'}`, not "
                f"`optoforge {self.command}`; it is neither resumed nor overwritten by this "
                f"command: choose another {self.flag}"
            )

    def _check_resume(self, manifest: Mapping[str, Any] | None, present: list[str]) -> None:
        if manifest is None:
            raise RunDirError(
                f"{self.path} holds results ({', '.join(present[:5])}) but no {MANIFEST}, so "
                f"it cannot be resumed; pass --overwrite to start over, or choose another "
                f"{self.flag}"
            )
        changed = config_differences(manifest.get("config") or {}, self.config)
        if changed:
            raise RunDirError(
                f"cannot resume {self.path}: this command differs from the run's {MANIFEST} in "
                + "; ".join(changed)
                + f". Repeat the run's options, use --overwrite to start over, or choose "
                f"another {self.flag}"
            )

    def _present(self, exclusive: bool) -> list[str]:
        names = sorted(p.name for p in self.path.iterdir() if not p.name.startswith(".probe-"))
        if exclusive:
            return names
        # A manifest alone is a run that never got to record anything: reusing it is safe.
        return [name for name in names if name in self.artifacts and name != MANIFEST]

    def _clear(self) -> None:
        for name in self.artifacts:
            target = self.path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    # -- contents ----------------------------------------------------------------------------
    def journal(self, name: str) -> Journal:
        """The append-only journal ``name`` (a path relative to the folder)."""
        return Journal(self.path / name)

    def write_state(self, name: str, data: Any) -> None:
        """Replace the JSON state file ``name`` atomically (a kill leaves old or new)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else json.dumps(data, indent=1, ensure_ascii=False)
        write_atomic(target, text)

    def read_state(self, name: str) -> Any | None:
        """The JSON state file ``name``, or None when it was never written."""
        target = self.path / name
        if not target.is_file():
            return None
        try:
            return json.loads(target.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RunDirError(f"{target} is not JSON ({err}); use --overwrite") from err


__all__ = [
    "MANIFEST",
    "Journal",
    "RunDir",
    "RunDirError",
    "check_writable_dir",
    "config_differences",
    "read_jsonl",
    "read_jsonl_lines",
]
