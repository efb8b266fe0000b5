# Generated from _store_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-postgres/langgraph/store/postgres/_store_async.py and run `make sync`.
"""The store methods, written once on top of the runner. This module is the
asyncio source of `AsyncPostgresStore`; `_store`, generated from it, is the
one of `PostgresStore`.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from langgraph.checkpoint.postgres._conn import STORE_TABLES, Effect, PlanFactory, connect_kwargs
from langgraph.checkpoint.postgres._runner import Runner, RunnerOwner, opened
from langgraph.store.base import Op, Result, TTLConfig
from langgraph.store.base.batch import BaseStore
from langgraph.store.base.embed import embed_query, embed_texts
from langgraph.store.postgres._layout import BasePostgresStore, PoolConfig, PostgresIndexConfig
from psycopg import Connection, Pipeline
from psycopg_pool import ConnectionPool
from typing_extensions import Self

T = TypeVar("T")
Sweeper = threading.Thread


class StoreMethods(RunnerOwner, BasePostgresStore, BaseStore):
    """What `AsyncPostgresStore` does, on its runner."""

    def __init__(
        self,
        conn: Connection | ConnectionPool,
        *,
        pipe: Pipeline | None = None,
        deserializer: Any = None,
        index: PostgresIndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        super().__init__()
        self._runner = Runner(type(self).__name__, conn, pipe, tables=STORE_TABLES, binary=False)
        self._configure(index, ttl, deserializer)

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
    ) -> Generator[Self, None]:
        """A store on a new connection (or pool) to `conn_string`, closed on exit.

        The store owns the connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` is psycopg's: how many times a
        statement runs before it is prepared (0: at once), or None never to
        prepare, which pgbouncer in transaction mode needs. A pool's `kwargs`
        take precedence.
        """
        settings = connect_kwargs(prepare_threshold)
        if pool_config is not None:
            with ConnectionPool(
                conn_string,
                min_size=pool_config.get("min_size", 1),
                max_size=pool_config.get("max_size"),
                kwargs={**settings, **(pool_config.get("kwargs") or {})},
                open=False,
            ) as pool:
                yield cls(pool, index=index, ttl=ttl)
            return

        make_store = partial(cls, index=index, ttl=ttl)
        with opened(conn_string, settings, pipeline, make_store) as store:
            yield store

    def setup(self) -> None:
        """Create or migrate the tables. Idempotent."""
        for make_plan in self._setup_plan_factories():
            self._runner.run(make_plan, Effect.REPEATABLE, settle_prepared=True)
        self.is_setup = True

    def _run(self, make_plan: PlanFactory[T], effect: Effect, transaction: bool = True) -> T:
        if not self.is_setup:
            self.setup()
        return self._runner.run(make_plan, effect, transaction=transaction)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops, texts, queries = self._prepare(ops)
        documents = [text for _, _, text in texts]
        vectors = embed_texts(self._embedder(), documents) if texts else []
        query_vectors = {q: embed_query(self._embedder(), q) for q in queries}
        return self._run(
            lambda: self._batch_plan(ops, texts, vectors, query_vectors),
            self._batch_effect(ops),
            self._needs_transaction(ops),
        )

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return self._run(self._sweep_plan, Effect.ONCE)

    def start_ttl_sweeper(self, sweep_interval_minutes: int | None = None) -> Sweeper:
        """Sweep expired items in the background (a task; for the sync store, a
        thread) until `stop_ttl_sweeper`."""
        return self._start_thread_sweeper(self.sweep_ttl, sweep_interval_minutes)

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout`."""
        return self._stop_thread_sweeper(timeout)
