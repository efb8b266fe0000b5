"""`SqliteStore`: LangGraph's long-term memory store in a SQLite file.

The tables are the reference package's (`store`, `store_migrations`; with an
index, `store_vectors` and `vector_migrations`), so existing store files keep
working. The logic lives in `langgraph.store.base.sqlplans`, shared with the
Postgres store; this module only runs it on `sqlite3`.

Semantic search stores each embedding as float32 bytes (sqlite-vec's layout)
and ranks by cosine similarity. With `sqlite-vec` installed and a Python whose
sqlite3 can load extensions, SQLite computes the similarity; otherwise the
store says so in the log and computes it in Python, with the same scores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
from langgraph.checkpoint.sqlite import retry_busy
from langgraph.store.base import (
    BaseStore,
    IndexConfig,
    Op,
    Result,
    TTLConfig,
    sqlplans,
)

__all__ = ["BaseSqliteStore", "SqliteIndexConfig", "SqliteStore"]

logger = logging.getLogger(__name__)

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
        import sqlite_vec
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


def _executor(cur: sqlite3.Cursor):
    def execute(step: Step) -> Any:
        if isinstance(step, ExecuteMany):
            cur.executemany(step.sql, step.rows)
            return None
        cur.execute(step.sql, step.params)
        return cur.fetchall() if isinstance(step, Query) else None

    return execute


class SqliteStore(BaseSqliteStore, BaseStore):
    """Store on a `sqlite3.Connection` (opened with `check_same_thread=False`
    to share it between threads; calls are serialized by a lock)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        deserializer: Any = None,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self.conn = conn
        self.lock = threading.Lock()
        self._configure(index, ttl)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: SqliteIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> Iterator[SqliteStore]:
        conn = sqlite3.connect(
            conn_string, check_same_thread=False, timeout=30, isolation_level=None
        )
        try:
            yield cls(conn, index=index, ttl=ttl)
        finally:
            conn.close()

    def _run(self, plan: Plan, atomic: bool = True) -> Any:
        with self.lock:
            if not self.is_setup:
                self._setup_locked()
            return self._transaction(plan, atomic)

    def _transaction(self, plan: Plan, atomic: bool = True) -> Any:
        cur = self.conn.cursor()
        try:
            if not atomic:
                result = drive(plan, _executor(cur))
                if self.conn.in_transaction:  # a connection not in autocommit mode
                    self.conn.commit()
                return result
            retry_busy(lambda: cur.execute("BEGIN IMMEDIATE"))
            try:
                result = drive(plan, _executor(cur))
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return result
        finally:
            cur.close()

    def _setup_locked(self) -> None:
        self.conn.execute("PRAGMA busy_timeout = 30000")
        # A fresh file refuses the WAL switch at once while another process
        # holds its lock (see retry_busy).
        retry_busy(lambda: self.conn.execute("PRAGMA journal_mode = WAL").fetchall())
        if path := self._vec_extension():
            try:
                self.conn.enable_load_extension(True)
                try:
                    self.conn.load_extension(path)
                finally:
                    self.conn.enable_load_extension(False)
            except (AttributeError, sqlite3.Error) as exc:
                self._vec_loaded(exc)
            else:
                self._vec_loaded(None)
        for plan in self._setup_plans():
            self._transaction(plan)
        self.is_setup = True

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        with self.lock:
            self._setup_locked()

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
