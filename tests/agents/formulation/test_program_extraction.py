"""Finding the program in an LLM reply."""

from __future__ import annotations

from agents.formulation.program import extract_program


def test_last_python_block_wins() -> None:
    reply = "Sketch:\n```python\nx = 1\n```\nFinal:\n```python\nx = 2\nreport(x)\n```\nDone."
    assert extract_program(reply) == "x = 2\nreport(x)\n"


def test_untagged_fence_is_used_when_no_python_block() -> None:
    assert extract_program("```\nprint(1)\n```") == "print(1)\n"


def test_cut_off_reply_still_yields_the_partial_program() -> None:
    assert extract_program("```python\nfrom pyscipopt import Model\nm = Model(") == (
        "from pyscipopt import Model\nm = Model(\n"
    )


def test_bare_code_reply_is_accepted_but_prose_is_not() -> None:
    assert extract_program("x = 3\nreport(x)") == "x = 3\nreport(x)\n"
    assert extract_program("I cannot solve this problem.") is None
    assert extract_program("") is None
