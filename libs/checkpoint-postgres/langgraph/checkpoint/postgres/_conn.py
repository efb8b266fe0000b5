"""Borrowing a connection from what users hand us: a connection or a pool.

Shared by the savers and the stores of this package.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.base.plan import ExecuteMany, Query, Step
from langgraph.checkpoint.postgres.base import translate_error
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool


@contextmanager
def borrow(
    owner: object, conn: psycopg.Connection | ConnectionPool, lock: threading.Lock
) -> Iterator[psycopg.Connection]:
    """A pooled connection, or the single connection held under `lock`."""
    if isinstance(conn, ConnectionPool):
        with conn.connection() as pooled:
            yield pooled
        return
    if conn.closed:
        raise translate_error(owner, psycopg.OperationalError("closed"), conn)
    with lock:
        yield conn


@asynccontextmanager
async def aborrow(
    owner: object, conn: psycopg.AsyncConnection | AsyncConnectionPool, lock: asyncio.Lock
) -> AsyncIterator[psycopg.AsyncConnection]:
    """Async `borrow`."""
    if isinstance(conn, AsyncConnectionPool):
        async with conn.connection() as pooled:
            yield pooled
        return
    if conn.closed:
        raise translate_error(owner, psycopg.OperationalError("closed"), conn)
    async with lock:
        yield conn


@contextmanager
def step_executor(
    conn: psycopg.Connection, *, binary: bool = True
) -> Iterator[Callable[[Step], Any]]:
    """How plans run on a connection.

    Each query gets a cursor of its own: in pipeline mode results arrive later,
    and a cursor shared with earlier statements could hand back theirs.
    """
    with conn.cursor(binary=binary, row_factory=tuple_row) as writer:

        def execute(step: Step) -> Any:
            if isinstance(step, Query):
                with conn.cursor(binary=binary, row_factory=tuple_row) as cur:
                    cur.execute(step.sql, step.params)
                    return cur.fetchall()
            if isinstance(step, ExecuteMany):
                writer.executemany(step.sql, step.rows)
            else:
                writer.execute(step.sql, step.params)
            return None

        yield execute


@asynccontextmanager
async def astep_executor(
    conn: psycopg.AsyncConnection, *, binary: bool = True
) -> AsyncIterator[Callable[[Step], Awaitable[Any]]]:
    """Async `step_executor`."""
    async with conn.cursor(binary=binary, row_factory=tuple_row) as writer:

        async def execute(step: Step) -> Any:
            if isinstance(step, Query):
                async with conn.cursor(binary=binary, row_factory=tuple_row) as cur:
                    await cur.execute(step.sql, step.params)
                    return await cur.fetchall()
            if isinstance(step, ExecuteMany):
                await writer.executemany(step.sql, step.rows)
            else:
                await writer.execute(step.sql, step.params)
            return None

        yield execute
