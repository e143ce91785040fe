"""Prompt optimization with instructions and exemplars (Wan et al., 2024, "Teach Better or
Show Smarter?"): a trainable prompt program, exemplar selectors, bootstrapping, instruction
optimization with OptoPrime/OPRO, combined schedules under one LLM-call budget, and an
ablation runner. Names load lazily."""

from __future__ import annotations

from trace_core._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "PromptProgram": "optimizers.prompting.program",
    "PromptTemplate": "optimizers.prompting.program",
    "Exemplar": "optimizers.prompting.program",
    "ExemplarPool": "optimizers.prompting.program",
    "TemplateError": "optimizers.prompting.program",
    "ExemplarError": "optimizers.prompting.program",
    "load_metric": "optimizers.prompting.metrics",
    "MetricError": "optimizers.prompting.metrics",
    "TaskItem": "optimizers.prompting.task",
    "TaskSplit": "optimizers.prompting.task",
    "TaskFileError": "optimizers.prompting.task",
    "load_task": "optimizers.prompting.task",
    "split_task": "optimizers.prompting.task",
    "Search": "optimizers.prompting.evaluation",
    "SearchResult": "optimizers.prompting.evaluation",
    "SearchStep": "optimizers.prompting.evaluation",
    "Candidate": "optimizers.prompting.evaluation",
    "CallBudget": "optimizers.prompting.evaluation",
    "MeteredLLM": "optimizers.prompting.evaluation",
    "BudgetTooSmall": "optimizers.prompting.evaluation",
    "score_prompt": "optimizers.prompting.evaluation",
    "ExemplarChoice": "optimizers.prompting.exemplars",
    "random_search": "optimizers.prompting.exemplars",
    "greedy_search": "optimizers.prompting.exemplars",
    "diverse_search": "optimizers.prompting.exemplars",
    "bootstrap_exemplars": "optimizers.prompting.exemplars",
    "STRATEGIES": "optimizers.prompting.schedule",
    "UnknownStrategy": "optimizers.prompting.schedule",
    "run_strategy": "optimizers.prompting.schedule",
    "instruction_steps": "optimizers.prompting.schedule",
    "alternate": "optimizers.prompting.schedule",
    "make_optimizer": "optimizers.prompting.schedule",
    "run_ablation": "optimizers.prompting.ablation",
    "AblationReport": "optimizers.prompting.ablation",
    "PromptRun": "optimizers.prompting.rundir",
    "RunDirError": "optimizers.prompting.rundir",
    "CallJournal": "optimizers.prompting.journal",
    "JournaledLLM": "optimizers.prompting.journal",
    "JournalError": "optimizers.prompting.journal",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_getattr(__name__, _EXPORTS)
