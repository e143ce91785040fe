"""Numeric (torch) optimizers: a name registry, torch / pytorch-optimizer seeds, FRUGAL,
AdAdaGrad, zeroth-order MeZO / ZO-Adam, and the hybrid text+tensor optimizer.

``create("adam", model.parameters(), lr=1e-3)`` returns a ``torch.optim.Optimizer``;
``available()`` lists the names usable in this environment. Nothing here imports torch until a
name is used.
"""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "create": ".registry",
    "available": ".registry",
    "registered": ".registry",
    "register": ".registry",
    "NumericOptimizerError": ".registry",
    "UnknownOptimizerError": ".registry",
    "OptimizerUnavailableError": ".registry",
    "NonFiniteError": ".nonfinite",
    "MeZO": ".zeroth_order",
    "ZOAdam": ".zeroth_order",
    "ZerothOrderOptimizer": ".zeroth_order",
    "FRUGAL": ".frugal",
    "AdAdaGrad": ".adadagrad",
    "NormTestBatchSize": ".adadagrad",
    "per_sample_gradients": ".adadagrad",
    "HybridOptimizer": ".hybrid",
    "HybridStepResult": ".hybrid",
    "ConvexLayer": ".convex_layer",
    "quadratic_program": ".convex_layer",
    "linear_program": ".convex_layer",
    "PeakTensorMemory": ".memory",
    "state_bytes": ".memory",
    "ZORankSGD": ".ranking",
    "NumericRanking": ".ranking",
    "LLMRankingJudge": ".ranking",
    "TerminalRanking": ".ranking",
    "RankingError": ".ranking",
    "SparseMeZO": ".sparse_mezo",
    "ForwardGradient": ".zo_variants",
    "ZOBlock": ".zo_variants",
    "ZOHybrid": ".zo_variants",
    "SGDSaI": ".sgd_sai",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
