"""`SqliteStore`: LangGraph's long-term memory store in a SQLite file.

The tables are the reference package's (`store`, `store_migrations`; with an
index, `store_vectors` and `vector_migrations`), so existing store files keep
working. The logic lives in `langgraph.store.base.sqlplans`, shared with the
Postgres store; this module only runs it on `sqlite3`.

Semantic search stores each embedding as float32 bytes and ranks by cosine
similarity; it needs no SQLite extension, so it works on Python builds that
cannot load `sqlite-vec`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
from langgraph.store.base import (
    BaseStore,
    IndexConfig,
    Op,
    Result,
    TTLConfig,
    ensure_embeddings,
    queries_to_embed,
    sqlplans,
    texts_to_embed,
)

__all__ = ["BaseSqliteStore", "SqliteIndexConfig", "SqliteStore"]

SQLITE = sqlplans.Dialect(
    mark="?",
    dump_value=lambda value: json.dumps(value, ensure_ascii=False),
    timestamp=lambda at: at.isoformat(sep=" "),
)

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
    PRIMARY KEY (prefix, key, field_name)
)""",
]


class SqliteIndexConfig(IndexConfig, total=False):
    """Semantic search settings of a SQLite store."""

    distance_type: str
    """Only "cosine" is supported."""


class BaseSqliteStore:
    """Configuration shared by the sync and async SQLite stores."""

    supports_ttl = True

    def _configure(self, index: SqliteIndexConfig | None, ttl: TTLConfig | None) -> None:
        self.ttl_config = ttl
        self.index_config = None
        self.embeddings = None
        if index:
            if index.get("distance_type", "cosine") != "cosine":
                raise ValueError(
                    f"distance_type {index['distance_type']!r} is not supported: use 'cosine'"
                )
            self.index_config = {**index, "fields": list(index.get("fields") or ["$"])}
            self.embeddings = ensure_embeddings(index.get("embed"))
        self.is_setup = False
        self._sweeper_stop: Any = None

    def _setup_plans(self) -> Iterator[Plan[None]]:
        yield sqlplans.migrate_plan(SQLITE, "store_migrations", MIGRATIONS)
        if self.index_config is not None:
            yield sqlplans.migrate_plan(SQLITE, "vector_migrations", VECTOR_MIGRATIONS)

    def _batch_plan(
        self,
        ops: Sequence[Op],
        texts: list[tuple[int, str, str]],
        vectors: list[list[float]],
        queries: dict,
    ) -> Plan[list[Result]]:
        embedded: dict[int, list[tuple[str, list[float]]]] = {}
        for (position, path, _), vector in zip(texts, vectors):
            embedded.setdefault(position, []).append((path, vector))
        return sqlplans.batch_plan(
            SQLITE,
            ops,
            vectors_enabled=self.index_config is not None,
            embedded=embedded,
            query_vectors=queries,
        )

    def _sweep_plan(self) -> Plan[int]:
        return sqlplans.sweep_plan(SQLITE, self.index_config is not None)


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

    def _run(self, plan: Plan) -> Any:
        with self.lock:
            if not self.is_setup:
                self._setup_locked()
            return self._transaction(plan)

    def _transaction(self, plan: Plan) -> Any:
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
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
        self.conn.execute("PRAGMA journal_mode = WAL")
        for plan in self._setup_plans():
            self._transaction(plan)
        self.is_setup = True

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        with self.lock:
            self._setup_locked()

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        texts = texts_to_embed(ops, self.index_config)
        vectors = self.embeddings.embed_documents([t for _, _, t in texts]) if texts else []
        queries = {
            q: self.embeddings.embed_query(q) for q in queries_to_embed(ops, self.index_config)
        }
        return self._run(self._batch_plan(ops, texts, vectors, queries))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        import asyncio

        return await asyncio.to_thread(self.batch, list(ops))

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return self._run(self._sweep_plan())

    def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> threading.Thread:
        """Sweep expired items in a background thread until `stop_ttl_sweeper`."""
        interval = (
            sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        )
        stop = threading.Event()
        self._sweeper_stop = stop

        def loop() -> None:
            while not stop.wait(interval * 60):
                self.sweep_ttl()

        thread = threading.Thread(target=loop, name="sqlite-store-ttl-sweeper", daemon=True)
        thread.start()
        self._sweeper_thread = thread
        return thread

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        if self._sweeper_stop is None:
            return True
        self._sweeper_stop.set()
        self._sweeper_thread.join(timeout)
        stopped = not self._sweeper_thread.is_alive()
        self._sweeper_stop = None
        return stopped

    def __del__(self) -> None:
        if getattr(self, "_sweeper_stop", None) is not None:
            self._sweeper_stop.set()
