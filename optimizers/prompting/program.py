"""A prompt as a trainable program: an instruction and a few-shot exemplar set on trace_core.

``PromptProgram`` holds two parameters:

- ``instruction``: a text ``ParameterNode`` (what the model is told to do);
- ``exemplars``: a ``ParameterNode`` whose value is a list of ``{"input", "output"}`` pairs,
  each a member of an :class:`ExemplarPool`, at most ``max_exemplars`` long.

Calling the program on an input renders both into chat messages with a
:class:`PromptTemplate` (a text file the user can change) and asks the model, as two traced
operations (``render_prompt`` then ``generate``), so OptoPrime/OPRO see the whole path from
the instruction to the answer. The pool grows when bootstrapping adds the model's own correct
outputs; every entry keeps where it came from (:attr:`Exemplar.provenance`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from optimizers.errors import OptimizerError
from trace_core.bundle import bundle
from trace_core.module import Module
from trace_core.nodes import Node, ParameterNode

if TYPE_CHECKING:
    from trace_core.llm import LLM, Message

DEFAULT_TEMPLATE = "prompt_program"
_SECTION = re.compile(r"^=== *([a-z_]+) *===[ \t]*$", re.MULTILINE)
_REQUIRED: dict[str, tuple[str, ...]] = {"system": ("instruction",), "user": ("input",)}
_OPTIONAL: dict[str, tuple[str, ...]] = {"examples": ("examples",), "example": ("input", "output")}


class TemplateError(OptimizerError, ValueError):
    """A prompt template file is malformed (the message names the section and the fix)."""


class ExemplarError(OptimizerError, ValueError):
    """An exemplar is not in the pool, is malformed, or the set is too large."""


def as_text(value: Any) -> str:
    """A task value as prompt text: strings as they are, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def pair_key(input: Any, output: Any) -> str:
    """The identity of an (input, output) pair: its canonical JSON."""
    return json.dumps([input, output], sort_keys=True, ensure_ascii=False)


class Exemplar(BaseModel):
    """One pool entry: an input with an output, where it came from, and its pool id."""

    id: str
    input: Any
    output: Any
    source: str = Field(default="task", description="'task' (a labelled item) or 'bootstrap'")
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="for bootstrapped entries: the train item, the instruction and the score",
    )

    def pair(self) -> dict[str, Any]:
        """The ``{"input", "output"}`` value the exemplar parameter stores."""
        return {"input": self.input, "output": self.output}


class ExemplarPool:
    """The exemplars a program may show, in insertion order, looked up by id or by pair."""

    def __init__(self, exemplars: Iterable[Exemplar] = ()) -> None:
        self._items: list[Exemplar] = []
        self._by_key: dict[str, Exemplar] = {}
        self._by_id: dict[str, Exemplar] = {}
        for exemplar in exemplars:
            self.add(exemplar)

    @classmethod
    def from_pairs(cls, pairs: Iterable[Any], *, prefix: str = "e") -> ExemplarPool:
        """A pool of labelled task items (``{"input", "output"}`` dicts or 2-tuples)."""
        pool = cls()
        for pair in pairs:
            x, y = _split_pair(pair)
            pool.add(Exemplar(id=f"{prefix}{len(pool) + 1}", input=x, output=y))
        return pool

    def add(self, exemplar: Exemplar) -> Exemplar:
        """Add ``exemplar`` unless the same pair is already there; return the pool's entry."""
        key = pair_key(exemplar.input, exemplar.output)
        if key in self._by_key:
            return self._by_key[key]
        if exemplar.id in self._by_id:
            raise ExemplarError(f"pool id {exemplar.id!r} is already used; give a new id")
        self._items.append(exemplar)
        self._by_key[key] = exemplar
        self._by_id[exemplar.id] = exemplar
        return exemplar

    def find(self, value: Any) -> Exemplar | None:
        """The entry for a pool id or an ``{"input", "output"}`` pair, else ``None``."""
        if isinstance(value, str):
            return self._by_id.get(value)
        try:
            x, y = _split_pair(value)
        except ExemplarError:
            return None
        return self._by_key.get(pair_key(x, y))

    def select(self, source: str | None = None) -> list[Exemplar]:
        """Entries in insertion order, only those of ``source`` when given."""
        return [e for e in self._items if source is None or e.source == source]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Exemplar]:
        return iter(list(self._items))

    def describe(self, limit: int = 60, chars: int = 160) -> str:
        """The pool as text for optimizers: ``id: input -> output``, one a line."""
        lines = []
        for e in self._items[:limit]:
            line = f"{e.id}: {as_text(e.input)} -> {as_text(e.output)}"
            lines.append(line if len(line) <= chars else line[: chars - 3] + "...")
        if len(self._items) > limit:
            lines.append(f"... and {len(self._items) - limit} more")
        return "\n".join(lines)


