"""OptoPrime prompt size and step latency: optoforge vs trace-opt, on the same graphs.

Both sides build the same program: a chain of N traced additions where every tenth op adds
a trainable parameter (so N/10 parameters share one N-op graph), call backward on the output
with the same feedback, and run one OptoPrime step against a scripted model that answers
instantly with a fixed suggestion. We time ``step()`` (summary + prompt + reply parsing +
update) in CPU time of this process (``time.process_time``: both sides are single-threaded,
and CPU time stays meaningful on a shared, loaded machine where wall time does not) and count
the prompt characters sent to the model. Results are ratios ours/theirs
(< 1 means optoforge is smaller or faster).

    LITELLM_LOCAL_MODEL_COST_MAP=True python bench/optoprime.py [--sizes 10 100 1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FEEDBACK = "The output is too small: it should be 10 larger."
PARAM_EVERY = 10


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``repeats`` fresh runs (fn builds its own graph)."""
    times, last = [], None
    for _ in range(repeats):
        gc.collect()
        last = fn()
        times.append(last[0])
    return statistics.median(times), last[1]


# -- optoforge -----------------------------------------------------------------------------------
class _BareLLM:
    """Implements the LLM protocol with no pipeline at all: isolates the optimizer's own cost."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: list[list[dict[str, Any]]] = []

    def complete(self, messages: list[dict[str, Any]], *, response_format: Any = None) -> Any:
        from trace_core.llm import Completion

        self.calls.append(messages)
        parsed = response_format.model_validate_json(self.text) if response_format else None
        return Completion(text=self.text, parsed=parsed)


def ours_step(n_ops: int, bare: bool = False) -> tuple[float, int]:
    """Build the chain in trace_core, backward, time one OptoPrime step; return (s, chars).

    ``bare=False`` answers through ScriptedLLM (the real pipeline: structured output, retry,
    budget and usage bookkeeping); ``bare=True`` through a protocol-only stub like trace-opt's.
    """
    from optimizers import OptoPrime
    from trace_core import node
    from trace_core.llm import ScriptedLLM

    params = []
    x = node(0, name="start")
    for i in range(n_ops):
        if i % PARAM_EVERY == 0:
            p = node(1, name=f"p{i}", trainable=True)
            params.append(p)
            x = x + p
        else:
            x = x + 1
    reply = json.dumps({"reasoning": "raise p0", "suggestion": {"p0": 11}})
    llm: Any = _BareLLM(reply) if bare else ScriptedLLM(lambda messages: reply)
    # budget large enough that nothing is cut: same information as trace-opt's prompt
    opt = OptoPrime(params, llm=llm, budget_tokens=10**7)
    opt.backward(x, FEEDBACK)
    start = time.process_time()
    opt.step()
    elapsed = time.process_time() - start
    chars = sum(len(m["content"]) for m in llm.calls[-1])
    assert params[0].data == 11
    return elapsed, chars


# -- trace-opt -----------------------------------------------------------------------------------
class _StubLLM:
    """Stands in for trace-opt's model: a callable returning an OpenAI-shaped reply."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.last_messages: list[dict[str, Any]] = []

    def __call__(self, messages: list[dict[str, Any]] | None = None, **_: Any) -> Any:
        self.last_messages = messages or []
        message = SimpleNamespace(content=self.text, role="assistant")
        return SimpleNamespace(choices=[SimpleNamespace(message=message)])


def theirs_step(n_ops: int) -> tuple[float, int]:
    """The same chain in trace-opt (``opto``); return (step seconds, prompt chars)."""
    from opto.optimizers import OptoPrime
    from opto.trace import GRAPH, node

    GRAPH.clear()
    params = []
    x = node(0, name="start")
    for i in range(n_ops):
        if i % PARAM_EVERY == 0:
            p = node(1, name=f"p{i}", trainable=True)
            params.append(p)
            x = x + p
        else:
            x = x + 1
    stub = _StubLLM("")
    opt = OptoPrime(params, llm=stub)
    # trace-opt's prompts name a parameter `p0` as `p00` (name + registry index)
    key = params[0].py_name
    stub.text = json.dumps({"reasoning": "raise p0", "answer": "", "suggestion": {key: 11}})
    opt.zero_feedback()
    opt.backward(x, FEEDBACK)
    start = time.process_time()
    opt.step()
    elapsed = time.process_time() - start
    chars = sum(len(str(m.get("content", ""))) for m in stub.last_messages)
    assert params[0].data == 11, "trace-opt did not apply the suggestion"
    GRAPH.clear()
    return elapsed, chars


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import opto  # noqa: F401
    except ImportError:
        print("trace-opt is not installed (pip install 'optoforge[bench]'); showing ours only")
        have_theirs = False
    else:
        have_theirs = True

    rows = []
    for n in args.sizes:
        ours_step(n)  # warm up imports and caches on both sides
        ours_s, ours_chars = _time(lambda n=n: ours_step(n), args.repeats)
        bare_s, _ = _time(lambda n=n: ours_step(n, bare=True), args.repeats)
        row: dict[str, Any] = {"ops": n, "params": -(-n // PARAM_EVERY)}
        row.update(
            ours_step_ms=ours_s * 1e3, ours_bare_step_ms=bare_s * 1e3, ours_prompt_chars=ours_chars
        )
        if have_theirs:
            theirs_step(n)
            theirs_s, theirs_chars = _time(lambda n=n: theirs_step(n), args.repeats)
            row.update(
                theirs_step_ms=theirs_s * 1e3,
                theirs_prompt_chars=theirs_chars,
                step_ratio=ours_s / theirs_s,
                bare_step_ratio=bare_s / theirs_s,
                prompt_ratio=ours_chars / theirs_chars,
            )
        rows.append(row)

    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    nan = float("nan")
    print(
        "| ops | params | ours step CPU ms (ScriptedLLM) | ours step CPU ms (bare LLM) "
        "| trace-opt step CPU ms (stub) | step ratio | bare step ratio "
        "| ours prompt chars | trace-opt prompt chars | prompt ratio |"
    )
    print("|" + "---|" * 10)
    for r in rows:
        print(
            f"| {r['ops']} | {r['params']} | {r['ours_step_ms']:.2f} "
            f"| {r['ours_bare_step_ms']:.2f} | {r.get('theirs_step_ms', nan):.2f} "
            f"| {r.get('step_ratio', nan):.3f} | {r.get('bare_step_ratio', nan):.3f} "
            f"| {r['ours_prompt_chars']} | {r.get('theirs_prompt_chars', '-')} "
            f"| {r.get('prompt_ratio', nan):.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
