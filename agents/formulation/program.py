"""Pulling a Python program out of an LLM reply."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)


def extract_program(reply: str) -> str | None:
    """The program in ``reply``: the last fenced ``python`` block, else the last fenced block,
    else the whole reply when it compiles as Python. None when there is no program.

    The last block wins because replies that reason first often show fragments before the
    complete program. An unterminated final fence (a reply cut off by a token limit) still
    counts, so the sandbox reports the syntax error and a repair can fix it.
    """
    blocks = [(m.group("lang").lower(), m.group("body")) for m in _FENCE.finditer(reply)]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3")]
    for candidates in (python, [body for _, body in blocks]):
        for body in reversed(candidates):
            if body.strip():
                return body.strip("\n") + "\n"
    text = reply.strip()
    if not text:
        return None
    try:
        compile(text, "<reply>", "exec")
    except SyntaxError:
        return None
    # Prose compiles only in degenerate cases (a single name); require something program-like.
    return text + "\n" if ("\n" in text or "(" in text) else None
