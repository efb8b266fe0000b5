"""`AsyncPostgresSaver`: the Postgres saver for asyncio (psycopg 3 async).

It runs the same plans as `PostgresSaver`. Its sync methods work from other
threads (they schedule the async ones on the saver's event loop) and fail at
once on that loop's own thread, where waiting would deadlock.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base.retention import SyncRetentionViaLoop
from langgraph.checkpoint.postgres._saver_async import AsyncSaverMethods

__all__ = ["AsyncPostgresSaver"]


class AsyncPostgresSaver(SyncRetentionViaLoop, AsyncSaverMethods):
    """Checkpoint saver on a psycopg `AsyncConnection` or `AsyncConnectionPool`.

    Connection faults are handled as in `PostgresSaver`: a call cut off by a
    dropped connection runs again on a new one only where that is safe, and a
    connection you passed is never replaced.
    """


def __getattr__(name: str) -> Any:  # the shallow module imports this one: load it lazily
    if name == "AsyncShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import AsyncShallowPostgresSaver

        return AsyncShallowPostgresSaver
    raise AttributeError(name)
