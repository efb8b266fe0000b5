"""`AsyncSqliteSaver`: the SQLite saver for asyncio, on an `aiosqlite` connection.

It runs the same plans as `SqliteSaver` (see `_plans`) through the same
methods (`_saver_async`, from which `SqliteSaver`'s are generated), so both
read and write identical databases. Its sync methods work from other threads
(they schedule the async ones on the saver's event loop) and fail at once on
that loop's own thread, where waiting would deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.base.retention import CheckpointTTLConfig, SyncRetentionViaLoop
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import _plans as plans
from langgraph.checkpoint.sqlite._connection import BUSY_TIMEOUT_MS, Synchronous
from langgraph.checkpoint.sqlite._saver_async import AsyncSaverCore

__all__ = [
    "AsyncSqliteSaver",
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "DeltaChannelHistory",
    "JsonPlusSerializer",
    "SerializerProtocol",
    "WRITES_IDX_MAP",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
]


class AsyncSqliteSaver(SyncRetentionViaLoop, AsyncSaverCore):
    """Checkpoint saver on an `aiosqlite.Connection`.

    The schema is created on first use (or by `await setup()`). Calls are
    serialized by an asyncio lock, so one saver can serve many tasks.
    """

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the saver runs on (where it was made or set up)."""
        return self.runner.loop

    @loop.setter
    def loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.runner.loop = loop

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        synchronous: Synchronous | None = "NORMAL",
        compact: bool = False,
        ttl: CheckpointTTLConfig | None = None,
    ) -> AsyncIterator[AsyncSqliteSaver]:
        """A saver on a new connection to `conn_string` (a path or ":memory:"), closed on exit
        (its TTL sweeper, if started, is stopped first)."""
        async with aiosqlite.connect(conn_string, timeout=BUSY_TIMEOUT_MS / 1000) as conn:
            saver = cls(conn, synchronous=synchronous, compact=compact, ttl=ttl)
            try:
                yield saver
            finally:
                await saver.stop_ttl_sweeper()

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """`alist` for other threads, a page at a time too."""
        pages = plans.ListPages(self.serde, config, filter, before, limit, self.delta_cache)
        unrecorded = config is not None
        while not pages.done:
            items = self._from_thread(self.runner.read(pages.next_plan))
            if items and unrecorded:
                unrecorded = False
                self._from_thread(self._record_read(config))
            yield from items
