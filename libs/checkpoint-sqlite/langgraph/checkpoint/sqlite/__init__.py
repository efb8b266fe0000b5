"""`SqliteSaver`: checkpoints in a SQLite file, through the `sqlite3` module.

The schema is the reference package's, so existing databases keep working.
Writes take the database lock up front (`BEGIN IMMEDIATE`), the journal is WAL
and a busy timeout applies, so several processes can share one file; the few
lock waits SQLite does not cover with its busy handler (switching a fresh file
to WAL while others open it) are retried until the same timeout.

Durability: by default `PRAGMA synchronous=NORMAL` in WAL mode — a committed
checkpoint survives the process crashing (it may be lost only if the machine
itself loses power). Pass `synchronous="FULL"` to survive power loss too, or
`synchronous="OFF"` to trade even process-crash safety of the OS cache for
speed; `None` leaves the connection's setting alone.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    next_string_version,
)
from langgraph.checkpoint.base.bridges import AsyncMethodsUnsupported
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import _plans as plans

__all__ = [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "DeltaChannelHistory",
    "JsonPlusSerializer",
    "SerializerProtocol",
    "SqliteSaver",
    "WRITES_IDX_MAP",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
]

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
BUSY_TIMEOUT_MS = 30_000
SQLITE_BUSY = 5
T = TypeVar("T")


def connection_pragmas(synchronous: Synchronous | None) -> list[str]:
    """Per-connection settings applied before first use (shared with the async saver)."""
    pragmas = [f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"]
    if synchronous is not None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        pragmas.append(f"PRAGMA synchronous = {synchronous.upper()}")
    return pragmas


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF == SQLITE_BUSY
    return "database is locked" in str(exc)


def busy_retry_delays(started: float) -> Iterator[float]:
    """Pauses between attempts of a statement that failed with SQLITE_BUSY
    without SQLite's busy handler waiting (it does not for every lock, e.g. the
    switch to WAL): short, growing and jittered so that processes started
    together spread out, ending BUSY_TIMEOUT_MS after `started` (time.monotonic)."""
    deadline = started + BUSY_TIMEOUT_MS / 1000
    delay = 0.002
    while (left := deadline - time.monotonic()) > 0:
        yield min(left, delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 0.1)


def retry_busy(attempt: Callable[[], T]) -> T:
    """`attempt()`, again after a pause while it fails with SQLITE_BUSY (see above)."""
    delays = busy_retry_delays(time.monotonic())
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or (delay := next(delays, None)) is None:
                raise
        time.sleep(delay)


def closed_connection_error(saver: object) -> RuntimeError:
    return RuntimeError(
        f"{type(saver).__name__}: the SQLite connection is closed; open a new one "
        "(or use from_conn_string as a context manager and call the saver inside it)"
    )


class SqliteSaver(AsyncMethodsUnsupported, BaseCheckpointSaver[str]):
    """Checkpoint saver on a `sqlite3.Connection`.

    Safe to share between threads when the connection was opened with
    `check_same_thread=False` (as `from_conn_string` does): calls are
    serialized by a lock. The schema is created on first use (or by `setup()`).
    For asyncio code use `AsyncSqliteSaver`.
    """

    async_alternative = (
        "AsyncSqliteSaver (from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver)"
    )

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        serde: SerializerProtocol | None = None,
        synchronous: Synchronous | None = "NORMAL",
    ) -> None:
        super().__init__(serde=serde)
        self.conn = conn
        self.synchronous = synchronous
        self.is_setup = False
        self.lock = threading.Lock()

    @classmethod
    @contextmanager
    def from_conn_string(
        cls, conn_string: str, *, synchronous: Synchronous | None = "NORMAL"
    ) -> Iterator[SqliteSaver]:
        """A saver on a new connection to `conn_string` (a path or ":memory:"), closed on exit."""
        conn = sqlite3.connect(conn_string, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            yield cls(conn, synchronous=synchronous)
        finally:
            conn.close()

    # -- running plans ---------------------------------------------------

    def setup(self) -> None:
        """Create the tables (or migrate an older layout). Idempotent."""
        with self.lock:
            self._setup_locked()

    def _setup_locked(self) -> None:
        try:
            for pragma in connection_pragmas(self.synchronous):
                self.conn.execute(pragma)
            retry_busy(lambda: self.conn.execute(plans.WAL).fetchall())
            self._drive(plans.setup_plan(), write=True)
        except sqlite3.ProgrammingError as exc:
            raise self._translate(exc) from exc
        self.is_setup = True

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        """A cursor on the saver's connection, under its lock (committed after use)."""
        with self.lock:
            if not self.is_setup:
                self._setup_locked()
            cur = self.conn.cursor()
            try:
                yield cur
                if transaction:
                    self.conn.commit()
            finally:
                cur.close()

    def _run(self, plan: Plan, *, write: bool = False) -> Any:
        with self.lock:
            if not self.is_setup:
                self._setup_locked()
            try:
                return self._drive(plan, write=write)
            except sqlite3.ProgrammingError as exc:
                raise self._translate(exc) from exc

    def _drive(self, plan: Plan, *, write: bool) -> Any:
        cur = self.conn.cursor()

        def execute(step: Step) -> Any:
            if isinstance(step, Query):
                return cur.execute(step.sql, step.params).fetchall()
            if isinstance(step, ExecuteMany):
                cur.executemany(step.sql, step.rows)
            else:
                cur.execute(step.sql, step.params)
            return None

        try:
            if write:
                retry_busy(lambda: cur.execute("BEGIN IMMEDIATE"))
            try:
                result = drive(plan, execute)
            except BaseException:
                if write and self.conn.in_transaction:
                    self.conn.rollback()
                raise
            if write:
                self.conn.commit()
            return result
        finally:
            cur.close()

    def _translate(self, exc: sqlite3.ProgrammingError) -> Exception:
        if "closed" in str(exc).lower():
            return closed_connection_error(self)
        return exc

    # -- the saver interface -----------------------------------------------

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._run(plans.get_tuple_plan(self.serde, config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Newest first, read a page at a time: the saver's lock is free between
        pages, so the loop body may call the saver."""
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while (plan := pages.next_plan()) is not None:
            yield from self._run(plan)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata)
        return self._run(plans.put_plan(prepared), write=True)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        self._run(plans.put_writes_plan(statement), write=True)

    def delete_thread(self, thread_id: str) -> None:
        self._run(plans.delete_thread_plan(thread_id), write=True)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._run(plans.delete_for_runs_plan(run_ids), write=True)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(plans.copy_thread_plan(source_thread_id, target_thread_id), write=True)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._run(plans.prune_plan(self.serde, thread_ids, strategy), write=True)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._run(plans.delta_history_plan(self.serde, config, channels))
