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

The methods are written once, async, in `_saver_async` (generated sync in
`_saver`); every connection access goes through the runner (`_runner_async`,
generated `_runner`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.base.retention import AsyncRetentionUnsupported, CheckpointTTLConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite._connection import BUSY_TIMEOUT_MS, Synchronous, retry_busy
from langgraph.checkpoint.sqlite._saver import SaverCore

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
    "retry_busy",
]


class SqliteSaver(AsyncRetentionUnsupported, SaverCore):
    """Checkpoint saver on a `sqlite3.Connection`.

    Safe to share between threads when the connection was opened with
    `check_same_thread=False` (as `from_conn_string` does): calls are
    serialized by a lock. The schema is created on first use (or by `setup()`).
    For asyncio code use `AsyncSqliteSaver`.
    """

    async_alternative = (
        "AsyncSqliteSaver (from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver)"
    )

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        synchronous: Synchronous | None = "NORMAL",
        compact: bool = False,
        ttl: CheckpointTTLConfig | None = None,
    ) -> Iterator[SqliteSaver]:
        """A saver on a new connection to `conn_string` (a path or ":memory:"), closed on exit
        (its TTL sweeper, if started, is stopped first)."""
        conn = sqlite3.connect(conn_string, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            saver = cls(conn, synchronous=synchronous, compact=compact, ttl=ttl)
            try:
                yield saver
            finally:
                saver.stop_ttl_sweeper()
        finally:
            conn.close()

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        """A cursor on the saver's connection, under its lock (committed after use)."""
        with self.runner.connection() as conn:
            cur = conn.cursor()
            try:
                yield cur
                if transaction:
                    conn.commit()
            finally:
                cur.close()
