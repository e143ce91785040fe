"""``python -m agents.cli``: the same as the ``optoforge`` console script."""

from agents.cli.app import main

main()
