"""The `langgraph-checkpoint` command's access to a SQLite file.

Read commands open the file with `mode=ro`, so they cannot write even by
mistake, and need no `setup()`: checkpoints are read by the saver's own read
plans (`_plans`), driven here on the read-only connection, since the saver
would first run its setup, which writes. Summaries are single SQL queries
over the primary-key index and blob lengths; no blob is decoded.

Write commands go through a set-up `SqliteSaver`. A dry run ("rehearse")
makes them on a copy of the file in a temporary directory (SQLite's backup
API, which lets the application write meanwhile), so it neither changes the
file nor holds its write lock; it needs as much free space as the file takes.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from langgraph.checkpoint.base import (
    INTERRUPT,
    BaseCheckpointSaver,
    CheckpointTuple,
    RunnableConfig,
    SerializerProtocol,
)
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
from langgraph.checkpoint.base.retention import Retention
from langgraph.checkpoint.cli.backend import (
    Access,
    Backend,
    CliError,
    SaverWriteMethods,
    ThreadRow,
    Totals,
)
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite import _plans as plans
from langgraph.checkpoint.sqlite.convert import compact_database, expand_database

LAYOUT = {
    "checkpoints": {"thread_id", "checkpoint_ns", "checkpoint_id", "parent_checkpoint_id"}
    | {"type", "checkpoint", "metadata"},
    "writes": {"thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx", "channel"}
    | {"type", "value"},
}

# Counted per namespace first, so each level streams in the primary key's order.
THREAD_ROWS = """
SELECT thread_id, sum(n), count(*), max(last_id) FROM (
    SELECT thread_id, checkpoint_ns, count(*) AS n, max(checkpoint_id) AS last_id
    FROM checkpoints GROUP BY thread_id, checkpoint_ns
) GROUP BY thread_id
"""
_CHECKPOINT_BYTES = "length(checkpoint) + coalesce(length(metadata), 0)"
ALL_THREAD_BYTES = f"""
SELECT thread_id, sum(size) FROM (
    SELECT thread_id, {_CHECKPOINT_BYTES} AS size FROM checkpoints
    UNION ALL SELECT thread_id, coalesce(length(value), 0) FROM writes
) GROUP BY thread_id
"""
SOME_THREAD_BYTES = f"""
SELECT j.value,
    coalesce((SELECT sum({_CHECKPOINT_BYTES}) FROM checkpoints c WHERE c.thread_id = j.value), 0)
    + coalesce((SELECT sum(length(w.value)) FROM writes w WHERE w.thread_id = j.value), 0)
FROM json_each(?) j
"""
INTERRUPTED = """
SELECT j.value FROM json_each(?) j WHERE EXISTS (
    SELECT 1 FROM writes w
    WHERE w.thread_id = j.value AND w.checkpoint_ns = '' AND w.channel = ?
    AND w.checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints c
                           WHERE c.thread_id = j.value AND c.checkpoint_ns = ''))
