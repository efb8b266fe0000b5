"""`AsyncRunner`: the only code that touches a SQLite connection (through
`_connection.run_plan` and `set_up`, which it calls).

Savers, stores and the cache hand it plans (`langgraph.checkpoint.base.plan`);
it serializes them with its lock, sets the connection up once before the first
(settings, WAL, optional extension, the owner's setup plans), runs each plan's
steps, in one write transaction when the plan writes, and raises the library's
errors for the driver's (`_connection.LibraryErrors`).

A plan runs whole in one call of `run_plan` on the sqlite3 connection; the
async runner makes that call one trip to the connection's thread (`_call`),
however many statements the plan has (a trip cost about 0.1 ms on the test
machine, and a put with its pending writes took seven, one per statement).

Transactions: `write=True` takes the database's write lock up front
(`BEGIN IMMEDIATE`, retried while SQLite answers busy without waiting), so a
plan's statements commit together or not at all. `write=False` runs the steps
as they come, for reads and for a plan of a single statement (which is its own
transaction); whatever the driver opened implicitly is committed after it.
"""
# async-to-sync: generates _runner.py
# async-to-sync: rename AsyncRunner=Runner aiosqlite=sqlite3

from __future__ import annotations

import asyncio  # sync: import threading
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite
from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.sqlite._connection import (
    Extension,
    LibraryErrors,
    Synchronous,
    check_async_connection,  # async-only
    run_plan,
    running_loop,  # async-only
    set_up,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

T = TypeVar("T")


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
        check_async_connection(conn, owner)  # async-only
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
                return await self._call(run_plan, plan, write)

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
        await self._call(set_up, self.synchronous, self.extension, self.setup_plans)
        self.is_setup = True

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(the sqlite3 connection, *args)`, on the thread that may use it."""
        # One trip to the connection's thread: `_execute` is how aiosqlite  # async-only
        # runs each of its own calls there, once it checked the connection.  # async-only
        conn = self.conn  # sync: return function(self.conn, *args)
        return await conn._execute(function, conn._conn, *args)  # async-only
