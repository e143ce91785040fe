"""Solver backends (filled in by the solvers/sandbox issue)."""
