"""What the sync and async Postgres savers share besides their plans."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors
from langgraph.checkpoint.base import BaseCheckpointSaver, SerializerProtocol, next_string_version
from langgraph.checkpoint.postgres._plans import MIGRATIONS


class BasePostgresSaver(BaseCheckpointSaver[str]):
    """Common ground of `PostgresSaver` and `AsyncPostgresSaver`."""

    MIGRATIONS = MIGRATIONS
    # Whether this libpq can run pipeline mode (`pipeline=True`), as the
    # reference exposes it.
    supports_pipeline: bool = psycopg.Pipeline.is_supported()

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)


def session_ended(conn: Any, exc: Exception) -> bool:
    """Whether the server ended `conn`'s session: the connection is broken, or
    the server sent a FATAL error the connection has not noticed yet (in
    pipeline mode the socket's end can come after the error)."""
    if isinstance(conn, psycopg.BaseConnection) and conn.broken:
        return True
    diag = getattr(exc, "diag", None)
    return diag is not None and diag.severity_nonlocalized in ("FATAL", "PANIC")


def translate_error(saver: object, exc: Exception, conn: Any = None) -> Exception:
    """A clearer error for the mistakes users actually make, else `exc` itself.

    `conn` is the connection the user passed, if it is a single one: when it
    is unusable, the error says why and what to do instead.
    """
    name = type(saver).__name__
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return RuntimeError(
            f"{name}: the checkpoint tables do not exist in this database. Call "
            f"`saver.setup()` once (it creates and migrates them) before using the saver."
        )
    if not isinstance(conn, psycopg.BaseConnection):
        return exc
    if session_ended(conn, exc):
        return RuntimeError(
            f"{name}: the connection to the database was lost ({exc}). It is the connection "
            f"you passed, so {name} does not replace it: open a new connection and a new "
            f"{name}, or give it a ConnectionPool (or use `from_conn_string`), which "
            "replaces broken connections."
        )
    if conn.closed:
        return RuntimeError(
            f"{name}: the database connection is closed. Open a new connection, or pass a "
            "ConnectionPool so that broken connections are replaced."
        )
    return exc
