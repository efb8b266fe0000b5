"""`AsyncStoreCore`: the SQLite store's methods, written once on its runner
(`AsyncRunner`).

`AsyncSqliteStore` (`aio`) is this core plus what only an asyncio store has;
`SqliteStore` (`base`) is the core generated from it plus what only a sync
store has.
"""
# async-to-sync: generates _store.py
# async-to-sync: rename AsyncStoreCore=StoreCore AsyncRunner=Runner _runner_async=_runner
# async-to-sync: rename AsyncBatchedBaseStore=BaseStore abatch=batch aiosqlite=sqlite3
# async-to-sync: rename aembed_texts=embed_texts aembed_query=embed_query

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.sqlite._connection import Extension, RunnerAttributes
from langgraph.checkpoint.sqlite._runner_async import AsyncRunner
from langgraph.store.base import Op, Result, TTLConfig
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.base.embed import aembed_query, aembed_texts
from langgraph.store.sqlite._dialect import BaseSqliteStore, SqliteIndexConfig

if TYPE_CHECKING:
    import aiosqlite


class AsyncStoreCore(
    RunnerAttributes["aiosqlite.Connection"], AsyncBatchedBaseStore, BaseSqliteStore
):
    """Store on an `aiosqlite.Connection`: each batch of operations is one plan
    run by the store's runner."""

    supports_ttl = True  # BaseStore, earlier in the MRO, says False
    runner: AsyncRunner

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        deserializer: Any = None,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self.runner = AsyncRunner(
            conn,
            owner=self,
            tables="the store tables",
            synchronous=None,
            setup_plans=self._setup_plans,
            extension=Extension(path=self._vec_extension, loaded=self._vec_loaded),
        )
        self._configure(index, ttl, deserializer)

    async def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        self._bind_loop()  # async-only
        await self.runner.setup()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        self._bind_loop()  # async-only
        ops, texts, queries = self._prepare(ops)
        vectors: list[list[float]] = []
        query_vectors: dict[str, list[float]] = {}
        if self.embeddings is not None:  # without an index there is nothing to embed
            if texts:
                vectors = await aembed_texts(self.embeddings, [text for _, _, text in texts])
            for query in queries:
                query_vectors[query] = await aembed_query(self.embeddings, query)
        plan = self._batch_plan(ops, texts, vectors, query_vectors)
        return await self.runner.run(plan, write=self._needs_transaction(ops))

    async def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        self._bind_loop()  # async-only
        return await self.runner.run(self._sweep_plan(), write=True)
