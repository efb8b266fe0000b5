"""Everything the SQLite savers do, written once for both drivers.

Each operation is a *plan*: a generator that yields SQL steps (`Query`,
`Execute`, `ExecuteMany`) and receives their results. `SqliteSaver` runs plans
on a `sqlite3` connection, `AsyncSqliteSaver` on an `aiosqlite` one; neither
contains SQL or row decoding of its own (the sans-I/O style of psycopg 3 and
httpcore). Serialization happens before a plan starts, so write transactions
hold the database lock only for the statements themselves.

Metadata filters never reach SQL text: filter keys are bound parameters of
`json_each` lookups that narrow the rows, and the exact JSON comparison is
done in Python (`metadata_matches`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaHistoryWalk,
    RunnableConfig,
    SerializerProtocol,
    config_location,
    delta_channels_needing_history,
    get_checkpoint_id,
    get_checkpoint_metadata,
    metadata_matches,
    writes_sort_key,
)
from langgraph.checkpoint.base.plan import Execute, ExecuteMany, Plan, Query

# -- schema ------------------------------------------------------------------

# The reference layout, so databases it wrote keep working and vice versa.
CREATE_TABLES = (
    """CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    parent_checkpoint_id TEXT,
    type TEXT,
    checkpoint BLOB,
    metadata BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
)""",
    """CREATE TABLE IF NOT EXISTS writes (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_path TEXT NOT NULL DEFAULT '',
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    value BLOB,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
)""",
)


def setup_plan() -> Plan:
    """Create the tables, and add `task_path` to databases from before it existed."""
    for statement in CREATE_TABLES:
        yield Execute(statement)
    columns = {row[1] for row in (yield Query("PRAGMA table_info(writes)"))}
    if "task_path" not in columns:
        yield Execute("ALTER TABLE writes ADD COLUMN task_path TEXT NOT NULL DEFAULT ''")


# -- encoding ------------------------------------------------------------------


def dump_metadata(config: RunnableConfig, metadata: CheckpointMetadata) -> bytes:
    """Metadata as the reference stores it: UTF-8 JSON text in a BLOB."""
    merged = get_checkpoint_metadata(config, metadata)
    return json.dumps(merged, ensure_ascii=False, default=str).encode()


def load_metadata(raw: bytes | str | None) -> CheckpointMetadata:
    if not raw:
        return {}
    return json.loads(raw)


@dataclass(frozen=True, slots=True)
class PreparedPut:
    """A checkpoint serialized and ready to insert."""

    config: RunnableConfig
    row: tuple[Any, ...]


def prepare_put(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
) -> PreparedPut:
    thread_id, ns, parent_id = config_location(config)
    type_, blob = serde.dumps_typed(checkpoint)
    return PreparedPut(
        config={
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        },
        row=(
            thread_id,
            ns,
            checkpoint["id"],
            parent_id,
            type_,
            blob,
            dump_metadata(config, metadata),
        ),
    )


def put_plan(prepared: PreparedPut) -> Plan:
    yield Execute(
        "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
        prepared.row,
    )
    return prepared.config


def prepare_writes(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> ExecuteMany:
    """The statement storing a task's writes (replace rule of the contract applied)."""
    thread_id, ns, checkpoint_id = config_location(config)
    if checkpoint_id is None:
        raise ValueError('put_writes needs config["configurable"]["checkpoint_id"]')
    # Special channels (errors, interrupts, ...) overwrite; regular writes are
    # kept as first stored, so a retried task cannot change what was recorded.
    verb = "REPLACE" if all(channel in WRITES_IDX_MAP for channel, _ in writes) else "IGNORE"
    rows = [
        (
            thread_id,
            ns,
            checkpoint_id,
            task_id,
            task_path,
            WRITES_IDX_MAP.get(channel, idx),
            channel,
            *serde.dumps_typed(value),
        )
        for idx, (channel, value) in enumerate(writes)
    ]
    return ExecuteMany(
        f"INSERT OR {verb} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
        "task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def put_writes_plan(statement: ExecuteMany) -> Plan:
    if statement.rows:
        yield statement


# -- reading -------------------------------------------------------------------

_CHECKPOINT_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
)


