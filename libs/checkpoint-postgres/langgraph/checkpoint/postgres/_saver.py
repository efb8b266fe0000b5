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
    config_location,
)
from langgraph.checkpoint.base.compact import DeltaCache, is_missing_base
from langgraph.checkpoint.base.plan import Execute, Plan
from langgraph.checkpoint.base.retention import (
    CheckpointTTLConfig,
    ReadRefreshMemo,
    Retention,
    validated_prune,
    validated_ttl,
)
from langgraph.checkpoint.base.retention_methods import SqlRetentionMethods
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres import _retention as retention
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


class SaverMethods(SqlRetentionMethods, RunnerOwner, BasePostgresSaver):
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
        *,
        ttl: CheckpointTTLConfig | Retention | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__(serde=serde)
        # Compact storage (base.compact): what this saver last stored per
        # channel, so a list that grew is stored as what was appended. It
        # needs this class's put (the shallow savers keep no history).
        if compact and type(self)._put_plan is not SaverMethods._put_plan:
            raise ValueError(f"{type(self).__name__} has no compact mode")
        self.delta_cache = DeltaCache() if compact else None
        self._listed_bytes = plans.ListedBytes()
        # Retention (base.retention): what `sweep_ttl` removes, and the memo
        # that keeps read refreshes to one write per thread per tenth of its TTL.
        self.ttl = validated_ttl(ttl)
        self._reads = ReadRefreshMemo(self.ttl.refresh_interval_seconds) if self.ttl else None
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
        ttl: CheckpointTTLConfig | None = None,
        compact: bool = False,
    ) -> Iterator[Self]:
        """A saver on a new connection to `conn_string`, closed on exit.

        The saver owns this connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` goes to psycopg: after how many
        runs a statement is prepared on the server (0: at once); behind
        PgBouncer in transaction mode, pass None (never prepare). A TTL
        sweeper left running is stopped on exit.
        """
        settings = connect_kwargs(prepare_threshold)
        make = partial(cls, serde=serde, ttl=ttl, compact=compact)
        with opened(conn_string, settings, pipeline, make) as saver:
            try:
                yield saver
            finally:
                saver.stop_ttl_sweeper()

    def _put_plan(self, statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
        return plans.put_plan(statement, returned)

    def _run(self, make_plan: PlanFactory[T], effect: Effect, *, transaction: bool = True) -> T:
        """Run a fresh plan from `make_plan` (again where `Runner.run` may)."""
        return self._runner.run(make_plan, effect, transaction=transaction)

    def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        for make_plan in (plans.setup_plan, retention.setup_plan):
            self._runner.run(make_plan, Effect.REPEATABLE, settle_prepared=True)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = self._run(
            lambda: plans.get_tuple_plan(self.serde, config, self.delta_cache),
            Effect.READ,
            transaction=False,
        )
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
        # Page by page, each page its own read (a keyset page read again after
        # a fault is the same page), yielded before the next is fetched.
        pages = plans.ListPages(
            self.serde, config, filter, before, limit, self.delta_cache, self._listed_bytes
        )
        unrecorded = config is not None
        while not pages.done:
            items = self._run(pages.next_plan, Effect.READ, transaction=False)
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
        try:
            return self._put_once(config, checkpoint, metadata, new_versions)
        except Exception as exc:
            if self.delta_cache is None or not is_missing_base(exc):
                raise
        # A delta on a base another process deleted: forget it, store whole.
        thread_id, ns, _ = config_location(config)
        self.delta_cache.forget(thread_id, ns)
        return self._put_once(config, checkpoint, metadata, new_versions)

    def _put_once(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statement, returned, stored = plans.prepare_put(
            self.serde, config, checkpoint, metadata, new_versions, self.delta_cache
        )
        done = self._run(
            lambda: self._put_plan(statement, returned),
            self._put_effect,
            transaction=self._put_in_transaction,
        )
        if self.delta_cache is not None:
            # Only now: a failed put must leave no entry pointing at nothing.
            thread_id, ns, _ = config_location(config)
            self.delta_cache.remember(thread_id, ns, stored)
        return done

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
        self._forget_threads([thread_id])

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._run(lambda: plans.delete_for_runs_plan(self.serde, run_ids), Effect.ONCE)
        if self.delta_cache is not None:  # rows of any thread may be gone or rewritten
            self.delta_cache.clear()

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        # Upserts only: a second run after a commit it did not hear of adds nothing.
        self._run(
            lambda: plans.copy_thread_plan(source_thread_id, target_thread_id), Effect.REPEATABLE
        )
        self._forget_threads([target_thread_id])

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        """Drop old checkpoints: all but what each namespace's latest needs
        ("keep_latest"), all but the `keep` newest and what they need
        ("keep_last"), or the whole threads ("delete")."""
        if validated_prune(strategy, keep) == "keep_last":
            make_plan = partial(retention.keep_last_plan, self.serde, thread_ids, keep)  # type: ignore[arg-type]
        else:
            make_plan = partial(plans.prune_plan, self.serde, thread_ids, strategy)
        self._run(make_plan, Effect.ONCE)
        self._forget_threads(thread_ids)

    def _forget_threads(self, thread_ids: Sequence[str]) -> None:
        if self.delta_cache is not None:
            self.delta_cache.forget_threads(thread_ids)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._run(
            lambda: plans.delta_history_plan(self.serde, config, channels),
            Effect.READ,
            transaction=False,
        )

    # -- retention (base.retention) ---------------------------------------------

    @property
    def _retention_plans(self) -> retention.RetentionPlans:
        return retention.RetentionPlans(self.serde)  # the saver's serde at the time

    def _run_retention(
        self, make_plan: PlanFactory[T], *, writes: bool, transaction: bool = False
    ) -> T:
        effect = Effect.REPEATABLE if writes else Effect.READ
        return self._run(make_plan, effect, transaction=transaction)
