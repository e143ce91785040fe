"""Tracing state is per thread / task, and package exports win over same-named submodules."""

from __future__ import annotations

import subprocess
import sys
import threading

from trace_core import MessageNode, no_trace, node


def test_no_trace_in_one_thread_does_not_affect_another() -> None:
    results: dict[str, object] = {}
    inside = threading.Event()
    release = threading.Event()

    def untraced() -> None:
        with no_trace():
            inside.set()
            release.wait(10)
            results["untraced"] = node(1) + 1

    worker = threading.Thread(target=untraced)
    worker.start()
    inside.wait(10)
    results["traced"] = node(1) + 1
    release.set()
    worker.join(10)
    assert isinstance(results["traced"], MessageNode)
    assert results["untraced"] == 2


def test_exported_function_is_not_shadowed_by_its_submodule() -> None:
    code = (
        "import trace_core.bundle, trace_core.visualize\n"
        "from trace_core import bundle, visualize\n"
        "import trace_core\n"
        "assert callable(bundle) and callable(visualize)\n"
        "assert trace_core.bundle is bundle\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_every_export_resolves() -> None:
    import trace_core

    missing = [name for name in trace_core._EXPORTS if getattr(trace_core, name, None) is None]
    assert missing == []
