# Generated from _store_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-sqlite/langgraph/store/sqlite/_store_async.py and run `make sync`.
"""`StoreCore`: the SQLite store's methods, written once on its runner
(`Runner`).

`AsyncSqliteStore` (`aio`) is this core plus what only an asyncio store has;
`SqliteStore` (`base`) is the core generated from it plus what only a sync
store has.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.sqlite._connection import Extension, RunnerAttributes
from langgraph.checkpoint.sqlite._runner import Runner
from langgraph.store.base import Op, Result, TTLConfig
from langgraph.store.base.batch import BaseStore
from langgraph.store.base.embed import embed_query, embed_texts
from langgraph.store.sqlite._dialect import BaseSqliteStore, SqliteIndexConfig

if TYPE_CHECKING:
    import sqlite3


class StoreCore(RunnerAttributes["sqlite3.Connection"], BaseStore, BaseSqliteStore):
    """Store on an `sqlite3.Connection`: each batch of operations is one plan
    run by the store's runner."""

    supports_ttl = True  # BaseStore, earlier in the MRO, says False
    runner: Runner

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        deserializer: Any = None,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self.runner = Runner(
            conn,
            owner=self,
            tables="the store tables",
            synchronous=None,
            setup_plans=self._setup_plans,
            extension=Extension(path=self._vec_extension, loaded=self._vec_loaded),
        )
        self._configure(index, ttl, deserializer)

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        self.runner.setup()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops, texts, queries = self._prepare(ops)
        vectors: list[list[float]] = []
        query_vectors: dict[str, list[float]] = {}
        if self.embeddings is not None:  # without an index there is nothing to embed
            if texts:
                vectors = embed_texts(self.embeddings, [text for _, _, text in texts])
            for query in queries:
                query_vectors[query] = embed_query(self.embeddings, query)
        plan = self._batch_plan(ops, texts, vectors, query_vectors)
        return self.runner.run(plan, write=self._needs_transaction(ops))

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return self.runner.run(self._sweep_plan(), write=True)
