"""The SQLite dialect of the SQL store: its tables, and how it scores vectors.

The tables are the reference package's (`store`, `store_migrations`; with an
index, `store_vectors` and `vector_migrations`), so existing store files keep
working.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from langgraph.store.base import IndexConfig, sqlplans

# The name it had before this module existed, for log filters that name it.
logger = logging.getLogger("langgraph.store.sqlite.base")

SQLITE = sqlplans.Dialect(
    name="sqlite",
    mark="?",
    dump_value=lambda value: json.dumps(value, ensure_ascii=False),
    timestamp=lambda at: at.isoformat(sep=" "),
)

# With sqlite-vec loaded: cosine similarity computed by SQLite.
SQLITE_VEC = dataclasses.replace(SQLITE, similarity_sql="1.0 - vec_distance_cosine(embedding, ?)")


def sqlite_vec_path() -> str | None:
    """The sqlite-vec extension's file, if the package is installed."""
    try:
        import sqlite_vec  # type: ignore[import-untyped]
    except ImportError:
        return None
    return sqlite_vec.loadable_path()


MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store (
    -- 'prefix' represents the doc's 'namespace'
    prefix text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key)
)""",
    "CREATE INDEX IF NOT EXISTS store_prefix_idx ON store (prefix)",
    "ALTER TABLE store ADD COLUMN expires_at TIMESTAMP",
    "ALTER TABLE store ADD COLUMN ttl_minutes REAL",
    "CREATE INDEX IF NOT EXISTS idx_store_expires_at ON store (expires_at) WHERE expires_at IS NOT NULL",
]

VECTOR_MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store_vectors (
    prefix text NOT NULL,
    key text NOT NULL,
    field_name text NOT NULL,
    embedding BLOB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key, field_name),
    FOREIGN KEY (prefix, key) REFERENCES store(prefix, key) ON DELETE CASCADE
)""",
]


class SqliteIndexConfig(IndexConfig, total=False):
    """Semantic search settings of a SQLite store."""

    distance_type: str
    """Only "cosine" is supported."""


class BaseSqliteStore(sqlplans.PlannedStore):
    """What the sync and async SQLite stores share: dialect and migrations."""

    dialect = SQLITE
    migrations = MIGRATIONS
    vector_migrations = VECTOR_MIGRATIONS

    def _vec_extension(self) -> str | None:
        """The extension to load at setup: only stores with an index need it."""
        if self.index_config is None:
            return None
        path = sqlite_vec_path()
        if path is None:
            logger.warning(
                "sqlite-vec is not installed: vector similarity is computed in Python "
                "(pip install sqlite-vec to compute it in SQLite)"
            )
        return path

    def _vec_loaded(self, error: Exception | None) -> None:
        if error is None:
            self.dialect = SQLITE_VEC
        else:
            logger.warning(
                "could not load sqlite-vec (%s): vector similarity is computed in Python", error
            )
