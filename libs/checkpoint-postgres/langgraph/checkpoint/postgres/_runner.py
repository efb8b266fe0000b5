# Generated from _runner_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-postgres/langgraph/checkpoint/postgres/_runner_async.py and run `make sync`.
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

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, NoReturn, TypeVar

import psycopg
from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
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
from psycopg import Connection, Cursor, Pipeline
from psycopg.rows import TupleRow, tuple_row
from psycopg_pool import ConnectionPool

T = TypeVar("T")
Owner = TypeVar("Owner", bound="RunnerOwner")


class OwnedConnection:
    """The connection a `from_conn_string` opened (and its pipeline).

    Being ours, it may be replaced: when the server dropped it (a restart, a
    terminated backend), the next call gets a new one. A connection the user
    passed is never replaced.
    """

    conn: Connection
    pipe: Pipeline | None

    def __init__(self, conninfo: str, settings: dict[str, Any], pipeline: bool):
        self._conninfo = conninfo
        self._settings = settings
        self._pipeline = pipeline
        self._stack: ExitStack | None = None

    def open(self) -> None:
        with ExitStack() as stack:
            self.conn = stack.enter_context(Connection.connect(self._conninfo, **self._settings))
            self.pipe = stack.enter_context(self.conn.pipeline()) if self._pipeline else None
            self._stack = stack.pop_all()

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


@contextmanager
def opened(
    conninfo: str,
    settings: dict[str, Any],
    pipeline: bool,
    make_owner: MakeOwner[Owner],
) -> Iterator[Owner]:
    """A saver or store (from `make_owner`) on a new connection to `conninfo`
    with psycopg `settings`, which it owns (see `OwnedConnection`) until
    the connection is closed on exit."""
    owned = OwnedConnection(conninfo, settings, pipeline)
    owned.open()
    try:
        owner = make_owner(owned.conn, pipe=owned.pipe)
        owner._runner.owned = owned
        try:
            yield owner
        finally:
            owner._runner.owned = None  # closed for good: later calls must fail, not reconnect
    finally:
        owned.close()


class Runner:
    """Runs plans on a connection or a pool, through connection faults.

    `name` is the owner's class name and `tables` which tables it uses (see
    `_conn.CHECKPOINT_TABLES`), for its errors; `binary` picks psycopg's
    binary or text protocol for the parameters and results.
    """

    def __init__(
        self,
        name: str,
        conn: Connection | ConnectionPool,
        pipe: Pipeline | None,
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
        self.lock = threading.Lock()
        self.tables = tables
        self.binary = binary
        self.owned: OwnedConnection | None = None

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        """A pooled connection, or the single connection held under `lock`."""
        if isinstance(self.conn, ConnectionPool):
            with self.conn.connection() as pooled:
                yield pooled
            return
        with self.lock:
            if self.owned is not None and self.owned.conn.closed:
                self.owned.close()
                self.owned.open()
                self.conn, self.pipe = self.owned.conn, self.owned.pipe
            if self.conn.closed:
                closed = psycopg.OperationalError("the connection is closed")
                raise library_error(self.name, self.tables, closed, self.conn) from closed
            yield self.conn

    def run(
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
            with self.borrow() as conn:
                attempt = Attempt(conn, transaction)
                try:
                    result = self._run_on(conn, make_plan(), attempt, effect)
                    if settle_prepared:
                        with conn.cursor() as cur:
                            cur.execute(SETTLE_PREPARED, prepare=False)
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
                        conn.close()
                    if not (runs_left and ended and attempt.may_run_again(effect)):
                        self._reraise(exc)
            if isinstance(self.conn, ConnectionPool):
                # A restart breaks every pooled connection: drop them all at once.
                self.conn.check()
        raise AssertionError("unreachable")

    def _run_on(self, conn: Connection, plan: Plan[T], attempt: Attempt, effect: Effect) -> T:
        # Pipelined, a transaction's BEGIN travels with its first steps. On a
        # connection in pipeline mode, leaving the nested pipeline syncs it,
        # so each call is confirmed before it returns (see `in_pipeline`).
        pipelined = in_pipeline(conn) or (attempt.transaction and PIPELINE_SUPPORTED)
        with ExitStack() as stack:
            pipeline = stack.enter_context(conn.pipeline()) if pipelined else None
            writer = stack.enter_context(conn.cursor(binary=self.binary, row_factory=tuple_row))
            execute = partial(self._execute, conn, writer)
            if not attempt.transaction:
                return drive(plan, execute)
            with conn.transaction():
                result = drive(plan, execute)
                if pipeline is not None and effect is Effect.ONCE:
                    # The steps are known to have run and COMMIT is not sent
                    # yet, so a fault before this line is a rollback.
                    pipeline.sync()
                attempt.committing = True
            return result

    def _execute(
        self, conn: Connection, writer: Cursor[TupleRow], step: Step
    ) -> list[TupleRow] | None:
        if isinstance(step, Query):
            # A cursor of its own: in pipeline mode results arrive later, and
            # a cursor shared with earlier statements could hand back theirs.
            with conn.cursor(binary=self.binary, row_factory=tuple_row) as cur:
                if step.each is not None and not in_pipeline(conn):
                    # Each row's work while the next ones arrive (`Query.each`).
                    return [step.each(row) for row in cur.stream(step.sql, step.params)]
                cur.execute(step.sql, step.params, prepare=prepare_flag(step))
                return cur.fetchall()
        if isinstance(step, ExecuteMany):
            writer.executemany(step.sql, step.rows)
        else:
            writer.execute(step.sql, step.params, prepare=prepare_flag(step))
        return None

    def _reraise(self, exc: psycopg.Error) -> NoReturn:
        # A connection we opened (or pooled) is remade by the next call: only
        # a connection the user passed is reported as lost.
        passed = self.conn if self.owned is None else None
        error = library_error(self.name, self.tables, exc, passed)
        if error is exc:
            raise exc
        raise error from exc


class RunnerOwner:
    """Base of the savers and stores: their `conn`, `pipe` and `lock` are their
    runner's, as a connection `from_conn_string` opened may be replaced."""

    _runner: Runner

    @property
    def conn(self) -> Connection | ConnectionPool:
        return self._runner.conn

    @conn.setter
    def conn(self, conn: Connection | ConnectionPool) -> None:
        self._runner.conn = conn

    @property
    def pipe(self) -> Pipeline | None:
        return self._runner.pipe

    @pipe.setter
    def pipe(self, pipe: Pipeline | None) -> None:
        self._runner.pipe = pipe

    @property
    def lock(self) -> threading.Lock:
        return self._runner.lock
