"""What the sync and async runners share that does no I/O: when a plan may
run again after a fault, how driver errors become the library's, and the
settings of the connections `from_conn_string` opens.

The runners themselves are `_runner_async` (the source) and `_runner` (the
sync module generated from it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from langgraph.checkpoint.base.deletion import thread_deleted_error
from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.errors import ClosedError, ConnectionLostError, NotSetUpError
from psycopg.pq import PipelineStatus, TransactionStatus

T = TypeVar("T")

# What a runner runs: a plan, built afresh for each run of it.
PlanFactory = Callable[[], Plan[T]]
# A saver or store built on a connection and `pipe=` (its pipeline, or None).
MakeOwner = Callable[..., T]

# Whether this libpq can run pipeline mode.
PIPELINE_SUPPORTED: bool = psycopg.Pipeline.is_supported()

# What a missing table means, for the error that says which `setup()` to call.
CHECKPOINT_TABLES = ("checkpoint", "saver")
STORE_TABLES = ("store", "store")


class Effect(enum.Enum):
    """What a plan does to the database, which decides whether it may run twice."""

    READ = "read"
    # Writes a second run of which leaves the state one run leaves (upserts of
    # the same rows): safe to repeat even if the first run may have committed.
    REPEATABLE = "repeatable"
    # Writes that must not be repeated once they may have committed: a second
    # run could delete or overwrite what other clients wrote in between.
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


# psycopg forgets its prepared statements when it reads the result of an ALTER
# (or DROP, ROLLBACK), and deallocates them on the server at the end of its
# next execute(). In pipeline mode it reads that result at a sync, once the
# migrations are over, so the next execute() would prepare a statement that the
# deallocation then drops while psycopg keeps using its name ("prepared
# statement "_pg3_9" does not exist", on every later call). After each setup plan the
# runner sends, on the same connection (on a pool, another one would leave
# this one stale), an unprepared statement whose execute() runs that
# deallocation instead (`prepare_flag` never prepares a statement without
# parameters).
SETTLE_PREPARED = "SELECT 1"


def prepare_flag(step: Query | Execute) -> bool | None:
    """psycopg's choice (its prepare_threshold), except for statements without
    parameters: DDL and SETTLE_PREPARED gain nothing from it."""
    return None if step.params else False


def in_pipeline(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """Whether `conn` is in pipeline mode. There a statement's error comes back
    at the next sync: a call that did not sync before returning would report
    success for a write that failed, and the next call its error."""
    return conn.pgconn.pipeline_status != PipelineStatus.OFF


def session_ended(conn: Any, exc: Exception) -> bool:
    """Whether the server ended `conn`'s session: the connection is broken, or
    the server sent a FATAL error the connection has not noticed yet (in
    pipeline mode the socket's end can come after the error)."""
    if isinstance(conn, psycopg.BaseConnection) and conn.broken:
        return True
    diag = getattr(exc, "diag", None)
    return diag is not None and diag.severity_nonlocalized in ("FATAL", "PANIC")


def library_error(
    name: str, tables: tuple[str, str], exc: psycopg.Error, passed: Any = None
) -> Exception:
    """The library's error for a driver error `exc` of the saver or store
    called `name` (whose `tables` are as in CHECKPOINT_TABLES), else `exc`.

    `passed` is the single connection the user passed, if that is what ran
    the call: when it is unusable, the error says why and what to do instead.
    """
    deleted = thread_deleted_error(exc)
    if deleted is not None:
        return deleted
    if isinstance(exc, psycopg.errors.UndefinedTable):
        what, variable = tables
        return NotSetUpError(
            f"{name}: the {what} tables do not exist in this database. Call "
            f"`{variable}.setup()` once (it creates and migrates them) before using the {variable}."
        )
    if isinstance(exc, psycopg.errors.UndefinedFunction) and "lgc_" in str(
        exc.diag.message_primary
    ):
        _, variable = tables
        return NotSetUpError(
            f"{name}: this database lacks the functions compact storage reads with "
            f"({exc.diag.message_primary}). Call `{variable}.setup()` once: it creates them."
        )
    if not isinstance(passed, psycopg.BaseConnection):
        return exc
    if session_ended(passed, exc):
        return ConnectionLostError(
            f"{name}: the connection to the database was lost ({exc}). It is the connection "
            f"you passed, so {name} does not replace it: open a new connection and a new "
            f"{name}, or give it a ConnectionPool (or use `from_conn_string`), which "
            "replaces broken connections."
        )
    if passed.closed:
        return ClosedError(
            f"{name}: the database connection is closed. Open a new connection, or pass a "
            "ConnectionPool so that broken connections are replaced."
        )
    return exc


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
