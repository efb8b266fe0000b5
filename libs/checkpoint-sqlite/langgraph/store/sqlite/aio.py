"""`AsyncSqliteStore`: the SQLite store for asyncio, on an `aiosqlite` connection.

Concurrent calls are coalesced into one batch (`AsyncBatchedBaseStore`); the
batch runs the same plans as `SqliteStore`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, adrive
from langgraph.checkpoint.sqlite.aio import aretry_busy
from langgraph.store.base import (
    GetOp,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
)
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.base.embed import aembed_query, aembed_texts
from langgraph.store.sqlite.base import BaseSqliteStore, SqliteIndexConfig

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

NS_MATCH_FUNCTION = "_langgraph_namespace_match"


class AsyncSqliteStore(AsyncBatchedBaseStore, BaseSqliteStore):
    """Store on an `aiosqlite.Connection`."""

    supports_ttl = True  # BaseStore, earlier in the MRO, says False

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        deserializer: Any = None,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ):
        super().__init__()
        self.conn = conn
        self.lock = asyncio.Lock()
        self._configure(index, ttl)

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> AsyncIterator[AsyncSqliteStore]:
        async with aiosqlite.connect(conn_string, timeout=30, isolation_level=None) as conn:
            yield cls(conn, index=index, ttl=ttl)

    async def __aenter__(self) -> AsyncSqliteStore:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self.stop_ttl_sweeper()

    async def _transaction(self, plan: Plan, atomic: bool = True) -> Any:
        conn = self.conn

        async def execute(step: Step) -> Any:
            if isinstance(step, ExecuteMany):
                await conn.executemany(step.sql, step.rows)
                return None
            async with conn.execute(step.sql, step.params) as cur:
                return await cur.fetchall() if isinstance(step, Query) else None

        if not atomic:
            result = await adrive(plan, execute)
            if conn.in_transaction:  # a connection not in autocommit mode
                await conn.commit()
            return result
        await aretry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            result = await adrive(plan, execute)
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        return result

    async def _setup_locked(self) -> None:
        await self.conn.execute("PRAGMA busy_timeout = 30000")
        # A fresh file refuses the WAL switch at once while another process
        # holds its lock (see retry_busy).
        await aretry_busy(lambda: self.conn.execute_fetchall("PRAGMA journal_mode = WAL"))
        if path := self._vec_extension():
            try:
                await self.conn.enable_load_extension(True)
                try:
                    await self.conn.load_extension(path)
                finally:
                    await self.conn.enable_load_extension(False)
            except (AttributeError, sqlite3.Error) as exc:
                self._vec_loaded(exc)
            else:
                self._vec_loaded(None)
        for plan in self._setup_plans():
            await self._transaction(plan)
        self.is_setup = True

    async def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        self._bind_loop()
        async with self.lock:
            await self._setup_locked()

    async def _run(self, plan: Plan, atomic: bool = True) -> Any:
        self._bind_loop()
        async with self.lock:
            if not self.is_setup:
                await self._setup_locked()
            return await self._transaction(plan, atomic)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops, texts, queries = self._prepare(ops)
        vectors = await aembed_texts(self.embeddings, [t for _, _, t in texts]) if texts else []
        query_vectors = {q: await aembed_query(self.embeddings, q) for q in queries}
        return await self._run(
            self._batch_plan(ops, texts, vectors, query_vectors), self._needs_transaction(ops)
        )

    async def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return await self._run(self._sweep_plan())

    async def start_ttl_sweeper(
        self, sweep_interval_minutes: int | None = None
    ) -> asyncio.Task[None]:
        """Sweep expired items in a background task until `stop_ttl_sweeper`."""
        return await self._start_task_sweeper(self.sweep_ttl, sweep_interval_minutes)

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return await self._stop_task_sweeper(timeout)
