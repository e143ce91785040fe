"""ZO-RankSGD: descend using only rankings of perturbed candidates, plus ranking oracles.

Tang, Rybin and Chang, "Zeroth-Order Optimization Meets Human Feedback: Provable Learning via
Ranking Oracles" (ICLR 2024). Each step samples ``m`` Gaussian directions ``ξ_1..ξ_m``, asks an
oracle to rank the candidates ``x + μ ξ_i`` (best = lowest objective first; a partial, top-k
ranking is fine), turns the ranking into the pairwise comparisons it implies (a DAG with an edge
``i -> j`` whenever ``i`` is ranked better than ``j``) and steps along

    x <- x - η · (1/|E|) · Σ_{(i, j) in E} (ξ_j - ξ_i)

With ``line_search > 0`` the oracle also ranks ``x`` against ``x - η γ^l g`` for
``l = 0..line_search-1`` and the best of those becomes the next iterate, as in the paper's
line-search variant (it never moves to a candidate the oracle ranks below staying put).

Oracles are callables ``oracle(candidates) -> indices best first``; the candidates are flat 1-D
tensors (all parameters concatenated, in ``param_groups`` order). Adapters here: a numeric
function (:class:`NumericRanking`), an LLM judge through the ``trace_core.llm`` layer
(:class:`LLMRankingJudge`), and a person at the terminal (:class:`TerminalRanking`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, TextIO

import torch
from pydantic import BaseModel, Field

from optimizers.errors import OptimizerError
from optimizers.numeric.hyperparameters import check_ranges
from optimizers.numeric.nonfinite import NonFiniteError, check_policy
from optimizers.numeric.registry import register

__all__ = [
    "LLMRankingJudge",
    "NumericRanking",
    "RankingError",
    "RankingOracle",
    "RankingReply",
    "TerminalRanking",
    "ZORankSGD",
    "rank_direction",
    "ranking_edges",
]

RankingOracle = Callable[[Sequence[torch.Tensor]], Sequence[int]]
"""Orders candidates best (lowest objective) first; may return only the top few indices."""

Renderer = Callable[[torch.Tensor], "str | dict[str, Any]"]
"""Turns a candidate vector into what a judge sees: text, or an OpenAI-style content part."""


class RankingError(OptimizerError, ValueError):
    """An oracle returned something that is not a ranking of the candidates it was shown."""


def _validated(order: Sequence[int], m: int) -> list[int]:
    ranked = [int(i) for i in order]
    if not ranked:
        raise RankingError(f"the ranking of {m} candidates is empty; rank at least the best one")
    bad = [i for i in ranked if not 0 <= i < m]
    if bad:
        raise RankingError(f"ranking {ranked} names candidates {bad} outside 0..{m - 1}")
    if len(set(ranked)) != len(ranked):
        raise RankingError(f"ranking {ranked} names a candidate twice; list each at most once")
    return ranked


def ranking_edges(order: Sequence[int], m: int) -> list[tuple[int, int]]:
    """Pairwise comparisons ``(better, worse)`` implied by a (partial) ranking of ``m`` items.

    Each ranked item beats every item ranked after it and every unranked item; unranked items
    are not compared with each other.
    """
    ranked = _validated(order, m)
    rest = [i for i in range(m) if i not in set(ranked)]
    edges = []
    for pos, better in enumerate(ranked):
        for worse in [*ranked[pos + 1 :], *rest]:
            edges.append((better, worse))
    return edges


def rank_direction(directions: torch.Tensor, order: Sequence[int]) -> torch.Tensor:
    """The rank-based estimate ``(1/|E|) Σ (ξ_worse - ξ_better)``: an ascent direction.

    ``directions`` is ``(m, d)``; the result is ``(d,)``. Summing edge by edge is the same as
    weighting each ``ξ_i`` by (times it lost - times it won), which is what is computed.
    """
    m = directions.shape[0]
    edges = ranking_edges(order, m)
    if not edges:
        raise RankingError("a ranking of a single candidate implies no comparison; use m >= 2")
    weights = torch.zeros(m, dtype=directions.dtype, device=directions.device)
    for better, worse in edges:
        weights[worse] += 1.0
        weights[better] -= 1.0
    return (weights @ directions) / len(edges)


class ZORankSGD(torch.optim.Optimizer):
    """Zeroth-order SGD driven only by a ranking oracle (ZO-RankSGD).

    Args:
        params: parameters or groups (a group's ``lr`` scales its slice of the step).
        oracle: ranks flat candidate vectors best first (see :data:`RankingOracle`).
        lr: step size η.
        mu: smoothing radius μ of the candidates ``x + μ ξ_i``.
        num_candidates: m, the number of perturbed candidates ranked per step (>= 2).
        line_search: number of step sizes ``η γ^l`` to let the oracle choose from (0 = off).
        line_search_decay: γ.
        seed: seed of the perturbation stream (None = nondeterministic).
        nonfinite: "raise", "skip" or "ignore" when the next iterate is not finite.

    ``step()`` needs no closure; one passed in is evaluated (without gradients) after the
    update and its value returned, for logging only. The flat candidates cost ``m`` copies of
    the parameters, which is what an oracle that looks at whole candidates needs.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        oracle: RankingOracle,
        lr: float = 1e-2,
        mu: float = 1e-2,
        num_candidates: int = 5,
        *,
        line_search: int = 0,
        line_search_decay: float = 0.5,
        seed: int | None = None,
        nonfinite: str = "raise",
    ) -> None:
        check_ranges(lr=(lr, "> 0"), mu=(mu, "> 0"))
        if num_candidates < 2:
            raise ValueError(
                f"num_candidates must be >= 2 to compare anything, got {num_candidates}"
            )
        if line_search < 0 or not 0.0 < line_search_decay < 1.0:
            raise ValueError("line_search must be >= 0 and line_search_decay in (0, 1)")
        super().__init__(params, {"lr": lr, "mu": mu})
        self.oracle = oracle
        self.num_candidates = num_candidates
        self.line_search = line_search
        self.line_search_decay = line_search_decay
        first = self.param_groups[0]["params"][0]
        self._gen = torch.Generator(device=first.device)
        if seed is None:
            self._gen.seed()
        else:
            self._gen.manual_seed(seed)
        self.nonfinite = check_policy(nonfinite)
        self.skipped_steps = 0
        self.steps = 0
        self.oracle_calls = 0
        self.last_ranking: list[int] = []

    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for g in self.param_groups for p in g["params"]])

    def _lr_vector(self, like: torch.Tensor) -> torch.Tensor:
        """Per-entry step size, so each group's ``lr`` applies to its own slice."""
        parts = [
            torch.full((p.numel(),), g["lr"], dtype=like.dtype, device=like.device)
            for g in self.param_groups
            for p in g["params"]
        ]
        return torch.cat(parts)

    def _ask(self, candidates: list[torch.Tensor]) -> list[int]:
        self.oracle_calls += 1
        return _validated(self.oracle(candidates), len(candidates))

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:  # type: ignore[override]
        """Rank ``m`` perturbed candidates, step against the implied ascent direction."""
        x = self._flat()
        mu = self.param_groups[0]["mu"]
        xi = torch.randn(
            (self.num_candidates, x.numel()), generator=self._gen, device=x.device, dtype=x.dtype
        )
        order = self._ask([x + mu * xi[i] for i in range(self.num_candidates)])
        self.last_ranking = order
        direction = rank_direction(xi, order)
        step = self._lr_vector(x) * direction

        if self.line_search:
            trials = [x] + [
                x - (self.line_search_decay**level) * step for level in range(self.line_search)
            ]
            new_x = trials[self._ask(trials)[0]]
        else:
            new_x = x - step
        self.steps += 1
        if self.nonfinite != "ignore" and not bool(torch.isfinite(new_x).all()):
            if self.nonfinite == "raise":
                raise NonFiniteError(
                    "ZORankSGD: the next iterate is not finite; the parameters were left "
                    "unchanged. Lower lr or mu, or pass nonfinite='skip'."
                )
            self.skipped_steps += 1
            return None if closure is None else closure()
        torch.nn.utils.vector_to_parameters(
            new_x, [p for g in self.param_groups for p in g["params"]]
        )
        if closure is None:
            return None
        return closure()

    def state_dict(self) -> dict[str, Any]:
        """Torch state plus the perturbation stream and counters, for an identical resume."""
        extra = {
            "steps": self.steps,
            "oracle_calls": self.oracle_calls,
            "skipped_steps": self.skipped_steps,
            "rng": self._gen.get_state(),
        }
        return {**super().state_dict(), "zo_ranksgd": extra}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "zo_ranksgd"})
        extra = state_dict.get("zo_ranksgd")
        if extra is not None:
            self.steps = int(extra["steps"])
            self.oracle_calls = int(extra["oracle_calls"])
            self.skipped_steps = int(extra["skipped_steps"])
            self._gen.set_state(extra["rng"])


