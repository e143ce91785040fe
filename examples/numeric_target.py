"""Find x so that a black-box function hits a target, with a constraint on x.

The program is one traced call ``f(x)``; the feedback says how far ``f(x)`` is from the target
and in which direction. OptoPrime reads the graph and the feedback and proposes a new ``x``;
``x`` must stay within [0, 20] (a predicate constraint, enforced by ``x.set``).

    python examples/numeric_target.py                       # scripted stand-in model
    python examples/numeric_target.py --llm openai:gpt-4o-mini
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from optimizers import OptoPrime
from trace_core import bundle, node
from trace_core.llm import LLM, ScriptedLLM, get_llm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find examples/
from examples import harness

TARGET = 42.0
TOLERANCE = 0.05
LOW, HIGH = 0.0, 20.0


def within_bounds(x: float) -> bool:
    """x must lie between 0 and 20."""
    return LOW <= x <= HIGH


@bundle()
def black_box(x: float) -> float:
    """An expensive measurement we can only query: returns f(x) = 0.5 * x**2 + 3 * x."""
    return 0.5 * x**2 + 3 * x


def feedback_for(x: float, y: float) -> str:
    """Tell the optimizer how far f(x) is from the target and which way to go."""
    if abs(y - TARGET) <= TOLERANCE:
        return f"x = {x:g} gives f(x) = {y:.4g}, which hits the target {TARGET:g}. Keep x."
    side = "below" if y < TARGET else "above"
    return f"x = {x:g} gives f(x) = {y:.4g}, {side} the target {TARGET:g}."


def stand_in_llm() -> ScriptedLLM:
    """A scripted model that plays a sensible optimizer: bisection driven by the feedback.

    It reads only the prompt (the #Feedback section), keeps a bracket from what it has been
    told, and answers in OptoPrime's JSON format.
    """
    bracket = [LOW, HIGH]

    def reply(messages: list[dict[str, Any]]) -> str:
        prompt = messages[-1]["content"]
        found = re.search(r"x = ([-\d.e+]+) gives f\(x\) = [-\d.e+]+, (below|above)", prompt)
        if found is None:
            return harness.optoprime_reply("The target is hit; no change.")
        x, side = float(found.group(1)), found.group(2)
        if side == "below":
            bracket[0] = max(bracket[0], x)
        else:
            bracket[1] = min(bracket[1], x)
        guess = round((bracket[0] + bracket[1]) / 2, 6)
        reasoning = f"f increases with x on [0, 20]; f(x) is {side} the target, so bisect."
        return harness.optoprime_reply(reasoning, {"x": guess})

    return ScriptedLLM(reply, model="stand-in")


def run(llm: LLM | None = None, steps: int = 25, verbose: bool = True) -> dict[str, Any]:
    """Optimize x for up to ``steps`` steps (None: the stand-in model); return x and f(x)."""
    llm = llm or stand_in_llm()
    x = node(1.0, name="x", trainable=True, constraint=[within_bounds, "0 <= x <= 20"])
    opt = OptoPrime(
        [x], llm=llm, memory_size=3, objective=f"Choose x so that f(x) equals {TARGET:g}."
    )
    used = 0
    errors: list[str] = []
    for used in range(1, steps + 1):
        opt.zero_feedback()
        y = black_box(x)
        feedback = feedback_for(x.data, y.data)
        if verbose:
            print(f"step {used:2d}: {feedback}")
        if abs(y.data - TARGET) <= TOLERANCE:
            break
        opt.backward(y, feedback)
        harness.report_step(opt.step(), errors)
    final = black_box(x).data
    hit = abs(final - TARGET) <= TOLERANCE
    return {"x": x.data, "f(x)": final, "steps": used, "hit": hit, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = harness.ExampleParser(
        __doc__, stand_in="a scripted stand-in model (bisection on the feedback)"
    )
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args(argv)
    llm = get_llm(args.llm) if args.llm else None
    print(json.dumps(run(llm, steps=args.steps)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
