"""The embedded SmolLM2 model: real generation in-process (skipped without the `local` extra)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from trace_core.llm import LLMConfigError, get_llm
from trace_core.llm.local import LocalLLM, find_weights, grammar_text

pytest.importorskip("llama_cpp")
pytestmark = [pytest.mark.llm, pytest.mark.local_llm]


_PROBE = (
    "from trace_core.llm import get_llm; "
    "print(get_llm('local:smollm2', cache=False)"
    ".complete([{'role': 'user', 'content': 'hi'}], max_tokens=1).usage.completion_tokens)"
)


@pytest.fixture(scope="module")
def local() -> LocalLLM:
    try:
        find_weights()
    except LLMConfigError as err:
        pytest.skip(str(err))
    # A llama.cpp binary built for another CPU dies with SIGILL; probe it in a child process
    # so a bad build skips these tests instead of killing the whole test run.
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(
            f"llama-cpp-python cannot generate here (exit {probe.returncode}); rebuild it with "
            "CMAKE_ARGS=-DGGML_NATIVE=OFF pip install --no-cache-dir --force-reinstall "
            "llama-cpp-python"
        )
    llm = get_llm("local:smollm2", cache=False)
    assert isinstance(llm, LocalLLM)
    return llm


class Guess(BaseModel):
    city: str
    population_millions: float


def test_grammar_bounds_every_open_repetition() -> None:
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string"},
            "values": {"type": "object", "additionalProperties": True},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
        },
    }
    text = grammar_text(schema, max_string_chars=50, max_items=4)
    assert "*" not in text
    assert "char{0,50}" in text and "){0,4}" in text


def test_weights_come_from_the_installed_package() -> None:
    try:
        path = find_weights()
    except LLMConfigError as err:
        pytest.skip(str(err))
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_plain_generation_returns_text_and_usage(local: LocalLLM) -> None:
    result = local.complete([{"role": "user", "content": "Name one colour."}], max_tokens=16)
    assert result.text.strip()
    assert 0 < result.usage.completion_tokens <= 16
    assert result.cost == 0.0 and result.model == "local:smollm2"


def test_structured_generation_is_schema_valid_without_repair(local: LocalLLM) -> None:
    result = local.complete(
        [{"role": "user", "content": "Give a large city and its population in millions."}],
        response_format=Guess,
        max_tokens=96,
    )
    assert isinstance(result.parsed, Guess)
    assert result.repairs == 0


def test_same_prompt_gives_the_same_reply(local: LocalLLM) -> None:
    ask = [{"role": "user", "content": "Say a short greeting."}]
    first = local.complete(ask, max_tokens=12).text
    assert local.complete(ask, max_tokens=12).text == first


def test_unknown_local_model_name_says_what_works() -> None:
    with pytest.raises(LLMConfigError, match="local:smollm2"):
        get_llm("local:gpt-9").complete([{"role": "user", "content": "x"}])


@pytest.mark.slow
def test_a_real_optoprime_step_parses_the_local_models_reply(local: LocalLLM) -> None:
    optimizers = pytest.importorskip("optimizers")
    trace_core = pytest.importorskip("trace_core")
    if not hasattr(optimizers, "OptoPrime"):
        pytest.skip("OptoPrime is not available on this branch")

    @trace_core.bundle()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    x = trace_core.node(2, name="x", trainable=True)
    opt = optimizers.OptoPrime([x], llm=local)
    opt.backward(add(x, 3), "The output should be 10 but it is 5: increase x.")
    result = opt.step()
    # The model is weak: its suggestion may be rejected, but the reply must parse.
    assert result.error is None
    assert result.usage.calls == 1 and result.usage.completion_tokens > 0
    assert all(r.reason for r in result.rejected)
    assert x.data == result.updates.get("x", 2)
