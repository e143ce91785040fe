"""Local test servers shared by test areas (LLM fault server)."""
