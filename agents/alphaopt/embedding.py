"""Optional embedding prefilter for retrieval: off unless an embedding model is configured.

``--embedder`` (or ``$OPTOFORGE_EMBEDDER``) names one of:

* ``openai:<model>``: the OpenAI embeddings endpoint (``OPENAI_API_KEY``; ``OPENAI_BASE_URL``
  for any compatible server, e.g. a local one), via the ``openai`` SDK imported on first use;
* ``py:package.module:factory``: a zero-argument factory returning a function
  ``texts -> vectors`` (any local model).

Vectors are cached per text in memory, so an insight's condition is embedded once per run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence

from agents.errors import AgentsError
from trace_core.registry import resolve_spec

Embed = Callable[[Sequence[str]], Sequence[Sequence[float]]]


class EmbedderConfigError(AgentsError, ValueError):
    """An embedder spec cannot be used."""


class CachedEmbedder:
    """Wraps an embedding function with a per-text cache."""

    def __init__(self, embed: Embed):
        self._embed = embed
        self._cache: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._embed(missing)
            if len(vectors) != len(missing):
                raise EmbedderConfigError(
                    f"the embedder returned {len(vectors)} vectors for {len(missing)} texts"
                )
            with self._lock:
                self._cache.update(
                    {t: [float(x) for x in v] for t, v in zip(missing, vectors, strict=True)}
                )
        with self._lock:
            return [self._cache[t] for t in texts]


def _openai(model: str) -> Embed:
    try:
        openai = importlib.import_module("openai")
    except ImportError as err:
        raise EmbedderConfigError(
            "openai embeddings need the openai package: pip install 'optoforge[llm]'"
        ) from err
    client = openai.OpenAI()

    def embed(texts: Sequence[str]) -> list[list[float]]:
        reply = client.embeddings.create(model=model, input=list(texts))
        return [list(row.embedding) for row in reply.data]

    return embed


def load_embedder(spec: str | None) -> CachedEmbedder | None:
    """The embedder named by ``spec``, or None when no spec is given (prefilter off)."""
    if not spec:
        return None
    kind, _, rest = spec.partition(":")
    if kind == "openai" and rest:
        return CachedEmbedder(_openai(rest))
    if kind == "py" and rest:
        return CachedEmbedder(resolve_spec(spec, error=EmbedderConfigError, what="--embedder"))
    raise EmbedderConfigError(
        f"--embedder {spec!r}: write openai:<model> (e.g. openai:text-embedding-3-small) or "
        "py:package.module:factory"
    )
