"""`PostgresStore`: LangGraph's long-term memory store in PostgreSQL.

The `store` table and its migration numbering are the reference package's.
The logic lives in `langgraph.store.base.sqlplans`, shared with the SQLite
store; this module runs it on psycopg connections or pools.

Semantic search keeps embeddings in `store_vectors` (`real[]`) and ranks by
exact cosine similarity computed in SQL, which works on any PostgreSQL.
Approximate pgvector indexes are not built yet: asking for one
(`ann_index_config`) fails with a clear message on a server without the
`vector` extension, and searches exactly (with a warning) on one that has it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.base.plan import Plan, Query, drive
from langgraph.checkpoint.postgres._conn import borrow, step_executor
from langgraph.checkpoint.postgres.base import translate_error
from langgraph.store.base import (
    BaseStore,
    IndexConfig,
    Op,
    Result,
    TTLConfig,
    sqlplans,
)
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from typing_extensions import TypedDict

__all__ = ["BasePostgresStore", "PoolConfig", "PostgresIndexConfig", "PostgresStore", "Row"]

logger = logging.getLogger(__name__)

# Cosine similarity of two real[] in plain SQL: exact search on any PostgreSQL.
COSINE_SQL = (
    "coalesce((SELECT sum(a * b) / nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0) "
    "FROM unnest(embedding, ?::real[]) AS pair(a, b)), 0)"
)

POSTGRES = sqlplans.Dialect(
    name="postgres",
    mark="%s",
    dump_value=Jsonb,
    timestamp=lambda at: at,
    # concurrent setup() calls wait for each other inside their transaction
    migration_lock="SELECT pg_advisory_xact_lock(7105570)",
    pack_vector=list,
    similarity_sql=COSINE_SQL,
)


MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store (
    prefix text NOT NULL,
    key text NOT NULL,
    value jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key)
)""",
    "CREATE INDEX IF NOT EXISTS store_prefix_idx ON store USING btree (prefix text_pattern_ops)",
    "ALTER TABLE store ADD COLUMN IF NOT EXISTS expires_at timestamp with time zone, "
    "ADD COLUMN IF NOT EXISTS ttl_minutes integer",
    "CREATE INDEX IF NOT EXISTS idx_store_expires_at ON store (expires_at) WHERE expires_at IS NOT NULL",
    # Ours, past the reference's four: TTLs are minutes as floats (`ttl=0.5`
    # is 30 seconds); an integer column would refresh such items to expire at once.
    "ALTER TABLE store ALTER COLUMN ttl_minutes TYPE double precision",
]

VECTOR_MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store_vectors (
    prefix text NOT NULL,
    key text NOT NULL,
    field_name text NOT NULL,
    embedding real[],
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key, field_name)
)""",
]

Row = dict[str, Any]


class PoolConfig(TypedDict, total=False):
    """Settings for the pool `from_conn_string` opens."""

    min_size: int
    max_size: int
    kwargs: dict


class PostgresIndexConfig(IndexConfig, total=False):
    """Semantic search settings of a Postgres store."""

    ann_index_config: dict
    """Ask for a pgvector approximate index (needs the `vector` extension)."""
    distance_type: str
    """Only "cosine" is supported by the exact search."""


class BasePostgresStore(sqlplans.PlannedStore):
    """What the sync and async Postgres stores share: dialect, migrations, the
    pgvector check."""

    dialect = POSTGRES
    migrations = MIGRATIONS
    vector_migrations = VECTOR_MIGRATIONS

    def _setup_plans(self) -> Iterator[Plan[Any]]:
        if self.index_config is not None and self.index_config.get("ann_index_config") is not None:
            yield _require_pgvector()
        yield from super()._setup_plans()


def _require_pgvector() -> Plan[None]:
    rows = yield Query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    if not rows:
        raise RuntimeError(
            "ann_index_config asks for a pgvector index, but this PostgreSQL server does not have the "
            "'vector' extension. Install pgvector on the server, or drop ann_index_config to use the "
            "exact cosine search, which needs no extension."
        )
    logger.warning(
        "pgvector is available but approximate indexes are not used yet: searching exactly"
    )


class PostgresStore(BasePostgresStore, BaseStore):
    """Store on a psycopg `Connection` or `ConnectionPool` (any autocommit or row-factory setting)."""

    def __init__(
        self,
        conn: psycopg.Connection | ConnectionPool,
        *,
        pipe: psycopg.Pipeline | None = None,
        deserializer: Any = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self.conn = conn
        self.pipe = pipe
        self.lock = threading.Lock()
        self._configure(index, ttl)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        pool_config: PoolConfig | None = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> Iterator[PostgresStore]:
        if pool_config is not None:
            kwargs = {
                "autocommit": True,
                "prepare_threshold": 0,
                **(pool_config.get("kwargs") or {}),
            }
            with ConnectionPool(
                conn_string,
                min_size=pool_config.get("min_size", 1),
                max_size=pool_config.get("max_size"),
                kwargs=kwargs,
            ) as pool:
                yield cls(pool, index=index, ttl=ttl)
            return
        with psycopg.connect(conn_string, autocommit=True, prepare_threshold=0) as conn:
            if pipeline:
                with conn.pipeline() as pipe:
                    yield cls(conn, pipe=pipe, index=index, ttl=ttl)
            else:
                yield cls(conn, index=index, ttl=ttl)

    def _run(self, plan: Plan, atomic: bool = True) -> Any:
        if not self.is_setup:
            self.setup()
        try:
            with (
                borrow(self, self.conn, self.lock) as conn,
                step_executor(conn, binary=False) as execute,
            ):
                if not atomic and conn.autocommit:
                    return drive(plan, execute)
                # Pipelined: BEGIN, the writes and COMMIT travel together.
                with conn.pipeline(), conn.transaction():
                    return drive(plan, execute)
        except psycopg.Error as exc:
            raise translate_error(self, exc, self.conn) from exc

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        with (
            borrow(self, self.conn, self.lock) as conn,
            step_executor(conn, binary=False) as execute,
        ):
            for plan in self._setup_plans():
                with conn.transaction():
                    drive(plan, execute)
        self.is_setup = True

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops, texts, queries = self._prepare(ops)
        vectors = self.embeddings.embed_documents([t for _, _, t in texts]) if texts else []
        query_vectors = {q: self.embeddings.embed_query(q) for q in queries}
        return self._run(
            self._batch_plan(ops, texts, vectors, query_vectors), self._needs_transaction(ops)
        )

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return self._run(self._sweep_plan())

    def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> threading.Thread:
        """Sweep expired items in a background thread until `stop_ttl_sweeper`."""
        return self._start_thread_sweeper(self.sweep_ttl, sweep_interval_minutes)

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return self._stop_thread_sweeper(timeout)
