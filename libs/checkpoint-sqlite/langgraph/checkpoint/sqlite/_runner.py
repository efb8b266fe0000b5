# Generated from _runner_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-sqlite/langgraph/checkpoint/sqlite/_runner_async.py and run `make sync`.
"""`Runner`: the only code that touches a SQLite connection.

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

from __future__ import annotations

# (the `sync:` lines keep the generated module's imports sorted)
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import ExecuteMany, Plan, Query, Step, drive
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
)

if TYPE_CHECKING:
    from collections.abc import (
        Iterator,
    )

T = TypeVar("T")
Attempt = Callable[[], T]


def retry_busy(attempt: Attempt[T]) -> T:
    """`attempt()`, again after a pause while it fails with SQLITE_BUSY
    (`busy_retry_delays`)."""
    delays = busy_retry_delays(time.monotonic())
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or (delay := next(delays, None)) is None:
                raise
        time.sleep(delay)


def fetchall(conn: sqlite3.Connection, sql: str, args: Params = ()) -> Any:
    """All rows of `sql` (sqlite3 fetches them in one trip to its thread)."""
    return conn.execute(sql, args).fetchall()


class Runner:
    """Runs plans on one `sqlite3.Connection` for `owner` (named in errors).

    `tables` and `remedy` complete the error for a missing table ("the store
    tables", "call setup() to create them"); `setup_plans` is called at setup
    and its plans run in order, each in a write transaction.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
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
        self.lock = threading.Lock()
        self.is_setup = False

    def setup(self) -> None:
        """Apply the settings and run the setup plans (again, if already done)."""
        with self.errors:
            with self.lock:
                self._setup_locked()

    def run(self, plan: Plan[T], *, write: bool = False) -> T:
        """Run `plan` to its result; `write=True` makes it one write transaction."""
        with self.errors:
            with self.lock:
                if not self.is_setup:
                    self._setup_locked()
                return self._drive(plan, write)

    def read(self, make_plan: Callable[[], Plan[T]]) -> T:
        """Run the read plan `make_plan` makes, and a new one if that met a
        delta whose links another connection's prune or deletion rewrote
        between its statements (a read is no transaction: it takes no
        snapshot); a chain broken for good raises again."""
        try:
            return self.run(make_plan())
        except BrokenChainError:
            return self.run(make_plan())

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The set-up connection, under the lock, for a caller's own statements."""
        with self.lock:
            if not self.is_setup:
                with self.errors:
                    self._setup_locked()
            yield self.conn

    def _setup_locked(self) -> None:
        for pragma in connection_pragmas(self.synchronous):
            self.conn.execute(pragma)
        self._drive(page_cache_plan(), write=False)
        retry_busy(lambda: fetchall(self.conn, WAL))
        if self.extension is not None:
            self._load(self.extension)
        for plan in self.setup_plans():
            self._drive(plan, write=True)
        self.is_setup = True

    def _load(self, extension: Extension) -> None:
        path = extension.path()
        if path is None:
            return
        try:
            self.conn.enable_load_extension(True)
            try:
                self.conn.load_extension(path)
            finally:
                self.conn.enable_load_extension(False)
        except (AttributeError, sqlite3.Error) as exc:  # AttributeError: no extension support
            extension.loaded(exc)
        else:
            extension.loaded(None)

    def _drive(self, plan: Plan[T], write: bool) -> T:
        conn = self.conn
        if write:
            retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            result = drive(plan, self._execute)
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        if conn.in_transaction:
            conn.commit()
        return result

    def _execute(self, step: Step) -> Any:
        if isinstance(step, Query):
            return fetchall(self.conn, step.sql, step.params)
        if isinstance(step, ExecuteMany):
            self.conn.executemany(step.sql, step.rows)
        else:
            self.conn.execute(step.sql, step.params)
        return None
