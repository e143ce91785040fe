"""Importing agents.alphaopt (and using its store) loads no LLM SDK, solver, torch or ray."""

from __future__ import annotations

from tests.import_probe import modules_loaded_by

HEAVY = {"torch", "openai", "litellm", "ray", "pyscipopt", "highspy", "gurobipy", "matplotlib"}


def test_alphaopt_import_and_store_use_load_no_heavy_library(tmp_path: object) -> None:
    code = (
        "import agents.alphaopt as a\n"
        f"lib = a.ExperienceLibrary({str(tmp_path)!r} + '/l.sqlite')\n"
        "lib.add(a.Insight(taxonomy=['Domain Modeling', 'Routing', 'Vehicle Capacity'],"
        " condition='c', explanation='e')); a.AlphaOpt; a.Retriever"
    )
    loaded = modules_loaded_by(code)
    assert not HEAVY & loaded, sorted(HEAVY & loaded)
