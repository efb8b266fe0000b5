"""`PostgresStore`: LangGraph's long-term memory store in PostgreSQL.

The tables and their migration numbering are the reference package's. The
logic lives in `langgraph.store.base.sqlplans`, shared with the SQLite store,
and is spelled in PostgreSQL by the dialect in `_dialect`; the methods are written once, for asyncio, in `_store_async` (the sync ones
are generated from it), and run the plans through the package's runner.

Semantic search keeps one embedding per indexed field in `store_vectors`. On a
server with pgvector, that column is `vector(dims)` or `halfvec(dims)` with the
HNSW or IVFFlat index `ann_index_config` asks for, as the reference lays it
out; on a plain PostgreSQL it is `real[]` and the similarity is computed in
SQL all the same. The layout a database already has is the one used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from langgraph.store.base import Op, Result
from langgraph.store.postgres._layout import (
    BasePostgresStore,
    PoolConfig,
    PostgresIndexConfig,
    Row,
)
from langgraph.store.postgres._store import StoreMethods

__all__ = ["BasePostgresStore", "PoolConfig", "PostgresIndexConfig", "PostgresStore", "Row"]


class PostgresStore(StoreMethods):
    """Store on a psycopg `Connection` or `ConnectionPool` (any autocommit or row-factory setting)."""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))
