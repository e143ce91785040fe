"""``summarize()``: the part of a graph an optimizer reads, rendered within a size budget.

The summary keeps, whatever the graph's size: every trainable variable (value, constraints),
the ops that touch a variable directly, the ops producing the outputs, the outputs and the
feedback. Other ops on paths from the variables to the outputs are added closest-first (by
distance to a variable or an output) while the rendered text fits ``budget_tokens``; whatever
does not fit is counted in ``cut`` and marked in the text. Long values are truncated to
``max_value_chars`` (marked too). Tokens are ``ceil(len(text) / 4)`` unless a ``tokenizer``
(a ``str -> int`` callable) is passed.

Sections (instruction-independent; the optimizer adds its own instruction): code, documentation,
variables, constraints, inputs, others (intermediate values), outputs, feedback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from trace_core.graph import ancestors, topological_order
from trace_core.nodes import ExceptionNode, MessageNode, Node, ParameterNode
from trace_core.summary_render import (
    Value,
    Variable,
    _safe_repr,
    _value_line,
    _values_text,
    _variable_line,
    render_feedback,
    render_tail,
    render_value,
)

_FALLBACK_VALUE_CHARS = (200, 80, 30)
_FALLBACK_VARIABLE_CHARS = (4000, 1000, 300, 100)
_SECTION_OVERHEAD_CHARS = 400
# fmt: off
SECTIONS = ("Code", "Documentation", "Variables", "Constraints", "Inputs", "Others", "Outputs",
            "Feedback")
# fmt: on
_INLINE_CHARS = 30
_MAX_MISSES = 32


class TraceSummary(BaseModel):
    """What an optimizer reads about one or more outputs, their graph and their feedback.

    ``parameter(name)`` maps a name used in the prompt (or a label) back to its
    ``ParameterNode`` so an optimizer can call ``set()`` on it.
    """

    code: list[str] = Field(default_factory=list, description="one line per op, in order")
    documentation: dict[str, str] = Field(default_factory=dict, description="op name -> doc")
    variables: list[Variable] = Field(default_factory=list)
    inputs: list[Value] = Field(default_factory=list)
    others: list[Value] = Field(default_factory=list)
    outputs: list[Value] = Field(default_factory=list)
    feedback: str = ""
    cut: dict[str, int] = Field(
        default_factory=dict, description="section -> number of entries left out for the budget"
    )
    budget_tokens: int = 8000
    tokens: int = Field(default=0, description="estimated size of to_text() in tokens")
    over_budget: bool = Field(
        default=False, description="even the must-keep parts exceed the budget"
    )

    _parameters: dict[str, ParameterNode] = PrivateAttr(default_factory=dict)

    @property
    def parameters(self) -> dict[str, ParameterNode]:
        """Prompt name -> ParameterNode for every variable in the summary."""
        return dict(self._parameters)

    def parameter(self, name: str) -> ParameterNode:
        """The parameter shown as ``name`` (or with that label); KeyError names the options."""
        param = self._parameters.get(name)
        if param is not None:
            return param
        for candidate in self._parameters.values():
            if candidate.label == name:
                return candidate
        raise KeyError(f"no variable named {name!r}; known: {sorted(self._parameters)}")

    def sections(self) -> dict[str, str]:
        """Section title -> rendered body (empty sections are empty strings)."""
        code = list(self.code)
        if self.cut.get("code"):
            code.append(f"# ... {self.cut['code']} ops cut to fit the size budget ...")
        constraints = [
            f"({v.type}) {v.name}: {v.constraint}" for v in self.variables if v.constraint
        ]
        return {
            "Code": "\n".join(code),
            "Documentation": "\n".join(self.documentation.values()),
            "Variables": "\n".join(_variable_line(v) for v in self.variables),
            "Constraints": "\n".join(constraints),
            "Inputs": _values_text(self.inputs, self.cut.get("inputs", 0)),
            "Others": _values_text(self.others, self.cut.get("others", 0)),
            "Outputs": "\n".join(_value_line(v) for v in self.outputs),
            "Feedback": self.feedback,
        }

    def to_text(self, exclude: Iterable[str] = ()) -> str:
        """The summary as ``#Section`` blocks, within ``budget_tokens`` unless ``over_budget``.

        ``exclude`` names sections to leave out (e.g. ``{"Documentation", "Others"}``).
        """
        skip = set(exclude)
        unknown = skip - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; known: {list(SECTIONS)}")
        return "\n\n".join(
            f"#{title}\n{body}" for title, body in self.sections().items() if title not in skip
        )


def summarize(
    output: Node | Iterable[Node] | None,
    parameters: Iterable[ParameterNode] | None = None,
    budget_tokens: int = 8000,
    *,
    feedback: Any = None,
    max_value_chars: int = 500,
    tokenizer: Callable[[str], int] | None = None,
    labels: Literal["process", "local"] = "process",
    expand_nested: bool = False,
) -> TraceSummary:
    """Summarize the graph between ``parameters`` and ``output`` for an optimizer.

    Same-named nodes are told apart by label. ``labels="process"`` uses ``Node.label``
    (``name:k``, k unique in the process); ``labels="local"`` numbers them ``name:1``,
    ``name:2``... in graph order, so the same program renders the same text in every process
    (stable prompts, LLM cache hits). ``TraceSummary.parameter()`` accepts either form.

    ``parameters=None`` uses every trainable ancestor. ``feedback=None`` uses the feedback the
    outputs received from ``backward()``. ``output=None`` uses the outputs whose
    ``backward()`` reached ``parameters`` (``ParameterNode.feedback_outputs``), which is what an
    optimizer's ``step()`` needs after the user called ``output.backward(...)`` directly.
    ``expand_nested=True`` lists, under each ``traceable_code`` bundle call, the ops its body
    recorded (Trace's nested graphs), so the optimizer sees inside large bundled functions.
    """
    if output is None:
        if parameters is None:
            raise ValueError("summarize(None, ...) needs the parameters whose feedback to read")
        parameters = list(parameters)
        found: dict[Node, None] = {}
        for param in parameters:
            found.update(dict.fromkeys(param.feedback_outputs))
        outputs = list(found)
    else:
        outputs = [output] if isinstance(output, Node) else list(output)
    if labels not in ("process", "local"):
        raise ValueError(f"labels must be 'process' or 'local', got {labels!r}")
    builder = _Builder(outputs, parameters, local_labels=labels == "local")
    builder.expand_nested = expand_nested
    if feedback is not None:
        messages = [feedback]
    elif len(outputs) == 1:
        messages = outputs[0].feedback
    else:  # say which output each message is about
        messages = [
            f"{builder.name(out)}: {render_feedback([m])}" for out in outputs for m in out.feedback
        ]
    count = tokenizer or (lambda text: math.ceil(len(text) / 4))
    budget_chars = budget_tokens * 4
    # Each retry cuts more optional ops and truncates harder: values first, then variables
    # (never truncated on the first attempt: they are what the optimizer rewrites).
    value_limits = [max_value_chars, *(c for c in _FALLBACK_VALUE_CHARS if c < max_value_chars)]
    variable_limits: list[int | None] = [None, *_FALLBACK_VARIABLE_CHARS]
    summary = builder.build(messages, budget_chars, value_limits[0], None, budget_tokens)
    for attempt in range(1, 8):
        summary.tokens = count(summary.to_text())
        if summary.tokens <= budget_tokens:
            return summary
        budget_chars = int(budget_chars * budget_tokens / summary.tokens * 0.95)
        summary = builder.build(
            messages,
            budget_chars,
            value_limits[min(attempt, len(value_limits) - 1)],
            variable_limits[min(attempt, len(variable_limits) - 1)],
            budget_tokens,
        )
    summary.tokens = count(summary.to_text())
    summary.over_budget = summary.tokens > budget_tokens
    return summary


class _Builder:
    """Computes the subgraph once; ``build`` renders it for a given char budget and value limit."""

    def __init__(
        self,
        outputs: list[Node],
        parameters: Iterable[ParameterNode] | None,
        *,
        local_labels: bool = False,
    ) -> None:
        self.outputs = outputs
        order = topological_order(outputs)
        if parameters is None:
            params = [n for n in order if isinstance(n, ParameterNode)]
        else:
            wanted: set[Node] = set(parameters)
            params = [n for n in order if n in wanted and isinstance(n, ParameterNode)]
        self.params = params
        output_set = set(outputs)
        # Forward pass: which nodes depend on a parameter, and how far from one.
        depth: dict[Node, int] = dict.fromkeys(params, 0)
        for node in order:
            if node in depth:
                continue
            best = -1
            for parent in node._parents:
                d = depth.get(parent)
                if d is not None and (best < 0 or d < best):
                    best = d
            if best >= 0:
                depth[node] = best + 1
        # Backward pass: distance to the nearest output, for ops on parameter paths.
        to_out: dict[Node, int] = dict.fromkeys(outputs, 0)
        for node in reversed(order):
            d = to_out.get(node)
            if d is None:
                continue
            for parent in node._parents:
                if parent in depth and to_out.get(parent, d + 2) > d + 1:
                    to_out[parent] = d + 1
        ops: list[MessageNode] = [
            n
            for n in order
            if isinstance(n, MessageNode) and ((n in depth and n in to_out) or n in output_set)
        ]
        self.ops = ops
        param_set = set(params)
        self.must_ops = {
            op for op in ops if op in output_set or any(p in param_set for p in op._parents)
        }
        self.priority = {op: min(depth.get(op, 10**9), to_out.get(op, 10**9)) for op in ops}
        self.depth = depth
        self.optional = sorted(
            (op for op in ops if op not in self.must_ops), key=self.priority.__getitem__
        )
        # Unnamed short constants (the 1 in ``y + 1``) are shown inline as literals.
        self.inline: dict[Node, str] = {}
        for op in ops:
            for parent in op._parents:
                if type(parent) is Node and parent._name is None and parent not in output_set:
                    text = _safe_repr(parent._data)
                    if len(text) <= _INLINE_CHARS:
                        self.inline[parent] = text
        self.name_counts = _name_counts(params, ops, outputs, self.inline)
        # Local labels: same-named nodes numbered 1, 2, ... in graph order, so the same program
        # renders the same text in every process (process labels carry a global counter).
        self.local: dict[Node, str] | None = None
        if local_labels:
            self.local = {}
            numbers: dict[str, int] = {}
            for node in order:
                name = node.name
                if self.name_counts.get(name, 0) > 1 and node not in self.inline:
                    numbers[name] = numbers.get(name, 0) + 1
                    self.local[node] = f"{name}:{numbers[name]}"

    def build(
        self,
        messages: list[Any],
        budget_chars: int,
        limit: int,
        var_limit: int | None,
        budget_tokens: int,
    ) -> TraceSummary:
        summary = TraceSummary(budget_tokens=budget_tokens)
        used = _SECTION_OVERHEAD_CHARS
        summary.feedback = render_feedback(messages)
        if len(summary.feedback) > budget_chars // 4:
            summary.feedback, _ = render_value(summary.feedback, budget_chars // 4)
        used += len(summary.feedback)
        for param in self.params:
            value, truncated = render_value(param._data, var_limit)
            var = Variable(
                name=self.name(param),
                label=param.label,
                type="code" if param.is_code else type(param._data).__name__,
                value=value,
                constraint=param.constraint,
                description=param.description,
                is_code=param.is_code,
                truncated=truncated,
            )
            summary.variables.append(var)
            summary._parameters[var.name] = param
            used += len(_variable_line(var)) + 1 + (len(var.constraint or "") + len(var.name) + 12)
        output_set = set(self.outputs)
        for out in self.outputs:
            entry = self._value(out, limit)
            summary.outputs.append(entry)
            used += len(_value_line(entry)) + 1
        chosen: set[Node] = set()
        shown_inputs: set[Node] = set()
        docs: dict[str, str] = {}
        pending_inputs: list[Value] = []
        pending_others: dict[Node, Value] = {}

        def cost_of(op: MessageNode) -> tuple[int, list[Value], Value | None]:
            cost = len(self._code_line(op)) + 1
            if op._op.name not in docs:
                cost += len(op.description) + 1
            new_inputs = [
                self._value(p, limit)
                for p in op._parents
                if p not in self.depth
                and p not in shown_inputs
                and p not in output_set
                and p not in self.inline
            ]
            cost += sum(len(_value_line(v)) + 1 for v in new_inputs)
            other = None if op in output_set else self._value(op, limit)
            if other is not None:
                cost += len(_value_line(other)) + 1
            return cost, new_inputs, other

        def take(op: MessageNode, new_inputs: list[Value], other: Value | None) -> None:
            chosen.add(op)
            docs.setdefault(op._op.name, op.description)
            for p in op._parents:
                shown_inputs.add(p)
            pending_inputs.extend(new_inputs)
            if other is not None:
                pending_others[op] = other

        for op in self.ops:
            if op in self.must_ops:
                cost, new_inputs, other = cost_of(op)
                used += cost
                take(op, new_inputs, other)
        misses = 0
        for op in self.optional:
            cost, new_inputs, other = cost_of(op)
            if used + cost > budget_chars:
                # Smaller later ops may still fit, but after a run of misses the budget is
                # spent: stop, so huge graphs cost O(kept ops), not O(graph), per attempt.
                misses += 1
                if misses >= _MAX_MISSES:
                    break
                continue
            used += cost
            take(op, new_inputs, other)
        summary.code = [self._code_line(op) for op in self.ops if op in chosen]
        summary.documentation = docs
        summary.inputs = pending_inputs
        summary.others = [pending_others[op] for op in self.ops if op in pending_others]
        cut_ops = len(self.ops) - len(chosen)
        if cut_ops:
            summary.cut["code"] = cut_ops
        return summary

    def _value(self, node: Node, limit: int | None) -> Value:
        if isinstance(node, ExceptionNode) and node.traceback_text:
            # The traceback's end (failing line and message) is what helps fix the code.
            value, truncated = render_tail(node.traceback_text, limit)
        else:
            value, truncated = render_value(node._data, limit)
        return Value(
            name=self.name(node),
            label=node.label,
            type=type(node._data).__name__,
            value=value,
            description=node._description,
            truncated=truncated,
        )

    expand_nested = False

    def _code_line(self, op: MessageNode) -> str:
        inline = self.inline
        args = ", ".join(f"{k}={inline.get(p) or self.name(p)}" for k, p in op.inputs.items())
        line = f"{self.name(op)} = {op._op.name}({args})"
        nested = op.nested if self.expand_nested else None
        if nested is None:
            return line
        outer = ancestors(op._parents)
        inner = [
            n for n in topological_order(nested) if isinstance(n, MessageNode) and n not in outer
        ]
        shown = {
            n: (inline.get(n) or self.name(n)) if n in outer else n.label for n in ancestors(nested)
        }
        for n in inner:
            inner_args = ", ".join(
                f"{k}={shown.get(p) if p in outer or p in inner else _safe_repr(p._data)}"
                for k, p in n.inputs.items()
            )
            line += f"\n    {shown[n]} = {n.op.name}({inner_args})"
        return f"{line}\n    {self.name(op)} = {shown[nested]}  # output of {op.op.name}"

    def name(self, node: Node) -> str:
        """The node's name if no other shown node has it, else its label."""
        name = node.name
        if self.name_counts.get(name, 0) == 1:
            return name
        if self.local is not None:
            return self.local.get(node) or node.label
        return node.label


def _name_counts(
    params: list[ParameterNode],
    ops: list[MessageNode],
    outputs: list[Node],
    inline: dict[Node, str],
) -> dict[str, int]:
    """How many shown nodes carry each name (a name shared by two is replaced by labels)."""
    shown: set[Node] = set(params)
    shown.update(ops)
    shown.update(outputs)
    for op in ops:
        for parent in op._parents:
            if parent not in inline:
                shown.add(parent)
    counts: dict[str, int] = {}
    for node in shown:
        name = node.name
        counts[name] = counts.get(name, 0) + 1
    return counts
