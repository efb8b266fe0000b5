"""The other half of a saver that is only sync or only async.

The SQL packages ship a sync saver and an async saver. `AsyncMethodsUnsupported`
gives a sync saver async methods that fail at once, naming the class to use
instead; `SyncMethodsViaLoop` gives an async saver sync methods that run the
async ones on the saver's event loop from another thread (and refuse, rather
than deadlock, on that loop's own thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from langgraph.checkpoint.errors import EventLoopError, UnsupportedOperationError

T = TypeVar("T")

# What `_next_item` returns once the async iterator is exhausted.
_EXHAUSTED: Any = object()


class AsyncMethodsUnsupported:
    """Mixin for sync-only savers. Set `async_alternative` to the class to suggest."""

    async_alternative = "the async saver of this package"

    def _no_async(self, method: str) -> UnsupportedOperationError:
        name = type(self).__name__
        return UnsupportedOperationError(
            f"{name}.{method} is not supported: {name} is synchronous. "
            f"For async code use {self.async_alternative}."
        )

    async def aget_tuple(self, config: Any) -> Any:
        raise self._no_async("aget_tuple")

    async def alist(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> AsyncIterator[Any]:
        raise self._no_async("alist")
        yield  # pragma: no cover - makes this an async generator

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        raise self._no_async("aput")

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        raise self._no_async("aput_writes")

    async def adelete_thread(self, thread_id: str) -> None:
        raise self._no_async("adelete_thread")

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        raise self._no_async("adelete_for_runs")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        raise self._no_async("acopy_thread")

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        raise self._no_async("aprune")

    async def aget_delta_channel_history(
        self, *, config: Any, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        raise self._no_async("aget_delta_channel_history")


class SyncMethodsViaLoop:
    """Mixin for async savers: sync methods from other threads.

    The saver records the event loop it runs on in `self.loop`.
    """

    loop: asyncio.AbstractEventLoop | None = None

    def _from_thread(self, coro: Coroutine[Any, Any, T]) -> T:
        name = type(self).__name__
        loop = self.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is loop:
            coro.close()
            raise EventLoopError(
                f"{name}'s sync methods cannot be called from its own event loop (that would "
                "deadlock): await the async methods instead (e.g. `await saver.aget_tuple(config)`, "
                "`graph.ainvoke(...)`), or call the sync ones from another thread"
            )
        if loop is None or loop.is_closed() or not loop.is_running():
            coro.close()
            raise EventLoopError(
                f"{name}'s sync methods need its event loop running in another thread: use the "
                "async methods, or the package's sync saver for sync code"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    @staticmethod
    async def _next_item(items: AsyncIterator[T]) -> T:
        try:
            return await items.__anext__()
        except StopAsyncIteration:
            return _EXHAUSTED

    @staticmethod
    async def _close(items: AsyncIterator[Any]) -> None:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()

    def _stream_from_thread(self, items: AsyncIterator[T]) -> Iterator[T]:
        """Yield `items` one at a time, each fetched on the saver's loop, so
        the caller holds one item (not the whole listing) at a time."""
        exhausted = False
        try:
            while (item := self._from_thread(self._next_item(items))) is not _EXHAUSTED:
                yield item
            exhausted = True
        finally:
            if not exhausted:
                # Stopped early (break, error): let the async generator release
                # its cursor or connection on the loop it runs on. When the loop
                # refused the first step there is nothing to release.
                with contextlib.suppress(EventLoopError):
                    self._from_thread(self._close(items))

    def get_tuple(self, config: Any) -> Any:
        return self._from_thread(self.aget_tuple(config))  # type: ignore[attr-defined]

    def list(
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> Iterator[Any]:
        items = self.alist(config, filter=filter, before=before, limit=limit)  # type: ignore[attr-defined]
        yield from self._stream_from_thread(items)

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self._from_thread(self.aput(config, checkpoint, metadata, new_versions))  # type: ignore[attr-defined]

    def put_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        return self._from_thread(self.aput_writes(config, writes, task_id, task_path))  # type: ignore[attr-defined]

    def delete_thread(self, thread_id: str) -> None:
        return self._from_thread(self.adelete_thread(thread_id))  # type: ignore[attr-defined]

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        return self._from_thread(self.adelete_for_runs(run_ids))  # type: ignore[attr-defined]

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        return self._from_thread(self.acopy_thread(source_thread_id, target_thread_id))  # type: ignore[attr-defined]

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        return self._from_thread(self.aprune(thread_ids, strategy=strategy))  # type: ignore[attr-defined]

    def get_delta_channel_history(
        self, *, config: Any, channels: Sequence[str]
    ) -> Mapping[str, Any]:
        return self._from_thread(self.aget_delta_channel_history(config=config, channels=channels))  # type: ignore[attr-defined]
