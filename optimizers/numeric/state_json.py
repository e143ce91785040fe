"""Lossless JSON encoding of torch optimizer state (tensors, int keys, tuples, NaN).

LLM optimizer states are JSON (DESIGN: never pickle), so a hybrid state must be JSON too.
Tensors are stored as base64 of their raw bytes with dtype and shape: exact for every dtype
(float32, bfloat16, int64 ...) and about 4/3 of the tensor's size, where nested lists would be
several times larger. Objects that pytorch-optimizer keeps in its state (APOLLO's projector)
are stored by attributes; only classes from an allow-list of packages are rebuilt on load.
"""

from __future__ import annotations

import base64
import importlib
import math
from typing import Any

import torch

from optimizers.errors import OptimizerError

#: Packages whose classes may be rebuilt from a state (never arbitrary imports from a file).
TRUSTED_PACKAGES = ("pytorch_optimizer.",)


class StateEncodingError(OptimizerError, ValueError):
    """An optimizer state holds a value that cannot be written to or read from JSON."""


def to_json(value: Any) -> Any:
    """Return a JSON-able structure that :func:`from_json` turns back into ``value``."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().cpu().contiguous().reshape(-1)
        raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        return {
            "__tensor__": base64.b64encode(raw).decode("ascii"),
            "dtype": str(value.dtype).removeprefix("torch."),
            "shape": list(value.shape),
        }
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and "__items__" not in value:
            return {k: to_json(v) for k, v in value.items()}
        return {"__items__": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    cls = type(value)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__.startswith(TRUSTED_PACKAGES) and hasattr(value, "__dict__"):
        return {"__object__": path, "attrs": to_json(vars(value))}
    raise StateEncodingError(
        f"cannot write a {path} in an optimizer state to JSON; only tensors, numbers, strings, "
        f"containers and objects from {TRUSTED_PACKAGES} are supported"
    )


def from_json(value: Any, device: torch.device | str | None = None) -> Any:
    """Rebuild what :func:`to_json` wrote; tensors go to ``device`` (default: CPU)."""
    if isinstance(value, list):
        return [from_json(v, device) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        dtype = getattr(torch, value["dtype"])
        raw = bytearray(base64.b64decode(value["__tensor__"]))
        flat = (
            torch.frombuffer(raw, dtype=torch.uint8).view(dtype)
            if raw
            else torch.empty(0, dtype=dtype)
        )
        return flat.reshape(value["shape"]).to(device) if device else flat.reshape(value["shape"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(from_json(v, device) for v in value["__tuple__"])
    if "__items__" in value:
        return {from_json(k, device): from_json(v, device) for k, v in value["__items__"]}
    if "__object__" in value:
        module_name, _, qualname = value["__object__"].partition(":")
        if not module_name.startswith(TRUSTED_PACKAGES):
            raise StateEncodingError(f"refusing to rebuild {value['__object__']} from a state")
        cls = getattr(importlib.import_module(module_name), qualname)
        obj = cls.__new__(cls)
        obj.__dict__.update(from_json(value["attrs"], device))
        return obj
    return {k: from_json(v, device) for k, v in value.items()}
