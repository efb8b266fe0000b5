"""The only code of this package that touches a connection. `_runner_async`
is the asyncio source; `_runner`, the sync one, is generated from it.

A runner holds what a saver or store was given: a single connection (used
under `lock`, one call at a time) or a pool, and for the connection a
`from_conn_string` opened, the means to remake it. `run` borrows a
connection, runs a plan's steps on it (in one transaction where asked, or
where the connection is not autocommit), and after a fault runs the plan
again from scratch where `Attempt` says that is safe. Driver errors leave it
as the library's (`library_error`).
"""

# async-to-sync: generates _runner.py
# async-to-sync: rename AsyncConnection=Connection AsyncConnectionPool=ConnectionPool
# async-to-sync: rename AsyncPipeline=Pipeline AsyncCursor=Cursor adrive=drive
# async-to-sync: rename AsyncRunner=Runner AsyncRunnerOwner=RunnerOwner
# async-to-sync: rename AsyncOwnedConnection=OwnedConnection

from __future__ import annotations

import asyncio  # sync: import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any, NoReturn, TypeVar

import psycopg
from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, adrive
from langgraph.checkpoint.postgres._conn import (
    PIPELINE_SUPPORTED,
    SETTLE_PREPARED,
    Attempt,
    Effect,
    MakeOwner,
    PlanFactory,
    in_pipeline,
    library_error,
    prepare_flag,
    session_ended,
)
from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.rows import TupleRow, tuple_row
from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
Owner = TypeVar("Owner", bound="AsyncRunnerOwner")


class AsyncOwnedConnection:
    """The connection a `from_conn_string` opened (and its pipeline).

    Being ours, it may be replaced: when the server dropped it (a restart, a
    terminated backend), the next call gets a new one. A connection the user
    passed is never replaced.
    """

    conn: AsyncConnection
    pipe: AsyncPipeline | None

    def __init__(self, conninfo: str, settings: dict[str, Any], pipeline: bool):
        self._conninfo = conninfo
        self._settings = settings
        self._pipeline = pipeline
        self._stack: AsyncExitStack | None = None

    async def open(self) -> None:
        async with AsyncExitStack() as stack:
            self.conn = await stack.enter_async_context(
                await AsyncConnection.connect(self._conninfo, **self._settings)
            )
            self.pipe = (
                await stack.enter_async_context(self.conn.pipeline()) if self._pipeline else None
            )
            self._stack = stack.pop_all()

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        unusable = self.conn.closed
        try:
            await stack.aclose()
        except psycopg.Error:
            if not unusable:
                raise  # a dropped connection has nothing left to flush or close


@asynccontextmanager
async def opened(
    conninfo: str,
    settings: dict[str, Any],
    pipeline: bool,
    make_owner: MakeOwner[Owner],
) -> AsyncIterator[Owner]:
    """A saver or store (from `make_owner`) on a new connection to `conninfo`
    with psycopg `settings`, which it owns (see `AsyncOwnedConnection`) until
    the connection is closed on exit."""
    owned = AsyncOwnedConnection(conninfo, settings, pipeline)
    await owned.open()
    try:
        owner = make_owner(owned.conn, pipe=owned.pipe)
        owner._runner.owned = owned
        try:
            yield owner
        finally:
            owner._runner.owned = None  # closed for good: later calls must fail, not reconnect
    finally:
        await owned.close()


