"""`PostgresSaver`: checkpoints in PostgreSQL through psycopg 3.

Works on a `psycopg.Connection` or a `psycopg_pool.ConnectionPool`, opened as
you like: autocommit or not, any row factory (the saver picks its own per
cursor). A `put` is a single statement, so on an autocommit connection it is a
single round trip; `get_tuple` and each page of `list` are one query too.
Call `setup()` once per database to create or migrate the tables.

What a call does when the connection breaks under it is decided in `_conn`
(`Attempt`): it runs once more from scratch, on a new connection, only where
that cannot do twice what the first run may have done; otherwise it raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import (
    Effect,
    OwnedConnection,
    connect_kwargs,
    run_plan,
)
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from psycopg_pool import ConnectionPool

__all__ = ["BasePostgresSaver", "PostgresSaver"]

Conn = psycopg.Connection | ConnectionPool


class PostgresSaver(AsyncMethodsUnsupported, BasePostgresSaver):
    """Checkpoint saver on a psycopg connection or connection pool.

    With a single connection, calls from several threads are serialized by a
    lock. When the server drops a connection (a restart, a terminated
    backend), a call is run again from scratch on a new one where that is
    safe: always for reads, puts and put_writes (upserts: a second run
    changes nothing more), for any call whose transaction had not reached
    COMMIT; never inside a transaction of yours. Otherwise it raises. The new
    connection comes from the pool, or, on the connection `from_conn_string`
    opened, a new one is made; a connection you passed is never replaced.
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
        self._owned: OwnedConnection | None = None

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        prepare_threshold: int | None = 0,
    ) -> Iterator[PostgresSaver]:
        """A saver on a new connection to `conn_string`, closed on exit.

        The saver owns this connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` goes to psycopg: after how many
        runs a statement is prepared on the server (0: at once); behind
        PgBouncer in transaction mode, pass None (never prepare).
        """
        kwargs = connect_kwargs(prepare_threshold)
        owned = OwnedConnection(lambda: psycopg.connect(conn_string, **kwargs), pipeline).open()
        try:
            saver = cls(owned.conn, owned.pipe, serde=serde)
            saver._owned = owned
            try:
                yield saver
            finally:
                saver._owned = None  # closed for good: later calls must fail, not reconnect
        finally:
            owned.close()

    # -- running plans ---------------------------------------------------

    def _run(
        self, make_plan: Callable[[], Plan], effect: Effect, *, transaction: bool = True
    ) -> Any:
        """Run a fresh plan from `make_plan` (again, if the first run is cut off)."""
        return run_plan(self, make_plan, effect, transaction=transaction)

    def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        self._run(plans.setup_plan, Effect.REPEATABLE)
        # After the migrations' DDL, once synced (see SETTLE_PREPARED).
        self._run(plans.settle_prepared_plan, Effect.READ, transaction=False)

    # -- the saver interface -----------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._run(
            lambda: plans.get_tuple_plan(self.serde, config), Effect.READ, transaction=False
        )

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        yield from self._run(
            lambda: plans.list_plan(self.serde, config, filter, before, limit),
            Effect.READ,
            transaction=False,
        )

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
        return self._run(
            lambda: plans.put_plan(statement, returned), Effect.REPEATABLE, transaction=False
        )

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        self._run(lambda: plans.put_writes_plan(statement), Effect.REPEATABLE, transaction=False)

    def delete_thread(self, thread_id: str) -> None:
        self._run(lambda: plans.delete_thread_plan(thread_id), Effect.ONCE)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._run(lambda: plans.delete_for_runs_plan(run_ids), Effect.ONCE)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        # Upserts only: a second run after a commit it did not hear of adds nothing.
        self._run(
            lambda: plans.copy_thread_plan(source_thread_id, target_thread_id), Effect.REPEATABLE
        )

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._run(lambda: plans.prune_plan(self.serde, thread_ids, strategy), Effect.ONCE)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._run(
            lambda: plans.delta_history_plan(self.serde, config, channels),
            Effect.READ,
            transaction=False,
        )


def __getattr__(name: str):  # the shallow module imports this one: load it lazily
    if name == "ShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver

        return ShallowPostgresSaver
    raise AttributeError(name)
