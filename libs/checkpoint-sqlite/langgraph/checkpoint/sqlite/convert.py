"""Convert a SQLite checkpoint database to compact storage and back.

`compact_database` rewrites an existing database (written by the reference
packages, by our savers in plain mode, or partly compact) as a saver with
`compact=True` would have written it; `expand_database` rewrites every
compact row plain, so that the reference packages read the file again. Each
thread is converted in its own write transaction: an interrupted run leaves
every thread either converted or as it was, and running it again finishes
the job (both are idempotent). Other processes may keep using the file
meanwhile; for `expand`, stop compact savers first, or they write compact rows
again.

From a shell: `python -m langgraph.checkpoint.sqlite.convert compact|expand PATH`.
"""

from __future__ import annotations

import argparse
import sqlite3

from langgraph.checkpoint.base.compact import ConversionProgress, progress_bar
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite import _plans as plans

__all__ = ["Progress", "compact_database", "expand_database"]

Progress = ConversionProgress


def compact_database(
    conn: sqlite3.Connection,
    *,
    serde: SerializerProtocol | None = None,
    progress: Progress | None = None,
) -> int:
    """Store every thread compactly; returns the number of rows rewritten.
    `serde` must be the serializer the savers use (the default one if None)."""
    return _convert(conn, serde, progress, compact=True)


def expand_database(
    conn: sqlite3.Connection,
    *,
    serde: SerializerProtocol | None = None,
    progress: Progress | None = None,
) -> int:
    """Store every compact row plain again; returns the number of rows rewritten."""
    return _convert(conn, serde, progress, compact=False)


def _convert(
    conn: sqlite3.Connection,
    serde: SerializerProtocol | None,
    progress: Progress | None,
    *,
    compact: bool,
) -> int:
    saver = SqliteSaver(conn, serde=serde)
    threads = saver.runner.run(plans.threads_to_convert_plan(compact))
    rewritten = 0
    for done, thread_id in enumerate(threads, 1):
        plan = plans.convert_thread_plan(saver.serde, thread_id, compact)
        rewritten += saver.runner.run(plan, write=True)
        if progress is not None:
            progress(done, len(threads), thread_id)
    return rewritten


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m langgraph.checkpoint.sqlite.convert", description=__doc__
    )
    parser.add_argument("direction", choices=("compact", "expand"))
    parser.add_argument("path", help="the SQLite database file")
    args = parser.parse_args(argv)
    convert = compact_database if args.direction == "compact" else expand_database
    with SqliteSaver.from_conn_string(args.path) as saver:
        rewritten = convert(saver.conn, progress=progress_bar)
    print(f"{args.direction}: {rewritten} rows rewritten")


if __name__ == "__main__":
    main()
