"""`AsyncSqliteSaver`: the SQLite saver for asyncio, on an `aiosqlite` connection.

It runs the same plans as `SqliteSaver` (see `_plans`), so both read and write
identical databases. Its sync methods work from other threads (they schedule
the async ones on the saver's event loop) and fail at once on that loop's own
thread, where waiting would deadlock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiosqlite
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    next_string_version,
)
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, adrive
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import (
    BUSY_TIMEOUT_MS,
    Synchronous,
    closed_connection_error,
    connection_pragmas,
)
from langgraph.checkpoint.sqlite import _plans as plans

__all__ = [
    "AsyncSqliteSaver",
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "DeltaChannelHistory",
    "JsonPlusSerializer",
    "SerializerProtocol",
    "WRITES_IDX_MAP",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
]

T = TypeVar("T")


class AsyncSqliteSaver(BaseCheckpointSaver[str]):
    """Checkpoint saver on an `aiosqlite.Connection`.

    The schema is created on first use (or by `await setup()`). Calls are
    serialized by an asyncio lock, so one saver can serve many tasks.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        serde: SerializerProtocol | None = None,
        synchronous: Synchronous | None = "NORMAL",
    ):
        super().__init__(serde=serde)
        self.conn = conn
        self.synchronous = synchronous
        self.is_setup = False
        self.lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop() if _loop_running() else None

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, conn_string: str, *, synchronous: Synchronous | None = "NORMAL"
    ) -> AsyncIterator[AsyncSqliteSaver]:
        """A saver on a new connection to `conn_string` (a path or ":memory:"), closed on exit."""
        async with aiosqlite.connect(conn_string, timeout=BUSY_TIMEOUT_MS / 1000) as conn:
            yield cls(conn, synchronous=synchronous)

    # -- running plans ---------------------------------------------------

    async def setup(self) -> None:
        """Create the tables (or migrate an older layout). Idempotent."""
        async with self.lock:
            await self._setup_locked()

    async def _setup_locked(self) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            for pragma in connection_pragmas(self.synchronous):
                await self.conn.execute(pragma)
            await self.conn.execute("PRAGMA journal_mode = WAL")
            await self._drive(plans.setup_plan(), write=True)
        except (sqlite3.ProgrammingError, ValueError) as exc:
            raise self._translate(exc) from exc
        self.is_setup = True

    async def _run(self, plan: Plan, *, write: bool = False) -> Any:
        async with self.lock:
            if not self.is_setup:
                await self._setup_locked()
            try:
                return await self._drive(plan, write=write)
            except (sqlite3.ProgrammingError, ValueError) as exc:
                raise self._translate(exc) from exc

    async def _drive(self, plan: Plan, *, write: bool) -> Any:
        conn = self.conn

        async def execute(step: Step) -> Any:
            if isinstance(step, Query):
                async with conn.execute(step.sql, step.params) as cur:
                    return await cur.fetchall()
            if isinstance(step, ExecuteMany):
                await conn.executemany(step.sql, step.rows)
            else:
                await conn.execute(step.sql, step.params)
            return None

        if write:
            await conn.execute("BEGIN IMMEDIATE")
        try:
            result = await adrive(plan, execute)
        except BaseException:
            if write and conn.in_transaction:
                await conn.rollback()
            raise
        if write:
            await conn.commit()
        return result

    def _translate(self, exc: Exception) -> Exception:
        # aiosqlite reports a closed connection as ValueError("no active connection").
        message = str(exc).lower()
        if "closed" in message or "no active connection" in message:
            return closed_connection_error(self)
        return exc

    # -- the saver interface (async) ----------------------------------------

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(plans.get_tuple_plan(self.serde, config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in await self._run(plans.list_plan(self.serde, config, filter, before, limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata)
        return await self._run(plans.put_plan(prepared), write=True)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        await self._run(plans.put_writes_plan(statement), write=True)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(plans.delete_thread_plan(thread_id), write=True)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(plans.delete_for_runs_plan(run_ids), write=True)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._run(plans.copy_thread_plan(source_thread_id, target_thread_id), write=True)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(plans.prune_plan(self.serde, thread_ids, strategy), write=True)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(plans.delta_history_plan(self.serde, config, channels))

    # -- sync methods: run on the saver's loop from another thread ------------

    def _from_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self.loop
        if loop is None or loop.is_closed():
            coro.close()
            raise RuntimeError(
                "AsyncSqliteSaver's sync methods need its event loop to be running: use the "
                "async methods (aget_tuple, alist, aput, ...), or SqliteSaver for sync code"
            )
        if _loop_running() and asyncio.get_running_loop() is loop:
            coro.close()
            raise asyncio.InvalidStateError(
                "AsyncSqliteSaver's sync methods cannot be called from its own event loop "
                "(that would deadlock): await the async methods instead "
                "(e.g. `await saver.aget_tuple(config)`, `graph.ainvoke(...)`), or call the "
                "sync ones from another thread"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._from_thread(self.aget_tuple(config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        plan = plans.list_plan(self.serde, config, filter, before, limit)
        yield from self._from_thread(self._run(plan))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._from_thread(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        return self._from_thread(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        return self._from_thread(self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        return self._from_thread(self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        return self._from_thread(self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        return self._from_thread(self.aprune(thread_ids, strategy=strategy))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._from_thread(self.aget_delta_channel_history(config=config, channels=channels))


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
