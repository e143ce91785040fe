"""Synthesis keeps a program only when its run counts by the shared rules (issue 19)."""

from __future__ import annotations

from agents.resocratic.verify import solve_program


def test_printed_optimum_after_parameter_echo_counts() -> None:
    code = "print('Set parameter TimeLimit to value 60')\nprint('Optimal value: 12.5')\n"
    outcome = solve_program(code)
    assert (outcome.ok, outcome.objective, outcome.status) == (True, 12.5, "optimal")


def test_timed_out_incumbent_does_not_count() -> None:
    code = "print('Optimal value: 12.5', flush=True)\nimport time\ntime.sleep(30)\n"
    outcome = solve_program(code, timeout_s=2)
    assert (outcome.ok, outcome.objective, outcome.reason) == (False, None, "timeout")


def test_licence_limit_is_named_as_the_reason() -> None:
    code = "raise RuntimeError('Model too large for size-limited license')\n"
    outcome = solve_program(code)
    assert not outcome.ok and "licence" in outcome.reason
