"""`PostgresStore`: LangGraph's long-term memory store in PostgreSQL.

The tables and their migration numbering are the reference package's. The
logic lives in `langgraph.store.base.sqlplans`, shared with the SQLite store;
this module runs it on psycopg connections or pools.

Semantic search keeps one embedding per indexed field in `store_vectors`. On a
server with pgvector, that column is `vector(dims)` or `halfvec(dims)` with the
HNSW or IVFFlat index `ann_index_config` asks for, as the reference lays it
out; on a plain PostgreSQL it is `real[]` and the similarity is computed in
SQL all the same. The layout a database already has is the one used.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import psycopg
from langgraph.checkpoint.base.plan import Plan, Query, drive
from langgraph.checkpoint.postgres._conn import borrow, connect_kwargs, step_executor
from langgraph.checkpoint.postgres._plans import SETTLE_PREPARED
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

POSTGRES = sqlplans.Dialect(
    name="postgres",
    mark="%s",
    dump_value=Jsonb,
    timestamp=lambda at: at,
    # concurrent setup() calls wait for each other inside their transaction
    migration_lock="SELECT pg_advisory_xact_lock(7105570)",
    pack_vector=lambda vector: [float(x) for x in vector],
)

# Score of `embedding` against the query vector (bound as `?`), higher is
# closer: the similarity for cosine, minus the distance for l2, the dot
# product for inner_product.
PGVECTOR_SCORES = {
    "cosine": "1 - (embedding <=> ?::{type})",
    "l2": "-(embedding <-> ?::{type})",
    "inner_product": "-(embedding <#> ?::{type})",
}
_PAIRS = "FROM unnest(embedding, ?::real[]) AS pair(a, b)"
REAL_ARRAY_SCORES = {
    "cosine": "coalesce((SELECT sum(a * b) / nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0) "
    + _PAIRS
    + "), 0)",
    "l2": f"-(SELECT sqrt(sum((a - b) * (a - b))) {_PAIRS})",
    "inner_product": f"(SELECT sum(a * b) {_PAIRS})",
}
OPERATOR_CLASSES = {"cosine": "cosine_ops", "l2": "l2_ops", "inner_product": "ip_ops"}
INDEX_OPTIONS = {
    "hnsw": {"m": "m", "ef_construction": "ef_construction"},
    "ivfflat": {"nlist": "lists"},
}


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


Row = dict[str, Any]


def in_pipeline(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """Whether `conn` is in the caller's pipeline. There a statement's error
    comes back at the next sync: a call that did not sync before returning
    would report success for a write that failed, and the next call its error."""
    return conn.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF


class PoolConfig(TypedDict, total=False):
    """Settings for the pool `from_conn_string` opens."""

    min_size: int
    max_size: int
    kwargs: dict


class ANNIndexConfig(TypedDict, total=False):
    """pgvector's approximate index over the embeddings."""

    kind: Literal["hnsw", "ivfflat", "flat"]
    """"flat" builds no index (exact scans)."""
    vector_type: Literal["vector", "halfvec"]
    """Column type: 32-bit floats, or 16-bit to halve the space."""


class HNSWConfig(ANNIndexConfig, total=False):
    m: int
    ef_construction: int


class IVFFlatConfig(ANNIndexConfig, total=False):
    nlist: int


class PostgresIndexConfig(IndexConfig, total=False):
    """Semantic search settings of a Postgres store."""

    ann_index_config: ANNIndexConfig
    """The pgvector index to build (default: HNSW on `vector`). Asking for
    one explicitly on a server without pgvector is an error."""
    distance_type: Literal["l2", "inner_product", "cosine"]
    """How embeddings are compared (default: cosine)."""


def _ann_config(index: PostgresIndexConfig) -> tuple[str, str, dict[str, int]]:
    """kind, vector type and index options, checked (they become SQL text)."""
    ann = dict(index.get("ann_index_config") or {})
    kind = ann.pop("kind", "hnsw")
    vector_type = ann.pop("vector_type", "vector")
    if kind not in ("hnsw", "ivfflat", "flat"):
        raise ValueError(f"ann_index_config kind {kind!r}: use 'hnsw', 'ivfflat' or 'flat'")
    if vector_type not in ("vector", "halfvec"):
        raise ValueError(f"ann_index_config vector_type {vector_type!r}: use 'vector' or 'halfvec'")
    allowed = INDEX_OPTIONS.get(kind, {})
    options = {}
    for name, value in ann.items():
        if name not in allowed:
            raise ValueError(
                f"ann_index_config option {name!r} does not apply to a {kind!r} index"
                + (f" (it takes {', '.join(allowed)})" if allowed else "")
            )
        if type(value) is not int or value <= 0:
            raise ValueError(f"ann_index_config {name} must be a positive integer, got {value!r}")
        options[allowed[name]] = value
    return kind, vector_type, options


