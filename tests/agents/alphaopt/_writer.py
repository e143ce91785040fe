"""Child process for the crash-safety test: add insights, report each id, then wait to be killed."""

from __future__ import annotations

import sys
import time

from agents.alphaopt import ExperienceLibrary, Insight


def main(path: str, count: int) -> None:
    library = ExperienceLibrary(path)
    for number in range(count):
        new_id = library.add(
            Insight(
                taxonomy=["General Formulation", "Variable Definition", "Integrality"],
                condition=f"condition {number}",
                explanation=f"explanation {number}",
            )
        )
        print(new_id, flush=True)  # printed only after add() returned (committed)
    time.sleep(600)  # stay alive, mid-session, until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
