"""optimizers: LLM optimizers (OptoPrime, OPRO, TextGrad, GEPA), numeric optimizers, trainer.

Names are loaded lazily so importing ``optimizers`` does not import torch or an LLM SDK.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Optimizer": "optimizers.base",
    "StepResult": "optimizers.base",
    "StepUsage": "optimizers.base",
    "Rejection": "optimizers.base",
    "OptimizerStateError": "optimizers.base",
    "NoFeedbackError": "optimizers.base",
    "OptoPrime": "optimizers.optoprime",
    "OPRO": "optimizers.opro",
    "TextGrad": "optimizers.textgrad",
    "TextualGradientPropagator": "optimizers.textgrad",
    "GEPA": "optimizers.gepa",
    "GEPAError": "optimizers.gepa_adapter",
    "TraceAdapter": "optimizers.gepa_adapter",
    "Trainer": "optimizers.trainer",
    "CombinedOptimizer": "optimizers.combined",
    "evaluate": "optimizers.evaluate",
    "Evaluation": "optimizers.evaluate",
    "ItemScore": "optimizers.evaluate",
    "StepRecord": "optimizers.history",
    "TrainReport": "optimizers.trainer",
    "load_prompt": "optimizers.prompts",
    "PromptProgram": "optimizers.prompting.program",
    "PromptTemplate": "optimizers.prompting.program",
    "Exemplar": "optimizers.prompting.program",
    "ExemplarPool": "optimizers.prompting.program",
    "run_strategy": "optimizers.prompting.schedule",
    "run_ablation": "optimizers.prompting.ablation",
    "random_search": "optimizers.prompting.exemplars",
    "greedy_search": "optimizers.prompting.exemplars",
    "diverse_search": "optimizers.prompting.exemplars",
    "bootstrap_exemplars": "optimizers.prompting.exemplars",
    "HybridOptimizer": "optimizers.numeric.hybrid",
    "HybridStepResult": "optimizers.numeric.hybrid",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
