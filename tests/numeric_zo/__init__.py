"""Tests for the feedback-only and memory-lean numeric optimizers (issue 11)."""
