"""Shallow Postgres savers: only the latest checkpoint of each thread and namespace.

Kept for code written against the reference's shallow savers (which it
deprecates). Every `put` replaces the previous checkpoint of its thread and
namespace, drops that checkpoint's writes and the blobs nothing uses any
more, all in one transaction. There is no history: no time travel, and delta
channels cannot replay past the latest checkpoint. For a full saver whose old
checkpoints you trim yourself, use `PostgresSaver` with `prune()`.
"""

from __future__ import annotations

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    RunnableConfig,
    SerializerProtocol,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.base.plan import Execute, Plan
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import Effect
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from langgraph.checkpoint.serde.types import TASKS

__all__ = [
    "AsyncShallowPostgresSaver",
    "BasePostgresSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "SerializerProtocol",
    "ShallowPostgresSaver",
    "TASKS",
    "WRITES_IDX_MAP",
    "get_serializable_checkpoint_metadata",
]


def shallow_put_plan(statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
    """Store the checkpoint, then drop every other one of its thread and namespace."""
    yield statement
    conf = returned["configurable"]
    key = (conf["thread_id"], conf["checkpoint_ns"], conf["checkpoint_id"])
    for table in ("checkpoint_writes", "checkpoints"):
        yield Execute(
            f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id <> %s",
            key,
        )
    yield Execute(plans.DELETE_UNUSED_BLOBS, ([conf["thread_id"]],))
    return returned


class ShallowPut:
    """How the shallow savers put: the checkpoint replaces its thread's
    previous one, in a transaction that deletes what other clients may have
    written since, so it never runs twice."""

    _put_effect = Effect.ONCE
    _put_in_transaction = True

    def _put_plan(self, statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
        return shallow_put_plan(statement, returned)


class ShallowPostgresSaver(ShallowPut, PostgresSaver):
    """`PostgresSaver` that keeps only the latest checkpoint per thread and namespace."""


class AsyncShallowPostgresSaver(ShallowPut, AsyncPostgresSaver):
    """`AsyncPostgresSaver` that keeps only the latest checkpoint per thread and namespace."""