class AsyncRunner:
    """Runs plans on a connection or a pool, through connection faults.

    `name` is the owner's class name and `tables` which tables it uses (see
    `_conn.CHECKPOINT_TABLES`), for its errors; `binary` picks psycopg's
    binary or text protocol for the parameters and results.
    """

    def __init__(
        self,
        name: str,
        conn: AsyncConnection | AsyncConnectionPool,
        pipe: AsyncPipeline | None,
        *,
        tables: tuple[str, str],
        binary: bool,
    ) -> None:
        self.name = name
        self.conn = conn
        # The pipeline `conn` is in, if the owner was given one. Calls on a
        # connection in pipeline mode sync before they return whether or not
        # it was passed (see `in_pipeline`); it is kept for the owner's `pipe`.
        self.pipe = pipe
        self.lock = asyncio.Lock()  # sync: self.lock = threading.Lock()
        self.tables = tables
        self.binary = binary
        self.owned: AsyncOwnedConnection | None = None

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection, or the single connection held under `lock`."""
        if isinstance(self.conn, AsyncConnectionPool):
            async with self.conn.connection() as pooled:
                yield pooled
            return
        async with self.lock:
            if self.owned is not None and self.owned.conn.closed:
                await self.owned.close()
                await self.owned.open()
                self.conn, self.pipe = self.owned.conn, self.owned.pipe
            if self.conn.closed:
                closed = psycopg.OperationalError("the connection is closed")
                raise library_error(self.name, self.tables, closed, self.conn) from closed
            yield self.conn

    async def run(
        self,
        make_plan: PlanFactory[T],
        effect: Effect,
        *,
        transaction: bool = True,
        settle_prepared: bool = False,
    ) -> T:
        """Run the plan `make_plan` builds, with one more run from scratch on a
        new connection where `Attempt` allows it, or for a read that met a
        delta whose links another connection's prune or deletion rewrote
        between its statements (a read takes no snapshot; a chain broken for
        good raises again). Without `transaction`, an autocommit connection
        runs the steps as they come. `settle_prepared` is for plans that run
        DDL (see `SETTLE_PREPARED`)."""
        for runs_left in (1, 0):
            async with self.borrow() as conn:
                attempt = Attempt(conn, transaction)
                try:
                    result = await self._run_on(conn, make_plan(), attempt, effect)
                    if settle_prepared:
                        async with conn.cursor() as cur:
                            await cur.execute(SETTLE_PREPARED, prepare=False)
                    return result
                except BrokenChainError:
                    if not (runs_left and effect is Effect.READ):
                        raise
                    continue
                except psycopg.Error as exc:
                    ended = session_ended(conn, exc)
                    if (
                        ended
                        and not conn.closed
                        and (self.owned is not None or conn is not self.conn)
                    ):
                        # Ours (pooled, or from_conn_string's) and dead without
                        # knowing it yet: closed, the pool discards it and
                        # `borrow` remakes it.
                        await conn.close()
                    if not (runs_left and ended and attempt.may_run_again(effect)):
                        self._reraise(exc)
            if isinstance(self.conn, AsyncConnectionPool):
                # A restart breaks every pooled connection: drop them all at once.
                await self.conn.check()
        raise AssertionError("unreachable")

    async def _run_on(
        self, conn: AsyncConnection, plan: Plan[T], attempt: Attempt, effect: Effect
    ) -> T:
        # Pipelined, a transaction's BEGIN travels with its first steps. On a
        # connection in pipeline mode, leaving the nested pipeline syncs it,
        # so each call is confirmed before it returns (see `in_pipeline`).
        pipelined = in_pipeline(conn) or (attempt.transaction and PIPELINE_SUPPORTED)
        async with AsyncExitStack() as stack:
            pipeline = await stack.enter_async_context(conn.pipeline()) if pipelined else None
            writer = await stack.enter_async_context(
                conn.cursor(binary=self.binary, row_factory=tuple_row)
            )
            execute = partial(self._execute, conn, writer)
            if not attempt.transaction:
                return await adrive(plan, execute)
            async with conn.transaction():
                result = await adrive(plan, execute)
                if pipeline is not None and effect is Effect.ONCE:
                    # The steps are known to have run and COMMIT is not sent
                    # yet, so a fault before this line is a rollback.
                    await pipeline.sync()
                attempt.committing = True
            return result

    async def _execute(
        self, conn: AsyncConnection, writer: AsyncCursor[TupleRow], step: Step
    ) -> list[TupleRow] | None:
        if isinstance(step, Query):
            # A cursor of its own: in pipeline mode results arrive later, and
            # a cursor shared with earlier statements could hand back theirs.
            async with conn.cursor(binary=self.binary, row_factory=tuple_row) as cur:
                if step.each is not None and not in_pipeline(conn):
                    # Each row's work while the next ones arrive (`Query.each`).
                    return [step.each(row) async for row in cur.stream(step.sql, step.params)]
                await cur.execute(step.sql, step.params, prepare=prepare_flag(step))
                return await cur.fetchall()
        if isinstance(step, ExecuteMany):
            await writer.executemany(step.sql, step.rows)
        else:
            await writer.execute(step.sql, step.params, prepare=prepare_flag(step))
        return None

    def _reraise(self, exc: psycopg.Error) -> NoReturn:
        # A connection we opened (or pooled) is remade by the next call: only
        # a connection the user passed is reported as lost.
        passed = self.conn if self.owned is None else None
        error = library_error(self.name, self.tables, exc, passed)
        if error is exc:
            raise exc
        raise error from exc


class AsyncRunnerOwner:
    """Base of the savers and stores: their `conn`, `pipe` and `lock` are their
    runner's, as a connection `from_conn_string` opened may be replaced."""

    _runner: AsyncRunner

    @property
    def conn(self) -> AsyncConnection | AsyncConnectionPool:
        return self._runner.conn

    @conn.setter
    def conn(self, conn: AsyncConnection | AsyncConnectionPool) -> None:
        self._runner.conn = conn

    @property
    def pipe(self) -> AsyncPipeline | None:
        return self._runner.pipe

    @pipe.setter
    def pipe(self, pipe: AsyncPipeline | None) -> None:
        self._runner.pipe = pipe

    @property
    def lock(self) -> asyncio.Lock:  # sync: def lock(self) -> threading.Lock:
        return self._runner.lock