def _writes_query(keys: Sequence[tuple[str, str, str]], channels: Sequence[str] = ()) -> Query:
    """Pending writes of many checkpoints in one statement."""
    placeholders = ", ".join("(?, ?, ?)" for _ in keys)
    params: list[Any] = [part for key in keys for part in key]
    sql = (
        "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, channel, type, value, "
        f"task_path, idx FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) IN "
        f"(VALUES {placeholders})"
    )
    if channels:
        sql += f" AND channel IN ({', '.join('?' for _ in channels)})"
        params.extend(channels)
    return Query(sql, params)


def _group_writes(serde: SerializerProtocol, rows: Sequence[Sequence[Any]]) -> dict[tuple, list]:
    """Decoded `(task_id, channel, value)` writes per checkpoint, in contract order."""
    grouped: dict[tuple, list[tuple]] = {}
    for thread_id, ns, checkpoint_id, task_id, channel, type_, value, task_path, idx in rows:
        grouped.setdefault((thread_id, ns, checkpoint_id), []).append(
            (writes_sort_key(task_path, task_id, idx), task_id, channel, type_, value)
        )
    return {
        key: [
            (task_id, channel, serde.loads_typed((type_, value)))
            for _, task_id, channel, type_, value in sorted(items, key=lambda item: item[0])
        ]
        for key, items in grouped.items()
    }


def _to_tuple(
    serde: SerializerProtocol, row: Sequence[Any], writes: list[tuple[str, str, Any]]
) -> CheckpointTuple:
    thread_id, ns, checkpoint_id, parent_id, type_, blob, metadata = row
    return CheckpointTuple(
        config={
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        },
        checkpoint=serde.loads_typed((type_, blob)),
        metadata=load_metadata(metadata),
        parent_config=(
            {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": parent_id,
                }
            }
            if parent_id
            else None
        ),
        pending_writes=writes,
    )


def _tuples_with_writes(serde: SerializerProtocol, rows: Sequence[Sequence[Any]]) -> Plan:
    if not rows:
        return []
    keys = [(row[0], row[1], row[2]) for row in rows]
    writes = _group_writes(serde, (yield _writes_query(keys)))
    return [_to_tuple(serde, row, writes.get(key, [])) for row, key in zip(rows, keys)]


def get_tuple_plan(serde: SerializerProtocol, config: RunnableConfig) -> Plan:
    thread_id, ns, checkpoint_id = config_location(config)
    if checkpoint_id:
        query = Query(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, checkpoint_id),
        )
    else:
        query = Query(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE thread_id = ? "
            "AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id, ns),
        )
    rows = yield query
    found = yield from _tuples_with_writes(serde, rows)
    return found[0] if found else None