class NumericRanking:
    """Ranking oracle from a numeric objective: sorts candidates by ``fn(candidate)``, lowest first.

    ``top_k`` returns only the best k (a partial ranking, as a busy judge would give).
    ``calls`` counts objective evaluations.
    """

    def __init__(self, fn: Callable[[torch.Tensor], float], *, top_k: int | None = None) -> None:
        self.fn = fn
        self.top_k = top_k
        self.calls = 0

    def __call__(self, candidates: Sequence[torch.Tensor]) -> list[int]:
        """Indices of ``candidates`` ordered by objective value, best first."""
        self.calls += len(candidates)
        values = [float(self.fn(c)) for c in candidates]
        order = sorted(range(len(values)), key=values.__getitem__)
        return order if self.top_k is None else order[: self.top_k]


class RankingReply(BaseModel):
    """What an LLM judge returns: candidate numbers (as shown, 1-based), best first."""

    ranking: list[int] = Field(description="candidate numbers, best first")
    reason: str = Field(default="", description="one or two sentences on the decision")


class _CompletesMessages(Protocol):
    def complete(
        self, messages: list[dict[str, Any]], *, response_format: Any = None, **opts: Any
    ) -> Any: ...


def _prompt(name: str) -> str:
    return resources.files("optimizers.numeric").joinpath(name).read_text(encoding="utf-8")


