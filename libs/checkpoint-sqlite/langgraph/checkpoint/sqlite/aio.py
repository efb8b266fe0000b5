"""`AsyncSqliteSaver`: the SQLite saver for asyncio, on an `aiosqlite` connection.

It runs the same plans as `SqliteSaver` (see `_plans`), so both read and write
identical databases. Its sync methods work from other threads (they schedule
the async ones on the saver's event loop) and fail at once on that loop's own
thread, where waiting would deadlock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
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
from langgraph.checkpoint.base.bridges import SyncMethodsViaLoop
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, adrive
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import (
    BUSY_TIMEOUT_MS,
    Synchronous,
    busy_retry_delays,
    closed_connection_error,
    connection_pragmas,
    is_busy,
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


class AsyncSqliteSaver(SyncMethodsViaLoop, BaseCheckpointSaver[str]):
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
            await aretry_busy(lambda: self.conn.execute_fetchall(plans.WAL))
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
            await aretry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
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
        """Newest first, read a page at a time (the saver's lock is free between pages)."""
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while (plan := pages.next_plan()) is not None:
            for item in await self._run(plan):
                yield item

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """`alist` for other threads, a page at a time too."""
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while (plan := pages.next_plan()) is not None:
            yield from self._from_thread(self._run(plan))

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


async def aretry_busy(attempt: Callable[[], Awaitable[T]]) -> T:
    """`retry_busy` of the sync saver, pausing without blocking the loop."""
    delays = busy_retry_delays(time.monotonic())
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or (delay := next(delays, None)) is None:
                raise
        await asyncio.sleep(delay)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
