"""`PostgresSaver`: checkpoints in PostgreSQL through psycopg 3.

Works on a `psycopg.Connection` or a `psycopg_pool.ConnectionPool`, opened as
you like: autocommit or not, any row factory (the saver picks its own per
cursor). A `put` is a single statement, so on an autocommit connection it is a
single round trip; `get_tuple` and each page of `list` are one query too.
Call `setup()` once per database to create or migrate the tables.

What a call does when the connection breaks under it is decided by the
runner (`_runner_async`, with `_conn.Attempt`): it runs once more from scratch, on a new connection, only where
that cannot do twice what the first run may have done; otherwise it raises.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base.retention import AsyncRetentionUnsupported
from langgraph.checkpoint.postgres._saver import SaverMethods
from langgraph.checkpoint.postgres.base import BasePostgresSaver

__all__ = ["BasePostgresSaver", "PostgresSaver"]


class PostgresSaver(AsyncRetentionUnsupported, SaverMethods):
    """Checkpoint saver on a psycopg connection or connection pool.

    With a single connection, calls from several threads are serialized by a
    lock. When the server drops a connection (a restart, a terminated
    backend), a call is run again from scratch on a new one where that is
    safe: always for reads, puts and put_writes (upserts: a second run
    changes nothing more), for any call whose transaction had not reached
    COMMIT; never inside a transaction of yours. Otherwise it raises. The new
    connection comes from the pool, or, on the connection `from_conn_string`
    opened, a new one is made; a connection you passed is never replaced.
    For asyncio code use `AsyncPostgresSaver`.
    """

    async_alternative = (
        "AsyncPostgresSaver (from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver)"
    )


def __getattr__(name: str) -> Any:  # the shallow module imports this one: load it lazily
    if name == "ShallowPostgresSaver":
        from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver

        return ShallowPostgresSaver
    raise AttributeError(name)
