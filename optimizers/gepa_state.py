"""JSON encoding of gepa's run state, so a GEPA run resumes from our checkpoint files.

gepa keeps its state in Python containers JSON cannot hold as they are: dicts keyed by ints
(validation example ids) or tuples, sets of program indices, tuples in the random generator's
state. :func:`encode` tags those (``{"__pairs__": ...}``, ``{"__set__": ...}``,
``{"__tuple__": ...}``) and :func:`decode` rebuilds them exactly. gepa's own run_dir uses
pickle, which the project does not accept as a save format.
"""

from __future__ import annotations

from typing import Any

_TAGS = ("__pairs__", "__set__", "__tuple__")


def encode(value: Any) -> Any:
    """``value`` as JSON-able data; :func:`decode` turns it back into equal containers."""
    if isinstance(value, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__pairs__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, set | frozenset):
        return {"__set__": [encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """Rebuild what :func:`encode` produced (dict keys, sets and tuples included)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, items),) = value.items()
            if tag == "__pairs__":
                return {_key(decode(k)): decode(v) for k, v in items}
            if tag == "__set__":
                return {decode(v) for v in items}
            if tag == "__tuple__":
                return tuple(decode(v) for v in items)
        return {k: decode(v) for k, v in value.items()}
    return value


def _key(value: Any) -> Any:
    # A decoded list cannot be a dict key; encode() only writes hashable keys, as tuples.
    return tuple(value) if isinstance(value, list) else value
