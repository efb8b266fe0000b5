"""Retention: how long savers keep checkpoints, and the sweep that enforces it.

The `ttl` option of every saver has the platform's checkpointer-TTL shape::

    {"strategy": "delete" | "keep_latest", "default_ttl": minutes,
     "sweep_interval_minutes": minutes, "refresh_on_read": bool, "keep_last": N}

A thread expires `default_ttl` minutes after its last write. Its last write is
its greatest checkpoint id: ids are UUIDv6 (`base.id`), so the time is in the
id and no write per `put` is needed to track it. Ids that are not UUIDv6 carry
no time, so a thread whose greatest id is not one never expires. With
`refresh_on_read`, a read of the thread counts as activity too (recorded at
most once per tenth of its TTL per process, `ReadRefreshMemo`). A thread may
have its own TTL, or none at all (pinned: never expired nor trimmed).

An expired thread is deleted (`delete`) or trimmed to what the latest
checkpoint of each namespace needs to resume (`keep_latest`). `keep_last=N`
trims every unpinned thread to its N newest checkpoints per namespace (plus
the ancestors their delta channels replay from), whatever their age.

`SweepPlanner` is the sweep written once for the SQL savers: it finds
candidate threads in a read, then removes them in bounded batches, each its
own short write transaction that checks the candidates again (a thread
written to meanwhile is spared). Deletes are idempotent, so several sweepers
may run at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Literal, Protocol

from langgraph.checkpoint.base.bridges import AsyncMethodsUnsupported, SyncMethodsViaLoop
from langgraph.checkpoint.base.id import _GREGORIAN_OFFSET
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.errors import InvalidConfigError
from typing_extensions import TypedDict

logger = logging.getLogger(__name__)

__all__ = [
    "TaskSweeperMethods",
    "ThreadSweeperMethods",
    "AsyncRetentionUnsupported",
    "SyncRetentionViaLoop",
    "BATCH_ROWS",
    "BATCH_THREADS",
    "RETENTION_TABLE",
    "CheckpointTTLConfig",
    "ReadRefreshMemo",
    "Retention",
    "SweepPass",
    "SweepPlanner",
    "SweepReport",
    "TaskSweeper",
    "ThreadSweeper",
    "id_floor_minutes_ago",
    "validated_keep",
    "validated_minutes",
    "validated_prune",
    "validated_ttl",
]

Strategy = Literal["delete", "keep_latest"]

# Our table of per-thread settings; the reference neither creates nor reads it.
RETENTION_TABLE = "checkpoint_thread_retention"

# A batch is one write transaction: at most this many threads, and threads
# holding at most this many checkpoints (a single larger thread is a batch of its own).
BATCH_THREADS = 50
BATCH_ROWS = 5_000

DEFAULT_SWEEP_INTERVAL_MINUTES = 5.0


class CheckpointTTLConfig(TypedDict, total=False):
    """The `ttl` option of the savers (all keys optional)."""

    strategy: Strategy
    """What expiry does to a thread: remove it ("delete", the default) or keep
    only what its latest checkpoints need ("keep_latest")."""
    default_ttl: float | None
    """Minutes after a thread's last write (or read) before it expires; None: never."""
    sweep_interval_minutes: float
    """Minutes between two sweeps of `start_ttl_sweeper` (default 5)."""
    refresh_on_read: bool
    """Whether reading a thread (`get_tuple`, `list`) counts as activity."""
    keep_last: int | None
    """Trim each thread to its N newest checkpoints per namespace at every sweep."""


@dataclass(frozen=True, slots=True)
class Retention:
    """A validated `ttl` option."""

    strategy: Strategy = "delete"
    default_ttl: float | None = None
    sweep_interval_minutes: float = DEFAULT_SWEEP_INTERVAL_MINUTES
    refresh_on_read: bool = False
    keep_last: int | None = None

    @property
    def refresh_interval_seconds(self) -> float:
        """How often one process records a read of one thread: a tenth of the
        TTL (a minute's tenth without a default TTL, for threads with their own)."""
        return (self.default_ttl or 1.0) * 6.0


