"""The trust boundary for ``report()``: read what the child wrote without trusting any of it.

The child never names a path: ``report()`` writes into an unlinked regular file the caller
created and passed as a descriptor, so links, FIFOs, devices and other runs' files cannot be
substituted. The content is still the program's: it is read with a size cap and parsed so
that nothing (huge numbers, deep nesting, wrong types, bad UTF-8) raises past ``run()``.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field

MAX_REPORT_BYTES = 16 * 1024 * 1024
_MAX_STATUS_CHARS = 100


@dataclass
class Report:
    """The parsed ``report()`` call, or why there is none (``error``)."""

    present: bool = False
    objective: float | None = None
    status: str | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None


def finite(value: object) -> float | None:
    """``value`` as a finite float, or None for anything else (bools, strings, huge ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def _parse(data: bytes) -> Report:
    payload = json.loads(data.decode("utf-8"))
    if not isinstance(payload, dict):
        return Report(error=f"the report is a JSON {type(payload).__name__}, not an object")
    status = payload.get("status")
    values = payload.get("values")
    return Report(
        present=True,
        objective=finite(payload.get("objective")),
        status=status[:_MAX_STATUS_CHARS] if isinstance(status, str) and status else None,
        values={str(k): finite(v) for k, v in values.items()} if isinstance(values, dict) else {},
    )


def read_report(fd: int, limit: int = MAX_REPORT_BYTES) -> Report:
    """Parse the report file open at ``fd``; every problem becomes ``Report.error``."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Report(error="the report is not a regular file")
        if info.st_size == 0:
            return Report()
        if info.st_size > limit:
            return Report(error=f"the report is {info.st_size} bytes, over the {limit} cap")
        data = os.pread(fd, limit + 1, 0)
        return _parse(data)
    except (ValueError, RecursionError, MemoryError, OSError) as err:  # ValueError: bad JSON
        return Report(error=f"unreadable report ({type(err).__name__}: {str(err)[:200]})")
