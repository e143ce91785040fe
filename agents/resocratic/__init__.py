"""ReSocratic synthesis: verified optimization problems written step by step from seed scenarios.

Names load lazily; importing this package loads no LLM SDK, solver library or scikit-learn.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Synthesizer": "agents.resocratic.pipeline",
    "Demonstration": "agents.resocratic.demonstration",
    "DemonstrationError": "agents.resocratic.demonstration",
    "validate": "agents.resocratic.demonstration",
    "Seed": "agents.resocratic.seeds",
    "SeedFileError": "agents.resocratic.seeds",
    "load_seeds": "agents.resocratic.seeds",
    "builtin_seeds": "agents.resocratic.seeds",
    "DedupIndex": "agents.resocratic.dedup",
    "Formulator": "agents.resocratic.verify",
    "solve_program": "agents.resocratic.verify",
    "default_formulator": "agents.resocratic.verify",
    "SynthesisStats": "agents.resocratic.stats",
    "RunStore": "agents.resocratic.store",
    "OutputFileError": "agents.resocratic.store",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
