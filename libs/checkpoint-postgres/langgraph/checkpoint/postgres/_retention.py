"""Retention plans of the Postgres savers: per-thread TTLs, read refreshes,
`keep_last` pruning and the sweep's SQL (`langgraph.checkpoint.base.retention`).

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
    validated_thread_id,
    validated_thread_ids,
)
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


def set_thread_ttl_plan(thread_id: str, minutes: float | None) -> Plan[None]:
    thread_id = validated_thread_id(thread_id)
    minutes = validated_thread_ttl(minutes)
    yield Execute(
        f"INSERT INTO {RETENTION_TABLE} (thread_id, ttl_minutes, keep) VALUES (%s, %s, %s) "
        "ON CONFLICT (thread_id) DO UPDATE SET ttl_minutes = EXCLUDED.ttl_minutes, "
        "keep = EXCLUDED.keep",
        (thread_id, minutes, minutes is None),
    )


def get_thread_ttl_plan(thread_id: str, default: float | None) -> Plan[float | None]:
    rows = yield Query(
        f"SELECT ttl_minutes, keep FROM {RETENTION_TABLE} WHERE thread_id = %s",
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
        f"INSERT INTO {RETENTION_TABLE} (thread_id, refreshed) VALUES (%s, %s) "
        "ON CONFLICT (thread_id) DO UPDATE SET refreshed = EXCLUDED.refreshed",
        (thread_id, read_mark()),
    )


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

_MAX_ID = 'max(c.checkpoint_id COLLATE "C")'
# The greatest id is a UUIDv6 made before the floor: only ids carrying a time expire.
_EXPIRED = (
    f'{_MAX_ID} < %(floor)s COLLATE "C" AND length({_MAX_ID}) = 36 '
    f"AND substr({_MAX_ID}, 15, 1) = '6' "
    'AND coalesce(max(r.refreshed COLLATE "C"), \'\') < %(floor)s COLLATE "C"'
)


def _candidates_sql(sweep_pass: SweepPass, scope: str) -> str:
    """Threads the pass applies to, with their number of checkpoints, within
    `scope` (a condition on `c.thread_id`), in thread id order."""
    if sweep_pass.action == "keep_last":
        return f"""SELECT g.thread_id, sum(g.n)::int FROM (
    SELECT c.thread_id, count(*) AS n FROM checkpoints c WHERE {scope}
    GROUP BY c.thread_id, c.checkpoint_ns) g
LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = g.thread_id
WHERE NOT coalesce(r.keep, false)
GROUP BY g.thread_id HAVING max(g.n) > %(keep)s ORDER BY g.thread_id"""
    if sweep_pass.own_ttl:
        join = f"JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id AND r.ttl_minutes = %(ttl)s"
        applies = "NOT r.keep"
    else:
        join = f"LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id"
        applies = "(r.thread_id IS NULL OR (NOT r.keep AND r.ttl_minutes IS NULL))"
    having = _EXPIRED
    if sweep_pass.action == "keep_latest":  # nothing to trim when each namespace has one
        having += " AND count(*) > count(DISTINCT c.checkpoint_ns)"
    return (
        f"SELECT c.thread_id, count(*)::int FROM checkpoints c {join} WHERE {applies} AND {scope} "
        f"GROUP BY c.thread_id HAVING {having} ORDER BY c.thread_id"
    )


def _params(sweep_pass: SweepPass, floor: str | None, **scope: object) -> dict[str, object]:
    return {"floor": floor, "ttl": sweep_pass.ttl_minutes, "keep": sweep_pass.keep, **scope}


class RetentionPlans:
    """The SQL `SweepPlanner` runs on a Postgres database."""

    def __init__(self, serde: SerializerProtocol) -> None:
        self.serde = serde

    def own_ttls_plan(self) -> Plan[list[float]]:
        rows = yield Query(
            f"SELECT DISTINCT ttl_minutes FROM {RETENTION_TABLE} "
            "WHERE NOT keep AND ttl_minutes IS NOT NULL ORDER BY ttl_minutes"
        )
        return [float(row[0]) for row in rows]

    def candidates_plan(
        self, sweep_pass: SweepPass, floor: str | None, after: str, limit: int
    ) -> Plan[list[Candidate]]:
        rows = yield Query(
            f"{_candidates_sql(sweep_pass, 'c.thread_id > %(after)s')} LIMIT %(limit)s",
            _params(sweep_pass, floor, after=after, limit=limit),
        )
        return [(thread_id, count) for thread_id, count in rows]

    def batch_plan(
        self, sweep_pass: SweepPass, floor: str | None, thread_ids: list[str]
    ) -> Plan[BatchResult]:
        """Remove what the pass removes from those of `thread_ids` it still
        applies to. The threads' advisory locks (the deletion guard's, taken
        in one order by every sweeper) come first: a put in flight commits
        before the check, and a later one waits for the batch."""
        yield Query(
            "SELECT pg_advisory_xact_lock(%s, hashtext(t)) "
            'FROM (SELECT t FROM unnest(%s::text[]) AS t ORDER BY t COLLATE "C") AS ordered',
            (plans.THREAD_LOCK_CLASS, thread_ids),
        )
        rows = yield Query(
            _candidates_sql(sweep_pass, "c.thread_id = ANY(%(ids)s)"),
            _params(sweep_pass, floor, ids=thread_ids),
        )
        doomed = [thread_id for thread_id, _ in rows]
        if not doomed:
            return 0, 0, 0
        before = sum(count for _, count in rows)
        if sweep_pass.action == "delete":
            for thread_id in doomed:
                yield from plans.delete_thread_plan(thread_id)
            yield Execute(f"DELETE FROM {RETENTION_TABLE} WHERE thread_id = ANY(%s)", (doomed,))
            return len(doomed), 0, before
        if sweep_pass.action == "keep_latest":
            yield from plans.prune_plan(self.serde, doomed, "keep_latest")
        else:
            yield from keep_last_plan(self.serde, doomed, sweep_pass.keep)
        left = yield Query("SELECT count(*) FROM checkpoints WHERE thread_id = ANY(%s)", (doomed,))
        return 0, len(doomed), before - left[0][0]