class BasePostgresStore(sqlplans.PlannedStore):
    """What the sync and async Postgres stores share: dialect, migrations and
    the vector layout."""

    dialect = POSTGRES
    migrations = MIGRATIONS
    supports_pipeline: bool = psycopg.Pipeline.is_supported()  # as the reference exposes it
    distance_types = ("cosine", "l2", "inner_product")

    def _configure(self, index: PostgresIndexConfig | None, ttl: TTLConfig | None) -> None:
        super()._configure(index, ttl)
        if self.index_config is not None:
            dims = self.index_config.get("dims")
            if type(dims) is not int or dims <= 0:
                raise ValueError(f"index dims must be a positive integer, got {dims!r}")
            self._ann = _ann_config(self.index_config)

    def _setup_plans(self) -> Iterator[Plan[Any]]:
        yield sqlplans.migrate_plan(self.dialect, "store_migrations", self.migrations)
        if self.index_config is not None:
            yield self._vector_setup_plan()

    def _vector_setup_plan(self) -> Plan[None]:
        rows = yield Query(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'), "
            "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector'), "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
            "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass('store_vectors') AND attname = 'embedding')"
        )
        installed, available, superuser, column = rows[0]
        pgvector = installed or (available and superuser)
        explicit = self.index_config.get("ann_index_config") or {}
        if not pgvector and (explicit.get("kind", "flat") != "flat" or "vector_type" in explicit):
            raise RuntimeError(
                f"ann_index_config asks for a pgvector index ({explicit}), but this PostgreSQL "
                "server does not have the 'vector' extension"
                + (" available to this user" if available else "")
                + ". Install pgvector on the server, or drop ann_index_config to use the "
                "exact search, which needs no extension."
            )
        kind, vector_type, options = self._ann
        distance = self.index_config.get("distance_type", "cosine")
        # A database keeps the column type it was created with.
        column = column or (f"{vector_type}({self.index_config['dims']})" if pgvector else "real[]")
        column_type = column.partition("(")[0]
        yield from sqlplans.migrate_plan(
            self.dialect,
            "vector_migrations",
            [
                "CREATE EXTENSION IF NOT EXISTS vector" if pgvector else "SELECT 1",
                VECTOR_TABLE.format(column=column),
                _index_sql(kind, column_type, distance, options),
            ],
        )
        if column_type in ("vector", "halfvec"):
            score = PGVECTOR_SCORES[distance].format(type=column_type)
        else:
            score = REAL_ARRAY_SCORES[distance]
            if pgvector:
                logger.warning(
                    "store_vectors.embedding is %s (created without pgvector): searching "
                    "without an index",
                    column,
                )
        self.dialect = dataclasses.replace(POSTGRES, similarity_sql=score)


VECTOR_TABLE = """CREATE TABLE IF NOT EXISTS store_vectors (
    prefix text NOT NULL,
    key text NOT NULL,
    field_name text NOT NULL,
    embedding {column},
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key, field_name),
    FOREIGN KEY (prefix, key) REFERENCES store (prefix, key) ON DELETE CASCADE
)"""


def _index_sql(kind: str, column_type: str, distance: str, options: dict[str, int]) -> str | None:
    """The third vector migration: the ANN index, or None while there is none
    to build (a flat config, or a real[] column)."""
    if kind == "flat" or column_type not in ("vector", "halfvec"):
        return None
    settings = ", ".join(f"{name} = {value}" for name, value in options.items())
    return (
        f"CREATE INDEX IF NOT EXISTS store_vectors_embedding_idx ON store_vectors "
        f"USING {kind} (embedding {column_type}_{OPERATOR_CLASSES[distance]})"
        + (f" WITH ({settings})" if settings else "")
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
        prepare_threshold: int | None = 0,
    ) -> Iterator[PostgresStore]:
        """A store on a new connection (or pool) to `conn_string`, closed on exit.

        `prepare_threshold` is psycopg's: how many times a statement runs before
        it is prepared (0: at once), or None never to prepare, which pgbouncer in
        transaction mode needs. A pool's `kwargs` take precedence.
        """
        kwargs = connect_kwargs(prepare_threshold)
        if pool_config is not None:
            with ConnectionPool(
                conn_string,
                min_size=pool_config.get("min_size", 1),
                max_size=pool_config.get("max_size"),
                kwargs={**kwargs, **(pool_config.get("kwargs") or {})},
            ) as pool:
                yield cls(pool, index=index, ttl=ttl)
            return
        with psycopg.connect(conn_string, **kwargs) as conn:
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
                if atomic or not conn.autocommit:
                    # Pipelined: BEGIN, the writes and COMMIT travel together.
                    with conn.pipeline(), conn.transaction():
                        return drive(plan, execute)
                if in_pipeline(conn):
                    with conn.pipeline():  # its exit syncs: see `in_pipeline`
                        return drive(plan, execute)
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
            with conn.cursor() as cur:
                cur.execute(SETTLE_PREPARED, prepare=False)
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
