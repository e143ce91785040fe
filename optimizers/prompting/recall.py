"""The shape shared by the prompt search's model wrappers: recall an answer, or ask and keep it.

:class:`~optimizers.prompting.evaluation.MeteredLLM` recalls from its memo (and charges the
budget when it cannot); :class:`~optimizers.prompting.journal.JournaledLLM` recalls from the
durable call journal. Both send everything else to the wrapped model and keep its answer; this
base class holds that flow once, for ``complete`` and ``acomplete`` alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trace_core.llm import LLM, Completion, Message


class RecallingLLM:
    """An ``LLM`` that answers a request from what it recalls, else asks ``inner`` and keeps
    the answer. Subclasses say how to recall (:meth:`_recall`) and keep (:meth:`_keep`)."""

    def __init__(self, inner: LLM, *, default_model: str) -> None:
        self.inner = inner
        self.model = getattr(inner, "model", default_model)

    def _recall(
        self, messages: list[Message], response_format: Any, opts: dict[str, Any]
    ) -> tuple[str, Completion | None]:
        """The request's key and the recalled answer (None: the model must be asked)."""
        raise NotImplementedError

    def _keep(self, key: str, completion: Completion) -> Completion:
        """Bookkeeping after the wrapped model answered; returns the answer."""
        raise NotImplementedError

    def complete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """The recalled answer to this request, or the wrapped model's (then kept)."""
        key, recalled = self._recall(messages, response_format, opts)
        if recalled is not None:
            return recalled
        return self._keep(
            key, self.inner.complete(messages, response_format=response_format, **opts)
        )

    async def acomplete(
        self, messages: list[Message], *, response_format: Any = None, **opts: Any
    ) -> Completion:
        """Async :meth:`complete`."""
        key, recalled = self._recall(messages, response_format, opts)
        if recalled is not None:
            return recalled
        asked = self.inner.acomplete(messages, response_format=response_format, **opts)
        return self._keep(key, await asked)
