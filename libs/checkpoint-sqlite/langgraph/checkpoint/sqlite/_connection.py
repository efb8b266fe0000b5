"""What the SQLite runners (`_runner_async`, `_runner`) share that is neither
sync nor async: connection settings, recognising a busy database, turning
driver errors into the library's errors, and running a plan on a `sqlite3`
connection (`run_plan`, `set_up`), which the sync runner calls directly and
the async one in its connection's thread."""

from __future__ import annotations

import asyncio
import importlib.metadata
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar

from langgraph.checkpoint.base.deletion import thread_deleted_error
from langgraph.checkpoint.base.plan import Execute, ExecuteMany, Plan, Query, Step, drive
from langgraph.checkpoint.errors import ClosedError, NotSetUpError

ConnT = TypeVar("ConnT")
T = TypeVar("T")
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
BUSY_TIMEOUT_MS = 30_000
SQLITE_BUSY = 5

# Needs every other connection out of the file for a moment; on a fresh file
# SQLite may answer SQLITE_BUSY at once instead of waiting (see retry_busy).
WAL = "PRAGMA journal_mode = WAL"


def connection_pragmas(synchronous: Synchronous | None) -> list[str]:
    """Per-connection settings applied before first use."""
    pragmas = [f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"]
    if synchronous is not None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        pragmas.append(f"PRAGMA synchronous = {synchronous.upper()}")
    return pragmas


# SQLite's default page cache (2 MB) holds the B-tree pages of a few dozen
# threads: reading 100 of 50,000 threads again and again, each get_tuple read
# 7.5 pages back from the OS, none with 16 MB (bench/README.md, "Scale").
PAGE_CACHE_KIB = 32 * 1024


def page_cache_plan() -> Plan[None]:
    """Raise the connection's page cache to `PAGE_CACHE_KIB` (its memory is
    taken as pages are read); a larger one the caller set is kept."""
    ((size,),) = yield Query("PRAGMA cache_size")
    ((page_size,),) = yield Query("PRAGMA page_size")
    kib = -size if size < 0 else size * page_size // 1024  # < 0: KiB, else pages
    if kib < PAGE_CACHE_KIB:
        yield Execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (any extended code): another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return bool(code & 0xFF == SQLITE_BUSY)
    return "database is locked" in str(exc)


def busy_retry_delays(started: float) -> Iterator[float]:
    """Pauses between attempts of a statement that failed with SQLITE_BUSY
    without SQLite's busy handler waiting (it does not for every lock, e.g. the
    switch to WAL): short, growing and jittered so that processes started
    together spread out, ending BUSY_TIMEOUT_MS after `started` (time.monotonic)."""
    deadline = started + BUSY_TIMEOUT_MS / 1000
    delay = 0.002
    while (left := deadline - time.monotonic()) > 0:
        yield min(left, delay * random.uniform(0.5, 1.5))
        delay = min(delay * 2, 0.1)


def check_async_connection(conn: object, owner: object) -> None:
    """Refuse, when it is handed over, a connection the async runner cannot
    use: it runs each plan through aiosqlite's `Connection._execute` (private;
    in aiosqlite 0.20 to 0.22), which a sqlite3 connection, or an aiosqlite
    that dropped it, lacks."""
    if not callable(getattr(conn, "_execute", None)):
        kind = type(conn)
        raise TypeError(
            f"{type(owner).__name__} needs an aiosqlite.Connection with `_execute` "
            f"(present in aiosqlite 0.20 to 0.22; installed: {importlib.metadata.version('aiosqlite')}), "
            f"got a {kind.__module__}.{kind.__qualname__}"
        )


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Runner(Protocol[ConnT]):
    conn: ConnT
    lock: Any  # asyncio.Lock or threading.Lock
    is_setup: bool


class RunnerAttributes(Generic[ConnT]):
    """The attributes callers of a saver or store know (`conn`, `lock`,
    `is_setup`), kept where they are used: on its runner."""

    runner: _Runner[ConnT]

    @property
    def conn(self) -> ConnT:
        return self.runner.conn

    @conn.setter
    def conn(self, conn: ConnT) -> None:
        self.runner.conn = conn

    @property
    def lock(self) -> Any:
        return self.runner.lock

    @property
    def is_setup(self) -> bool:
        return self.runner.is_setup

    @is_setup.setter
    def is_setup(self, done: bool) -> None:
        self.runner.is_setup = done


@dataclass(frozen=True)
class Extension:
    """A loadable SQLite extension a runner loads at setup, if `path()` names one."""

    path: Callable[[], str | None]
    loaded: Callable[[Exception | None], None]
    """Told the outcome: None, or why loading failed (the caller falls back)."""


# Each also subclasses what the same failure raised before these errors existed
# (the saver's RuntimeError, sqlite3's and aiosqlite's errors for the stores).


class SqliteClosedError(ClosedError, sqlite3.ProgrammingError, ValueError):
    """The SQLite connection is closed."""


class SqliteNotSetUpError(NotSetUpError, sqlite3.OperationalError):
    """A table the caller needs is missing from the database."""


def _is_closed(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.ProgrammingError):
        return "closed" in str(exc).lower()
    # aiosqlite's words for a closed connection, as a plain ValueError.
    return type(exc) is ValueError and str(exc) in ("no active connection", "Connection closed")


class LibraryErrors:
    """Context manager that re-raises the driver errors it knows as the
    library's, naming `owner` and the tables its setup creates."""

    def __init__(self, owner: object, tables: str, remedy: str) -> None:
        self.owner = owner
        self.tables = tables
        self.remedy = remedy

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, (sqlite3.Error, ValueError)) and (error := self.translate(exc)):
            raise error from exc

    def translate(self, exc: sqlite3.Error | ValueError) -> Exception | None:
        name = type(self.owner).__name__
        if isinstance(exc, sqlite3.Error) and (deleted := thread_deleted_error(exc)):
            return deleted
        if _is_closed(exc):
            return SqliteClosedError(
                f"{name}: its SQLite connection is closed; open a new one (one made by "
                "from_conn_string can be used only inside its `with` block)"
            )
        if isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("no such table"):
            return SqliteNotSetUpError(
                f"{name}: {self.tables} are missing from this database ({exc}); {self.remedy}"
            )
        return None


