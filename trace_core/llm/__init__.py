"""LLM backends used by optimizers and agents (filled in by the LLM layer issue)."""
