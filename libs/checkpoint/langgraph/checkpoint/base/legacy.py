"""Reading checkpoints written in formats older than the current one.

Before checkpoint format v4 a `Send` was not a channel value. LangGraph 0.2 to
0.4 kept the step's sends in the checkpoint's `pending_sends` list; savers that
serialize the whole checkpoint (SQLite, memory) still hand that list back, and
LangGraph moves it into the tasks channel itself. Savers that split the
checkpoint (Postgres) stored `pending_sends` empty and kept the sends as the
parent checkpoint's writes to the tasks channel, so they must move them while
reading: `needs_parent_sends` says when, `migrate_pending_sends` does it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from langgraph.checkpoint.serde.types import TASKS

__all__ = ["SENDS_IN_CHANNEL_VERSION", "migrate_pending_sends", "needs_parent_sends"]

SENDS_IN_CHANNEL_VERSION = 4
"""First checkpoint format whose sends live in the `__pregel_tasks` channel."""


def needs_parent_sends(checkpoint: Mapping[str, Any], parent_checkpoint_id: str | None) -> bool:
    """Whether this checkpoint's pending sends are its parent's tasks-channel writes."""
    version = checkpoint.get("v")
    return (
        isinstance(version, int)
        and version < SENDS_IN_CHANNEL_VERSION
        and bool(parent_checkpoint_id)
    )


def migrate_pending_sends(
    checkpoint: MutableMapping[str, Any],
    sends: Sequence[Any],
    first_version: str | int | float,
) -> None:
    """Put an old checkpoint's pending sends into the `__pregel_tasks` channel.

    `sends` are the decoded writes to that channel, in task order (task path,
    task id, index). The channel gets the checkpoint's highest version, so the
    sends count as written by the step that made the checkpoint (the same
    version LangGraph gives sends it migrates); in a checkpoint with no versions
    yet it gets `first_version` (the saver's `get_next_version(None, None)`).
    No sends: the checkpoint is unchanged.
    """
    if not sends:
        return
    checkpoint["channel_values"] = {**(checkpoint.get("channel_values") or {}), TASKS: list(sends)}
    versions = dict(checkpoint.get("channel_versions") or {})
    versions[TASKS] = max(versions.values()) if versions else first_version
    checkpoint["channel_versions"] = versions
