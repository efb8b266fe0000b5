"""The `langgraph-checkpoint` command's access to a PostgreSQL database.

Read commands run on a session whose transactions are all read-only (`SET
SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`): the server refuses any
write, and no `setup()` is needed, since `PostgresSaver` reads without one.
Summaries are single SQL queries over the primary-key indexes and stored
sizes; no blob is decoded.

Write commands go through a set-up `PostgresSaver`. A dry run ("rehearse")
makes them, setup included, inside one transaction that is rolled back at
the end: nothing is kept, but the rows it touched stay locked until then
(writers to those threads wait).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
from langgraph.checkpoint.base import INTERRUPT
from langgraph.checkpoint.base.retention import Retention
from langgraph.checkpoint.cli.backend import (
    Access,
    Backend,
    CliError,
    SaverWriteMethods,
    ThreadRow,
    Totals,
)
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.convert import compact_database, expand_database

LAYOUT = {
    "checkpoints": {"thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id"}
    | {"type", "checkpoint", "metadata"},
    "checkpoint_blobs": {"thread_id", "checkpoint_ns", "channel", "version", "type", "blob"},
    "checkpoint_writes": {"thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"}
    | {"channel", "type", "blob"},
}

# Counted per namespace first, so each level streams in the primary key's order.
THREAD_ROWS = """
SELECT thread_id, sum(n)::bigint, count(*), max(last_id) FROM (
    SELECT thread_id, checkpoint_ns, count(*) AS n, max(checkpoint_id) AS last_id
    FROM checkpoints GROUP BY thread_id, checkpoint_ns
) per_namespace GROUP BY thread_id
"""
_SIZES = """
    SELECT thread_id, pg_column_size(checkpoint) + pg_column_size(metadata) AS size
    FROM checkpoints {where}
    UNION ALL SELECT thread_id, coalesce(octet_length(blob), 0) FROM checkpoint_blobs {where}
    UNION ALL SELECT thread_id, octet_length(blob) FROM checkpoint_writes {where}
"""
ALL_THREAD_BYTES = (
    f"SELECT thread_id, sum(size)::bigint FROM ({_SIZES.format(where='')}) s GROUP BY 1"
)
SOME_THREAD_BYTES = (
    f"SELECT thread_id, sum(size)::bigint FROM "
    f"({_SIZES.format(where='WHERE thread_id = ANY(%(ids)s)')}) s GROUP BY 1"
)
INTERRUPTED = """
SELECT t FROM unnest(%s::text[]) t WHERE EXISTS (
    SELECT 1 FROM checkpoint_writes w
    WHERE w.thread_id = t AND w.checkpoint_ns = '' AND w.channel = %s
    AND w.checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints c
                           WHERE c.thread_id = t AND c.checkpoint_ns = ''))
"""
TOTALS = f"""
SELECT (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM checkpoint_writes),
       (SELECT coalesce(sum(size), 0)::bigint FROM ({_SIZES.format(where="")}) s)
"""
COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY(%s)
"""


class PostgresBackend:
    def __init__(self, conn: psycopg.Connection[Any], saver: PostgresSaver) -> None:
        self.conn = conn
        self.saver = saver

    def thread_rows(self) -> list[ThreadRow]:
        return [ThreadRow(*row) for row in self.conn.execute(THREAD_ROWS)]

    def thread_bytes(self, thread_ids: Sequence[str] | None) -> dict[str, int]:
        if thread_ids is None:
            return dict(self.conn.execute(ALL_THREAD_BYTES).fetchall())
        return dict(self.conn.execute(SOME_THREAD_BYTES, {"ids": list(thread_ids)}).fetchall())

    def interrupted(self, thread_ids: Sequence[str]) -> set[str]:
        rows = self.conn.execute(INTERRUPTED, (list(thread_ids), INTERRUPT))
        return {thread_id for (thread_id,) in rows}

    def totals(self) -> Totals:
        row = self.conn.execute(TOTALS).fetchone()
        assert row is not None  # an aggregate always returns its row
        return Totals(*row)

    def task_paths(self, thread_id: str, ns: str, checkpoint_id: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT DISTINCT task_id, task_path FROM checkpoint_writes "
            "WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s",
            (thread_id, ns, checkpoint_id),
        )
        return {task_id: task_path for task_id, task_path in rows}

    def checkpoint_ids(self) -> Iterator[str]:
        for (checkpoint_id,) in self.conn.cursor().stream("SELECT checkpoint_id FROM checkpoints"):
            yield checkpoint_id

    def close(self) -> None:
        self.conn.close()


class WritablePostgresBackend(SaverWriteMethods, PostgresBackend):
    """A set-up `PostgresSaver` for the write commands; `transaction`, if any,
    is the rehearsal's, rolled back on `close`."""

    converters = (compact_database, expand_database)

    def __init__(
        self, conn: psycopg.Connection[Any], saver: PostgresSaver, transaction: ExitStack
    ) -> None:
        super().__init__(conn, saver)
        self.writer = saver
        self.transaction = transaction

    def close(self) -> None:
        try:
            self.transaction.close()
        finally:
            super().close()


def check_layout(conn: psycopg.Connection[Any], where: str) -> None:
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(COLUMNS, (list(LAYOUT),)):
        found.setdefault(table, set()).add(column)
    missing = [table for table in LAYOUT if table not in found]
    if len(missing) == len(LAYOUT):
        raise CliError(
            f"{where}: no checkpoint tables (missing table {missing[0]!r}; "
            "run PostgresSaver.setup() or copy into it, which sets it up)"
        )
    if missing:
        raise CliError(f"{where}: missing table {missing[0]!r}")
    for table, wanted in LAYOUT.items():
        if lacking := sorted(wanted - found[table]):
            raise CliError(
                f"{where}: unknown layout: table {table!r} has no column {', '.join(lacking)}"
            )


def open_backend(url: str, access: Access, ttl: Retention | None) -> Backend:
    """The entry point registered for `postgresql://` and `postgres://` URLs."""
    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CliError(f"cannot connect to PostgreSQL: {reason}") from exc
    where = f"database {conn.info.dbname!r} on {conn.info.host}:{conn.info.port}"
    transaction = ExitStack()
    try:
        saver = PostgresSaver(conn, ttl=ttl)
        if access == "read":
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            check_layout(conn, where)
            return PostgresBackend(conn, saver)
        if access == "rehearse":
            # The saver's own transactions become savepoints of this one.
            transaction.enter_context(conn.transaction(force_rollback=True))
        saver.setup()
        check_layout(conn, where)
    except BaseException:
        transaction.close()
        conn.close()
        raise
    return WritablePostgresBackend(conn, saver, transaction)
