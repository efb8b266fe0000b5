"""`AsyncRunner`: the only code that touches a SQLite connection.

Savers, stores and the cache hand it plans (`langgraph.checkpoint.base.plan`);
it serializes them with its lock, sets the connection up once before the first
(settings, WAL, optional extension, the owner's setup plans), runs each plan's
steps, in one write transaction when the plan writes, and raises the library's
errors for the driver's (`_connection.LibraryErrors`).

Transactions: `write=True` takes the database's write lock up front
(`BEGIN IMMEDIATE`, retried while SQLite answers busy without waiting), so a
plan's statements commit together or not at all. `write=False` runs the steps
as they come, for reads and for a plan of a single statement (which is its own
transaction); whatever the driver opened implicitly is committed after it.
"""
# async-to-sync: generates _runner.py
# async-to-sync: rename AsyncRunner=Runner aretry_busy=retry_busy adrive=drive aiosqlite=sqlite3

from __future__ import annotations

# (the `sync:` lines keep the generated module's imports sorted)
import asyncio  # sync: import sqlite3
import sqlite3  # sync: import threading
import time
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite  # async-only
from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, adrive
from langgraph.checkpoint.sqlite._connection import (
    WAL,
    Extension,
    LibraryErrors,
    Params,
    Synchronous,
    busy_retry_delays,
    connection_pragmas,
    is_busy,
    page_cache_plan,
    running_loop,  # async-only
)

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterator,
        Awaitable,  # async-only
    )

T = TypeVar("T")
Attempt = Callable[[], "Awaitable[T]"]  # sync: Attempt = Callable[[], T]


async def aretry_busy(attempt: Attempt[T]) -> T:
    """`attempt()`, again after a pause while it fails with SQLITE_BUSY
    (`busy_retry_delays`)."""
    delays = busy_retry_delays(time.monotonic())
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or (delay := next(delays, None)) is None:
                raise
        await asyncio.sleep(delay)  # sync: time.sleep(delay)


async def fetchall(conn: aiosqlite.Connection, sql: str, args: Params = ()) -> Any:
    """All rows of `sql` (aiosqlite fetches them in one trip to its thread)."""
    return await conn.execute_fetchall(sql, args)  # sync: return conn.execute(sql, args).fetchall()


class AsyncRunner:
    """Runs plans on one `aiosqlite.Connection` for `owner` (named in errors).

    `tables` and `remedy` complete the error for a missing table ("the store
    tables", "call setup() to create them"); `setup_plans` is called at setup
    and its plans run in order, each in a write transaction.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        owner: object,
        tables: str,
        remedy: str = "call setup() to create them",
        synchronous: Synchronous | None,
        setup_plans: Callable[[], Iterable[Plan[Any]]],
        extension: Extension | None = None,
    ) -> None:
        self.conn = conn
        self.synchronous = synchronous
        self.setup_plans = setup_plans
        self.extension = extension
        self.errors = LibraryErrors(owner, tables, remedy)
        self.lock = asyncio.Lock()  # sync: self.lock = threading.Lock()
        self.is_setup = False
        self.loop: asyncio.AbstractEventLoop | None = running_loop()  # async-only

    async def setup(self) -> None:
        """Apply the settings and run the setup plans (again, if already done)."""
        with self.errors:
            async with self.lock:
                await self._setup_locked()

    async def run(self, plan: Plan[T], *, write: bool = False) -> T:
        """Run `plan` to its result; `write=True` makes it one write transaction."""
        with self.errors:
            async with self.lock:
                if not self.is_setup:
                    await self._setup_locked()
                return await self._drive(plan, write)

    async def read(self, make_plan: Callable[[], Plan[T]]) -> T:
        """Run the read plan `make_plan` makes, and a new one if that met a
        delta whose links another connection's prune or deletion rewrote
        between its statements (a read is no transaction: it takes no
        snapshot); a chain broken for good raises again."""
        try:
            return await self.run(make_plan())
        except BrokenChainError:
            return await self.run(make_plan())

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """The set-up connection, under the lock, for a caller's own statements."""
        async with self.lock:
            if not self.is_setup:
                with self.errors:
                    await self._setup_locked()
            yield self.conn

    async def _setup_locked(self) -> None:
        self.loop = asyncio.get_running_loop()  # async-only
        for pragma in connection_pragmas(self.synchronous):
            await self.conn.execute(pragma)
        await self._drive(page_cache_plan(), write=False)
        await aretry_busy(lambda: fetchall(self.conn, WAL))
        if self.extension is not None:
            await self._load(self.extension)
        for plan in self.setup_plans():
            await self._drive(plan, write=True)
        self.is_setup = True

    async def _load(self, extension: Extension) -> None:
        path = extension.path()
        if path is None:
            return
        try:
            await self.conn.enable_load_extension(True)
            try:
                await self.conn.load_extension(path)
            finally:
                await self.conn.enable_load_extension(False)
        except (AttributeError, sqlite3.Error) as exc:  # AttributeError: no extension support
            extension.loaded(exc)
        else:
            extension.loaded(None)

    async def _drive(self, plan: Plan[T], write: bool) -> T:
        conn = self.conn
        if write:
            await aretry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            result = await adrive(plan, self._execute)
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
        if conn.in_transaction:
            await conn.commit()
        return result

    async def _execute(self, step: Step) -> Any:
        if isinstance(step, Query):
            return await fetchall(self.conn, step.sql, step.params)
        if isinstance(step, ExecuteMany):
            await self.conn.executemany(step.sql, step.rows)
        else:
            await self.conn.execute(step.sql, step.params)
        return None
