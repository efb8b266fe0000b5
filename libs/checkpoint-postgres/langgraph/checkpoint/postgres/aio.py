"""`AsyncPostgresSaver`: the Postgres saver for asyncio (psycopg 3 async).

It runs the same plans as `PostgresSaver`. Its sync methods work from other
threads (they schedule the async ones on the saver's event loop) and fail at
once on that loop's own thread, where waiting would deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

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
from langgraph.checkpoint.base.bridges import SyncMethodsViaLoop
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import (
    AsyncOwnedConnection,
    Effect,
    arun_plan,
    connect_kwargs,
)
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncPostgresSaver"]

Conn = psycopg.AsyncConnection | AsyncConnectionPool
T = TypeVar("T")


class AsyncPostgresSaver(SyncMethodsViaLoop, BasePostgresSaver):
    """Checkpoint saver on a psycopg `AsyncConnection` or `AsyncConnectionPool`.

    Connection faults are handled as in `PostgresSaver`: a call cut off by a
    dropped connection runs again on a new one only where that is safe, and a
    connection you passed is never replaced.
    """

    def __init__(
        self,
        conn: Conn,
        pipe: psycopg.AsyncPipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if isinstance(conn, AsyncConnectionPool) and pipe is not None:
            raise ValueError("pipeline mode needs a single connection, not an AsyncConnectionPool")
        self.conn = conn
        self.pipe = pipe
        self.lock = asyncio.Lock()
        self._owned: AsyncOwnedConnection | None = None
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        prepare_threshold: int | None = 0,
    ) -> AsyncIterator[AsyncPostgresSaver]:
        """A saver on a new connection to `conn_string`, closed on exit.

        As `PostgresSaver.from_conn_string`: the saver owns the connection and
        replaces it if the server drops it; `prepare_threshold` goes to psycopg
        (None behind PgBouncer in transaction mode).
        """
        kwargs = connect_kwargs(prepare_threshold)
        owned = await AsyncOwnedConnection(
            lambda: psycopg.AsyncConnection.connect(conn_string, **kwargs), pipeline
        ).open()
        try:
            saver = cls(owned.conn, owned.pipe, serde=serde)
            saver._owned = owned
            try:
                yield saver
            finally:
                saver._owned = None  # closed for good: later calls must fail, not reconnect
        finally:
            await owned.close()

    # -- running plans ---------------------------------------------------

    async def _run(
        self, make_plan: Callable[[], Plan], effect: Effect, *, transaction: bool = True
    ) -> Any:
        """Run a fresh plan from `make_plan` (again, if the first run is cut off)."""
        self.loop = asyncio.get_running_loop()
        return await arun_plan(self, make_plan, effect, transaction=transaction)

    async def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        await self._run(plans.setup_plan, Effect.REPEATABLE)
        # After the migrations' DDL, once synced (see SETTLE_PREPARED).
        await self._run(plans.settle_prepared_plan, Effect.READ, transaction=False)

    # -- the saver interface (async) ----------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(
            lambda: plans.get_tuple_plan(self.serde, config), Effect.READ, transaction=False
        )

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await self._run(
            lambda: plans.list_plan(self.serde, config, filter, before, limit),
            Effect.READ,
            transaction=False,
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statement, returned = plans.prepare_put(
            self.serde, config, checkpoint, metadata, new_versions
        )
        return await self._run(
            lambda: plans.put_plan(statement, returned), Effect.REPEATABLE, transaction=False
        )

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        await self._run(
            lambda: plans.put_writes_plan(statement), Effect.REPEATABLE, transaction=False
        )

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(lambda: plans.delete_thread_plan(thread_id), Effect.ONCE)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(lambda: plans.delete_for_runs_plan(run_ids), Effect.ONCE)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(
            lambda: plans.copy_thread_plan(source_thread_id, target_thread_id), Effect.REPEATABLE
        )

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(lambda: plans.prune_plan(self.serde, thread_ids, strategy), Effect.ONCE)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(
            lambda: plans.delta_history_plan(self.serde, config, channels),
            Effect.READ,
            transaction=False,
        )


def __getattr__(name: str):  # the shallow module imports this one: load it lazily
    if name == "AsyncShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import AsyncShallowPostgresSaver

        return AsyncShallowPostgresSaver
    raise AttributeError(name)
