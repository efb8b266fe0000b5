"""Retention plans of the Postgres savers: their table, `keep_last` pruning,
and what the sweep's SQL (`base.retention_sql`) needs of Postgres.

Per-thread settings live in a table of ours, created by `setup()` outside the
reference-numbered MIGRATIONS (like the deletion guard's tombstones); the
reference ignores it, and a database without it works for everything but
these calls, which then ask for `setup()`.

Checkpoint ids are compared with id floors under the "C" collation, as the
deletion guard does: a linguistic collation may ignore the dashes.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.checkpoint.base import (
    SerializerProtocol,
    delta_channels_needing_history,
    validated_thread_ids,
)
from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.base.retention import RETENTION_TABLE, SweepPass, validated_keep
from langgraph.checkpoint.base.retention_sql import RetentionDialect, SqlRetentionPlans
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.serde.types import TASKS

# keep pins the thread (never expired nor trimmed); ttl_minutes: its own TTL
# (NULL: the saver's default); refreshed: its last recorded read, a
# UUIDv6-shaped string compared with id floors like a checkpoint id.
CREATE_RETENTION_TABLE = f"""CREATE TABLE IF NOT EXISTS {RETENTION_TABLE} (
    thread_id TEXT PRIMARY KEY,
    ttl_minutes DOUBLE PRECISION,
    keep BOOLEAN NOT NULL DEFAULT false,
    refreshed TEXT
)"""


def setup_plan() -> Plan[None]:
    # Under the setup lock: two CREATE TABLE IF NOT EXISTS at once can both
    # miss the table and collide on the catalog (duplicate key in pg_type).
    yield Execute("SELECT pg_advisory_xact_lock(%s)", (plans.SETUP_LOCK_KEY,))
    yield Execute(CREATE_RETENTION_TABLE)


# The `keep` newest checkpoints of each namespace, with what deciding their
# ancestry needs: metadata, the channels with a stored value, and (old format)
# the parent whose writes hold its pending sends.
_NEWEST = f"""
SELECT c.checkpoint_ns, c.checkpoint_id, c.metadata, c.checkpoint -> 'channel_values',
    (SELECT array_agg(bl.channel) FROM jsonb_each_text(c.checkpoint -> 'channel_versions') cv
       JOIN checkpoint_blobs bl ON bl.thread_id = c.thread_id AND bl.checkpoint_ns = c.checkpoint_ns
        AND bl.channel = cv.key AND bl.version = cv.value AND bl.type <> 'empty'),
    CASE WHEN {plans._OLD_FORMAT} AND EXISTS (SELECT 1 FROM checkpoint_writes ps
       WHERE ps.thread_id = c.thread_id AND ps.checkpoint_ns = c.checkpoint_ns
         AND ps.checkpoint_id = c.parent_checkpoint_id AND ps.channel = '{TASKS}')
    THEN c.parent_checkpoint_id END
FROM (SELECT *, row_number() OVER (PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS n
        FROM checkpoints WHERE thread_id = %s) c
WHERE c.n <= %s
"""


def keep_last_plan(serde: SerializerProtocol, thread_ids: Sequence[str], keep: int) -> Plan[None]:
    """Keep the `keep` newest checkpoints of each namespace of each thread and
    what they need (delta-channel ancestors, the parent holding an old-format
    checkpoint's sends); unlink kept checkpoints from deleted parents, then
    drop blobs nothing references. The latest checkpoint and its writes (a
    pending interrupt) always stay."""
    keep = validated_keep(keep)
    thread_ids = validated_thread_ids(thread_ids)
    # As the other deletions: no delta is written against what goes, and
    # deltas whose chains run through it are stored whole first.
    yield from plans._lock_threads(thread_ids)
    for thread_id in thread_ids:
        kept: dict[str, dict[str, None]] = {}  # ns -> ids, ordered for stable statements
        for ns, checkpoint_id, metadata, inline, blob_channels, sends_parent in (
            yield Query(_NEWEST, (thread_id, keep))
        ):
            ids = kept.setdefault(ns, {})
            ids.update(dict.fromkeys([checkpoint_id] + ([sends_parent] if sends_parent else [])))
            with_value = set(inline or {}) | set(blob_channels or ())
            if needed := delta_channels_needing_history(metadata or {}, with_value):
                _, visited = yield from plans._delta_chain(
                    serde, thread_id, ns, checkpoint_id, sorted(needed)
                )
                ids.update(dict.fromkeys(visited))
        for ns, ids in kept.items():
            for table in ("checkpoint_writes", "checkpoints"):
                yield Execute(
                    f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_ns = %s "
                    "AND NOT (checkpoint_id = ANY(%s))",
                    (thread_id, ns, list(ids)),
                )
            yield Execute(
                "UPDATE checkpoints SET parent_checkpoint_id = NULL WHERE thread_id = %s "
                "AND checkpoint_ns = %s AND NOT (parent_checkpoint_id = ANY(%s))",
                (thread_id, ns, list(ids)),
            )
    yield from plans._store_whole_losing_links(serde, thread_ids)
    yield Execute(plans.DELETE_UNUSED_BLOBS, (thread_ids,))


# -- the sweep ------------------------------------------------------------------

POSTGRES = RetentionDialect(
    placeholder="%({})s",
    byte_order=' COLLATE "C"',
    among="{column} = ANY({ids})",
    bind_list=list,
)


class RetentionPlans(SqlRetentionPlans):
    """The retention plans on a Postgres database."""

    dialect = POSTGRES

    def lock_threads_plan(self, thread_ids: list[str]) -> Plan[None]:
        """The threads' advisory locks (the deletion guard's, taken in one
        order by every sweeper): a put in flight commits before the batch's
        check, and a later one waits for the batch."""
        yield Query(
            "SELECT pg_advisory_xact_lock(%s, hashtext(t)) "
            'FROM (SELECT t FROM unnest(%s::text[]) AS t ORDER BY t COLLATE "C") AS ordered',
            (plans.THREAD_LOCK_CLASS, thread_ids),
        )

    def delete_thread_plan(self, thread_id: str) -> Plan[None]:
        return plans.delete_thread_plan(thread_id)

    def trim_plan(self, sweep_pass: SweepPass, thread_ids: list[str]) -> Plan[None]:
        if sweep_pass.action == "keep_latest":
            return plans.prune_plan(self.serde, thread_ids, "keep_latest")
        return keep_last_plan(self.serde, thread_ids, sweep_pass.keep)
