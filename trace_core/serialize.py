"""JSON save/load of parameter values and of whole graphs. Never pickle.

Values are written as JSON; tuples become lists (``ParameterNode.set`` converts them back),
tensors become ``{"__tensor__": nested lists, "dtype", "shape"}``. A value that has no JSON form
raises ``SerializationError`` naming the parameter.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trace_core.errors import InvalidUpdate, SerializationError
from trace_core.graph import kind_of, topological_order
from trace_core.nodes import MessageNode, Node, ParameterNode
from trace_core.tensors import is_tensor, tensor_from_json, tensor_to_json

PARAMETERS_FORMAT = "optoforge.parameters/1"
GRAPH_FORMAT = "optoforge.graph/1"


def to_json_value(value: Any, where: str) -> Any:
    """``value`` as plain JSON data, or ``SerializationError`` saying where and what."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(f"{where}: {value!r} has no JSON form (not a finite number)")
        return value
    if isinstance(value, list | tuple):
        return [to_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(
                    f"{where}: dict key {key!r} is a {type(key).__name__}; JSON keys must be str"
                )
            out[key] = to_json_value(item, f"{where}[{key!r}]")
        return out
    if is_tensor(value):
        return tensor_to_json(value)
    raise SerializationError(
        f"{where}: a {type(value).__name__} value cannot be saved as JSON; use str, numbers, "
        "bool, None, lists, dicts with str keys, or torch tensors"
    )


def from_json_value(value: Any, like: Any = None) -> Any:
    """Undo :func:`to_json_value` (tensors are rebuilt; ``like`` gives their device)."""
    if isinstance(value, dict) and "__tensor__" in value:
        return tensor_from_json(value, like)
    return value


def parameters_to_json(named: Mapping[str, ParameterNode]) -> dict[str, Any]:
    """The JSON document for ``{key: parameter}``."""
    entries = {}
    for key, param in named.items():
        entries[key] = {
            "name": param.name,
            "is_code": param.is_code,
            "value": to_json_value(param._data, f"parameter {key!r} ({param.label})"),
        }
    return {"format": PARAMETERS_FORMAT, "parameters": entries}


def save_parameters(named: Mapping[str, ParameterNode], path: str | Path) -> Path:
    """Write ``{key: parameter}`` values to a JSON file (atomically: temp file then rename)."""
    document = parameters_to_json(named)
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(target)
    return target


def load_parameters(
    named: Mapping[str, ParameterNode], path: str | Path, *, strict: bool = True
) -> None:
    """Set each parameter from a file written by :func:`save_parameters`.

    Unknown or missing keys raise ``SerializationError`` listing them (``strict=False`` warns
    instead and loads the rest). Every value is validated before any is set, so a bad file
    changes nothing.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SerializationError(f"cannot read parameters from {path}: {err}") from err
    if not isinstance(document, dict) or document.get("format") != PARAMETERS_FORMAT:
        raise SerializationError(
            f"{path} is not an optoforge parameters file (expected format {PARAMETERS_FORMAT})"
        )
    stored: dict[str, Any] = document.get("parameters", {})
    unknown = sorted(set(stored) - set(named))
    missing = sorted(set(named) - set(stored))
    if unknown or missing:
        problem = []
        if unknown:
            problem.append(f"unknown parameters in the file: {unknown}")
        if missing:
            problem.append(f"parameters missing from the file: {missing}")
        message = f"{path}: " + "; ".join(problem)
        if strict:
            raise SerializationError(message + " (pass strict=False to load the rest)")
        warnings.warn(message, stacklevel=3)
    updates: list[tuple[ParameterNode, Any]] = []
    for key, entry in stored.items():
        param = named.get(key)
        if param is None:
            continue
        value = from_json_value(entry.get("value"), param._data)
        try:
            updates.append((param, param.validate(value)))
        except InvalidUpdate as err:
            raise SerializationError(f"{path}: parameter {key!r}: {err.reason}") from err
    for param, value in updates:
        param.set(value)


def graph_to_json(outputs: Node | Iterable[Node]) -> dict[str, Any]:
    """A JSON description of the graph behind ``outputs`` (values as JSON when possible)."""
    nodes = []
    for node in topological_order(outputs):
        value = _json_or_repr(node._data, node.label)
        entry: dict[str, Any] = {
            "label": node.label,
            "name": node.name,
            "kind": kind_of(node),
            "value": value,
            "description": node.description,
        }
        if isinstance(node, ParameterNode):
            entry["constraint"] = node.constraint
            entry["is_code"] = node.is_code
        if isinstance(node, MessageNode):
            entry["op"] = node.op.name
            entry["inputs"] = {key: parent.label for key, parent in node.inputs.items()}
        if node._feedback:
            entry["feedback"] = [_json_or_repr(m, "feedback") for m in node._feedback]
        nodes.append(entry)
    return {"format": GRAPH_FORMAT, "nodes": nodes}


def _json_or_repr(value: Any, where: str) -> Any:
    try:
        return to_json_value(value, where)
    except SerializationError:
        return {"__repr__": repr(value)}


def save_graph(outputs: Node | Iterable[Node], path: str | Path) -> Path:
    """Write :func:`graph_to_json` to ``path``."""
    target = Path(path)
    target.write_text(json.dumps(graph_to_json(outputs), indent=1, default=repr), encoding="utf-8")
    return target
