"""The `langgraph-checkpoint` command: inspect and copy checkpoint databases.

Run it as `langgraph-checkpoint ...` or `python -m langgraph.checkpoint.cli ...`
(`langgraph.checkpoint` is a namespace package shared by several
distributions, so it cannot carry a `__main__` of its own).
"""

from langgraph.checkpoint.cli.app import main

__all__ = ["main"]
