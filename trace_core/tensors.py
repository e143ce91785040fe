"""Torch tensors as node values: autograd stays torch's, feedback stays ours.

A tensor parameter is ``node(torch.tensor(..., requires_grad=True), trainable=True)``. Traced ops
on tensor nodes compute on the tensors themselves, so the autograd graph is built as usual;
``Node.backward()`` on a scalar tensor with a ``grad_fn`` also runs ``torch``'s backward.
Nothing here imports torch unless a value already is a tensor (torch is then loaded), so
``import trace_core`` stays light. Works on any device: values keep their device and dtype.
"""

from __future__ import annotations

import sys
from typing import Any


def is_tensor(value: Any) -> bool:
    """True if ``value`` is a ``torch.Tensor`` (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def is_scalar_tensor_with_grad(value: Any) -> bool:
    """True for a one-element tensor that has an autograd history (a loss)."""
    return is_tensor(value) and value.numel() == 1 and value.grad_fn is not None


def assign_tensor(target: Any, new: Any) -> bool:
    """Copy ``new`` into tensor ``target`` in place (no autograd record); False if not tensors.

    In-place assignment keeps the parameter's tensor object, so a ``torch.optim`` optimizer that
    holds it keeps working after an LLM optimizer or ``load()`` sets a new value.
    """
    if not (is_tensor(target) and is_tensor(new)):
        return False
    import torch

    with torch.no_grad():
        target.copy_(new)
    return True


def tensor_to_json(value: Any) -> dict[str, Any]:
    """A JSON object for a tensor: nested lists plus dtype and shape."""
    return {
        "__tensor__": value.detach().cpu().tolist(),
        "dtype": str(value.dtype).removeprefix("torch."),
        "shape": list(value.shape),
    }


def tensor_from_json(obj: dict[str, Any], like: Any = None) -> Any:
    """Rebuild a tensor written by :func:`tensor_to_json` (on ``like``'s device if given)."""
    import torch

    dtype = getattr(torch, str(obj.get("dtype", "float32")))
    device = like.device if is_tensor(like) else None
    return torch.tensor(obj["__tensor__"], dtype=dtype, device=device).reshape(obj["shape"])
