"""`AsyncPostgresSaver`: the Postgres saver for asyncio (psycopg 3 async).

It runs the same plans as `PostgresSaver`. Its sync methods work from other
threads (they schedule the async ones on the saver's event loop) and fail at
once on that loop's own thread, where waiting would deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from langgraph.checkpoint.base.plan import Plan, adrive
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import aborrow, astep_executor
from langgraph.checkpoint.postgres.base import BasePostgresSaver, translate_error
from psycopg_pool import AsyncConnectionPool

__all__ = ["AsyncPostgresSaver"]

Conn = psycopg.AsyncConnection | AsyncConnectionPool
T = TypeVar("T")


class AsyncPostgresSaver(SyncMethodsViaLoop, BasePostgresSaver):
    """Checkpoint saver on a psycopg `AsyncConnection` or `AsyncConnectionPool`."""

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
    ) -> AsyncIterator[AsyncPostgresSaver]:
        """A saver on a new connection to `conn_string`, closed on exit."""
        async with await psycopg.AsyncConnection.connect(
            conn_string, autocommit=True, prepare_threshold=0
        ) as conn:
            if pipeline:
                async with conn.pipeline() as pipe:
                    yield cls(conn, pipe, serde=serde)
            else:
                yield cls(conn, serde=serde)

    # -- running plans ---------------------------------------------------

    def _connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection]:
        self.loop = asyncio.get_running_loop()
        return aborrow(self, self.conn, self.lock)

    async def _run(self, plan: Plan, *, transaction: bool = True) -> Any:
        attempts = 2 if isinstance(self.conn, AsyncConnectionPool) else 1
        for attempt in range(attempts):
            try:
                async with self._connection() as conn:
                    return await self._drive(conn, plan, transaction or not conn.autocommit)
            except psycopg.OperationalError as exc:
                if attempt + 1 < attempts and not isinstance(exc, psycopg.errors.QueryCanceled):
                    # The server dropped connections (restart, failover): let the
                    # pool discard every broken one, then retry on a fresh one.
                    await self.conn.check()
                    continue
                raise translate_error(self, exc, self.conn) from exc
            except psycopg.Error as exc:
                raise translate_error(self, exc) from exc
        raise AssertionError("unreachable")

    @staticmethod
    async def _drive(conn: psycopg.AsyncConnection, plan: Plan, transaction: bool) -> Any:
        async with astep_executor(conn) as execute:
            if not transaction:
                return await adrive(plan, execute)
            async with conn.transaction():
                return await adrive(plan, execute)

    async def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        await self._run(plans.setup_plan())

    # -- the saver interface (async) ----------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(plans.get_tuple_plan(self.serde, config), transaction=False)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        plan = plans.list_plan(self.serde, config, filter, before, limit)
        for item in await self._run(plan, transaction=False):
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
        return await self._run(plans.put_plan(statement, returned), transaction=False)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        await self._run(plans.put_writes_plan(statement), transaction=False)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(plans.delete_thread_plan(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(plans.delete_for_runs_plan(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(plans.copy_thread_plan(source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(plans.prune_plan(self.serde, thread_ids, strategy))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        plan = plans.delta_history_plan(self.serde, config, channels)
        return await self._run(plan, transaction=False)


def __getattr__(name: str):  # the shallow module imports this one: load it lazily
    if name == "AsyncShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import AsyncShallowPostgresSaver

        return AsyncShallowPostgresSaver
    raise AttributeError(name)
