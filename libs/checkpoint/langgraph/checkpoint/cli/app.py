"""Command line: arguments, output format, exit codes.

Exit codes: 0 success, 1 an operational failure (one line on stderr: a wrong
URL, a missing table, an unknown layout, a failed verification, a write
declined at its prompt), 2 a usage error (argparse's, or a write command
without `--yes` whose stdin is not a terminal), 130 interrupted.
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

from langgraph.checkpoint.base.retention import CheckpointTTLConfig, Retention, validated_ttl
from langgraph.checkpoint.cli import copying, reading, writing
from langgraph.checkpoint.cli.backend import Backend, CliError, WritableBackend, open_backend
from langgraph.checkpoint.errors import CheckpointError

PROG = "langgraph-checkpoint"
DB_ENV = "LANGGRAPH_CHECKPOINT_DB"
URL_HELP = "sqlite:///path.db, postgresql://user@host/db, or module:factory"
PRUNE_STRATEGIES = ("keep_latest", "keep_last", "delete")
SWEEP_STRATEGIES = ("delete", "keep_latest")


class UsageError(CliError):
    """A command line that cannot run as given: exit code 2, like argparse's errors."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of minutes, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect, copy and clean LangGraph checkpoint databases. "
        "Read commands open the database read-only and never need setup(); "
        "write commands ask first (or take --yes) and have --dry-run.",
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

    write = argparse.ArgumentParser(add_help=False, parents=[database])
    write.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    write.add_argument(
        "--dry-run", action="store_true", help="say what would be done, change nothing"
    )

    prune = commands.add_parser("prune", parents=[write], help="drop old checkpoints of threads")
    prune.add_argument("threads", nargs="+", metavar="THREAD")
    prune.add_argument(
        "--strategy",
        choices=PRUNE_STRATEGIES,
        default="keep_latest",
        help="keep what each namespace's latest checkpoint needs (default), "
        "the newest --keep N, or delete the threads",
    )
    prune.add_argument("--keep", type=_positive_int, metavar="N", help="with keep_last")

    sweep = commands.add_parser(
        "sweep", parents=[write], help="one TTL sweep (also applies per-thread TTLs)"
    )
    sweep.add_argument(
        "--ttl", type=_positive_minutes, metavar="MINUTES", help="expire threads idle this long"
    )
    sweep.add_argument(
        "--strategy",
        choices=SWEEP_STRATEGIES,
        default="delete",
        help="what expiry does to a thread (default: delete)",
    )
    sweep.add_argument(
        "--keep-last", type=_positive_int, metavar="N", help="trim every thread to N checkpoints"
    )

    for direction, summary in (
        ("compact", "store list channels as deltas (the reference packages cannot read it)"),
        ("expand", "store compact rows plain again (readable by the reference packages)"),
    ):
        convert = commands.add_parser(direction, parents=[write], help=summary)
        convert.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    return parser


def run(args: argparse.Namespace) -> tuple[Any, str]:
    """The command's data and its text rendering."""
    if args.command == "copy":
        source = open_backend(args.source)
        try:
            destination = open_backend(args.destination, "write")
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
    if args.command in WRITE_COMMANDS:
        return run_write(args)
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


# -- write commands -------------------------------------------------------------------


def run_write(args: argparse.Namespace) -> tuple[Any, str]:
    """Check the arguments, ask, then run on a backend opened to write (or to rehearse)."""
    question, operation = WRITE_COMMANDS[args.command]
    ttl = _sweep_retention(args) if args.command == "sweep" else None
    if args.command == "prune":
        _check_keep(args)
    if not (args.dry_run or args.yes):
        confirm(args.command, question(args))
    backend = open_backend(args.db, "rehearse" if args.dry_run else "write", ttl)
    try:
        if not isinstance(backend, WritableBackend):
            raise CliError(f"{args.command} needs a sqlite:// or postgresql:// database")
        data = operation(backend, args)
    finally:
        backend.close()
    return data, writing.write_text(data)


def confirm(command: str, question: str) -> None:
    """Ask on the terminal; with no terminal to ask on, refuse (scripts pass --yes)."""
    if not sys.stdin.isatty():
        raise UsageError(
            f"{command} changes the database: pass --yes to run it without a terminal "
            "(or --dry-run to see what it would do)"
        )
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise CliError(f"{command} not confirmed: nothing was changed")


def _check_keep(args: argparse.Namespace) -> None:
    if args.strategy == "keep_last" and args.keep is None:
        raise UsageError("--strategy keep_last needs --keep N")
    if args.strategy != "keep_last" and args.keep is not None:
        raise UsageError(f"--keep goes with --strategy keep_last, not {args.strategy}")


def _sweep_retention(args: argparse.Namespace) -> Retention:
    option: CheckpointTTLConfig = {"strategy": args.strategy}
    if args.ttl is not None:
        option["default_ttl"] = args.ttl
    if args.keep_last is not None:
        option["keep_last"] = args.keep_last
    retention = validated_ttl(option)
    assert retention is not None  # an option was given
    return retention


def _prune_question(args: argparse.Namespace) -> str:
    how = f"keep_last {args.keep}" if args.strategy == "keep_last" else args.strategy
    return f"Prune {len(args.threads)} thread(s) of {args.db} ({how})?"


def _sweep_question(args: argparse.Namespace) -> str:
    rules = [f"{args.strategy} threads idle for {args.ttl:g} minutes"] if args.ttl else []
    if args.keep_last:
        rules.append(f"trim every thread to its last {args.keep_last} checkpoints")
    rules.append("apply the threads' own TTLs")
    return f"Sweep {args.db}: {', '.join(rules)}?"


def _convert_question(args: argparse.Namespace) -> str:
    if args.command == "compact":
        return (
            f"Rewrite every thread of {args.db} compactly (the reference packages cannot read it)?"
        )
    return f"Rewrite the compact rows of {args.db} plain (stop compact savers first)?"


def _prune(backend: WritableBackend, args: argparse.Namespace) -> dict[str, Any]:
    return writing.prune(
        backend, args.threads, strategy=args.strategy, keep=args.keep, dry_run=args.dry_run
    )


def _sweep(backend: WritableBackend, args: argparse.Namespace) -> dict[str, Any]:
    return writing.sweep(backend, dry_run=args.dry_run)


def _convert(backend: WritableBackend, args: argparse.Namespace) -> dict[str, Any]:
    return writing.convert(
        backend,
        compact=args.command == "compact",
        dry_run=args.dry_run,
        progress=not args.no_progress,
    )


WRITE_COMMANDS: dict[
    str,
    tuple[
        Callable[[argparse.Namespace], str],
        Callable[[WritableBackend, argparse.Namespace], dict[str, Any]],
    ],
] = {
    "prune": (_prune_question, _prune),
    "sweep": (_sweep_question, _sweep),
    "compact": (_convert_question, _convert),
    "expand": (_convert_question, _convert),
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
        return 2 if isinstance(exc, UsageError) else 1
    except (CheckpointError, sqlite3.Error, OSError) as exc:
        if isinstance(exc, BrokenPipeError):  # `| head` closed our output: not a failure
            sys.stderr.close()
            return 0
        print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\n{PROG}: interrupted (copy, compact and expand resume when run again)",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:
        # Driver errors of backends this package does not import (psycopg, ...).
        if type(exc).__module__.split(".")[0] in ("psycopg", "psycopg_pool"):
            print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
            return 1
        raise
    return 0
