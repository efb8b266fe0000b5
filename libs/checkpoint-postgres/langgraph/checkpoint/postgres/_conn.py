"""Borrowing a connection from what users hand us, and running plans on it
through connection faults.

`borrow` / `aborrow` and the step executors are shared by the savers and the
stores of this package; `run_plan` / `arun_plan` are how the savers run a
plan: once, or a second time from scratch when the connection broke and a
second run cannot do anything the first may already have done (see `Attempt`).
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from functools import partial
from typing import Any, NoReturn

import psycopg
from langgraph.checkpoint.base.plan import Execute, ExecuteMany, Plan, Query, Step, adrive, drive
from langgraph.checkpoint.postgres.base import session_ended, translate_error
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool


@contextmanager
def borrow(
    owner: object,
    conn: psycopg.Connection | ConnectionPool,
    lock: threading.Lock,
    renew: Callable[[], psycopg.Connection] | None = None,
) -> Iterator[psycopg.Connection]:
    """A pooled connection, or the single connection held under `lock`.

    `renew` (for a connection we opened ourselves) returns the owner's
    current connection, replacing it first if the server dropped it.
    """
    if isinstance(conn, ConnectionPool):
        with conn.connection() as pooled:
            yield pooled
        return
    with lock:
        if renew is not None:
            conn = renew()
        elif conn.closed:
            closed = psycopg.OperationalError("the connection is closed")
            raise translate_error(owner, closed, conn) from closed
        yield conn


@asynccontextmanager
async def aborrow(
    owner: object,
    conn: psycopg.AsyncConnection | AsyncConnectionPool,
    lock: asyncio.Lock,
    renew: Callable[[], Awaitable[psycopg.AsyncConnection]] | None = None,
) -> AsyncIterator[psycopg.AsyncConnection]:
    """Async `borrow`."""
    if isinstance(conn, AsyncConnectionPool):
        async with conn.connection() as pooled:
            yield pooled
        return
    async with lock:
        if renew is not None:
            conn = await renew()
        elif conn.closed:
            closed = psycopg.OperationalError("the connection is closed")
            raise translate_error(owner, closed, conn) from closed
        yield conn


def _prepare(step: Query | Execute) -> bool | None:
    """psycopg's choice (its prepare_threshold), except for statements without
    parameters: DDL and SETTLE_PREPARED gain nothing from it."""
    return None if step.params else False


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
                    cur.execute(step.sql, step.params, prepare=_prepare(step))
                    return cur.fetchall()
            if isinstance(step, ExecuteMany):
                writer.executemany(step.sql, step.rows)
            else:
                writer.execute(step.sql, step.params, prepare=_prepare(step))
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
                    await cur.execute(step.sql, step.params, prepare=_prepare(step))
                    return await cur.fetchall()
            if isinstance(step, ExecuteMany):
                await writer.executemany(step.sql, step.rows)
            else:
                await writer.execute(step.sql, step.params, prepare=_prepare(step))
            return None

        yield execute


# -- running plans through connection faults ---------------------------------------


class Effect(enum.Enum):
    """What a plan does to the database, which decides whether it may run twice."""

    READ = "read"
    # Writes a second run of which leaves the state one run leaves (upserts of
    # the same rows): safe to repeat even if the first run may have committed.
    REPEATABLE = "repeatable"
    # Writes that must not be repeated once they may have committed: a second
    # run could delete what other clients wrote in between.
    ONCE = "once"


class Attempt:
    """One run of a plan on one connection, and whether it may run again.

    A broken connection leaves a run in one of three places. Inside a
    transaction, before its COMMIT was sent: the server rolled it back, so a
    fresh run is safe for any plan. Sending COMMIT, or running autocommit
    statements: it may or may not have committed, so only a plan whose second
    run changes nothing more (not `Effect.ONCE`) may run again. Inside a
    transaction the caller had opened on their connection: their earlier work
    went with it, so the call must fail, never continue on a new connection.
    A failure on a healthy connection (a server error, a timeout) is not
    retried: it would fail again, or it belongs to the caller.
    """

    def __init__(self, conn: psycopg.Connection | psycopg.AsyncConnection, transaction: bool):
        self.transaction = transaction or not conn.autocommit
        self.in_callers_transaction = conn.info.transaction_status != TransactionStatus.IDLE
        self.committing = False

    def may_run_again(self, effect: Effect) -> bool:
        """Whether the plan may run again, once the session is known to be gone."""
        if self.in_callers_transaction:
            return False
        if self.transaction and not self.committing:
            return True
        return effect is not Effect.ONCE


def _to_close(owner: Any, conn: Any, ended: bool) -> bool:
    """Whether `conn` is ours (pooled, or opened by from_conn_string) and its
    session ended without the connection noticing yet: closed, the pool
    discards it and `renew` replaces it."""
    return ended and not conn.closed and (owner._owned is not None or owner.conn is not conn)


def _reraise(owner: Any, exc: psycopg.Error) -> NoReturn:
    # A connection we opened is remade by the next call: report the fault as is.
    error = translate_error(owner, exc, None if owner._owned is not None else owner.conn)
    if error is exc:
        raise exc
    raise error from exc


def run_plan(
    owner: Any,
    make_plan: Callable[[], Plan],
    effect: Effect,
    *,
    transaction: bool = True,
    binary: bool = True,
) -> Any:
    """Run the plan `make_plan` builds on `owner`'s connection, with one more
    run from scratch on a new connection where `Attempt` allows it.

    `owner` has `conn` (a connection or a pool), `lock`, `pipe` and `_owned`
    (an `OwnedConnection`, or None for a connection the user passed).
    Without `transaction`, an autocommit connection runs the steps as they
    come (single-statement plans skip BEGIN/COMMIT).
    """
    for runs_left in (1, 0):
        renew = partial(owner._owned.renew, owner) if owner._owned is not None else None
        with borrow(owner, owner.conn, owner.lock, renew) as conn:
            attempt = Attempt(conn, transaction)
            try:
                with step_executor(conn, binary=binary) as execute:
                    if attempt.transaction:
                        with conn.transaction():
                            result = drive(make_plan(), execute)
                            if owner.pipe is not None:
                                owner.pipe.sync()  # the steps ran: COMMIT is not sent yet
                            attempt.committing = True
                    else:
                        result = drive(make_plan(), execute)
                    attempt.committing = True
                    if owner.pipe is not None:
                        # Pipelined statements are confirmed, and the implicit
                        # transaction holding their locks ends, only at a sync.
                        owner.pipe.sync()
                return result
            except psycopg.Error as exc:
                ended = session_ended(conn, exc)
                if _to_close(owner, conn, ended):
                    conn.close()
                if not (runs_left and ended and attempt.may_run_again(effect)):
                    _reraise(owner, exc)
        if isinstance(owner.conn, ConnectionPool):
            # A restart breaks every pooled connection: drop them all at once.
            owner.conn.check()
    raise AssertionError("unreachable")


async def arun_plan(
    owner: Any,
    make_plan: Callable[[], Plan],
    effect: Effect,
    *,
    transaction: bool = True,
    binary: bool = True,
) -> Any:
    """Async `run_plan`."""
    for runs_left in (1, 0):
        renew = partial(owner._owned.renew, owner) if owner._owned is not None else None
        async with aborrow(owner, owner.conn, owner.lock, renew) as conn:
            attempt = Attempt(conn, transaction)
            try:
                async with astep_executor(conn, binary=binary) as execute:
                    if attempt.transaction:
                        async with conn.transaction():
                            result = await adrive(make_plan(), execute)
                            if owner.pipe is not None:
                                await owner.pipe.sync()
                            attempt.committing = True
                    else:
                        result = await adrive(make_plan(), execute)
                    attempt.committing = True
                    if owner.pipe is not None:
                        await owner.pipe.sync()
                return result
            except psycopg.Error as exc:
                ended = session_ended(conn, exc)
                if _to_close(owner, conn, ended):
                    await conn.close()
                if not (runs_left and ended and attempt.may_run_again(effect)):
                    _reraise(owner, exc)
        if isinstance(owner.conn, AsyncConnectionPool):
            await owner.conn.check()
    raise AssertionError("unreachable")


# -- connections from_conn_string opened -----------------------------------------------


def connect_kwargs(prepare_threshold: int | None) -> dict[str, Any]:
    """psycopg settings of the connections a `from_conn_string` opens."""
    if prepare_threshold is not None and (
        type(prepare_threshold) is not int or prepare_threshold < 0
    ):
        raise ValueError(
            "prepare_threshold must be None (no prepared statements, for PgBouncer in "
            f"transaction mode) or an integer >= 0, got {prepare_threshold!r}"
        )
    return {"autocommit": True, "prepare_threshold": prepare_threshold}


class OwnedConnection:
    """The connection a saver's `from_conn_string` opened (and its pipeline).

    Being ours, it may be replaced: when the server dropped it (a restart, a
    terminated backend), the next call gets a new one. A connection the user
    passed is never replaced.
    """

    def __init__(self, connect: Callable[[], psycopg.Connection], pipeline: bool):
        self._connect = connect
        self._pipeline = pipeline
        self._stack: ExitStack | None = None
        self.conn: psycopg.Connection | None = None
        self.pipe: psycopg.Pipeline | None = None

    def open(self) -> OwnedConnection:
        with ExitStack() as stack:
            self.conn = stack.enter_context(self._connect())
            self.pipe = stack.enter_context(self.conn.pipeline()) if self._pipeline else None
            self._stack = stack.pop_all()
        return self

    def renew(self, owner: Any) -> psycopg.Connection:
        """`owner`'s connection, first replaced by a new one if it is unusable."""
        if self.conn is None or self.conn.closed:
            self.close()
            self.open()
            owner.conn, owner.pipe = self.conn, self.pipe
        return self.conn

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        unusable = self.conn.closed
        try:
            stack.close()
        except psycopg.Error:
            if not unusable:
                raise  # a dropped connection has nothing left to flush or close


class AsyncOwnedConnection:
    """Async `OwnedConnection`."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection]], pipeline: bool):
        self._connect = connect
        self._pipeline = pipeline
        self._stack: AsyncExitStack | None = None
        self.conn: psycopg.AsyncConnection | None = None
        self.pipe: psycopg.AsyncPipeline | None = None

    async def open(self) -> AsyncOwnedConnection:
        async with AsyncExitStack() as stack:
            self.conn = await stack.enter_async_context(await self._connect())
            self.pipe = (
                await stack.enter_async_context(self.conn.pipeline()) if self._pipeline else None
            )
            self._stack = stack.pop_all()
        return self

    async def renew(self, owner: Any) -> psycopg.AsyncConnection:
        if self.conn is None or self.conn.closed:
            await self.close()
            await self.open()
            owner.conn, owner.pipe = self.conn, self.pipe
        return self.conn

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        unusable = self.conn.closed
        try:
            await stack.aclose()
        except psycopg.Error:
            if not unusable:
                raise
