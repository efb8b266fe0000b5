"""Borrowing a connection from what users hand us: a connection or a pool.

Shared by the savers and the stores of this package.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import psycopg
from langgraph.checkpoint.postgres.base import translate_error
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
