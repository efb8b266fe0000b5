# Generated from retention_methods_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint/langgraph/checkpoint/base/retention_methods_async.py and run `make sync`.
"""`SqlRetentionMethods`: the SQL savers' retention methods (per-thread
TTLs, read refreshes, `sweep_ttl`), written once over what each backend
gives: its retention plans (`_retention_plans`, a `SqlRetentionPlans`) and how
it runs a plan (`_run_retention`).

The sync `SqlRetentionMethods` (`retention_methods`) is generated from this
module by `scripts/async_to_sync.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from langgraph.checkpoint.base import RunnableConfig, config_location
from langgraph.checkpoint.base.compact import DeltaCache
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.base.retention import (
    ReadRefreshMemo,
    Retention,
    SweepPlanner,
    SweepReport,
    ThreadSweeperMethods,
    run_sweep_step,
)
from langgraph.checkpoint.base.retention_sql import SqlRetentionPlans

T = TypeVar("T")


class SqlRetentionMethods(ThreadSweeperMethods):
    """Retention on a SQL saver that has `ttl`, `_reads`, `delta_cache` and
    the two hooks below."""

    ttl: Retention | None
    _reads: ReadRefreshMemo | None
    delta_cache: DeltaCache | None

    @property
    def _retention_plans(self) -> SqlRetentionPlans:
        """The backend's retention plans, with the saver's serde at the time."""
        raise NotImplementedError

    def _run_retention(
        self, make_plan: Callable[[], Plan[T]], *, writes: bool, transaction: bool = False
    ) -> T:
        """Run a plan from `make_plan`; `writes` if it changes the database,
        `transaction` if its statements must commit together (a sweep batch)."""
        raise NotImplementedError

    def _record_read(self, config: RunnableConfig | None) -> None:
        """With `refresh_on_read`, note that the config's thread was read (at
        most once per tenth of the TTL per thread in this process)."""
        if self._reads is None or not self.ttl or not self.ttl.refresh_on_read:
            return
        thread_id = config_location(config or {})[0]
        if not self._reads.due(thread_id):
            return
        try:
            self._run_retention(lambda: self._retention_plans.refresh_plan(thread_id), writes=True)
        except BaseException:
            self._reads.forget(thread_id)
            raise

    def set_thread_ttl(self, thread_id: str, minutes: float | None) -> None:
        """Give one thread its own TTL in minutes, or None to keep it forever
        (never expired, never trimmed by `keep_last`)."""
        self._run_retention(
            lambda: self._retention_plans.set_thread_ttl_plan(thread_id, minutes), writes=True
        )

    def get_thread_ttl(self, thread_id: str) -> float | None:
        """The thread's TTL in minutes: its own, else the default; None when it
        is kept forever (or there is no default)."""
        default = self.ttl.default_ttl if self.ttl else None
        return self._run_retention(
            lambda: self._retention_plans.get_thread_ttl_plan(thread_id, default), writes=False
        )

    def sweep_ttl(self) -> SweepReport:
        """Remove what the retention settings say has expired, in batches that
        are each one short transaction; returns what was removed. A batch
        checks its threads again, so running it twice (after a fault) or
        beside another sweeper removes nothing more."""
        planner = SweepPlanner(self._retention_plans, self.ttl or Retention())
        for step in planner.steps():
            started = time.monotonic()
            result = self._run_retention(step.make, writes=step.writes, transaction=step.writes)
            run_sweep_step(step, planner.report, result, time.monotonic() - started)
        if planner.report.checkpoints_deleted and self.delta_cache is not None:
            # Rows of swept threads are gone or rewritten: a delta on them
            # would be refused (Postgres's delta guard, SQLite's check) and
            # stored whole.
            self.delta_cache.clear()
        return planner.report