"""


def _run_plan(conn: sqlite3.Connection, plan: Plan) -> Any:
    def execute(step: Step) -> Any:
        if isinstance(step, Query):
            return conn.execute(step.sql, step.params).fetchall()
        kind = "a batch write" if isinstance(step, ExecuteMany) else "a write"
        raise CliError(f"a read plan asked for {kind}: {step.sql[:60]}")

    return drive(plan, execute)


class ReadOnlySqliteSaver(BaseCheckpointSaver[str]):
    """`get_tuple` and `list` exactly as `SqliteSaver` answers them, on a read-only connection."""

    def __init__(self, conn: sqlite3.Connection, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self.conn = conn

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        result: CheckpointTuple | None = _run_plan(
            self.conn, plans.get_tuple_plan(self.serde, config)
        )
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while not pages.done:
            yield from _run_plan(self.conn, pages.next_plan())


class SqliteBackend:
    def __init__(self, conn: sqlite3.Connection, saver: BaseCheckpointSaver[Any]) -> None:
        self.conn = conn
        self.saver = saver

    def thread_rows(self) -> list[ThreadRow]:
        return [ThreadRow(*row) for row in self.conn.execute(THREAD_ROWS)]

    def thread_bytes(self, thread_ids: Sequence[str] | None) -> dict[str, int]:
        if thread_ids is None:
            return dict(self.conn.execute(ALL_THREAD_BYTES).fetchall())
        return dict(self.conn.execute(SOME_THREAD_BYTES, (plans.json_list(thread_ids),)))

    def interrupted(self, thread_ids: Sequence[str]) -> set[str]:
        rows = self.conn.execute(INTERRUPTED, (plans.json_list(thread_ids), INTERRUPT))
        return {thread_id for (thread_id,) in rows}

    def totals(self) -> Totals:
        checkpoints, checkpoint_bytes = self.conn.execute(
            f"SELECT count(*), coalesce(sum({_CHECKPOINT_BYTES}), 0) FROM checkpoints"
        ).fetchone()
        writes, write_bytes = self.conn.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0) FROM writes"
        ).fetchone()
        return Totals(checkpoints, writes, checkpoint_bytes + write_bytes)

    def task_paths(self, thread_id: str, ns: str, checkpoint_id: str) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT DISTINCT task_id, task_path FROM writes "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, checkpoint_id),
        )
        return {task_id: task_path for task_id, task_path in rows}

    def checkpoint_ids(self) -> Iterator[str]:
        for (checkpoint_id,) in self.conn.execute("SELECT checkpoint_id FROM checkpoints"):
            yield checkpoint_id

    def close(self) -> None:
        self.conn.close()


class WritableSqliteBackend(SaverWriteMethods, SqliteBackend):
    """A set-up `SqliteSaver` for the write commands; `cleanup` runs after the
    connection is closed (a rehearsal's copy is removed)."""

    converters = (compact_database, expand_database)

    def __init__(self, conn: sqlite3.Connection, saver: SqliteSaver, cleanup: ExitStack) -> None:
        super().__init__(conn, saver)
        self.writer = saver
        self.cleanup = cleanup

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.cleanup.close()


def database_path(url: str) -> str:
    """`sqlite:///relative.db` or `sqlite:////absolute.db` (SQLAlchemy's spelling)."""
    path = unquote(url.removeprefix("sqlite://").removeprefix("/"))
    if not path:
        raise CliError(f"no file in {url!r} (use sqlite:///path/to.db)")
    return path


def check_layout(conn: sqlite3.Connection, path: str) -> None:
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise CliError(f"{path}: not a SQLite database ({exc})") from exc
    missing = [table for table in LAYOUT if table not in tables]
    if len(missing) == len(LAYOUT):
        raise CliError(
            f"{path}: no checkpoint tables (missing table {missing[0]!r}; "
            "was this database ever written by a SqliteSaver?)"
        )
    if missing:
        raise CliError(f"{path}: missing table {missing[0]!r}")
    for table, wanted in LAYOUT.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if lacking := sorted(wanted - columns):
            raise CliError(
                f"{path}: unknown layout: table {table!r} has no column {', '.join(lacking)}"
            )


def _open_read_only(path: str) -> sqlite3.Connection:
    if not Path(path).is_file():
        raise CliError(f"{path}: no such database file")
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, check_same_thread=False)
    try:
        check_layout(conn, path)
    except CliError:
        conn.close()
        raise
    return conn


def _open_writable(
    path: str, shown_as: str, ttl: Retention | None, cleanup: ExitStack
) -> WritableSqliteBackend:
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn, ttl=ttl)
        try:
            saver.setup()
        except sqlite3.DatabaseError as exc:
            raise CliError(f"{shown_as}: cannot open for writing ({exc})") from exc
        check_layout(conn, shown_as)
    except BaseException:
        conn.close()
        cleanup.close()
        raise
    return WritableSqliteBackend(conn, saver, cleanup)


def _rehearsal_copy(path: str, into: Path) -> str:
    """A copy of the database at `path`, made inside the directory `into`."""
    source = _open_read_only(path)
    copy_path = str(into / Path(path).name)
    try:
        copy = sqlite3.connect(copy_path)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return copy_path


def open_backend(url: str, access: Access, ttl: Retention | None) -> Backend:
    """The entry point registered for `sqlite://` URLs."""
    path = database_path(url)
    if access == "read":
        conn = _open_read_only(path)
        return SqliteBackend(conn, ReadOnlySqliteSaver(conn))
    cleanup = ExitStack()
    if access == "rehearse":
        try:
            scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
            copy_path = _rehearsal_copy(path, scratch)
        except BaseException:
            cleanup.close()
            raise
        return _open_writable(copy_path, path, ttl, cleanup)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _open_writable(path, path, ttl, cleanup)