def _list_where(
    config: RunnableConfig | None,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if config is not None:
        thread_id, _, checkpoint_id = config_location(config)
        clauses.append("thread_id = ?")
        params.append(thread_id)
        configurable = config.get("configurable") or {}
        if "checkpoint_ns" in configurable:
            clauses.append("checkpoint_ns = ?")
            params.append(configurable["checkpoint_ns"] or "")
        if checkpoint_id:
            clauses.append("checkpoint_id = ?")
            params.append(checkpoint_id)
    if before is not None and (before_id := get_checkpoint_id(before)):
        clauses.append("checkpoint_id < ?")
        params.append(before_id)
    for key in filter or {}:
        if not isinstance(key, str):
            raise ValueError(f"metadata filter keys must be strings, got {key!r}")
        # Narrows rows to those having the key; the value is compared in Python.
        clauses.append("EXISTS (SELECT 1 FROM json_each(checkpoints.metadata) WHERE key = ?)")
        params.append(key)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_plan(
    serde: SerializerProtocol,
    config: RunnableConfig | None,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> Plan:
    if filter is not None and not isinstance(filter, Mapping):
        raise ValueError(
            f"filter must be a dict of metadata keys to values, got {type(filter).__name__}"
        )
    if limit is not None and limit <= 0:
        return []
    where, params = _list_where(config, filter, before)
    order = " ORDER BY checkpoint_id DESC"
    if filter:
        # Pick matching ids from metadata alone, then load only those rows.
        candidates = yield Query(
            f"SELECT thread_id, checkpoint_ns, checkpoint_id, metadata FROM checkpoints{where}{order}",
            params,
        )
        keys = [
            (thread_id, ns, checkpoint_id)
            for thread_id, ns, checkpoint_id, metadata in candidates
            if metadata_matches(load_metadata(metadata), filter)
        ][:limit]
        if not keys:
            return []
        placeholders = ", ".join("(?, ?, ?)" for _ in keys)
        rows = yield Query(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE "
            f"(thread_id, checkpoint_ns, checkpoint_id) IN (VALUES {placeholders}){order}",
            [part for key in keys for part in key],
        )
    else:
        limit_sql = " LIMIT ?" if limit is not None else ""
        rows = yield Query(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints{where}{order}{limit_sql}",
            [*params, limit] if limit is not None else params,
        )
    return (yield from _tuples_with_writes(serde, rows))


def delta_history_plan(
    serde: SerializerProtocol, config: RunnableConfig, channels: Sequence[str]
) -> Plan:
    """Seed and writes of delta channels, in two or three statements.

    The ancestor chain is walked by a recursive CTE that stops climbing at the
    first ancestor whose metadata shows a fresh snapshot of every requested
    channel (no `counters_since_delta_snapshot` entry). If that guess ends the
    chain early, one more walk continues from where it stopped.
    """
    thread_id, ns, checkpoint_id = config_location(config)
    channels = list(channels)
    if not channels:
        return {}
    if checkpoint_id is None:
        latest = yield Query(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id, ns),
        )
        if not latest:
            return {}
        checkpoint_id = latest[0][0]
    walk = DeltaHistoryWalk(channels)
    visited: list[str] = []
    channel_marks = ", ".join("?" for _ in channels)
    start = yield Query(
        "SELECT parent_checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
        "AND checkpoint_id = ?",
        (thread_id, ns, checkpoint_id),
    )
    next_id = start[0][0] if start else None
    ancestors: list[tuple[str, Any]] = []  # (checkpoint_id, decoded channel_values)
    while next_id and walk.pending:
        rows = yield Query(
            f"""WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, type, checkpoint, stop) AS (
                SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint,
                    NOT EXISTS (SELECT 1 FROM json_each(metadata, '$.counters_since_delta_snapshot')
                                WHERE key IN ({channel_marks}))
                FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
                UNION ALL
                SELECT c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint,
                    NOT EXISTS (SELECT 1 FROM json_each(c.metadata, '$.counters_since_delta_snapshot')
                                WHERE key IN ({channel_marks}))
                FROM checkpoints c JOIN chain ON c.checkpoint_id = chain.parent_checkpoint_id
                WHERE c.thread_id = ? AND c.checkpoint_ns = ? AND NOT chain.stop
            )
            SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint FROM chain""",
            (*channels, thread_id, ns, next_id, *channels, thread_id, ns),
        )
        if not rows:
            break
        next_id = None
        for ancestor_id, parent_id, type_, blob in rows:
            values = serde.loads_typed((type_, blob)).get("channel_values", {})
            ancestors.append((ancestor_id, values))
            visited.append(ancestor_id)
            walk.visit(values, [])
            next_id = parent_id
            if not walk.pending:
                break
    # The writes of every visited ancestor, in one statement; then the walk
    # is replayed with them (cheap: values are already decoded).
    writes = _group_writes(
        serde,
        (yield _writes_query([(thread_id, ns, a) for a in visited], channels)) if visited else [],
    )
    walk = DeltaHistoryWalk(channels)
    for ancestor_id, values in ancestors:
        walk.visit(values, writes.get((thread_id, ns, ancestor_id), []))
    return walk.result()


# -- deleting, copying, pruning --------------------------------------------------


def delete_thread_plan(thread_id: str) -> Plan:
    yield Execute("DELETE FROM checkpoints WHERE thread_id = ?", (str(thread_id),))
    yield Execute("DELETE FROM writes WHERE thread_id = ?", (str(thread_id),))


def delete_for_runs_plan(run_ids: Sequence[str]) -> Plan:
    run_ids = [str(r) for r in run_ids]
    if not run_ids:
        return
    marks = ", ".join("?" for _ in run_ids)
    doomed = (
        "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints "
        f"WHERE json_extract(metadata, '$.run_id') IN ({marks})"
    )
    yield Execute(
        f"DELETE FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) IN ({doomed})",
        run_ids,
    )
    yield Execute(
        f"DELETE FROM checkpoints WHERE json_extract(metadata, '$.run_id') IN ({marks})",
        run_ids,
    )


def copy_thread_plan(source_thread_id: str, target_thread_id: str) -> Plan:
    yield Execute(
        "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, checkpoint_ns, "
        "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
        "WHERE thread_id = ?",
        (target_thread_id, source_thread_id),
    )
    yield Execute(
        "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
        "task_path, idx, channel, type, value) SELECT ?, checkpoint_ns, checkpoint_id, "
        "task_id, task_path, idx, channel, type, value FROM writes WHERE thread_id = ?",
        (target_thread_id, source_thread_id),
    )


def prune_plan(serde: SerializerProtocol, thread_ids: Sequence[str], strategy: str) -> Plan:
    """`delete` drops the threads; `keep_latest` keeps each namespace's latest
    checkpoint and the ancestors its delta channels still replay from."""
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
    for thread_id in thread_ids:
        if strategy == "delete":
            yield from delete_thread_plan(thread_id)
            continue
        rows = yield Query(
            "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints "
            "WHERE thread_id = ? ORDER BY checkpoint_ns, checkpoint_id DESC",
            (str(thread_id),),
        )
        by_ns: dict[str, list[tuple[str, str | None, Any]]] = {}
        for ns, checkpoint_id, parent_id, metadata in rows:
            by_ns.setdefault(ns, []).append((checkpoint_id, parent_id, metadata))
        for ns, checkpoints in by_ns.items():
            keep = yield from _keep_for_delta(serde, str(thread_id), ns, checkpoints)
            marks = ", ".join("?" for _ in keep)
            for table in ("writes", "checkpoints"):
                yield Execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                    f"AND checkpoint_id NOT IN ({marks})",
                    (str(thread_id), ns, *keep),
                )


def _keep_for_delta(
    serde: SerializerProtocol,
    thread_id: str,
    ns: str,
    checkpoints: list[tuple[str, str | None, Any]],
) -> Plan:
    """Ids to keep: the latest (first in the list) and its delta ancestry."""
    latest_id, parent_id, metadata = checkpoints[0]
    keep = [latest_id]
    parents = {cid: pid for cid, pid, _ in checkpoints}
    values = yield from _channel_names(serde, thread_id, ns, latest_id)
    pending = delta_channels_needing_history(load_metadata(metadata), values)
    while pending and parent_id in parents:
        keep.append(parent_id)
        values = yield from _channel_names(serde, thread_id, ns, parent_id)
        pending -= values
        parent_id = parents[parent_id]
    return keep


def _channel_names(serde: SerializerProtocol, thread_id: str, ns: str, checkpoint_id: str) -> Plan:
    rows = yield Query(
        "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
        "AND checkpoint_id = ?",
        (thread_id, ns, checkpoint_id),
    )
    if not rows:
        return set()
    return set(serde.loads_typed((rows[0][0], rows[0][1])).get("channel_values", {}))
