"""AlphaOPT: a self-improving experience library for formulating optimization problems.

Insights (taxonomy path, condition, explanation, example) are learned from training items with
gold answers only, retrieved in two LLM stages for the formulation and the program step, and
evolved by diagnosis, condition refinement and pruning. Names load lazily: importing this
package loads no LLM SDK, solver library, torch or ray.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Insight": "agents.alphaopt.insight",
    "InsightStats": "agents.alphaopt.insight",
    "Distribution": "agents.alphaopt.insight",
    "Bucket": "agents.alphaopt.insight",
    "Track": "agents.alphaopt.insight",
    "ExperienceLibrary": "agents.alphaopt.store",
    "LibraryError": "agents.alphaopt.store",
    "InsightNotFound": "agents.alphaopt.store",
    "Change": "agents.alphaopt.store",
    "Label": "agents.alphaopt.taxonomy",
    "seed_labels": "agents.alphaopt.taxonomy",
    "Phase": "agents.alphaopt.retrieval",
    "Retriever": "agents.alphaopt.retrieval",
    "RetrievalTrace": "agents.alphaopt.retrieval",
    "LibrarySource": "agents.alphaopt.retrieval",
    "FixedSource": "agents.alphaopt.retrieval",
    "SolveSettings": "agents.alphaopt.solving",
    "LearnSettings": "agents.alphaopt.learning",
    "EvolveSettings": "agents.alphaopt.evolution",
    "AlphaOpt": "agents.alphaopt.pipeline",
    "LibraryOptimizer": "agents.alphaopt.optimizer",
    "run_ablation": "agents.alphaopt.ablation",
    "AblationReport": "agents.alphaopt.ablation",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