def _split_pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, dict) and "input" in value and "output" in value:
        return value["input"], value["output"]
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    raise ExemplarError(
        f"an exemplar is a {{'input': ..., 'output': ...}} object or a pool id, got {value!r:.80}"
    )


class PromptTemplate:
    """How an instruction, exemplars and an input become chat messages.

    A template file has ``=== name ===`` section lines. ``system`` (uses ``$instruction``) and
    ``user`` (uses ``$input`` and optionally ``$examples``) are required; ``example`` renders
    one exemplar (``$input``, ``$output``) and ``examples`` wraps all of them (``$examples``);
    the wrapped block is empty when the set is empty. Placeholders follow
    :class:`string.Template` (``$name`` or ``${name}``), so JSON braces need no escaping.
    """

    def __init__(self, sections: dict[str, str], source: str = "<template>") -> None:
        self.source = source
        for name, fields in _REQUIRED.items():
            if name not in sections:
                raise TemplateError(
                    f"template {source} has no '=== {name} ===' section; it needs "
                    f"{', '.join('$' + f for f in fields)}"
                )
        unknown = set(sections) - set(_REQUIRED) - set(_OPTIONAL)
        if unknown:
            known = ", ".join(sorted({*_REQUIRED, *_OPTIONAL}))
            raise TemplateError(
                f"template {source} has unknown sections {sorted(unknown)}; known: {known}"
            )
        for name, fields in {**_REQUIRED, **_OPTIONAL}.items():
            if name in sections and not all(_uses(sections[name], f) for f in fields):
                wanted = ", ".join("$" + f for f in fields)
                raise TemplateError(f"section {name!r} of template {source} must use {wanted}")
        self.sections = {k: v.strip("\n") for k, v in sections.items()}
        self.sections.setdefault("example", "Input: $input\nOutput: $output")
        self.sections.setdefault("examples", "$examples")

    @classmethod
    def parse(cls, text: str, source: str = "<template>") -> PromptTemplate:
        """Read the ``=== name ===`` sections of ``text``."""
        marks = list(_SECTION.finditer(text))
        if not marks:
            raise TemplateError(
                f"template {source} has no '=== system ===' / '=== user ===' section lines"
            )
        sections: dict[str, str] = {}
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            sections[mark.group(1)] = text[mark.end() + 1 : end]
        return cls(sections, source)

    @classmethod
    def load(cls, name_or_path: str | Path | None = None) -> PromptTemplate:
        """A template file by path, or a packaged one by name (default ``prompt_program``)."""
        from optimizers.prompts import load_prompt

        if name_or_path is None:
            name_or_path = DEFAULT_TEMPLATE
        path = Path(name_or_path)
        if path.is_file():
            return cls.parse(path.read_text(encoding="utf-8"), str(path))
        if path.suffix or "/" in str(name_or_path):
            raise TemplateError(f"template file {path} does not exist")
        return cls.parse(load_prompt(str(name_or_path)), f"{name_or_path}.md")

    @property
    def text(self) -> str:
        """The template as a file's text (what :meth:`parse` reads back)."""
        return "".join(f"=== {k} ===\n{v}\n" for k, v in self.sections.items())

    def render(self, instruction: str, exemplars: Sequence[Any], input: Any) -> list[Message]:
        """The chat messages for one input (no system message when it renders empty)."""
        blocks = []
        for pair in exemplars:
            x, y = _split_pair(pair)
            blocks.append(_fill(self.sections["example"], input=as_text(x), output=as_text(y)))
        examples = ""
        if blocks:
            # The block is followed by a blank line before the input, whatever the file ends with.
            block = _fill(self.sections["examples"], examples="\n\n".join(blocks))
            examples = block.strip("\n") + "\n\n"
        system = _fill(self.sections["system"], instruction=instruction).strip()
        user = _fill(self.sections["user"], examples=examples, input=as_text(input)).strip()
        messages: list[Message] = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user})
        return messages


def _uses(text: str, field: str) -> bool:
    return f"${field}" in text or f"${{{field}}}" in text


def _fill(text: str, **fields: str) -> str:
    try:
        return Template(text).substitute(fields)
    except (KeyError, ValueError) as err:
        raise TemplateError(
            f"template placeholder {err} is not one of {sorted(fields)}; write $$ for a literal $"
        ) from None