@dataclass
class JudgeRecord:
    """One ranking asked of a judge: what it saw, what it answered (0-based), and why."""

    shown: list[str]
    ranking: list[int]
    reason: str = ""
    usage: Any = None


def default_render(vector: torch.Tensor, max_entries: int = 16) -> str:
    """A short text rendering of a candidate vector: its first entries to 4 decimals."""
    values = ", ".join(f"{v:.4f}" for v in vector[:max_entries].tolist())
    more = f", ... ({vector.numel()} entries)" if vector.numel() > max_entries else ""
    return f"[{values}{more}]"


class LLMRankingJudge:
    """Ranking oracle that asks an LLM (``trace_core.llm.LLM``) to rank rendered candidates.

    Args:
        llm: anything with ``complete(messages, response_format=...)`` returning a completion
            with ``.parsed`` (a :class:`RankingReply`) and ``.text``.
        instruction: what "better" means, in the user's words (e.g. "the most polite reply").
        render: turns a candidate vector into text, or into an OpenAI-style content part (an
            image, say) for a multimodal model.
        top_k: ask only for the best k (None = a full ranking).

    A reply naming a candidate twice or out of range raises :class:`RankingError`; the LLM layer
    already re-asks when the reply does not parse. ``history`` keeps every exchange.
    """

    def __init__(
        self,
        llm: _CompletesMessages,
        instruction: str,
        *,
        render: Renderer = default_render,
        top_k: int | None = None,
    ) -> None:
        self.llm = llm
        self.instruction = instruction
        self.render = render
        self.top_k = top_k
        self.history: list[JudgeRecord] = []

    def messages(self, candidates: Sequence[torch.Tensor]) -> list[dict[str, Any]]:
        """The chat messages sent for these candidates (system rules, then the candidates)."""
        want = (
            "all of them"
            if self.top_k is None or self.top_k >= len(candidates)
            else f"only the best {self.top_k}"
        )
        header = _prompt("ranking_judge_user.md").format(
            instruction=self.instruction, count=len(candidates), want=want
        )
        parts: list[dict[str, Any]] = [{"type": "text", "text": header}]
        texts_only = True
        for number, candidate in enumerate(candidates, start=1):
            shown = self.render(candidate)
            if isinstance(shown, str):
                parts.append({"type": "text", "text": f"Candidate {number}: {shown}"})
            else:
                texts_only = False
                parts.append({"type": "text", "text": f"Candidate {number}:"})
                parts.append(shown)
        content: Any = (
            "\n".join(p["text"] for p in parts) if texts_only else parts
        )  # plain text where possible: every backend accepts it
        return [
            {"role": "system", "content": _prompt("ranking_judge_system.md")},
            {"role": "user", "content": content},
        ]

    def __call__(self, candidates: Sequence[torch.Tensor]) -> list[int]:
        """Ask the LLM; return 0-based indices best first."""
        messages = self.messages(candidates)
        completion = self.llm.complete(messages, response_format=RankingReply)
        reply = completion.parsed
        if not isinstance(reply, RankingReply):
            reply = RankingReply.model_validate_json(completion.text)
        order = _validated([n - 1 for n in reply.ranking], len(candidates))
        content = messages[1]["content"]
        self.history.append(
            JudgeRecord(
                shown=[content] if isinstance(content, str) else [str(p) for p in content],
                ranking=order,
                reason=reply.reason,
                usage=getattr(completion, "usage", None),
            )
        )
        return order


