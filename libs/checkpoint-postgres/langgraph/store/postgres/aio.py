"""`AsyncPostgresStore`: the Postgres store for asyncio (psycopg 3 async).

Concurrent calls are coalesced into one batch (`AsyncBatchedBaseStore`); the
batch runs the same plans as `PostgresStore`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.base.plan import Plan, adrive
from langgraph.checkpoint.postgres._conn import aborrow, astep_executor, connect_kwargs
from langgraph.checkpoint.postgres._plans import SETTLE_PREPARED
from langgraph.checkpoint.postgres.base import translate_error
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
from langgraph.store.postgres.base import (
    BasePostgresStore,
    PoolConfig,
    PostgresIndexConfig,
    Row,
    in_pipeline,
)
from psycopg_pool import AsyncConnectionPool

__all__ = [
    "AsyncBatchedBaseStore",
    "AsyncPostgresStore",
    "BasePostgresStore",
    "GetOp",
    "ListNamespacesOp",
    "PoolConfig",
    "PostgresIndexConfig",
    "PutOp",
    "Row",
    "SearchOp",
    "TTLConfig",
]


class AsyncPostgresStore(AsyncBatchedBaseStore, BasePostgresStore):
    """Store on a psycopg `AsyncConnection` or `AsyncConnectionPool`."""

    supports_ttl = True  # BaseStore, earlier in the MRO, says False

    def __init__(
        self,
        conn: psycopg.AsyncConnection | AsyncConnectionPool,
        *,
        pipe: psycopg.AsyncPipeline | None = None,
        deserializer: Any = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self.conn = conn
        self.pipe = pipe
        self.lock = asyncio.Lock()
        self._configure(index, ttl)

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        pool_config: PoolConfig | None = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
        prepare_threshold: int | None = 0,
    ) -> AsyncIterator[AsyncPostgresStore]:
        """Async `PostgresStore.from_conn_string`."""
        kwargs = connect_kwargs(prepare_threshold)
        if pool_config is not None:
            async with AsyncConnectionPool(
                conn_string,
                min_size=pool_config.get("min_size", 1),
                max_size=pool_config.get("max_size"),
                kwargs={**kwargs, **(pool_config.get("kwargs") or {})},
                open=False,
            ) as pool:
                yield cls(pool, index=index, ttl=ttl)
            return
        async with await psycopg.AsyncConnection.connect(conn_string, **kwargs) as conn:
            if pipeline:
                async with conn.pipeline() as pipe:
                    yield cls(conn, pipe=pipe, index=index, ttl=ttl)
            else:
                yield cls(conn, index=index, ttl=ttl)

    async def __aenter__(self) -> AsyncPostgresStore:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self.stop_ttl_sweeper()

    async def _drive(self, plan: Plan, atomic: bool = True) -> Any:
        async with (
            aborrow(self, self.conn, self.lock) as conn,
            astep_executor(conn, binary=False) as execute,
        ):
            if atomic or not conn.autocommit:
                # Pipelined: BEGIN, the writes and COMMIT travel together.
                async with conn.pipeline(), conn.transaction():
                    return await adrive(plan, execute)
            if in_pipeline(conn):
                async with conn.pipeline():  # its exit syncs: see `in_pipeline`
                    return await adrive(plan, execute)
            return await adrive(plan, execute)

    async def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        self._bind_loop()
        async with (
            aborrow(self, self.conn, self.lock) as conn,
            astep_executor(conn, binary=False) as execute,
        ):
            for plan in self._setup_plans():
                async with conn.transaction():
                    await adrive(plan, execute)
            async with conn.cursor() as cur:
                await cur.execute(SETTLE_PREPARED, prepare=False)
        self.is_setup = True

    async def _run(self, plan: Plan, atomic: bool = True) -> Any:
        self._bind_loop()
        if not self.is_setup:
            await self.setup()
        try:
            return await self._drive(plan, atomic)
        except psycopg.Error as exc:
            raise translate_error(self, exc, self.conn) from exc

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
