"""`AsyncSaverCore`: the SQLite saver's methods, written once on its runner
(`AsyncRunner`).

`AsyncSqliteSaver` (`aio`) is this core plus what only an asyncio saver has;
`SqliteSaver` is the core generated from it plus what only a sync saver has.
"""
# async-to-sync: generates _saver.py
# async-to-sync: rename AsyncSaverCore=SaverCore AsyncRunner=Runner _runner_async=_runner
# async-to-sync: rename aget_tuple=get_tuple alist=list aput=put aput_writes=put_writes
# async-to-sync: rename adelete_thread=delete_thread adelete_for_runs=delete_for_runs
# async-to-sync: rename acopy_thread=copy_thread aprune=prune
# async-to-sync: rename aget_delta_channel_history=get_delta_channel_history
# async-to-sync: rename aiosqlite=sqlite3

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
    next_string_version,
)
from langgraph.checkpoint.sqlite import _plans as plans
from langgraph.checkpoint.sqlite._connection import RunnerAttributes, Synchronous
from langgraph.checkpoint.sqlite._runner_async import AsyncRunner

if TYPE_CHECKING:
    import aiosqlite


class AsyncSaverCore(RunnerAttributes["aiosqlite.Connection"], BaseCheckpointSaver[str]):
    """Checkpoints in SQLite through `aiosqlite`: every method is one plan (or,
    for `alist`, one plan a page) run by the saver's runner."""

    runner: AsyncRunner

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        serde: SerializerProtocol | None = None,
        synchronous: Synchronous | None = "NORMAL",
    ) -> None:
        super().__init__(serde=serde)
        self.runner = AsyncRunner(
            conn,
            owner=self,
            tables="the checkpoint tables",
            synchronous=synchronous,
            setup_plans=lambda: (plans.setup_plan(),),
        )

    @property
    def synchronous(self) -> Synchronous | None:
        """`PRAGMA synchronous` applied at setup (None: the connection's own)."""
        return self.runner.synchronous

    @synchronous.setter
    def synchronous(self, synchronous: Synchronous | None) -> None:
        self.runner.synchronous = synchronous

    async def setup(self) -> None:
        """Create the tables (or migrate an older layout). Idempotent."""
        await self.runner.setup()

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self.runner.run(plans.get_tuple_plan(self.serde, config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Newest first, read a page at a time: the saver's lock is free between
        pages, so the loop body may call the saver."""
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while (plan := pages.next_plan()) is not None:
            for item in await self.runner.run(plan):  # sync: yield from self.runner.run(plan)
                yield item  # async-only

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata)
        return await self.runner.run(plans.put_plan(prepared), write=True)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        await self.runner.run(plans.put_writes_plan(statement), write=True)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.runner.run(plans.delete_thread_plan(thread_id), write=True)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self.runner.run(plans.delete_for_runs_plan(run_ids), write=True)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        plan = plans.copy_thread_plan(source_thread_id, target_thread_id)
        await self.runner.run(plan, write=True)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self.runner.run(plans.prune_plan(self.serde, thread_ids, strategy), write=True)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self.runner.run(plans.delta_history_plan(self.serde, config, channels))
