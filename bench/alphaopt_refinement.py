"""LLM calls and prompt tokens of condition refinement: reference-style replay vs ours.

Refinement scores K candidate conditions of one insight on R related items by replaying
retrieval. The reference implementation re-runs the whole two-stage retrieval (quick match
plus every applicability batch) per candidate per item; optoforge caches the quick match per
item (conditions do not affect it) and checks the one insight on its own. Both sides here use
the same Retriever and a scripted LLM, so only the replay strategy differs.

    python bench/alphaopt_refinement.py --insights 60 --items 10 --candidates 5
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

from agents.alphaopt import ExperienceLibrary, Insight, Phase
from agents.alphaopt.prompting import Prompter
from agents.alphaopt.retrieval import Retriever
from trace_core.llm import ScriptedLLM

PATH = ["General Formulation", "Variable Definition", "Integrality"]


def reply(messages: list[dict[str, str]]) -> str:
    text = messages[-1]["content"]
    if text.startswith("# AlphaOPT: quick match"):
        return json.dumps({"labels": [PATH]})
    ids = re.findall(r"- id (\d+): applies when: (.*)", text)
    return json.dumps({"applicable": [{"id": int(i)} for i, c in ids if "yes" in c]})


def measure(insights: int, items: int, candidates: int, ours: bool) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        library = ExperienceLibrary(Path(tmp) / "lib.sqlite")
        for n in range(insights):
            library.add(Insight(taxonomy=PATH, condition=f"yes {n}", explanation=f"lesson {n}"))
        target = library.all()[0]
        llm = ScriptedLLM(reply)
        retriever = Retriever(library, Prompter(llm), cache=ours)
        texts = [f"problem {i}: buy {i} meals" for i in range(items)]
        for k in range(candidates):
            candidate = target.model_copy(update={"condition": f"yes candidate {k}"})
            for text in texts:
                if ours:
                    retriever.would_retrieve(candidate, text)
                else:
                    pool = [candidate if i.id == target.id else i for i in library.all()]
                    retriever.retrieve(text, Phase.FORMULATION, insights=pool)
        library.close()
        return llm.usage.calls, llm.usage.total.prompt_tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--insights", type=int, default=60)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=5)
    args = parser.parse_args()
    ref_calls, ref_tokens = measure(args.insights, args.items, args.candidates, ours=False)
    our_calls, our_tokens = measure(args.insights, args.items, args.candidates, ours=True)
    print(
        "| insights under the label | R items | K | reference calls | our calls | call ratio "
        "| reference prompt tokens | our prompt tokens | token ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.insights} | {args.items} | {args.candidates} | {ref_calls} | {our_calls} | "
        f"{our_calls / ref_calls:.3f} | {ref_tokens} | {our_tokens} | "
        f"{our_tokens / ref_tokens:.3f} |"
    )


if __name__ == "__main__":
    main()
