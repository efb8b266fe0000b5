"""The store methods, written once on top of the runner. This module is the
asyncio source of `AsyncPostgresStore`; `_store`, generated from it, is the
one of `PostgresStore`.
"""

# async-to-sync: generates _store.py
# async-to-sync: rename AsyncStoreMethods=StoreMethods AsyncRunnerOwner=RunnerOwner
# async-to-sync: rename AsyncRunner=Runner AsyncConnection=Connection _runner_async=_runner
# async-to-sync: rename AsyncConnectionPool=ConnectionPool AsyncPipeline=Pipeline abatch=batch
# async-to-sync: rename AsyncBatchedBaseStore=BaseStore aembed_texts=embed_texts
# async-to-sync: rename aembed_query=embed_query _start_task_sweeper=_start_thread_sweeper
# async-to-sync: rename _stop_task_sweeper=_stop_thread_sweeper

from __future__ import annotations

import asyncio  # sync: import threading
from collections.abc import AsyncGenerator, Iterable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from langgraph.checkpoint.postgres._conn import STORE_TABLES, Effect, PlanFactory, connect_kwargs
from langgraph.checkpoint.postgres._runner_async import AsyncRunner, AsyncRunnerOwner, opened
from langgraph.store.base import Op, Result, TTLConfig
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.base.embed import aembed_query, aembed_texts
from langgraph.store.postgres._layout import BasePostgresStore, PoolConfig, PostgresIndexConfig
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool
from typing_extensions import Self

T = TypeVar("T")
Sweeper = asyncio.Task[None]  # sync: Sweeper = threading.Thread


class AsyncStoreMethods(AsyncRunnerOwner, BasePostgresStore, AsyncBatchedBaseStore):
    """What `AsyncPostgresStore` does, on its runner."""

    def __init__(
        self,
        conn: AsyncConnection | AsyncConnectionPool,
        *,
        pipe: AsyncPipeline | None = None,
        deserializer: Any = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self._runner = AsyncRunner(
            type(self).__name__, conn, pipe, tables=STORE_TABLES, binary=False
        )
        self._configure(index, ttl, deserializer)

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
    ) -> AsyncGenerator[Self, None]:
        """A store on a new connection (or pool) to `conn_string`, closed on exit.

        The store owns the connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` is psycopg's: how many times a
        statement runs before it is prepared (0: at once), or None never to
        prepare, which pgbouncer in transaction mode needs. A pool's `kwargs`
        take precedence.
        """
        settings = connect_kwargs(prepare_threshold)
        if pool_config is not None:
            async with AsyncConnectionPool(
                conn_string,
                min_size=pool_config.get("min_size", 1),
                max_size=pool_config.get("max_size"),
                kwargs={**settings, **(pool_config.get("kwargs") or {})},
                open=False,
            ) as pool:
                yield cls(pool, index=index, ttl=ttl)
            return

        make_store = partial(cls, index=index, ttl=ttl)
        async with opened(conn_string, settings, pipeline, make_store) as store:
            yield store

    async def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        self._bind_loop()  # async-only
        for make_plan in self._setup_plan_factories():
            await self._runner.run(make_plan, Effect.REPEATABLE, settle_prepared=True)
        self.is_setup = True

    async def _run(self, make_plan: PlanFactory[T], effect: Effect, transaction: bool = True) -> T:
        self._bind_loop()  # async-only
        if not self.is_setup:
            await self.setup()
        return await self._runner.run(make_plan, effect, transaction=transaction)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops, texts, queries = self._prepare(ops)
        documents = [text for _, _, text in texts]
        vectors = await aembed_texts(self._embedder(), documents) if texts else []
        query_vectors = {q: await aembed_query(self._embedder(), q) for q in queries}
        return await self._run(
            lambda: self._batch_plan(ops, texts, vectors, query_vectors),
            self._batch_effect(ops),
            self._needs_transaction(ops),
        )

    async def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return await self._run(self._sweep_plan, Effect.ONCE)

    async def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> Sweeper:
        """Sweep expired items in the background (a task; for the sync store, a
        thread) until `stop_ttl_sweeper`."""
        return await self._start_task_sweeper(self.sweep_ttl, sweep_interval_minutes)

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return await self._stop_task_sweeper(timeout)
