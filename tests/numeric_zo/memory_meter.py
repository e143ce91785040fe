"""Measure torch CPU allocations of a call from the profiler's allocation events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Allocations:
    """Peak of (allocated - freed) bytes during the call, and its largest single allocation."""

    peak_bytes: int
    largest_bytes: int


def measure(fn: Callable[[], object]) -> Allocations:
    """Run ``fn`` under the torch profiler and replay its allocation events in time order.

    The profiler's per-op summaries credit frees to the enclosing op (e.g. the whole
    ``Optimizer.step``), which hides peaks; the raw event tree keeps each allocation and free
    with its own timestamp (torch's own memory profiler reads the same tree).
    """
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.tag == _EventType.Allocation:
            events.append((node.start_time_ns, int(node.extra_fields.alloc_size)))
    current = peak = largest = 0
    for _, size in sorted(events):
        current += size
        peak = max(peak, current)
        largest = max(largest, size)
    return Allocations(peak_bytes=peak, largest_bytes=largest)
