"""Convert a Postgres checkpoint database to compact storage and back.

`compact_database` rewrites the channel blobs of an existing database
(written by the reference packages, by our savers in plain mode, or partly
compact) as a saver with `compact=True` would have written them;
`expand_database` rewrites every delta blob whole, so that the reference
packages read the database again. Each thread is converted in its own
transaction, holding the thread's advisory lock (as deletions do): an
interrupted run leaves every thread either converted or as it was, and
running it again finishes the job (both are idempotent). For `expand`, stop
compact savers first, or they write delta blobs again.

From a shell: `python -m langgraph.checkpoint.postgres.convert compact|expand URI`.
"""

from __future__ import annotations

import argparse
import functools

from langgraph.checkpoint.base.compact import ConversionProgress, progress_bar
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import Effect
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import Connection

__all__ = ["Progress", "compact_database", "expand_database"]

Progress = ConversionProgress


def compact_database(
    conn: Connection,
    *,
    serde: SerializerProtocol | None = None,
    progress: Progress | None = None,
) -> int:
    """Store every thread compactly; returns the number of blobs rewritten.
    `conn` is an autocommit connection (as the savers take); `serde` the
    serializer the savers use (the default one if None)."""
    return _convert(conn, serde, progress, compact=True)


def expand_database(
    conn: Connection,
    *,
    serde: SerializerProtocol | None = None,
    progress: Progress | None = None,
) -> int:
    """Store every delta blob whole again; returns the number of blobs rewritten."""
    return _convert(conn, serde, progress, compact=False)


def _convert(
    conn: Connection, serde: SerializerProtocol | None, progress: Progress | None, *, compact: bool
) -> int:
    saver = PostgresSaver(conn, serde=serde)
    saver.setup()  # the delta guard and its chain reader
    threads = saver._run(lambda: plans.threads_to_convert_plan(compact), Effect.READ)
    rewritten = 0
    for done, thread_id in enumerate(threads, 1):
        plan = functools.partial(plans.convert_thread_plan, saver.serde, thread_id, compact)
        rewritten += saver._run(plan, Effect.ONCE)
        if progress is not None:
            progress(done, len(threads), thread_id)
    return rewritten


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m langgraph.checkpoint.postgres.convert", description=__doc__
    )
    parser.add_argument("direction", choices=("compact", "expand"))
    parser.add_argument("uri", help="the database's connection string")
    args = parser.parse_args(argv)
    convert = compact_database if args.direction == "compact" else expand_database
    with Connection.connect(args.uri, autocommit=True) as conn:
        rewritten = convert(conn, progress=progress_bar)
    print(f"{args.direction}: {rewritten} blobs rewritten")


if __name__ == "__main__":
    main()
