"""What the sync and async Postgres stores share besides their methods: the
migrations, the vector layout and its configuration (the SQL of the store
plans is the dialect's, in `_dialect`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal, cast

import psycopg
from langchain_core.embeddings import Embeddings
from langgraph.checkpoint.base.plan import Plan, Query
from langgraph.checkpoint.postgres._conn import Effect, PlanFactory
from langgraph.store.base import IndexConfig, Op, PutOp, TTLConfig, sqlplans
from langgraph.store.postgres._dialect import POSTGRES
from typing_extensions import TypedDict

logger = logging.getLogger(__name__)

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

    # The index settings as given (a PostgresIndexConfig), with `fields` resolved.
    _index: PostgresIndexConfig | None

    def _configure(
        self,
        index: IndexConfig | None,
        ttl: TTLConfig | None,
        deserializer: Callable[[bytes], Any] | None = None,
    ) -> None:
        super()._configure(index, ttl, deserializer)
        self._index = cast("PostgresIndexConfig | None", self.index_config)
        if self._index is not None:
            dims = self._index.get("dims")
            if type(dims) is not int or dims <= 0:
                raise ValueError(f"index dims must be a positive integer, got {dims!r}")
            self._ann = _ann_config(self._index)

    def _setup_plan_factories(self) -> list[PlanFactory[None]]:
        """The setup plans, each run in a transaction of its own."""
        factories = [
            lambda: sqlplans.migrate_plan(self.dialect, "store_migrations", self.migrations)
        ]
        if self._index is not None:
            factories.append(self._vector_setup_plan)
        return factories

    def _embedder(self) -> Embeddings:
        """The embeddings, which exist whenever there is something to embed."""
        if self.embeddings is None:
            raise AssertionError("texts to embed without an index configured")
        return self.embeddings

    @staticmethod
    def _batch_effect(ops: Sequence[Op]) -> Effect:
        """Reads (and the TTL refreshes they make) may run again; a put could
        overwrite, on its second run, what another client wrote in between."""
        return Effect.ONCE if any(isinstance(op, PutOp) for op in ops) else Effect.REPEATABLE

    def _vector_setup_plan(self) -> Plan[None]:
        index = self._index
        assert index is not None
        rows = yield Query(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'), "
            "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector'), "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), "
            "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass('store_vectors') AND attname = 'embedding')"
        )
        installed, available, superuser, column = rows[0]
        pgvector = installed or (available and superuser)
        explicit: dict[str, Any] = dict(index.get("ann_index_config") or {})
        if not pgvector and (explicit.get("kind", "flat") != "flat" or "vector_type" in explicit):
            raise RuntimeError(
                f"ann_index_config asks for a pgvector index ({explicit}), but this PostgreSQL "
                "server does not have the 'vector' extension"
                + (" available to this user" if available else "")
                + ". Install pgvector on the server, or drop ann_index_config to use the "
                "exact search, which needs no extension."
            )
        kind, vector_type, options = self._ann
        distance = index.get("distance_type", "cosine")
        # A database keeps the column type it was created with.
        column = column or (f"{vector_type}({index['dims']})" if pgvector else "real[]")
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
