"""Find a colour by ranking swatches: ZO-RankSGD with a person (or an LLM) as the only feedback.

Each round shows a few colour swatches near the current colour; you type their numbers, best
first (e.g. ``2 4``; the best one alone is fine). Nothing else is needed: no scores, no
gradients. Run ``python examples/zo_rank_color.py "a deep sunset orange"``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from optimizers.numeric.ranking import TerminalRanking, ZORankSGD  # noqa: E402


def to_rgb(v: torch.Tensor) -> tuple[int, int, int]:
    """Map an unconstrained 3-vector to an RGB colour (a sigmoid per channel)."""
    r, g, b = (round(255 * c) for c in torch.sigmoid(v).tolist())
    return r, g, b


def swatch(v: torch.Tensor) -> str:
    """Rich markup for a colour swatch and its RGB value."""
    r, g, b = to_rgb(v)
    return f"[on rgb({r},{g},{b})]          [/] rgb({r}, {g}, {b})"


def main(
    goal: str = "a deep sunset orange",
    *,
    rounds: int = 8,
    input_stream: TextIO | None = None,
    console: Any = None,
    seed: int | None = None,
) -> tuple[int, int, int]:
    """Run ``rounds`` ranking rounds and return the final colour."""
    colour = torch.nn.Parameter(torch.zeros(3))
    oracle = TerminalRanking(
        f"Which swatch is closest to {goal}? (numbers, best first)",
        render=swatch,
        input_stream=input_stream,
        console=console,
    )
    opt = ZORankSGD([colour], oracle, lr=0.6, mu=0.6, num_candidates=4, seed=seed)
    for _ in range(rounds):
        opt.step()
    final = to_rgb(colour.detach())
    if console is not None:
        console.print(f"final colour: {swatch(colour.detach())}")
    return final


if __name__ == "__main__":
    from rich.console import Console

    print(main(" ".join(sys.argv[1:]) or "a deep sunset orange", console=Console()))
