"""`SqliteStore`: LangGraph's long-term memory store in a SQLite file.

The tables are the reference package's (see `_dialect`), so existing store
files keep working. The logic lives in `langgraph.store.base.sqlplans`, shared
with the Postgres store, and is spelled in SQLite by the dialect in `_dialect`;
the methods are written once in `_store_async`, and this class is their
generated sync form (`_store`) plus what only it has.

Semantic search stores each embedding as float32 bytes (sqlite-vec's layout)
and ranks by cosine similarity. With `sqlite-vec` installed and a Python whose
sqlite3 can load extensions, SQLite computes the similarity; otherwise the
store says so in the log and computes it in Python, with the same scores.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from langgraph.checkpoint.sqlite._connection import BUSY_TIMEOUT_MS
from langgraph.store.base import Op, Result, TTLConfig
from langgraph.store.sqlite._dialect import (
    MIGRATIONS,
    SQLITE,
    SQLITE_VEC,
    VECTOR_MIGRATIONS,
    BaseSqliteStore,
    SqliteIndexConfig,
    sqlite_vec_path,
)
from langgraph.store.sqlite._store import StoreCore

__all__ = [
    "BaseSqliteStore",
    "MIGRATIONS",
    "SQLITE",
    "SQLITE_VEC",
    "SqliteIndexConfig",
    "SqliteStore",
    "VECTOR_MIGRATIONS",
    "sqlite_vec_path",
]


class SqliteStore(StoreCore):
    """Store on a `sqlite3.Connection` (opened with `check_same_thread=False`
    to share it between threads; calls are serialized by a lock)."""

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> Iterator[SqliteStore]:
        conn = sqlite3.connect(
            conn_string,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )
        try:
            yield cls(conn, index=index, ttl=ttl)
        finally:
            conn.close()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> threading.Thread:
        """Sweep expired items in a background thread until `stop_ttl_sweeper`."""
        return self._start_thread_sweeper(self.sweep_ttl, sweep_interval_minutes)

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return self._stop_thread_sweeper(timeout)
