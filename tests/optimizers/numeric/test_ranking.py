"""ZO-RankSGD and its ranking oracles: numeric, LLM judge, person at the terminal."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from optimizers.numeric.ranking import (  # noqa: E402
    LLMRankingJudge,
    NumericRanking,
    RankingError,
    TerminalRanking,
    ZORankSGD,
    rank_direction,
    ranking_edges,
)

pytestmark = pytest.mark.torch

ScriptedLLM = pytest.importorskip("trace_core.llm").ScriptedLLM

TARGET = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])


def _quadratic(v: torch.Tensor) -> float:
    return float(((v - TARGET) ** 2).sum())


def test_partial_ranking_implies_wins_over_all_unranked() -> None:
    edges = ranking_edges([2, 0], m=4)
    assert sorted(edges) == sorted([(2, 0), (2, 1), (2, 3), (0, 1), (0, 3)])


def test_rank_direction_is_mean_of_worse_minus_better() -> None:
    xi = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    expected = ((xi[1] - xi[2]) + (xi[0] - xi[2]) + (xi[0] - xi[1])) / 3
    torch.testing.assert_close(rank_direction(xi, [2, 1, 0]), expected)


@pytest.mark.parametrize(("order", "problem"), [([], "empty"), ([0, 0], "twice"), ([5], "outside")])
def test_invalid_rankings_are_rejected_with_the_reason(order: list[int], problem: str) -> None:
    with pytest.raises(RankingError, match=problem):
        ranking_edges(order, m=3)


@pytest.mark.parametrize(
    ("top_k", "line_search"), [(None, 0), (2, 0), (None, 3)], ids=["full", "top2", "linesearch"]
)
def test_converges_on_quadratic_with_only_a_ranking_oracle(
    top_k: int | None, line_search: int
) -> None:
    x = torch.nn.Parameter(torch.zeros(6))
    oracle = NumericRanking(_quadratic, top_k=top_k)
    opt = ZORankSGD([x], oracle, lr=0.1, mu=0.05, num_candidates=6, line_search=line_search, seed=0)
    start = _quadratic(x.detach())
    for step in range(120):
        if step == 60:
            for group in opt.param_groups:
                group["lr"] *= 0.2
        opt.step()
    assert _quadratic(x.detach()) < 1e-3 * start


def _judge_by_distance_to_target(messages: list[dict[str, Any]]) -> str:
    """A judge that reads the rendered candidates ("Candidate 3: point (x, y, ...)") only."""
    text = messages[-1]["content"]
    scores = {}
    for number, body in re.findall(r"Candidate (\d+): point \(([^)]*)\)", text):
        coords = torch.tensor([float(c) for c in body.split(",")])
        scores[int(number)] = float(((coords - TARGET) ** 2).sum())
    ranking = sorted(scores, key=scores.__getitem__)
    return json.dumps({"ranking": ranking, "reason": "closest to the target point first"})


def _render_point(v: torch.Tensor) -> str:
    return "point (" + ", ".join(f"{c:.4f}" for c in v.tolist()) + ")"


def test_converges_with_a_scripted_llm_judge() -> None:
    llm = ScriptedLLM(_judge_by_distance_to_target)
    judge = LLMRankingJudge(llm, "the point closest to the target", render=_render_point)
    x = torch.nn.Parameter(torch.zeros(6))
    opt = ZORankSGD([x], judge, lr=0.1, mu=0.05, num_candidates=5, line_search=3, seed=1)
    start = _quadratic(x.detach())
    for _ in range(120):
        opt.step()
    assert _quadratic(x.detach()) < 0.05 * start
    assert len(judge.history) == opt.oracle_calls
    first_prompt = llm.calls[0][-1]["content"]
    assert "the point closest to the target" in first_prompt and "Candidate 5:" in first_prompt


def test_llm_judge_naming_a_candidate_twice_is_an_error() -> None:
    llm = ScriptedLLM(lambda messages: json.dumps({"ranking": [1, 1], "reason": ""}))
    judge = LLMRankingJudge(llm, "anything")
    with pytest.raises(RankingError, match="twice"):
        judge([torch.zeros(2), torch.ones(2)])


def test_llm_judge_can_show_images_as_content_parts() -> None:
    seen: list[Any] = []

    def reply(messages: list[dict[str, Any]]) -> str:
        seen.extend(m["content"] for m in messages if isinstance(m["content"], list))
        return json.dumps({"ranking": [2, 1]})

    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    judge = LLMRankingJudge(ScriptedLLM(reply), "the nicer picture", render=lambda v: image)
    assert judge([torch.zeros(2), torch.ones(2)]) == [1, 0]
    assert isinstance(seen[0], list) and seen[0].count(image) == 2


def _console() -> tuple[Any, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    return Console(file=out, width=100, color_system=None), out


def test_terminal_ranking_reads_the_person_answer_and_reprompts_on_nonsense() -> None:
    pytest.importorskip("rich")
    console, out = _console()
    oracle = TerminalRanking(
        "which point looks best?", input_stream=io.StringIO("7 7\n3 1\n"), console=console
    )
    order = oracle([torch.zeros(2), torch.ones(2), torch.full((2,), 2.0)])
    assert order == [2, 0]
    shown = out.getvalue()
    assert "which point looks best?" in shown and "outside" in shown


def test_terminal_ranking_gives_up_after_max_attempts() -> None:
    pytest.importorskip("rich")
    console, _ = _console()
    oracle = TerminalRanking(
        "rank", input_stream=io.StringIO("x\n\n0\n"), console=console, max_attempts=3
    )
    with pytest.raises(RankingError, match="no usable ranking"):
        oracle([torch.zeros(1), torch.ones(1)])


def test_terminal_person_can_drive_zo_ranksgd() -> None:
    pytest.importorskip("rich")
    console, _ = _console()
    # the "person" always prefers the last candidate shown: a scripted session of 4 answers
    answers = io.StringIO("".join("3\n" for _ in range(4)))
    oracle = TerminalRanking("pick", input_stream=answers, console=console)
    x = torch.nn.Parameter(torch.zeros(3))
    opt = ZORankSGD([x], oracle, lr=0.1, num_candidates=3, seed=0)
    for _ in range(4):
        opt.step()
    assert opt.last_ranking == [2]
    assert len(oracle.answers) == 4 and x.detach().abs().sum() > 0


def test_resumed_zo_ranksgd_follows_the_same_trajectory() -> None:
    x = torch.nn.Parameter(torch.zeros(6))
    opt = ZORankSGD([x], NumericRanking(_quadratic), lr=0.05, seed=4)
    for _ in range(3):
        opt.step()
    saved_x, saved_state = x.detach().clone(), opt.state_dict()
    for _ in range(3):
        opt.step()
    expected = x.detach().clone()

    x.data.copy_(saved_x)
    resumed = ZORankSGD([x], NumericRanking(_quadratic), lr=0.05, seed=0)
    resumed.load_state_dict(saved_state)
    for _ in range(3):
        resumed.step()
    torch.testing.assert_close(x.detach(), expected)
    assert resumed.steps == 6