@dataclass
class TerminalRanking:
    """Ranking oracle that asks a person at the terminal (rich output, typed answer).

    The person sees each candidate rendered and types candidate numbers best first, e.g.
    ``3 1``; listing only the best few is fine. ``input_stream`` / ``console`` make it
    scriptable (tests, recorded sessions). After ``max_attempts`` unusable answers it raises
    :class:`RankingError`.
    """

    instruction: str
    render: Renderer = default_render
    input_stream: TextIO | None = None
    console: Any = None
    max_attempts: int = 3
    answers: list[list[int]] = field(default_factory=list)

    def __call__(self, candidates: Sequence[torch.Tensor]) -> list[int]:
        """Show the candidates, read a ranking, return 0-based indices best first."""
        from rich.console import Console
        from rich.prompt import Prompt
        from rich.table import Table

        console = self.console or Console()
        table = Table(title=self.instruction, show_lines=False)
        table.add_column("#", justify="right")
        table.add_column("candidate")
        for number, candidate in enumerate(candidates, start=1):
            shown = self.render(candidate)
            table.add_row(str(number), shown if isinstance(shown, str) else str(shown))
        console.print(table)
        for _ in range(self.max_attempts):
            answer = Prompt.ask(
                "Candidate numbers, best first (e.g. 2 1 3)",
                console=console,
                stream=self.input_stream,
            )
            numbers = [int(tok) for tok in re.findall(r"-?\d+", answer or "")]
            try:
                order = _validated([n - 1 for n in numbers], len(candidates))
            except RankingError as err:
                console.print(f"[red]{err}[/red] (numbers go from 1 to {len(candidates)})")
                continue
            self.answers.append(order)
            return order
        raise RankingError(
            f"no usable ranking after {self.max_attempts} attempts; type candidate numbers "
            f"1..{len(candidates)} separated by spaces, best first"
        )


register(
    "zo_ranksgd",
    ZORankSGD,
    source="torch",
    zeroth_order=True,
    required={
        "oracle": "<callable ranking candidate vectors best first>, e.g. NumericRanking(fn), "
        "LLMRankingJudge(llm, goal) or TerminalRanking(goal)"
    },
)
