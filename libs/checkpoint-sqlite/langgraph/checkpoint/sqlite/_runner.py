# Generated from _runner_async.py by scripts/async_to_sync.py; do not edit.
# Edit libs/checkpoint-sqlite/langgraph/checkpoint/sqlite/_runner_async.py and run `make sync`.
"""`Runner`: the only code that touches a SQLite connection (through
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

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph.checkpoint.base.compact import BrokenChainError
from langgraph.checkpoint.base.plan import Plan
from langgraph.checkpoint.sqlite._connection import (
    Extension,
    LibraryErrors,
    Synchronous,
    run_plan,
    set_up,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

T = TypeVar("T")


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
                return self._call(run_plan, plan, write)

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
        self._call(set_up, self.synchronous, self.extension, self.setup_plans)
        self.is_setup = True

    def _call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(the sqlite3 connection, *args)`, on the thread that may use it."""
        return function(self.conn, *args)