def validated_minutes(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidConfigError(f"{name} must be a number of minutes, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidConfigError(f"{name} must be a positive number of minutes, got {value!r}")
    return float(value)


def validated_keep(value: Any, name: str = "keep") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidConfigError(
            f"{name} must be an int of at least 1 (the latest checkpoint is always kept), "
            f"got {value!r}"
        )
    return value


def validated_ttl(ttl: Mapping[str, Any] | Retention | None) -> Retention | None:
    """The `ttl` option checked, or an `InvalidConfigError` naming what is wrong."""
    if ttl is None or isinstance(ttl, Retention):
        return ttl
    if not isinstance(ttl, Mapping):
        raise InvalidConfigError(
            f"ttl must be a dict like {{'default_ttl': 60 * 24}}, got {type(ttl).__name__}"
        )
    unknown = set(ttl) - set(CheckpointTTLConfig.__annotations__)
    if unknown:
        raise InvalidConfigError(
            f"unknown ttl option(s) {sorted(unknown)}: use "
            f"{', '.join(CheckpointTTLConfig.__annotations__)}"
        )
    strategy = ttl.get("strategy", "delete")
    if strategy not in ("delete", "keep_latest"):
        raise InvalidConfigError(
            f"ttl strategy must be 'delete' or 'keep_latest', got {strategy!r}"
        )
    default_ttl = ttl.get("default_ttl")
    interval = ttl.get("sweep_interval_minutes", DEFAULT_SWEEP_INTERVAL_MINUTES)
    refresh = ttl.get("refresh_on_read", False)
    if not isinstance(refresh, bool):
        raise InvalidConfigError(f"ttl refresh_on_read must be a bool, got {refresh!r}")
    keep_last = ttl.get("keep_last")
    return Retention(
        strategy=strategy,
        default_ttl=None if default_ttl is None else validated_minutes(default_ttl, "default_ttl"),
        sweep_interval_minutes=validated_minutes(interval, "sweep_interval_minutes"),
        refresh_on_read=refresh,
        keep_last=None if keep_last is None else validated_keep(keep_last, "keep_last"),
    )


def validated_prune(strategy: Any, keep: Any) -> str:
    """`prune`'s strategy, checked with its `keep` (only "keep_last" takes one)."""
    if strategy not in ("keep_latest", "keep_last", "delete"):
        raise InvalidConfigError(
            f"unknown prune strategy {strategy!r}: use 'keep_latest', 'keep_last' or 'delete'"
        )
    if strategy == "keep_last":
        validated_keep(keep)
    elif keep is not None:
        raise InvalidConfigError(f"keep= goes with strategy='keep_last', not {strategy!r}")
    return str(strategy)


def validated_thread_ttl(minutes: Any) -> float | None:
    """The TTL of `set_thread_ttl`: minutes, or None to keep the thread forever."""
    return None if minutes is None else validated_minutes(minutes, "the thread's ttl")


def id_floor_minutes_ago(minutes: float, now: float | None = None) -> str:
    """The smallest UUIDv6 string of the moment `minutes` before `now` (Unix
    seconds, default the present): ids made earlier sort below it."""
    moment = time.time() if now is None else now
    ticks = int((moment - minutes * 60) * 10_000_000) + _GREGORIAN_OFFSET
    time_high_and_mid = (ticks >> 12) & 0xFFFF_FFFF_FFFF
    time_low_and_version = (ticks & 0x0FFF) | (6 << 12)
    hex_ = f"{time_high_and_mid:012x}{time_low_and_version:04x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-0000-000000000000"


def read_mark() -> str:
    """What a read refresh records: a UUIDv6-shaped string of the present,
    compared with id floors like a checkpoint id."""
    return id_floor_minutes_ago(0)


class ReadRefreshMemo:
    """When this process last recorded a read of each thread, so that reads do
    not each cost a write. Bounded: the oldest entries are forgotten first."""

    def __init__(self, interval_seconds: float, capacity: int = 10_000) -> None:
        self.interval = interval_seconds
        self.capacity = capacity
        self._last: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def due(self, thread_id: str) -> bool:
        """Whether a read of `thread_id` should be recorded now (and note it)."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(thread_id)
            if last is not None and now - last < self.interval:
                return False
            self._last[thread_id] = now
            self._last.move_to_end(thread_id)
            while len(self._last) > self.capacity:
                self._last.popitem(last=False)
            return True

    def forget(self, thread_id: str) -> None:
        """Record the next read again (the refresh could not be written)."""
        with self._lock:
            self._last.pop(thread_id, None)


@dataclass(slots=True)
class SweepReport:
    """What one sweep removed."""

    threads_deleted: int = 0
    """Expired threads removed whole (strategy "delete")."""
    threads_trimmed: int = 0
    """Threads that lost old checkpoints ("keep_latest", `keep_last`)."""
    checkpoints_deleted: int = 0
    """Checkpoints removed, in all (their writes and blobs went with them)."""
    batches: int = 0
    """Write transactions the sweep ran."""
    longest_batch_seconds: float = 0.0
    """Duration of the longest of them (how long it could hold up a writer)."""

    def add_batch(self, deleted: int, trimmed: int, checkpoints: int, seconds: float) -> None:
        self.threads_deleted += deleted
        self.threads_trimmed += trimmed
        self.checkpoints_deleted += checkpoints
        self.batches += 1
        self.longest_batch_seconds = max(self.longest_batch_seconds, seconds)


@dataclass(frozen=True, slots=True)
class SweepPass:
    """One kind of candidate the sweep looks for.

    `action` "delete"/"keep_latest" with `ttl_minutes`: expired threads whose
    TTL is that (`own_ttl`: set per thread; otherwise the default, for threads
    without a setting of their own). `action` "keep_last" with `keep`: threads
    with more than `keep` checkpoints in a namespace.
    """

    action: Literal["delete", "keep_latest", "keep_last"]
    ttl_minutes: float | None = None
    own_ttl: bool = False
    keep: int = 1


Candidate = tuple[str, int]  # (thread_id, its number of checkpoints)
BatchResult = tuple[int, int, int]  # (threads deleted, threads trimmed, checkpoints deleted)


class RetentionPlans(Protocol):
    """The SQL a backend gives `SweepPlanner`."""

    def own_ttls_plan(self) -> Plan[list[float]]: ...

    def candidates_plan(
        self, sweep_pass: SweepPass, floor: str | None, after: str, limit: int
    ) -> Plan[list[Candidate]]: ...

    def batch_plan(
        self, sweep_pass: SweepPass, floor: str | None, thread_ids: list[str]
    ) -> Plan[BatchResult]: ...


@dataclass(slots=True)
class SweepStep:
    """One plan of a sweep: `make()` builds it (again, if a driver retries),
    `writes` says whether it is a write transaction, `finish` takes its result."""

    make: Callable[[], Plan[Any]]
    writes: bool
    finish: Callable[[Any], None]


@dataclass
class SweepPlanner:
    """A sweep as a sequence of plans, for a driver to run one at a time::

        for step in planner.steps():
            step.finish(run(step.make(), write=step.writes))

    (timing each write step into `report`). Candidates are read in keyset
    order of thread id, so every thread is visited at most once per pass and
    a thread that stays over a limit (its delta ancestors are kept) does not
    keep the sweep going.
    """

    plans: RetentionPlans
    retention: Retention
    report: SweepReport = field(default_factory=SweepReport)

    def steps(self) -> Iterator[SweepStep]:
        own_ttls: list[float] = []
        yield SweepStep(self.plans.own_ttls_plan, False, own_ttls.extend)
        for sweep_pass in self._passes(own_ttls):
            floor = (
                None
                if sweep_pass.ttl_minutes is None
                else id_floor_minutes_ago(sweep_pass.ttl_minutes)
            )
            yield from self._pass_steps(sweep_pass, floor)

    def _passes(self, own_ttls: list[float]) -> Iterator[SweepPass]:
        strategy = self.retention.strategy
        if self.retention.default_ttl is not None:
            yield SweepPass(strategy, self.retention.default_ttl)
        for minutes in own_ttls:
            yield SweepPass(strategy, minutes, own_ttl=True)
        if self.retention.keep_last is not None:
            yield SweepPass("keep_last", keep=self.retention.keep_last)

    def _pass_steps(self, sweep_pass: SweepPass, floor: str | None) -> Iterator[SweepStep]:
        after = ""
        found: list[Candidate] = []
        while True:
            found.clear()
            yield SweepStep(
                partial(self.plans.candidates_plan, sweep_pass, floor, after, BATCH_THREADS),
                False,
                found.extend,
            )
            if not found:
                return
            batch: list[str] = []
            rows = 0
            for thread_id, count in found:
                if batch and rows + count > BATCH_ROWS:
                    break
                batch.append(thread_id)
                rows += count
            after = batch[-1]
            yield SweepStep(
                partial(self.plans.batch_plan, sweep_pass, floor, batch), True, lambda _: None
            )
            if len(found) < BATCH_THREADS and len(batch) == len(found):
                return


def run_sweep_step(step: SweepStep, report: SweepReport, result: Any, seconds: float) -> None:
    """Hand a step its result, counting a write step's removals in `report`."""
    if step.writes:
        deleted, trimmed, checkpoints = result
        report.add_batch(deleted, trimmed, checkpoints, seconds)
    step.finish(result)


# What `start_ttl_sweeper` returns (names the sync generator can swap).
SweeperThread = threading.Thread
SweeperTask = asyncio.Task[None]


class ThreadSweeper:
    """`sweep()` every `interval` seconds in a daemon thread until stopped."""

    def __init__(self) -> None:
        self._running: tuple[threading.Thread, threading.Event] | None = None

    def start(
        self, sweep: Callable[[], Any], interval: float, name: str = "checkpoint-ttl-sweeper"
    ) -> SweeperThread:
        self.stop(None)
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    sweep()
                except Exception:  # the next sweep may succeed (a database busy, a blip)
                    logger.exception("TTL sweep failed")

        thread = threading.Thread(target=loop, name=name, daemon=True)
        self._running = (thread, stop)
        thread.start()
        return thread

    def stop(self, timeout: float | None) -> bool:
        """Stop it; True if its thread ended within `timeout`."""
        if self._running is None:
            return True
        thread, stop = self._running
        self._running = None
        stop.set()
        thread.join(timeout)
        return not thread.is_alive()


class TaskSweeper:
    """`await sweep()` every `interval` seconds in an asyncio task until stopped."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self, sweep: Callable[[], Awaitable[Any]], interval: float) -> SweeperTask:
        await self.stop(None)

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                try:
                    await sweep()
                except Exception:  # the next sweep may succeed (a database busy, a blip)
                    logger.exception("TTL sweep failed")

        self._task = asyncio.get_running_loop().create_task(loop())
        return self._task

    async def stop(self, timeout: float | None) -> bool:
        """Stop it; True if the task ended within `timeout`."""
        task, self._task = self._task, None
        if task is None:
            return True
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        return bool(done)


def sweep_interval_seconds(retention: Retention | None, minutes: float | None) -> float:
    if minutes is not None:
        return 60 * validated_minutes(minutes, "sweep_interval_minutes")
    return 60 * (retention or Retention()).sweep_interval_minutes


class AsyncRetentionUnsupported(AsyncMethodsUnsupported):
    """`AsyncMethodsUnsupported` with the retention methods: they fail at once too."""

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        raise self._no_async("aprune")

    async def aset_thread_ttl(self, thread_id: str, minutes: float | None) -> None:
        raise self._no_async("aset_thread_ttl")

    async def aget_thread_ttl(self, thread_id: str) -> float | None:
        raise self._no_async("aget_thread_ttl")

    async def asweep_ttl(self) -> SweepReport:
        raise self._no_async("asweep_ttl")


class SyncRetentionViaLoop(SyncMethodsViaLoop):
    """`SyncMethodsViaLoop` with the retention methods, run on the saver's loop too."""

    aprune: Callable[..., Coroutine[Any, Any, None]]
    aset_thread_ttl: Callable[[str, float | None], Coroutine[Any, Any, None]]
    aget_thread_ttl: Callable[[str], Coroutine[Any, Any, float | None]]
    asweep_ttl: Callable[[], Coroutine[Any, Any, SweepReport]]

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        return self._from_thread(self.aprune(thread_ids, strategy=strategy, keep=keep))

    def set_thread_ttl(self, thread_id: str, minutes: float | None) -> None:
        return self._from_thread(self.aset_thread_ttl(thread_id, minutes))

    def get_thread_ttl(self, thread_id: str) -> float | None:
        return self._from_thread(self.aget_thread_ttl(thread_id))

    def sweep_ttl(self) -> SweepReport:
        return self._from_thread(self.asweep_ttl())


class ThreadSweeperMethods:
    """`start_ttl_sweeper`/`stop_ttl_sweeper` of a sync saver with `sweep_ttl`."""

    ttl: Retention | None
    sweep_ttl: Callable[[], SweepReport]

    @cached_property
    def _ttl_sweeper(self) -> ThreadSweeper:
        return ThreadSweeper()

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> SweeperThread:
        """Run `sweep_ttl` in a background thread every `sweep_interval_minutes`
        (default: the `ttl` option's, else 5) until `stop_ttl_sweeper`."""
        interval = sweep_interval_seconds(self.ttl, sweep_interval_minutes)
        return self._ttl_sweeper.start(self.sweep_ttl, interval)

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout` seconds."""
        return self._ttl_sweeper.stop(timeout)


class TaskSweeperMethods:
    """`start_ttl_sweeper`/`stop_ttl_sweeper` of an async saver with `asweep_ttl`."""

    ttl: Retention | None
    asweep_ttl: Callable[[], Awaitable[SweepReport]]

    @cached_property
    def _ttl_sweeper(self) -> TaskSweeper:
        return TaskSweeper()

    async def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> SweeperTask:
        """Run `asweep_ttl` in an asyncio task every `sweep_interval_minutes`
        (default: the `ttl` option's, else 5) until `stop_ttl_sweeper`."""
        interval = sweep_interval_seconds(self.ttl, sweep_interval_minutes)
        return await self._ttl_sweeper.start(self.asweep_ttl, interval)

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper; True if it ended within `timeout` seconds."""
        return await self._ttl_sweeper.stop(timeout)
