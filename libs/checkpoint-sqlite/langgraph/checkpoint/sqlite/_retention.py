"""Retention plans of the SQLite savers: their table, `keep_last` pruning,
and what the sweep's SQL (`base.retention_sql`) needs of SQLite.

Per-thread settings live in a table of ours, created at setup like the
others; the reference ignores it, and a database without it (set up by the
reference only) works for everything but these calls, which then ask for
`setup()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.checkpoint.base import SerializerProtocol, validated_thread_ids
from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.base.retention import RETENTION_TABLE, SweepPass, validated_keep
from langgraph.checkpoint.base.retention_sql import RetentionDialect, SqlRetentionPlans
from langgraph.checkpoint.sqlite import _plans as plans

# keep: 1 pins the thread (never expired nor trimmed); ttl_minutes: its own
# TTL (NULL: the saver's default); refreshed: its last recorded read, a
# UUIDv6-shaped string compared with id floors like a checkpoint id.
CREATE_RETENTION_TABLE = f"""CREATE TABLE IF NOT EXISTS {RETENTION_TABLE} (
    thread_id TEXT PRIMARY KEY,
    ttl_minutes REAL,
    keep INTEGER NOT NULL DEFAULT 0,
    refreshed TEXT
)"""


def setup_plan() -> Plan[None]:
    yield Execute(CREATE_RETENTION_TABLE)


def keep_last_plan(serde: SerializerProtocol, thread_ids: Sequence[str], keep: int) -> Plan[None]:
    """Keep the `keep` newest checkpoints of each namespace of each thread, the
    ancestors their delta channels replay from, and the rows compact chains
    of kept rows run through (rewritten whole when their base goes). The
    latest checkpoint and its writes (a pending interrupt) always stay."""
    keep = validated_keep(keep)
    for thread_id in validated_thread_ids(thread_ids):
        namespaces = yield Query(
            "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
        )
        for (ns,) in namespaces:
            newest = yield Query(
                "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
                "ORDER BY checkpoint_id DESC LIMIT ?",
                (thread_id, ns, keep),
            )
            kept: dict[str, None] = {}  # ordered, for a stable statement
            for (checkpoint_id,) in newest:
                kept.update(
                    dict.fromkeys(
                        (yield from plans._keep_for_delta(serde, thread_id, ns, checkpoint_id))
                    )
                )
            yield from plans._store_whole_past(serde, thread_id, ns, kept=list(kept))
            for table in ("writes", "checkpoints"):
                yield Execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                    "AND checkpoint_id NOT IN (SELECT value FROM json_each(?))",
                    (thread_id, ns, plans.json_list(kept)),
                )


# -- the sweep ------------------------------------------------------------------

SQLITE = RetentionDialect(
    placeholder=":{}",
    byte_order="",
    among="{column} IN (SELECT value FROM json_each({ids}))",
    bind_list=plans.json_list,
)


class RetentionPlans(SqlRetentionPlans):
    """The retention plans on a SQLite database (a batch needs no lock of its
    own: its write transaction holds the database's)."""

    dialect = SQLITE

    def delete_thread_plan(self, thread_id: str) -> Plan[None]:
        return plans.delete_thread_plan(thread_id)

    def trim_plan(self, sweep_pass: SweepPass, thread_ids: list[str]) -> Plan[None]:
        if sweep_pass.action == "keep_latest":
            return plans.prune_plan(self.serde, thread_ids, "keep_latest")
        return keep_last_plan(self.serde, thread_ids, sweep_pass.keep)