# -- running plans on a sqlite3 connection (the runners call these, the async
# one in the connection's thread) ------------------------------------------


def retry_busy(attempt: Callable[[], T]) -> T:
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


def execute_step(conn: sqlite3.Connection, step: Step) -> Any:
    """One step of a plan: a query's rows, or None."""
    if isinstance(step, Query):
        return conn.execute(step.sql, step.params).fetchall()
    if isinstance(step, ExecuteMany):
        conn.executemany(step.sql, step.rows)
    else:
        conn.execute(step.sql, step.params)
    return None


def run_plan(conn: sqlite3.Connection, plan: Plan[T], write: bool) -> T:
    """Run `plan` to its result on `conn`; `write=True` makes it one write transaction."""
    if write:
        retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
    try:
        result = drive(plan, partial(execute_step, conn))
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    if conn.in_transaction:
        conn.commit()
    return result


def set_up(
    conn: sqlite3.Connection,
    synchronous: Synchronous | None,
    extension: Extension | None,
    setup_plans: Callable[[], Iterable[Plan[Any]]],
) -> None:
    """Settings, WAL, the extension and the setup plans, in that order."""
    for pragma in connection_pragmas(synchronous):
        conn.execute(pragma)
    run_plan(conn, page_cache_plan(), write=False)
    retry_busy(lambda: conn.execute(WAL).fetchall())
    if extension is not None:
        load_extension(conn, extension)
    for plan in setup_plans():
        run_plan(conn, plan, write=True)


def load_extension(conn: sqlite3.Connection, extension: Extension) -> None:
    path = extension.path()
    if path is None:
        return
    try:
        conn.enable_load_extension(True)
        try:
            conn.load_extension(path)
        finally:
            conn.enable_load_extension(False)
    except (AttributeError, sqlite3.Error) as exc:  # AttributeError: no extension support
        extension.loaded(exc)
    else:
        extension.loaded(None)
