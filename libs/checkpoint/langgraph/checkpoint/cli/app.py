"""Command line: arguments, output format, exit codes.

Exit codes: 0 success, 1 an operational failure (one line on stderr: a wrong
URL, a missing table, an unknown layout, a failed verification), 2 a usage
error (argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from typing import Any

from langgraph.checkpoint.cli import copying, reading
from langgraph.checkpoint.cli.backend import Backend, CliError, open_backend
from langgraph.checkpoint.errors import CheckpointError

PROG = "langgraph-checkpoint"
DB_ENV = "LANGGRAPH_CHECKPOINT_DB"
URL_HELP = "sqlite:///path.db, postgresql://user@host/db, or module:factory"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect and copy LangGraph checkpoint databases. "
        "Read commands open the database read-only and never need setup().",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON for scripts")
    database = argparse.ArgumentParser(add_help=False, parents=[output])
    database.add_argument(
        "--db",
        "-d",
        default=os.environ.get(DB_ENV),
        help=f"database URL: {URL_HELP} (default: ${DB_ENV})",
    )
    namespace = argparse.ArgumentParser(add_help=False)
    namespace.add_argument("--ns", default="", help="checkpoint namespace (default: the root)")

    threads = commands.add_parser("threads", parents=[database], help="one line per thread")
    threads.add_argument("--sort", choices=reading.SORT_KEYS, default="activity")
    threads.add_argument("--limit", type=int, default=100, help="0 for all (default: 100)")
    threads.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only threads with a checkpoint whose metadata has this (repeatable)",
    )

    history = commands.add_parser(
        "history", parents=[database, namespace], help="a thread's checkpoints, newest first"
    )
    history.add_argument("thread")
    history.add_argument("--limit", type=int, default=None)

    show = commands.add_parser(
        "show", parents=[database, namespace], help="a checkpoint's channel values"
    )
    show.add_argument("thread")
    show.add_argument("checkpoint", nargs="?", help="id or unique prefix (default: latest)")

    diff = commands.add_parser(
        "diff", parents=[database, namespace], help="what changed between two checkpoints"
    )
    diff.add_argument("thread")
    diff.add_argument("a", help="the older checkpoint (id or unique prefix)")
    diff.add_argument("b", help="the newer checkpoint (id or unique prefix)")

    stats = commands.add_parser("stats", parents=[database], help="totals, sizes, growth")
    stats.add_argument("--top", type=int, default=10, help="largest threads shown")
    stats.add_argument(
        "--sample", type=int, default=1000, help="threads whose state is measured per channel"
    )

    copy = commands.add_parser(
        "copy", parents=[output], help="copy threads between backends (resumable)"
    )
    copy.add_argument("source", help=URL_HELP)
    copy.add_argument("destination", help=f"{URL_HELP} (set up if new)")
    copy.add_argument("--thread", action="append", default=[], help="only this thread")
    copy.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    return parser


def run(args: argparse.Namespace) -> tuple[Any, str]:
    """The command's data and its text rendering."""
    if args.command == "copy":
        source = open_backend(args.source)
        try:
            destination = open_backend(args.destination, writable=True)
            try:
                report = copying.copy_threads(
                    source, destination, args.thread, progress=not args.no_progress
                )
            finally:
                destination.close()
        finally:
            source.close()
        data = report.as_dict()
        if report.mismatches:
            print(copying.copy_text(data), file=sys.stderr)
            raise CliError(f"copy verification failed: {report.mismatches[0]}")
        return data, copying.copy_text(data)
    if not args.db:
        raise CliError(f"no database: pass --db URL ({URL_HELP}) or set ${DB_ENV}")
    backend = open_backend(args.db)
    try:
        return COMMANDS[args.command](backend, args)
    finally:
        backend.close()


def _threads(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = reading.threads(
        backend,
        sort=args.sort,
        limit=args.limit or None,
        metadata_filter=reading.parse_filter(args.filter),
    )
    return data, reading.threads_text(data)


def _history(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = reading.history(backend, args.thread, args.ns, args.limit)
    return data, reading.history_text(data, args.thread)


def _show(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = reading.show(reading.find_checkpoint(backend, args.thread, args.ns, args.checkpoint))
    return data, reading.show_text(data, args.thread)


def _diff(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    older = reading.find_checkpoint(backend, args.thread, args.ns, args.a)
    newer = reading.find_checkpoint(backend, args.thread, args.ns, args.b)
    data = reading.diff(older, newer)
    return data, reading.diff_text(data)


def _stats(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = reading.stats(backend, top=args.top, sample=args.sample)
    return data, reading.stats_text(data)


COMMANDS: dict[str, Callable[[Backend, argparse.Namespace], tuple[Any, str]]] = {
    "threads": _threads,
    "history": _history,
    "show": _show,
    "diff": _diff,
    "stats": _stats,
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Values the serializer will not rebuild are shown by type name; its warning
    # per blocked type would only repeat that on stderr.
    logging.getLogger("langgraph.checkpoint.serde.jsonplus").setLevel(logging.ERROR)
    try:
        data, text = run(args)
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str) if args.json else text)
        sys.stdout.flush()
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except (CheckpointError, sqlite3.Error, OSError) as exc:
        if isinstance(exc, BrokenPipeError):  # `| head` closed our output: not a failure
            sys.stderr.close()
            return 0
        print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted (a copy resumes when run again)", file=sys.stderr)
        return 130
    except Exception as exc:
        # Driver errors of backends this package does not import (psycopg, ...).
        if type(exc).__module__.split(".")[0] in ("psycopg", "psycopg_pool"):
            print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
            return 1
        raise
    return 0
