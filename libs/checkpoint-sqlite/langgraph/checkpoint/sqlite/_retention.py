"""Retention plans of the SQLite savers: per-thread TTLs, read refreshes,
`keep_last` pruning and the sweep's SQL (`langgraph.checkpoint.base.retention`).

Per-thread settings live in a table of ours, created at setup like the
others; the reference ignores it, and a database without it (set up by the
reference only) works for everything but these calls, which then ask for
`setup()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.checkpoint.base import SerializerProtocol, validated_thread_id, validated_thread_ids
from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.base.retention import (
    RETENTION_TABLE,
    BatchResult,
    Candidate,
    SweepPass,
    read_mark,
    validated_keep,
    validated_thread_ttl,
)
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


def set_thread_ttl_plan(thread_id: str, minutes: float | None) -> Plan[None]:
    thread_id = validated_thread_id(thread_id)
    minutes = validated_thread_ttl(minutes)
    yield Execute(
        f"INSERT INTO {RETENTION_TABLE} (thread_id, ttl_minutes, keep) VALUES (?, ?, ?) "
        "ON CONFLICT (thread_id) DO UPDATE SET ttl_minutes = excluded.ttl_minutes, "
        "keep = excluded.keep",
        (thread_id, minutes, int(minutes is None)),
    )


def get_thread_ttl_plan(thread_id: str, default: float | None) -> Plan[float | None]:
    rows = yield Query(
        f"SELECT ttl_minutes, keep FROM {RETENTION_TABLE} WHERE thread_id = ?",
        (validated_thread_id(thread_id),),
    )
    if not rows:
        return default
    ttl_minutes, keep = rows[0]
    if keep:
        return None
    return default if ttl_minutes is None else float(ttl_minutes)


def refresh_plan(thread_id: str) -> Plan[None]:
    yield Execute(
        f"INSERT INTO {RETENTION_TABLE} (thread_id, refreshed) VALUES (?, ?) "
        "ON CONFLICT (thread_id) DO UPDATE SET refreshed = excluded.refreshed",
        (thread_id, read_mark()),
    )


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

# The greatest id is a UUIDv6 made before the floor: only ids carrying a time expire.
_EXPIRED = (
    "max(c.checkpoint_id) < :floor AND length(max(c.checkpoint_id)) = 36 "
    "AND substr(max(c.checkpoint_id), 15, 1) = '6' AND coalesce(max(r.refreshed), '') < :floor"
)


def _candidates_sql(sweep_pass: SweepPass, scope: str) -> str:
    """Threads the pass applies to, with their number of checkpoints, within
    `scope` (a condition on `c.thread_id`), in thread id order."""
    if sweep_pass.action == "keep_last":
        return f"""SELECT g.thread_id, sum(g.n) FROM (
    SELECT c.thread_id, count(*) AS n FROM checkpoints c WHERE {scope}
    GROUP BY c.thread_id, c.checkpoint_ns) g
LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = g.thread_id
WHERE coalesce(r.keep, 0) = 0
GROUP BY g.thread_id HAVING max(g.n) > :keep ORDER BY g.thread_id"""
    if sweep_pass.own_ttl:
        join = f"JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id AND r.ttl_minutes = :ttl"
        applies = "r.keep = 0"
    else:
        join = f"LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id"
        applies = "(r.thread_id IS NULL OR (r.keep = 0 AND r.ttl_minutes IS NULL))"
    having = _EXPIRED
    if sweep_pass.action == "keep_latest":  # nothing to trim when each namespace has one
        having += " AND count(*) > count(DISTINCT c.checkpoint_ns)"
    return (
        f"SELECT c.thread_id, count(*) FROM checkpoints c {join} WHERE {applies} AND {scope} "
        f"GROUP BY c.thread_id HAVING {having} ORDER BY c.thread_id"
    )


def _params(sweep_pass: SweepPass, floor: str | None, **scope: object) -> dict[str, object]:
    return {"floor": floor, "ttl": sweep_pass.ttl_minutes, "keep": sweep_pass.keep, **scope}


class RetentionPlans:
    """The SQL `SweepPlanner` runs on a SQLite database."""

    def __init__(self, serde: SerializerProtocol) -> None:
        self.serde = serde

    def own_ttls_plan(self) -> Plan[list[float]]:
        rows = yield Query(
            f"SELECT DISTINCT ttl_minutes FROM {RETENTION_TABLE} "
            "WHERE keep = 0 AND ttl_minutes IS NOT NULL ORDER BY ttl_minutes"
        )
        return [float(row[0]) for row in rows]

    def candidates_plan(
        self, sweep_pass: SweepPass, floor: str | None, after: str, limit: int
    ) -> Plan[list[Candidate]]:
        rows = yield Query(
            f"{_candidates_sql(sweep_pass, 'c.thread_id > :after')} LIMIT :limit",
            _params(sweep_pass, floor, after=after, limit=limit),
        )
        return [(thread_id, count) for thread_id, count in rows]

    def batch_plan(
        self, sweep_pass: SweepPass, floor: str | None, thread_ids: list[str]
    ) -> Plan[BatchResult]:
        """Remove what the pass removes from those of `thread_ids` it still
        applies to (checked again: the write transaction holds the lock)."""
        scope = "c.thread_id IN (SELECT value FROM json_each(:ids))"
        rows = yield Query(
            _candidates_sql(sweep_pass, scope),
            _params(sweep_pass, floor, ids=plans.json_list(thread_ids)),
        )
        doomed = [thread_id for thread_id, _ in rows]
        if not doomed:
            return 0, 0, 0
        before = sum(count for _, count in rows)
        if sweep_pass.action == "delete":
            for thread_id in doomed:
                yield from plans.delete_thread_plan(thread_id)
            yield Execute(
                f"DELETE FROM {RETENTION_TABLE} WHERE thread_id IN (SELECT value FROM json_each(?))",
                (plans.json_list(doomed),),
            )
            return len(doomed), 0, before
        if sweep_pass.action == "keep_latest":
            yield from plans.prune_plan(self.serde, doomed, "keep_latest")
        else:
            yield from keep_last_plan(self.serde, doomed, sweep_pass.keep)
        left = yield Query(
            "SELECT count(*) FROM checkpoints WHERE thread_id IN (SELECT value FROM json_each(?))",
            (plans.json_list(doomed),),
        )
        return 0, len(doomed), before - left[0][0]
