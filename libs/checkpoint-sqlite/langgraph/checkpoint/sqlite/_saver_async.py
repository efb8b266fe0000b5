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
# async-to-sync: rename aset_thread_ttl=set_thread_ttl aget_thread_ttl=get_thread_ttl
# async-to-sync: rename asweep_ttl=sweep_ttl
# async-to-sync: rename AsyncSqlRetentionMethods=SqlRetentionMethods
# async-to-sync: rename retention_methods_async=retention_methods

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

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
from langgraph.checkpoint.base.compact import DeltaCache
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.base.retention import (
    CheckpointTTLConfig,
    ReadRefreshMemo,
    Retention,
    validated_prune,
    validated_ttl,
)
from langgraph.checkpoint.base.retention_methods_async import AsyncSqlRetentionMethods
from langgraph.checkpoint.sqlite import _plans as plans
from langgraph.checkpoint.sqlite import _retention as retention
from langgraph.checkpoint.sqlite._connection import RunnerAttributes, Synchronous
from langgraph.checkpoint.sqlite._runner_async import AsyncRunner

if TYPE_CHECKING:
    import aiosqlite

T = TypeVar("T")


class AsyncSaverCore(
    AsyncSqlRetentionMethods, RunnerAttributes["aiosqlite.Connection"], BaseCheckpointSaver[str]
):
    """Checkpoints in SQLite through `aiosqlite`: every method is one plan (or,
    for `alist`, one plan a page) run by the saver's runner."""

    runner: AsyncRunner

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        serde: SerializerProtocol | None = None,
        synchronous: Synchronous | None = "NORMAL",
        compact: bool = False,
        ttl: CheckpointTTLConfig | Retention | None = None,
    ) -> None:
        super().__init__(serde=serde)
        # Retention (base.retention): what `sweep_ttl` removes, and the memo
        # that keeps read refreshes to one write per thread per tenth of its TTL.
        self.ttl = validated_ttl(ttl)
        self._reads = ReadRefreshMemo(self.ttl.refresh_interval_seconds) if self.ttl else None
        # Compact storage (base.compact): what this saver last stored per
        # channel, so a list that grew is stored as what was appended.
        self.delta_cache = DeltaCache() if compact else None
        self.runner = AsyncRunner(
            conn,
            owner=self,
            tables="the checkpoint tables",
            synchronous=synchronous,
            setup_plans=lambda: (plans.setup_plan(), retention.setup_plan()),
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
        found = await self.runner.read(
            lambda: plans.get_tuple_plan(self.serde, config, self.delta_cache)
        )
        if found is not None:
            await self._record_read(config)
        return found

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
        pages = plans.ListPages(self.serde, config, filter, before, limit, self.delta_cache)
        unrecorded = config is not None
        while not pages.done:
            items = await self.runner.read(pages.next_plan)
            if items and unrecorded:
                unrecorded = False
                await self._record_read(config)
            for item in items:  # sync: yield from items
                yield item  # async-only

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata, self.delta_cache)
        returned = await self.runner.run(plans.put_plan(self.serde, prepared), write=True)
        prepared.remember()
        return returned

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
        self._forget_threads([thread_id])

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self.runner.run(plans.delete_for_runs_plan(self.serde, run_ids), write=True)
        if self.delta_cache is not None:  # rows of any thread may be gone or rewritten
            self.delta_cache.clear()

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        plan = plans.copy_thread_plan(self.serde, source_thread_id, target_thread_id)
        await self.runner.run(plan, write=True)
        self._forget_threads([target_thread_id])

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        """Drop old checkpoints: all but what each namespace's latest needs
        ("keep_latest"), all but the `keep` newest and what they need
        ("keep_last"), or the whole threads ("delete")."""
        if validated_prune(strategy, keep) == "keep_last":
            plan = retention.keep_last_plan(self.serde, thread_ids, keep)  # type: ignore[arg-type]
        else:
            plan = plans.prune_plan(self.serde, thread_ids, strategy)
        await self.runner.run(plan, write=True)
        self._forget_threads(thread_ids)

    def _forget_threads(self, thread_ids: Sequence[str]) -> None:
        if self.delta_cache is not None:
            self.delta_cache.forget_threads(thread_ids)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self.runner.read(
            lambda: plans.delta_history_plan(self.serde, config, channels)
        )

    # -- retention (base.retention) ---------------------------------------------

    @property
    def _retention_plans(self) -> retention.RetentionPlans:
        return retention.RetentionPlans(self.serde)  # the saver's serde at the time

    async def _run_retention(
        self, make_plan: Callable[[], Plan[T]], *, writes: bool, transaction: bool = False
    ) -> T:
        # A write is always one transaction here (the runner's `write=True`).
        return await self.runner.run(make_plan(), write=writes)
