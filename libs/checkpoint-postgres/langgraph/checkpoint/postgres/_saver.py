# Generated from _saver_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-postgres/langgraph/checkpoint/postgres/_saver_async.py and run `make sync`.
"""The saver methods, written once on top of the runner. This module is the
asyncio source of `AsyncPostgresSaver`; `_saver`, generated from it, is the
one of `PostgresSaver`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar, TypeVar

from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
)
from langgraph.checkpoint.base.plan import Execute, Plan
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import (
    CHECKPOINT_TABLES,
    Effect,
    PlanFactory,
    connect_kwargs,
)
from langgraph.checkpoint.postgres._runner import Runner, RunnerOwner, opened
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from psycopg import Connection, Pipeline
from psycopg_pool import ConnectionPool
from typing_extensions import Self

T = TypeVar("T")


class SaverMethods(RunnerOwner, BasePostgresSaver):
    """What `AsyncPostgresSaver` does, on its runner."""

    # How `put` stores a checkpoint: one upsert, repeatable, outside a
    # transaction (`_put_plan`). The shallow savers change all three.
    _put_effect: ClassVar[Effect] = Effect.REPEATABLE
    _put_in_transaction: ClassVar[bool] = False

    def __init__(
        self,
        conn: Connection | ConnectionPool,
        pipe: Pipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if isinstance(conn, ConnectionPool) and pipe is not None:
            raise ValueError("pipeline mode needs a single connection, not an ConnectionPool")
        self._runner = Runner(
            type(self).__name__, conn, pipe, tables=CHECKPOINT_TABLES, binary=True
        )

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        prepare_threshold: int | None = 0,
    ) -> Iterator[Self]:
        """A saver on a new connection to `conn_string`, closed on exit.

        The saver owns this connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` goes to psycopg: after how many
        runs a statement is prepared on the server (0: at once); behind
        PgBouncer in transaction mode, pass None (never prepare).
        """
        settings = connect_kwargs(prepare_threshold)
        with opened(conn_string, settings, pipeline, partial(cls, serde=serde)) as saver:
            yield saver

    def _put_plan(self, statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
        return plans.put_plan(statement, returned)

    def _run(self, make_plan: PlanFactory[T], effect: Effect, *, transaction: bool = True) -> T:
        """Run a fresh plan from `make_plan` (again, if the first run is cut off)."""
        return self._runner.run(make_plan, effect, transaction=transaction)

    def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        self._run(plans.setup_plan, Effect.REPEATABLE)
        # After the migrations' DDL, once synced (see SETTLE_PREPARED).
        self._run(plans.settle_prepared_plan, Effect.READ, transaction=False)

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
        # Page by page, each page its own read (a keyset page read again after
        # a fault is the same page), yielded before the next is fetched.
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while not pages.done:
            items = self._run(pages.next_plan, Effect.READ, transaction=False)
            yield from items

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
            lambda: self._put_plan(statement, returned),
            self._put_effect,
            transaction=self._put_in_transaction,
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
