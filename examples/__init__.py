"""Runnable optimization examples (each also exercised by a test in tests/optimizers/).

Run one as a script, ``python examples/numeric_target.py --llm openai:gpt-4o-mini``, or through
``optoforge demo --example numeric|prompt|code|workflow``. What those four share around their
point (the ``--llm`` command line, the scripted stand-in optimizer, step reports) is in
``examples/harness.py``.
"""
