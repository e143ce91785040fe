"""Measure optimizer memory: bytes of optimizer state, and peak live tensor bytes of a block.

``PeakTensorMemory`` counts every tensor allocation torch makes while it is active (through a
``TorchDispatchMode``), so it works on CPU where ``tracemalloc`` does not see torch's allocator
and ``torch.cuda.max_memory_allocated`` does not apply.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held by tensors in ``optimizer.state`` (moments, accumulators, indices)."""
    seen: set[int] = set()
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor) and value.untyped_storage().data_ptr() not in seen:
                seen.add(value.untyped_storage().data_ptr())
                total += value.untyped_storage().nbytes()
    return total


class PeakTensorMemory(TorchDispatchMode):
    """Context manager: ``peak`` is the most bytes of tensors allocated inside it alive at once.

    A tensor counts from the op that allocated it until its Python object is freed. Views and
    in-place results share an input's storage and are not counted; neither is memory that
    existed before entering (parameters, state created earlier).
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._tracked: dict[int, int] = {}

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        }
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._track(t, inputs)
        return out

    def _track(self, t: torch.Tensor, inputs: set[int]) -> None:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in inputs or key in self._tracked or storage.nbytes() == 0:
            return
        self._tracked[key] = storage.nbytes()
        self.live += storage.nbytes()
        self.peak = max(self.peak, self.live)
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        self.live -= self._tracked.pop(key, 0)
