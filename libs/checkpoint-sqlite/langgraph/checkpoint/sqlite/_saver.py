# Generated from _saver_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-sqlite/langgraph/checkpoint/sqlite/_saver_async.py and run `make sync`.
"""`SaverCore`: the SQLite saver's methods, written once on its runner
(`Runner`).

`AsyncSqliteSaver` (`aio`) is this core plus what only an asyncio saver has;
`SqliteSaver` is the core generated from it plus what only a sync saver has.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
from langgraph.checkpoint.sqlite._runner import Runner

if TYPE_CHECKING:
    import sqlite3


class SaverCore(RunnerAttributes["sqlite3.Connection"], BaseCheckpointSaver[str]):
    """Checkpoints in SQLite through `sqlite3`: every method is one plan (or,
    for `list`, one plan a page) run by the saver's runner."""

    runner: Runner

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        serde: SerializerProtocol | None = None,
        synchronous: Synchronous | None = "NORMAL",
    ) -> None:
        super().__init__(serde=serde)
        self.runner = Runner(
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

    def setup(self) -> None:
        """Create the tables (or migrate an older layout). Idempotent."""
        self.runner.setup()

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.runner.run(plans.get_tuple_plan(self.serde, config))

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
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while (plan := pages.next_plan()) is not None:
            yield from self.runner.run(plan)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prepared = plans.prepare_put(self.serde, config, checkpoint, metadata)
        return self.runner.run(plans.put_plan(prepared), write=True)

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

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.runner.run(plans.delete_for_runs_plan(run_ids), write=True)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        plan = plans.copy_thread_plan(source_thread_id, target_thread_id)
        self.runner.run(plan, write=True)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.runner.run(plans.prune_plan(self.serde, thread_ids, strategy), write=True)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.runner.run(plans.delta_history_plan(self.serde, config, channels))
