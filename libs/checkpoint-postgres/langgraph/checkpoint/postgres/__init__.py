"""`PostgresSaver`: checkpoints in PostgreSQL through psycopg 3.

Works on a `psycopg.Connection` or a `psycopg_pool.ConnectionPool`, opened as
you like: autocommit or not, any row factory (the saver picks its own per
cursor). A `put` is a single statement, so on an autocommit connection it is a
single round trip; `get_tuple` and each page of `list` are one query too.
Call `setup()` once per database to create or migrate the tables.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
)
from langgraph.checkpoint.base.bridges import AsyncMethodsUnsupported
from langgraph.checkpoint.base.plan import Plan, drive
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import borrow, step_executor
from langgraph.checkpoint.postgres.base import BasePostgresSaver, translate_error
from psycopg_pool import ConnectionPool

__all__ = ["BasePostgresSaver", "PostgresSaver"]

Conn = psycopg.Connection | ConnectionPool


class PostgresSaver(AsyncMethodsUnsupported, BasePostgresSaver):
    """Checkpoint saver on a psycopg connection or connection pool.

    With a single connection, calls from several threads are serialized by a
    lock; with a pool, each call borrows a connection, and a call that fails
    because the server dropped the connection is retried once on a fresh one.
    For asyncio code use `AsyncPostgresSaver`.
    """

    async_alternative = (
        "AsyncPostgresSaver (from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver)"
    )

    def __init__(
        self,
        conn: Conn,
        pipe: psycopg.Pipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if isinstance(conn, ConnectionPool) and pipe is not None:
            raise ValueError("pipeline mode needs a single connection, not a ConnectionPool")
        self.conn = conn
        self.pipe = pipe
        self.lock = threading.Lock()

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
    ) -> Iterator[PostgresSaver]:
        """A saver on a new connection to `conn_string`, closed on exit."""
        with psycopg.connect(conn_string, autocommit=True, prepare_threshold=0) as conn:
            if pipeline:
                with conn.pipeline() as pipe:
                    yield cls(conn, pipe, serde=serde)
            else:
                yield cls(conn, serde=serde)

    # -- running plans ---------------------------------------------------

    def _connection(self) -> AbstractContextManager[psycopg.Connection]:
        return borrow(self, self.conn, self.lock)

    def _run(self, plan: Plan, *, transaction: bool = True) -> Any:
        """Run a plan; single-statement plans skip BEGIN/COMMIT on autocommit connections."""
        attempts = 2 if isinstance(self.conn, ConnectionPool) else 1
        for attempt in range(attempts):
            try:
                with self._connection() as conn:
                    return self._drive(conn, plan, transaction or not conn.autocommit)
            except psycopg.OperationalError as exc:
                if attempt + 1 < attempts and not isinstance(exc, psycopg.errors.QueryCanceled):
                    # The server dropped connections (restart, failover): let the
                    # pool discard every broken one, then retry on a fresh one.
                    self.conn.check()
                    continue
                raise translate_error(self, exc, self.conn) from exc
            except psycopg.Error as exc:
                raise translate_error(self, exc) from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _drive(conn: psycopg.Connection, plan: Plan, transaction: bool) -> Any:
        with step_executor(conn) as execute:
            if not transaction:
                return drive(plan, execute)
            with conn.transaction():
                return drive(plan, execute)

    def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        self._run(plans.setup_plan())

    # -- the saver interface -----------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._run(plans.get_tuple_plan(self.serde, config), transaction=False)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        plan = plans.list_plan(self.serde, config, filter, before, limit)
        yield from self._run(plan, transaction=False)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statement, returned = plans.prepare_put(
            self.serde, config, checkpoint, metadata, new_versions
        )
        return self._run(plans.put_plan(statement, returned), transaction=False)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        self._run(plans.put_writes_plan(statement), transaction=False)

    def delete_thread(self, thread_id: str) -> None:
        self._run(plans.delete_thread_plan(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._run(plans.delete_for_runs_plan(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(plans.copy_thread_plan(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._run(plans.prune_plan(self.serde, thread_ids, strategy))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._run(plans.delta_history_plan(self.serde, config, channels), transaction=False)


def __getattr__(name: str):  # the shallow module imports this one: load it lazily
    if name == "ShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver

        return ShallowPostgresSaver
    raise AttributeError(name)
