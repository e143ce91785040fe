"""Fallback: recover an objective value and status from a program's printed output.

Used only when the program did not call ``report()``. Generated programs print results in
many shapes ("Optimal value: 42", "objective = 1.5e3", "Total cost is $1,234.50"); the rule
is "the last number that follows an objective-like phrase on the same line".
"""

from __future__ import annotations

import re

_NUMBER = r"[-+]?\$?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_PHRASES = (
    r"optimal\s+(?:objective\s+)?(?:value|cost|profit|solution|obj)",
    r"objective(?:\s+function)?(?:\s+value)?",
    r"obj(?:ective)?\s*val(?:ue)?",
    r"best\s+(?:objective|value|solution)",
    r"(?:minimum|maximum|minimal|maximal|min|max|total)\s+(?:total\s+)?(?:cost|profit|value|"
    r"revenue|distance|objective)",
)
_LINE = re.compile(
    r"(?:" + "|".join(_PHRASES) + r")[^\n\d\-+]{0,40}?(?P<num>" + _NUMBER + r")",
    re.IGNORECASE,
)
_STATUS_WORDS = (
    ("infeasible", re.compile(r"\binfeasible\b", re.IGNORECASE)),
    ("unbounded", re.compile(r"\bunbounded\b", re.IGNORECASE)),
    ("time_limit", re.compile(r"\btime\s*limit\b", re.IGNORECASE)),
)


def parse_objective(stdout: str) -> float | None:
    """The last number printed after an objective-like phrase, or None."""
    found: float | None = None
    for match in _LINE.finditer(stdout):
        text = re.sub(r"[$,]", "", match.group("num"))
        try:
            found = float(text)
        except ValueError:
            continue
    return found


def parse_status(stdout: str, objective: float | None) -> str | None:
    """A status word the output states ("infeasible", ...) or "optimal" if a value was found."""
    tail = stdout[-2000:]
    for status, pattern in _STATUS_WORDS:
        if pattern.search(tail) and (objective is None or status == "time_limit"):
            return status
    return "optimal" if objective is not None else None