class PromptProgram(Module):
    """A trainable prompt: ``program(x)`` renders the prompt and asks ``llm``; returns a Node.

    Args:
        instruction: the seed instruction.
        pool: the exemplars the program may show (an :class:`ExemplarPool` or pairs).
        llm: the model that answers (an ``LLM``); ``program.llm`` may be swapped later.
        max_exemplars: the most exemplars shown at once.
        exemplars: the initial exemplar set (pool ids or pairs; default none).
        template: a :class:`PromptTemplate`, a template file path or packaged name.
    """

    def __init__(
        self,
        instruction: str,
        pool: ExemplarPool | Iterable[Any] = (),
        *,
        llm: LLM | None = None,
        max_exemplars: int = 4,
        exemplars: Sequence[Any] = (),
        template: PromptTemplate | str | Path | None = None,
    ) -> None:
        if max_exemplars < 0:
            raise ExemplarError(f"max_exemplars must be >= 0, got {max_exemplars}")
        self.pool = pool if isinstance(pool, ExemplarPool) else ExemplarPool.from_pairs(pool)
        self.max_exemplars = max_exemplars
        self.template = (
            template if isinstance(template, PromptTemplate) else PromptTemplate.load(template)
        )
        self.llm = llm
        self.instruction = ParameterNode(
            instruction,
            name="instruction",
            description="the instruction the model follows (system message)",
            constraint="plain text telling the model how to answer; no examples needed",
        )
        self.exemplars = ParameterNode(
            [],
            name="exemplars",
            description="few-shot examples shown before the input, as {input, output} pairs",
            constraint=[self._pool_text(), self._in_pool, self._within_cap],
            validator=self.normalize,
        )
        if exemplars:
            self.exemplars.set(list(exemplars))
        self._render_op = bundle(description="Fill the prompt template.")(self._render_fn())
        self._generate_op = bundle(description="Ask the model; return its answer.")(
            self._generate_fn()
        )

    def fork(self) -> PromptProgram:
        """A new program with the same values, template and model, and its own copy of the
        pool (so bootstrapping into the fork leaves this one alone)."""
        return PromptProgram(
            self.instruction.data,
            ExemplarPool(self.pool),
            llm=self.llm,
            max_exemplars=self.max_exemplars,
            exemplars=list(self.exemplars.data),
            template=self.template,
        )

    # -- the exemplar parameter's rules -----------------------------------------------------
    def _pool_text(self) -> str:
        return (
            f"a list of at most {self.max_exemplars} distinct pool entries, each given as its "
            'pool id (e.g. "e3") or as an {"input", "output"} object copied from the pool'
        )

    def normalize(self, value: Any) -> list[dict[str, Any]]:
        """Turn pool ids and pairs into the stored ``[{"input", "output"}, ...]`` form."""
        if isinstance(value, Node):
            value = value.data
        if not isinstance(value, list | tuple):
            raise ExemplarError(f"exemplars must be a list, got {type(value).__name__}")
        out = []
        for item in value:
            found = self.pool.find(item)
            if found is not None:
                out.append(found.pair())
            elif isinstance(item, str):
                raise ExemplarError(f"{item!r} is not a pool id; ids look like e1 or b2")
            else:  # a well-formed pair outside the pool: the pool constraint rejects it by name
                x, y = _split_pair(item)
                out.append({"input": x, "output": y})
        return out

    def _in_pool(self, value: list[dict[str, Any]]) -> bool:
        """every exemplar must be an entry of the exemplar pool, each at most once"""
        keys = [pair_key(p["input"], p["output"]) for p in value]
        return len(set(keys)) == len(keys) and all(self.pool.find(p) is not None for p in value)

    def _within_cap(self, value: list[dict[str, Any]]) -> bool:
        """at most max_exemplars exemplars"""
        return len(value) <= self.max_exemplars

    # -- running ----------------------------------------------------------------------------
    def messages(
        self, input: Any, instruction: str | None = None, exemplars: Sequence[Any] | None = None
    ) -> list[Message]:
        """The messages for ``input`` (current parameter values unless others are given)."""
        return self.template.render(
            self.instruction.data if instruction is None else instruction,
            self.exemplars.data if exemplars is None else exemplars,
            input,
        )

    def answer(self, messages: list[Message]) -> str:
        """Ask the model for ``messages``; its reply text, stripped."""
        if self.llm is None:
            raise ValueError("this PromptProgram has no llm; pass llm=... or set program.llm")
        return self.llm.complete(messages).text.strip()

    def __call__(self, input: Any) -> Any:
        """Run the prompt on ``input`` as traced ops (plain text inside ``no_trace()``)."""
        messages = self._render_op(self.instruction, self.exemplars, input)
        return self._generate_op(messages)

    def _render_fn(self) -> Any:
        template = self.template

        def render_prompt(instruction: str, exemplars: list[Any], input: Any) -> list[Any]:
            return template.render(instruction, exemplars, input)

        return render_prompt

    def _generate_fn(self) -> Any:
        program = self

        def generate(messages: list[Any]) -> str:
            return program.answer(messages)

        return generate
