"""What the sync and async Postgres savers share besides their plans."""

from __future__ import annotations

import psycopg
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
