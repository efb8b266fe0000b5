"""`AsyncBatchedBaseStore`: turns many concurrent async calls into one `abatch`.

Graphs often touch the store from several nodes at once. Each `aget`/`aput`/
`asearch`/`adelete`/`alist_namespaces` call here (BaseStore's methods, which
hand their operation to `_arun_op`) only queues its operation; a single worker
task drains the queue on the next loop iteration, drops duplicate reads, and
runs everything queued in one `abatch` call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from typing import Any

from langgraph.checkpoint.errors import EventLoopError
from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)

__all__ = [
    "AsyncBatchedBaseStore",
    "BaseStore",
    "GetOp",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NotProvided",
    "PutOp",
    "SearchItem",
    "SearchOp",
]


def _dedup_key(op: Op) -> Any:
    """Identity used to merge queued operations that need to run only once.

    Equal reads share one result. Writes to the same item share a slot too:
    the later write replaces the earlier one, as running both would leave
    the same final state.
    """
    if isinstance(op, PutOp):
        return ("put", tuple(op.namespace), op.key)
    return (type(op).__name__, repr(op))


class AsyncBatchedBaseStore(BaseStore):
    """Base for async stores: concurrent calls are coalesced into one `abatch`.

    Subclasses implement `abatch`, and call `_bind_loop` wherever they touch
    their connection. The sync methods work from threads other than the event
    loop's, by running the call on that loop.
    """

    __slots__ = ("_loop", "_queue", "_worker", "_lock")

    def __init__(self) -> None:
        super().__init__()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bind_loop()
        self._queue: list[tuple[Op, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        self._lock = threading.Lock()

    def _bind_loop(self) -> None:
        """Remember the loop the store runs on: an async connection (and its
        locks) works only there, so a sync call from a thread is sent to it."""
        with contextlib.suppress(RuntimeError):  # none running: keep the last one
            self._loop = asyncio.get_running_loop()

    async def _submit(self, op: Op) -> Any:
        loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._queue.append((op, future))
            worker = self._worker
            if worker is None or worker.done() or worker.get_loop() is not loop:
                self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while True:
            await asyncio.sleep(0)  # let concurrent callers queue their ops
            with self._lock:
                queued, self._queue = self._queue, []
                if not queued:
                    self._worker = None
                    return
            unique: list[Op] = []
            slot_of: dict[Any, int] = {}
            slots: list[int] = []
            for op, _ in queued:
                key = _dedup_key(op)
                if key in slot_of:
                    slots.append(slot_of[key])
                    if isinstance(op, PutOp):
                        unique[slot_of[key]] = op  # the last write wins
                    continue
                slot_of[key] = len(unique)
                slots.append(len(unique))
                unique.append(op)
            try:
                results = await self.abatch(unique)
            except Exception as exc:
                for _, future in queued:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), slot in zip(queued, slots):
                if not future.done():
                    future.set_result(results[slot])

    # -- the async convenience methods (BaseStore's) go through the queue --

    async def _arun_op(self, op: Op) -> Any:
        return await self._submit(op)

    # -- sync methods: schedule on the store's loop from another thread --

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (loop is None or running is loop):
            raise EventLoopError(
                f"synchronous calls to {type(self).__name__} would block its event loop: "
                "use the async methods (aget, aput, asearch, ...) there, or call the sync "
                "ones from another thread"
            )
        ops = list(ops)
        if loop is None or loop.is_closed():
            return asyncio.run(self.abatch(ops))
        if loop.is_running():
            return asyncio.run_coroutine_threadsafe(self.abatch(ops), loop).result()
        # The store's loop is idle (between run_until_complete calls): run it.
        return loop.run_until_complete(self.abatch(ops))
