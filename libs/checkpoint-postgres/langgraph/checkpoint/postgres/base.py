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

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)


def translate_error(saver: object, exc: Exception, conn: Any = None) -> Exception:
    """A clearer error for the mistakes users actually make, else `exc` itself."""
    name = type(saver).__name__
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return RuntimeError(
            f"{name}: the checkpoint tables do not exist in this database. Call "
            f"`saver.setup()` once (it creates and migrates them) before using the saver."
        )
    closed = getattr(conn, "closed", False)
    if closed or (isinstance(exc, psycopg.OperationalError) and "closed" in str(exc).lower()):
        return RuntimeError(
            f"{name}: the database connection is closed. Open a new connection, or pass a "
            "ConnectionPool so that broken connections are replaced."
        )
    return exc
