"""`python -m langgraph.checkpoint.conformance module:factory [--json]`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from typing import Any

from langgraph.checkpoint.conformance.report import ProgressCallbacks
from langgraph.checkpoint.conformance.runner import validate


def load_factory(spec: str) -> Any:
    """Import `module:attribute` (the factory, decorated or not)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise SystemExit(f"expected module:factory, got {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m langgraph.checkpoint.conformance",
        description="Run the checkpointer conformance suite against a saver factory.",
    )
    parser.add_argument("factory", help="module:attribute of an async generator yielding a saver")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--capability", action="append", help="only these capabilities")
    args = parser.parse_args(argv)
    report = asyncio.run(
        validate(
            load_factory(args.factory),
            capabilities=args.capability,
            progress=ProgressCallbacks.quiet() if args.json else ProgressCallbacks.default(),
        )
    )
    if args.json:
        print(report.to_json())
    else:
        report.print_report()
    return 0 if report.passed_all() else 1


if __name__ == "__main__":
    sys.exit(main())
