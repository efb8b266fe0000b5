# Generated from _saver_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-sqlite/langgraph/checkpoint/sqlite/_saver_async.py and run `make sync`.
"""`SaverCore`: the SQLite saver's methods, written once on its runner
(`Runner`).

`AsyncSqliteSaver` (`aio`) is this core plus what only an asyncio saver has;
`SqliteSaver` is the core generated from it plus what only a sync saver has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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
from langgraph.checkpoint.base.retention_methods import SqlRetentionMethods
from langgraph.checkpoint.sqlite import _plans as plans
from langgraph.checkpoint.sqlite import _retention as retention
from langgraph.checkpoint.sqlite._connection import RunnerAttributes, Synchronous
from langgraph.checkpoint.sqlite._runner import Runner

if TYPE_CHECKING:
    import sqlite3

T = TypeVar("T")


class SaverCore(
    SqlRetentionMethods, RunnerAttributes["sqlite3.Connection"], BaseCheckpointSaver[str]
):
    """Checkpoints in SQLite through `sqlite3`: every method is one plan (or,
    for `list`, one plan a page) run by the saver's runner."""

    runner: Runner

    def __init__(
        self,
        conn: sqlite3.Connection,
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
        self.runner = Runner(
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

    def setup(self) -> None:
        """Create the tables (or migrate an older layout). Idempotent."""
        self.runner.setup()

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = self.runner.read(lambda: plans.get_tuple_plan(self.serde, config, self.delta_cache))
        if found is not None:
            self._record_read(config)
        return found

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Newest first, read a page at a time: the saver's lock is free between
        pages, so the loop body may call the saver."""
        pages = plans.ListPages(self.serde, config, filter, before, limit, self.delta_cache)
        unrecorded = config is not None
        while not pages.done:
            items = self.runner.read(pages.next_plan)
            if items and unrecorded:
                unrecorded = False
                self._record_read(config)
            yield from items

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata, self.delta_cache)
        returned = self.runner.run(plans.put_plan(self.serde, prepared), write=True)
        prepared.remember()
        return returned

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        self.runner.run(plans.put_writes_plan(statement), write=True)

    def delete_thread(self, thread_id: str) -> None:
        self.runner.run(plans.delete_thread_plan(thread_id), write=True)
        self._forget_threads([thread_id])

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.runner.run(plans.delete_for_runs_plan(self.serde, run_ids), write=True)
        if self.delta_cache is not None:  # rows of any thread may be gone or rewritten
            self.delta_cache.clear()

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        plan = plans.copy_thread_plan(self.serde, source_thread_id, target_thread_id)
        self.runner.run(plan, write=True)
        self._forget_threads([target_thread_id])

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        """Drop old checkpoints: all but what each namespace's latest needs
        ("keep_latest"), all but the `keep` newest and what they need
        ("keep_last"), or the whole threads ("delete")."""
        if validated_prune(strategy, keep) == "keep_last":
            plan = retention.keep_last_plan(self.serde, thread_ids, keep)  # type: ignore[arg-type]
        else:
            plan = plans.prune_plan(self.serde, thread_ids, strategy)
        self.runner.run(plan, write=True)
        self._forget_threads(thread_ids)

    def _forget_threads(self, thread_ids: Sequence[str]) -> None:
        if self.delta_cache is not None:
            self.delta_cache.forget_threads(thread_ids)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.runner.read(lambda: plans.delta_history_plan(self.serde, config, channels))

    # -- retention (base.retention) ---------------------------------------------

    @property
    def _retention_plans(self) -> retention.RetentionPlans:
        return retention.RetentionPlans(self.serde)  # the saver's serde at the time

    def _run_retention(
        self, make_plan: Callable[[], Plan[T]], *, writes: bool, transaction: bool = False
    ) -> T:
        # A write is always one transaction here (the runner's `write=True`).
        return self.runner.run(make_plan(), write=writes)
