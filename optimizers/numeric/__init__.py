"""Numeric (torch) optimizers (filled in by the numeric optimizers issue)."""
