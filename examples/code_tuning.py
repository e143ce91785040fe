"""Fix a buggy parsing function from failing unit-test feedback.

``parse_duration`` is a trainable ``@bundle``: its source is a parameter. Each step runs the
unit tests through the traced function; every failing test sends its message ("'1h 30m' gave
5460, expected 5400") back to the code, and OptoPrime rewrites the source. New source must
compile, keep the signature and pass the code policy, or ``set`` rejects it.

    python examples/code_tuning.py                          # scripted stand-in model
    python examples/code_tuning.py --llm openai:gpt-4o-mini
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from optimizers import OptoPrime
from optimizers.base import display_names
from trace_core import ExecutionError, bundle
from trace_core.llm import LLM, ScriptedLLM, get_llm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find examples/
from examples import harness

TESTS = [
    ("45s", 45),
    ("2m", 120),
    ("1h 30m", 5400),
    ("2m5s", 125),
    ("1h 0m 1s", 3601),
]


def make_parser() -> Any:
    """A fresh trainable parse_duration holding the buggy first draft."""

    @bundle(trainable=True)
    def parse_duration(text: str) -> int:
        """Convert a duration such as '1h 30m', '45s' or '2m5s' to a number of seconds."""
        total = 0
        for part in text.split():
            total += int(part[:-1]) * 60
        return total

    return parse_duration


FIXED_SOURCE = '''def parse_duration(text: str) -> int:
    """Convert a duration such as '1h 30m', '45s' or '2m5s' to a number of seconds."""
    seconds = {"h": 3600, "m": 60, "s": 1}
    total = 0
    digits = ""
    for char in text.replace(" ", ""):
        if char.isdigit():
            digits += char
        else:
            total += int(digits) * seconds[char]
            digits = ""
    return total
'''


def run_tests(parse_duration: Any) -> tuple[list[tuple[Any, str]], int]:
    """Run every test through the traced function: (output node, message) per failure."""
    failures = []
    for text, expected in TESTS:
        try:
            out = parse_duration(text)
        except ExecutionError as err:
            failures.append((err.exception_node, f"parse_duration({text!r}) raised: {err}"))
            continue
        if out.data != expected:
            message = f"parse_duration({text!r}) returned {out.data!r}, expected {expected!r}."
            failures.append((out, message))
    return failures, len(TESTS) - len(failures)


def stand_in_llm(code_name: str) -> ScriptedLLM:
    """A scripted model that plays a sensible programmer: when the prompt shows failing tests it
    answers with a corrected function; otherwise it changes nothing."""
    reply = harness.fixes_on(
        "expected",
        {code_name: FIXED_SOURCE},
        reasoning=(
            "The function multiplies every number by 60 and splits only on spaces, so hours, "
            "seconds and joined parts like '2m5s' are wrong. Read digits, then apply the unit."
        ),
        settled="All tests pass.",
    )
    return ScriptedLLM(reply, model="stand-in")


def run(llm: LLM | None = None, steps: int = 5, verbose: bool = True) -> dict[str, Any]:
    """Rewrite parse_duration until the tests pass (or ``steps`` run out)."""
    parse_duration = make_parser()
    code = parse_duration.code_parameter()
    if llm is None:
        llm = stand_in_llm(next(iter(display_names([code]))))
    opt = OptoPrime(
        [code],
        llm=llm,
        memory_size=2,
        objective="Make parse_duration pass every unit test named in the feedback.",
    )
    passed = 0
    errors: list[str] = []
    for step in range(1, steps + 1):
        opt.zero_feedback()
        failures, passed = run_tests(parse_duration)
        if verbose:
            print(f"step {step}: {passed}/{len(TESTS)} tests pass")
        if not failures:
            break
        for out, message in failures:
            opt.backward(out, message)
        harness.report_step(opt.step(), errors)
    return {"passed": passed, "total": len(TESTS), "source": code.data, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = harness.ExampleParser(__doc__, stand_in="a scripted stand-in model that knows the fix")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    llm = get_llm(args.llm) if args.llm else None
    print(json.dumps(run(llm, steps=args.steps), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
