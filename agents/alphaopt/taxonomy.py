"""The three-track, two-level taxonomy that organises insights and drives quick-match retrieval.

Every label is a path ``track / level-1 / level-2`` with a definition (what it covers) and a
condition (when a problem falls under it). The library starts from a seed written for optoforge
(``seed_taxonomy.json``: the tracks and level-1 labels of the AlphaOPT paper, level-2 labels and
all texts our own) and grows as extraction proposes new labels. Labels match case-insensitively.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib import resources

from pydantic import BaseModel, Field, field_validator

from agents.alphaopt.insight import Track


class Label(BaseModel):
    """One level-2 taxonomy label with its definition and applicability condition."""

    track: str
    l1: str = Field(min_length=1)
    l2: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    condition: str = Field(min_length=1)

    @field_validator("track")
    @classmethod
    def _known_track(cls, value: str) -> str:
        for track in Track:
            if track.value.lower() == value.strip().lower():
                return track.value
        raise ValueError(f"unknown track {value!r}; use one of {', '.join(Track)}")

    @property
    def path(self) -> list[str]:
        """The label as a ``[track, l1, l2]`` path."""
        return [self.track, self.l1, self.l2]

    @property
    def key(self) -> tuple[str, str, str]:
        """The case- and space-insensitive key of :attr:`path`."""
        return label_key(self.path)


def label_key(path: Sequence[str]) -> tuple[str, str, str]:
    """Case- and space-insensitive key of a ``[track, l1, l2]`` path."""
    parts = [" ".join(str(part).split()).lower() for part in path]
    if len(parts) != 3:
        raise ValueError(f"a label path has three parts [track, l1, l2], got {list(path)!r}")
    return (parts[0], parts[1], parts[2])


def seed_labels() -> list[Label]:
    """The seed taxonomy shipped with optoforge."""
    text = resources.files("agents.alphaopt").joinpath("seed_taxonomy.json").read_text("utf-8")
    return [Label.model_validate(row) for row in json.loads(text)["labels"]]


def render_taxonomy(labels: Iterable[Label], tracks: Iterable[Track] | None = None) -> str:
    """The taxonomy as indented text for prompts: track, level-1, then each level-2 label."""
    wanted = {track.value for track in tracks} if tracks is not None else None
    tree: dict[str, dict[str, list[Label]]] = {}
    for label in labels:
        if wanted is None or label.track in wanted:
            tree.setdefault(label.track, {}).setdefault(label.l1, []).append(label)
    lines: list[str] = []
    for track, level1 in tree.items():
        lines.append(f"- {track}")
        for l1, children in level1.items():
            lines.append(f"  - {l1}")
            for label in children:
                lines.append(
                    f"    - {label.l2}: {label.definition} Applies when: {label.condition}"
                )
    return "\n".join(lines)
