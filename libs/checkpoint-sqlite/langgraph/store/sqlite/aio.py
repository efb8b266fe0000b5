"""`AsyncSqliteStore`: the SQLite store for asyncio, on an `aiosqlite` connection.

Concurrent calls are coalesced into one batch (`AsyncBatchedBaseStore`); the
batch runs the same plans, through the same methods (`_store_async`), as
`SqliteStore`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

import aiosqlite
from langgraph.checkpoint.sqlite._connection import BUSY_TIMEOUT_MS
from langgraph.store.base import (
    GetOp,
    ListNamespacesOp,
    PutOp,
    SearchOp,
    TTLConfig,
)
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.sqlite._dialect import BaseSqliteStore, SqliteIndexConfig
from langgraph.store.sqlite._store_async import AsyncStoreCore

__all__ = [
    "AsyncBatchedBaseStore",
    "AsyncSqliteStore",
    "BaseSqliteStore",
    "GetOp",
    "ListNamespacesOp",
    "PutOp",
    "SearchOp",
    "SqliteIndexConfig",
    "TTLConfig",
]

# The reference package's constant, kept for code that imports it.
NS_MATCH_FUNCTION = "_langgraph_namespace_match"


class AsyncSqliteStore(AsyncStoreCore):
    """Store on an `aiosqlite.Connection`."""

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> AsyncIterator[AsyncSqliteStore]:
        timeout = BUSY_TIMEOUT_MS / 1000
        async with aiosqlite.connect(conn_string, timeout=timeout, isolation_level=None) as conn:
            yield cls(conn, index=index, ttl=ttl)

    async def __aenter__(self) -> AsyncSqliteStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.stop_ttl_sweeper()

    async def start_ttl_sweeper(
        self, sweep_interval_minutes: int | None = None
    ) -> asyncio.Task[None]:
        """Sweep expired items in a background task until `stop_ttl_sweeper`."""
        return await self._start_task_sweeper(self.sweep_ttl, sweep_interval_minutes)

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return await self._stop_task_sweeper(timeout)
