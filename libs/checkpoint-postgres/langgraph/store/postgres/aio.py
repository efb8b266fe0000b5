"""`AsyncPostgresStore`: the Postgres store for asyncio (psycopg 3 async).

Concurrent calls are coalesced into one batch (`AsyncBatchedBaseStore`); the
batch runs the same plans as `PostgresStore`.
"""

from __future__ import annotations

from typing import Any

from langgraph.store.base import GetOp, ListNamespacesOp, PutOp, SearchOp, TTLConfig
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.postgres._store_async import AsyncStoreMethods
from langgraph.store.postgres.base import BasePostgresStore, PoolConfig, PostgresIndexConfig, Row

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


class AsyncPostgresStore(AsyncStoreMethods):
    """Store on a psycopg `AsyncConnection` or `AsyncConnectionPool`."""

    async def __aenter__(self) -> AsyncPostgresStore:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self.stop_ttl_sweeper()
