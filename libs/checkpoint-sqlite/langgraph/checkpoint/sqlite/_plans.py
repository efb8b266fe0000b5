"""Everything the SQLite savers do, written once for both drivers.

Each operation is a *plan*: a generator that yields SQL steps (`Query`,
`Execute`, `ExecuteMany`) and receives their results. `SqliteSaver` runs plans
on a `sqlite3` connection, `AsyncSqliteSaver` on an `aiosqlite` one; neither
contains SQL or row decoding of its own (the sans-I/O style of psycopg 3 and
httpcore). Serialization happens before a plan starts, so write transactions
hold the database lock only for the statements themselves.

Metadata filters never reach SQL text: filter keys are bound parameters of
`json_each` lookups that narrow the rows, and the exact JSON comparison is
done in Python (`filter_matches`).

No statement binds a number of parameters that grows with the data: a list of
keys or ids travels as one JSON array parameter (`json_each(?)`), so SQLite's
variable limit (32,766 by default, 999 before 3.32) is never reached, and
`list` reads in keyset pages (`ListPages`) instead of all at once.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ormsgpack
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
    validated_thread_id,
    validated_thread_ids,
    writes_sort_key,
)
from langgraph.checkpoint.base.compact import (
    COMPACT_ROW_TYPE,
    BrokenChainError,
    DeltaCache,
    DeltaRecord,
    FullValue,
    LinkAt,
    StoredList,
    channel_place,
    decode_record,
    decompress,
    encode_list,
    encode_record,
    list_channels,
    missing_link,
    rebuild_list,
    walk,
)
from langgraph.checkpoint.base.deletion import (
    THREAD_DELETED_MARK,
    deletion_watermark,
    expired_watermarks_before,
)
from langgraph.checkpoint.base.plan import (
    Execute,
    ExecuteMany,
    Plan,
    Query,
    grown_within,
    held_entries,
)
from langgraph.checkpoint.base.retention import RETENTION_TABLE

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


# The deletion rule (langgraph.checkpoint.base.deletion), kept by the database so
# that it holds for every process and every writer, the reference's included.
# Only UUIDv6 ids (36 characters, version digit 6) are compared with the watermark.
_MADE_BEFORE = "(length({id}) = 36 AND substr({id}, 15, 1) = '6' AND {id} <= t.deleted_before)"
CREATE_DELETION_GUARD = (
    """CREATE TABLE IF NOT EXISTS checkpoint_tombstones (
    thread_id TEXT PRIMARY KEY,
    deleted_before TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS checkpoint_tombstones_deleted_before_idx "
    "ON checkpoint_tombstones(deleted_before)",
    f"""CREATE TRIGGER IF NOT EXISTS checkpoints_deleted_thread_guard_v1
BEFORE INSERT ON checkpoints
WHEN EXISTS (SELECT 1 FROM checkpoint_tombstones t WHERE t.thread_id = NEW.thread_id
             AND ({_MADE_BEFORE.format(id="NEW.checkpoint_id")}
                  OR {_MADE_BEFORE.format(id="NEW.parent_checkpoint_id")}))
BEGIN SELECT RAISE(ABORT, '{THREAD_DELETED_MARK}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS writes_deleted_thread_guard_v1
BEFORE INSERT ON writes
WHEN EXISTS (SELECT 1 FROM checkpoint_tombstones t WHERE t.thread_id = NEW.thread_id
             AND {_MADE_BEFORE.format(id="NEW.checkpoint_id")})
BEGIN SELECT RAISE(ABORT, '{THREAD_DELETED_MARK}'); END""",
)


def setup_plan() -> Plan:
    """Create the tables, and add `task_path` to databases from before it existed."""
    for statement in (*CREATE_TABLES, *CREATE_DELETION_GUARD):
        yield Execute(statement)
    columns = {row[1] for row in (yield Query("PRAGMA table_info(writes)"))}
    if "task_path" not in columns:
        yield Execute("ALTER TABLE writes ADD COLUMN task_path TEXT NOT NULL DEFAULT ''")


# -- encoding ------------------------------------------------------------------


def dump_metadata(config: RunnableConfig, metadata: CheckpointMetadata) -> bytes:
    """Metadata as the reference stores it: UTF-8 JSON text in a BLOB.

    Values JSON cannot hold raise `TypeError` (as the reference does), and NaN
    or infinities `ValueError`: SQLite's JSON functions reject their text, so
    one such row would break filtered `list`, `delete_for_runs` and delta
    history on the whole file.
    """
    merged = get_checkpoint_metadata(config, metadata)
    try:
        return json.dumps(merged, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise _metadata_error(merged, exc) from None


def _metadata_error(merged: Mapping[str, Any], exc: Exception) -> Exception:
    """The error of the first entry that cannot be stored, naming its key."""
    for key, value in merged.items():
        try:
            json.dumps({key: value}, allow_nan=False)
        except (TypeError, ValueError) as entry_exc:
            return type(entry_exc)(
                f"checkpoint metadata[{key!r}] cannot be stored as JSON ({entry_exc}); "
                "metadata holds str, int, finite float, bool and None, in lists and dicts"
            )
    return exc


def load_metadata(raw: bytes | str | None) -> CheckpointMetadata:
    if not raw:
        return {}
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


# -- compact rows --------------------------------------------------------------
#
# A compact row (type COMPACT_ROW_TYPE) is msgpack of
#     [base type, base bytes, {channel: delta record bytes}, compression]
# where base is the checkpoint, serialized by the saver's serializer, without
# the delta-stored channel values (compression "" since two-tier chains; zlib
# in rows written before: `decompress` reads both), and
# each record (base.compact) lists the checkpoint ids of the rows its chain
# runs through. A reader takes one channel's record out of the map without
# deserializing anything else. A checkpoint without deltas is a plain row.

CompactRow = tuple[tuple[str, bytes], dict[str, bytes]]


def pack_compact_row(base: tuple[str, bytes], records: Mapping[str, bytes]) -> bytes:
    return ormsgpack.packb([base[0], base[1], dict(records), ""])


def unpack_compact_row(blob: bytes) -> CompactRow:
    base_type, base_bytes, records, codec = ormsgpack.unpackb(blob)
    return (base_type, decompress(codec, base_bytes)), records


def _chain_link(
    serde: SerializerProtocol, type_: str, blob: bytes, channel: str
) -> DeltaRecord | FullValue:
    """What one row stores for `channel`: a delta record, or the whole value."""
    if type_ == COMPACT_ROW_TYPE:
        base, records = unpack_compact_row(blob)
        if channel in records:
            return decode_record(records[channel], with_chain=False)
    else:
        base = (type_, blob)

    def load() -> list[Any]:
        values = serde.loads_typed(base).get("channel_values", {})
        if channel not in values:
            raise BrokenChainError(
                f"a delta of channel {channel!r} extends a checkpoint without it"
            )
        return values[channel]

    return FullValue(load)


def _link_query(keys: Iterable[tuple[str, str, str]]) -> Query:
    return Query(
        f"SELECT thread_id, checkpoint_ns, checkpoint_id, type, checkpoint FROM checkpoints "
        f"WHERE {_KEY_IN_JSON}",
        [json_list(sorted(set(keys)))],
    )


def load_checkpoints(
    serde: SerializerProtocol,
    rows: Sequence[tuple[str, str, str, str, bytes]],
    cache: DeltaCache | None = None,
) -> Plan[list[Checkpoint]]:
    """Decode `(thread_id, ns, checkpoint_id, type, blob)` rows, compact ones
    rebuilt from their chains, whose rows (those not among `rows`) are read in
    one statement; values a compact saver's `cache` holds are not read again."""
    if not any(row[3] == COMPACT_ROW_TYPE for row in rows):
        return [serde.loads_typed((row[3], row[4])) for row in rows]
    known = {(row[0], row[1], row[2]): (row[3], row[4]) for row in rows}
    unpacked: dict[tuple[str, str, str], tuple[tuple[str, bytes], dict[str, DeltaRecord]]] = {}
    unread: list[tuple[str, str, str, DeltaRecord]] = []  # records the cache does not hold
    for thread_id, ns, checkpoint_id, type_, blob in rows:
        if type_ != COMPACT_ROW_TYPE:
            continue
        base, raw_records = unpack_compact_row(blob)
        records = {channel: decode_record(raw) for channel, raw in raw_records.items()}
        unpacked[(thread_id, ns, checkpoint_id)] = base, records
        for channel, record in records.items():
            if cache is None or cache.held_value(thread_id, ns, channel, record) is None:
                unread.append((thread_id, ns, channel, record))
    links_of = _links_by_channel(serde, known)
    yield from _fetch_links(known, unread, links_of)
    decoded: list[Checkpoint] = []
    for thread_id, ns, checkpoint_id, type_, blob in rows:
        key = (thread_id, ns, checkpoint_id)
        if key not in unpacked:
            decoded.append(serde.loads_typed((type_, blob)))
            continue
        base, records = unpacked[key]
        checkpoint = serde.loads_typed(base)
        for channel, record in records.items():
            checkpoint["channel_values"][channel] = _rebuild(
                serde,
                known,
                thread_id,
                ns,
                channel,
                record,
                cache,
                links_of(thread_id, ns, channel),
            )
        decoded.append(checkpoint)
    return decoded


def _fetch_links(
    known: dict[tuple[str, str, str], tuple[str, bytes]],
    records: Sequence[tuple[str, str, str, DeltaRecord]],
    links_of: Callable[[str, str, str], LinkAt],
) -> Plan[None]:
    """Read into `known` the rows `records` ((thread, ns, channel, record))
    rebuild from: those their chains list, in one statement, then any that
    rows laid out anew (by a conversion) extend (`missing_link`), until their
    walks need nothing more."""
    tried = set(known)
    needed = {
        (thread_id, ns, link) for thread_id, ns, _, record in records for link in record.chain
    }
    while needed := needed - tried:
        tried |= needed
        for thread_id, ns, checkpoint_id, type_, blob in (yield _link_query(needed)):
            known[(thread_id, ns, checkpoint_id)] = (type_, blob)
        needed = {
            (thread_id, ns, location)
            for thread_id, ns, channel, record in records
            for location in [missing_link(record, links_of(thread_id, ns, channel))]
            if location is not None
        }


def _links_by_channel(
    serde: SerializerProtocol, rows: Mapping[tuple[str, str, str], tuple[str, bytes]]
) -> Callable[[str, str, str], LinkAt]:
    """`_row_links` of `rows` for each (thread, ns, channel), made once."""
    return functools.cache(functools.partial(_row_links, serde, rows))


def _rebuild(
    serde: SerializerProtocol,
    rows: Mapping[tuple[str, str, str], tuple[str, bytes]],
    thread_id: str,
    ns: str,
    channel: str,
    record: DeltaRecord,
    cache: DeltaCache | None = None,
    links: LinkAt | None = None,
) -> list[Any]:
    """The value `record` stands for: the one `cache` holds, or else rebuilt
    from the link `rows` (`links`: what `_row_links` made of them)."""
    if cache is not None and (whole := cache.held_value(thread_id, ns, channel, record)):
        return serde.loads_typed(whole)
    links = links or _row_links(serde, rows, thread_id, ns, channel)
    return rebuild_list(serde, record, links, channel_place(thread_id, ns, channel))


def _row_links(
    serde: SerializerProtocol,
    rows: Mapping[tuple[str, str, str], tuple[str, bytes]],
    thread_id: str,
    ns: str,
    channel: str,
) -> LinkAt:
    """What each of the `rows` stores for `channel`, by checkpoint id, each
    row unpacked once (`rows` may grow meanwhile)."""
    unpacked: dict[str, DeltaRecord | FullValue] = {}

    def link(location: str) -> DeltaRecord | FullValue | None:
        if location not in unpacked:
            found = rows.get((thread_id, ns, location))
            if found is None:
                return None
            unpacked[location] = _chain_link(serde, *found, channel)
        return unpacked[location]

    return link


def stored_channels(serde: SerializerProtocol, type_: str, blob: bytes) -> set[str]:
    """The channels a row holds a value of (whole or as a delta)."""
    if type_ != COMPACT_ROW_TYPE:
        return set(serde.loads_typed((type_, blob)).get("channel_values", {}))
    base, records = unpack_compact_row(blob)
    return set(serde.loads_typed(base).get("channel_values", {})) | set(records)


# -- writing ---------------------------------------------------------------------


@dataclass(slots=True)
class PreparedPut:
    """A checkpoint serialized and ready to insert.

    In compact mode `links` are the rows its delta records extend; `put_plan`
    checks they still exist in its transaction and otherwise stores the
    checkpoint whole (`serialize_whole`). `remember()`, called once the put
    returned, records what was stored in the saver's cache, so a failed put
    leaves no entry.
    """

    config: RunnableConfig
    row: tuple[Any, ...]
    cache: DeltaCache | None = None
    links: tuple[str, ...] = ()
    stored: dict[str, StoredList] = field(default_factory=dict)
    serialize_whole: Callable[[], tuple[str, bytes]] | None = None

    def whole_row(self) -> tuple[Any, ...]:
        """The row storing every value whole (and the cache entries to match)."""
        assert self.serialize_whole is not None
        self.stored = {channel: entry.as_whole() for channel, entry in self.stored.items()}
        return (*self.row[:4], *self.serialize_whole(), self.row[6])

    def remember(self) -> None:
        if self.cache is not None:
            self.cache.remember(self.row[0], self.row[1], self.stored)


@dataclass(frozen=True, slots=True)
class EncodedCheckpoint:
    """A checkpoint's `type` and `checkpoint` columns, in compact mode with
    the rows its deltas extend (`links`) and the cache entries once stored."""

    type: str
    blob: bytes
    links: frozenset[str] = frozenset()
    stored: Mapping[str, StoredList] = field(default_factory=dict)


def encode_checkpoint(
    serde: SerializerProtocol,
    thread_id: str,
    ns: str,
    checkpoint: Checkpoint,
    cache: DeltaCache | None,
) -> EncodedCheckpoint:
    """The row's columns; with a `cache` (compact mode), list channels that
    extend what was last stored are delta records, and a large checkpoint
    without any is compressed."""
    if cache is None:
        return EncodedCheckpoint(*serde.dumps_typed(checkpoint))
    checkpoint_id = checkpoint["id"]
    values = checkpoint.get("channel_values", {})
    records: dict[str, bytes] = {}
    stored: dict[str, StoredList] = {}
    links: set[str] = set()
    for channel, value in list_channels(values).items():
        encoded = encode_list(serde, value, cache.get(thread_id, ns, channel))
        if (entry := encoded.stored_at(checkpoint_id)) is not None:
            stored[channel] = entry
        if encoded.record is not None:
            records[channel] = encode_record(encoded.record)
            links.update(encoded.record.chain)
    if records:
        base = {
            **checkpoint,
            "channel_values": {k: v for k, v in values.items() if k not in records},
        }
        blob = pack_compact_row(serde.dumps_typed(base), records)
        return EncodedCheckpoint(COMPACT_ROW_TYPE, blob, frozenset(links), stored)
    type_, blob = serde.dumps_typed(checkpoint)
    return EncodedCheckpoint(type_, blob, frozenset(), stored)


def prepare_put(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    cache: DeltaCache | None = None,
) -> PreparedPut:
    """The row to insert (`encode_checkpoint`)."""
    thread_id, ns, parent_id = config_location(config)
    checkpoint_id = checkpoint["id"]
    encoded = encode_checkpoint(serde, thread_id, ns, checkpoint, cache)
    return PreparedPut(
        config={
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        },
        row=(
            thread_id,
            ns,
            checkpoint_id,
            parent_id,
            encoded.type,
            encoded.blob,
            dump_metadata(config, metadata),
        ),
        cache=cache,
        links=tuple(sorted(encoded.links)),
        stored=dict(encoded.stored),
        serialize_whole=(lambda: serde.dumps_typed(checkpoint)) if encoded.links else None,
    )


_INSERT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
    "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def put_plan(serde: SerializerProtocol, prepared: PreparedPut) -> Plan:
    row = prepared.row
    thread_id, ns, checkpoint_id = row[0], row[1], row[2]
    # Inside the write lock nothing else changes: whether the checkpoint is
    # stored already (put again), and whether the rows its deltas extend are
    # still there (another process may have deleted or pruned them since this
    # saver stored them).
    found = yield Query(
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
        "AND checkpoint_id IN (SELECT value FROM json_each(?))",
        (thread_id, ns, json_list([checkpoint_id, *prepared.links])),
    )
    present = {found_id for (found_id,) in found}
    if checkpoint_id in present:
        # Put again: values stored as deltas on the row it replaces are
        # rewritten whole first, and it is stored whole (a delta of it would
        # extend the very row it replaces).
        yield from _store_whole_past(serde, thread_id, ns, gone={checkpoint_id})
    if prepared.links and (checkpoint_id in present or not present.issuperset(prepared.links)):
        # Rare: serializing here holds the lock, as no other put ever does.
        row = prepared.whole_row()
    yield Execute(_INSERT_CHECKPOINT, row)
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


def _row_bytes(rows: Sequence[Sequence[Any]]) -> int:
    """Bytes of the checkpoint and metadata columns of checkpoint rows."""
    return sum(len(row[5] or b"") + len(row[6] or b"") for row in rows)


def json_list(values: Iterable[Any]) -> str:
    """Many values as one parameter, read back in SQL by `json_each(?)`."""
    return json.dumps(list(values), ensure_ascii=False)


# Rows whose (thread_id, checkpoint_ns, checkpoint_id) is in a JSON array of
# triples; SQLite looks each one up in the primary key.
_KEY_IN_JSON = (
    "(thread_id, checkpoint_ns, checkpoint_id) IN (SELECT json_extract(value, '$[0]'), "
    "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))"
)


def _keys_clause(keys: Sequence[tuple[str, str, str]], span: bool = False) -> tuple[str, list[Any]]:
    """Where rows of `keys` are: one key by its columns; with `span`, the range
    of ids from the least to the greatest of keys of one thread and namespace
    (the caller drops rows of other keys: a list's chunk read as a range, of
    which only rows written since can lie in between); else a JSON list
    (listing 10,000 checkpoints of one thread by spans took 24 ms of SQL
    against 60 by JSON lists, and no 7 ms of encoding them)."""
    if len(keys) == 1:
        return "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?", list(keys[0])
    if span:
        ids = [key[2] for key in keys]
        clause = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id BETWEEN ? AND ?"
        return clause, [keys[0][0], keys[0][1], min(ids), max(ids)]
    return _KEY_IN_JSON, [json_list(keys)]


def _writes_query(
    keys: Sequence[tuple[str, str, str]], channels: Sequence[str] = (), span: bool = False
) -> Query:
    """Pending writes of many checkpoints in one statement (`_keys_clause`)."""
    where, params = _keys_clause(keys, span)
    sql = (
        "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, channel, type, value, "
        f"task_path, idx FROM writes WHERE {where}"
    )
    if channels:
        sql += " AND channel IN (SELECT value FROM json_each(?))"
        params.append(json_list(channels))
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
    row: Sequence[Any], checkpoint: Checkpoint, writes: list[tuple[str, str, Any]]
) -> CheckpointTuple:
    thread_id, ns, checkpoint_id, parent_id, _, _, metadata = row
    return CheckpointTuple(
        config={
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        },
        checkpoint=checkpoint,
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


def _tuples_with_writes(
    serde: SerializerProtocol,
    rows: Sequence[Sequence[Any]],
    cache: DeltaCache | None,
    span: bool = False,
) -> Plan:
    if not rows:
        return []
    keys = [(row[0], row[1], row[2]) for row in rows]
    write_rows = yield _writes_query(keys, span=span)
    if span:  # only the keys' writes are decoded
        wanted = set(keys)
        write_rows = [row for row in write_rows if (row[0], row[1], row[2]) in wanted]
    writes = _group_writes(serde, write_rows)
    checkpoints = yield from load_checkpoints(
        serde, [(*key, row[4], row[5]) for key, row in zip(keys, rows)], cache
    )
    return [
        _to_tuple(row, checkpoint, writes.get(key, []))
        for row, key, checkpoint in zip(rows, keys, checkpoints)
    ]


def get_tuple_plan(
    serde: SerializerProtocol, config: RunnableConfig, cache: DeltaCache | None = None
) -> Plan:
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
    found = yield from _tuples_with_writes(serde, rows, cache)
    return found[0] if found else None


_MISSING = object()


def _nested_value(metadata: Mapping[str, Any], dotted_key: str) -> Any:
    """The value at a dotted path through nested objects (as the reference reads
    `a.b`; lists are not indexed), or _MISSING."""
    node: Any = metadata
    for part in dotted_key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def filter_matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    """Whether every filter key names a stored value JSON-equal to the wanted one:
    the top-level entry of that name or, for a dotted key, the nested value at
    that path (either may match)."""
    if not any("." in key for key in filter):
        return metadata_matches(metadata, filter)
    for key, wanted in filter.items():
        if metadata_matches(metadata, {key: wanted}):
            continue
        nested = _nested_value(metadata, key) if "." in key else _MISSING
        if nested is _MISSING or not metadata_matches({key: nested}, {key: wanted}):
            return False
    return True


def _list_where(
    config: RunnableConfig | None, before: RunnableConfig | None
) -> tuple[list[str], list[Any], tuple[str, ...]]:
    """WHERE clauses and parameters of a `list`'s location, and the columns that order it.

    The order is checkpoint id descending; where the config leaves the thread
    or namespace open, those break ties (`copy_thread` repeats ids), so that
    keyset pages on the ordering columns neither skip nor repeat a row.
    """
    clauses: list[str] = []
    params: list[Any] = []
    order = ["checkpoint_id"]
    if config is None:
        order += ["thread_id", "checkpoint_ns"]
    else:
        thread_id, ns, checkpoint_id = config_location(config)
        clauses.append("thread_id = ?")
        params.append(thread_id)
        if "checkpoint_ns" in (config.get("configurable") or {}):
            clauses.append("checkpoint_ns = ?")
            params.append(ns)
        else:
            order.append("checkpoint_ns")
        if checkpoint_id:
            clauses.append("checkpoint_id = ?")
            params.append(checkpoint_id)
    if before is not None and (before_id := get_checkpoint_id(before)):
        clauses.append("checkpoint_id < ?")
        params.append(before_id)
    return clauses, params, tuple(order)


def _filter_narrowing(filter: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """SQL keeping rows that have every filter key at top level (or, dotted, its
    first part); the values are compared in Python (`filter_matches`)."""
    clauses: list[str] = []
    params: list[Any] = []
    for key in filter:
        if not isinstance(key, str):
            raise ValueError(f"metadata filter keys must be strings, got {key!r}")
        clauses.append("EXISTS (SELECT 1 FROM json_each(checkpoints.metadata) WHERE key IN (?, ?))")
        params += [key, key.split(".", 1)[0]]
    return "".join(f" AND {clause}" for clause in clauses), params


class ListPages:
    """One `list` call, read a few checkpoints at a time.

    Each `next_plan()` is a short plan returning the next checkpoints (maybe
    none), until the listing is `done`; the driver runs one plan per
    lock hold and yields its items before asking for the next. Within one
    thread and namespace, unfiltered, each chunk is the next rows of the
    primary key's index (`_read_range`). Otherwise keys are read in keyset
    pages (`WHERE (order columns) < last seen`), a filter is checked on the
    metadata of a page's keys, and full rows and their writes are read in
    chunks of the matching keys. Either way memory and parameter counts stay
    bounded whatever the number of checkpoints.
    """

    # Keys per page, doubling up to the cap: where no index gives the order
    # (list(None), a thread without namespace) or a filter is checked, each
    # page sorts every key still ahead, so few pages matter more than small
    # ones.
    FIRST_PAGE, MAX_PAGE = 1000, 8000
    # Full checkpoints decoded per plan: 1 at first, doubling up to 25, so the
    # first item of a long thread costs one decode (a 25-row first chunk made
    # it 12x slower than the reference's, which decodes as the caller asks);
    # with a limit, that many at once (up to 25): the caller asked for them.
    FIRST_CHUNK, MAX_CHUNK = 1, 25
    # ... and while the decoded values held at once stay small (`held_entries`
    # of the last chunk, per checkpoint, times the next chunk's size): decoded,
    # a large checkpoint is thousands of objects, and 25 of them alive together
    # made the garbage collector's passes half of a 250-checkpoint thread's
    # list (all rows, up to 500 messages each: 542 ms in chunks of 25, 297 ms
    # one at a time; the reference, which decodes row by row, 607 ms).
    HELD_ENTRIES = 256
    # ... and while the rows a chunk reads stay under this many bytes of
    # checkpoints and metadata: values of long strings or bytes count no
    # entries, and 25 of 50 KB each held 4 MB at once, raw and decoded.
    CHUNK_BYTES = 512 * 1024

    def __init__(
        self,
        serde: SerializerProtocol,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
        cache: DeltaCache | None = None,
    ) -> None:
        if filter is not None and not isinstance(filter, Mapping):
            raise ValueError(
                f"filter must be a dict of metadata keys to values, got {type(filter).__name__}"
            )
        self.serde = serde
        self.cache = cache  # a compact saver's: the values it holds are not read again
        self.filter = dict(filter or {})
        self.narrowing, self.narrowing_params = _filter_narrowing(self.filter)
        self.clauses, self.params, self.order = _list_where(config, before)
        self.remaining = limit  # None: no limit
        self.pending: deque[tuple[str, str, str]] = deque()  # matching keys not yet read
        self.last: tuple[Any, ...] | None = None  # ordering columns of the last key seen
        # One thread and namespace, unfiltered: rows are read straight from the
        # index in order, with no page of keys (`_read_range`).
        self.ranged = not self.filter and len(self.order) == 1
        self.page = self.FIRST_PAGE
        self.chunk = self.FIRST_CHUNK if limit is None else max(1, min(limit, self.MAX_CHUNK))
        self.keys_exhausted = False

    @property
    def done(self) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return True
        return not self.pending and self.keys_exhausted

    def next_plan(self) -> Plan:
        """The plan reading the next checkpoints (while not `done`). One that
        failed leaves the state as it found it but for the keys it read: the
        next reads the same checkpoints."""
        size = self.chunk if self.remaining is None else min(self.chunk, self.remaining)
        if self.ranged:
            items, read = yield from self._read_range(size)
        else:
            items, read = yield from self._read_chunk(size)
        grown = min(self.chunk * 2, self.MAX_CHUNK)
        grown = grown_within(grown, len(items), held_entries(items), self.HELD_ENTRIES)
        self.chunk = grown_within(grown, len(items), read, self.CHUNK_BYTES)
        if self.remaining is not None:
            self.remaining -= len(items)
        return items

    def _read_range(self, size: int) -> Plan[tuple[list[CheckpointTuple], int]]:
        # One thread and namespace, unfiltered: the next `size` rows of the
        # primary key's index, read whole, with their writes as a range of
        # ids (two statements per chunk, as many as the reference's first
        # item costs; a page of keys first made it 0.4 ms against 0.3).
        clauses, params = list(self.clauses), list(self.params)
        if self.last is not None:
            clauses.append("checkpoint_id < ?")
            params += self.last
        rows = yield Query(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE {' AND '.join(clauses)} "
            "ORDER BY checkpoint_id DESC LIMIT ?",
            [*params, size],
        )
        items = yield from _tuples_with_writes(self.serde, rows, self.cache, span=True)
        self.keys_exhausted = len(rows) < size
        if rows:
            self.last = (rows[-1][2],)
        return items, _row_bytes(rows)

    def _read_chunk(self, size: int) -> Plan[tuple[list[CheckpointTuple], int]]:
        if not self.pending:
            yield from self._read_keys()
        chunk = [self.pending.popleft() for _ in range(min(size, len(self.pending)))]
        if not chunk:
            return [], 0
        try:
            where, params = _keys_clause(chunk)
            rows = yield Query(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM checkpoints WHERE {where}", params
            )
            by_key = {(row[0], row[1], row[2]): row for row in rows}
            # Checked again: a row may have been replaced since its key was read.
            found = [
                by_key[key]
                for key in chunk
                if key in by_key
                and (not self.filter or filter_matches(load_metadata(by_key[key][6]), self.filter))
            ]
            items = yield from _tuples_with_writes(self.serde, found, self.cache)
            return items, _row_bytes(found)
        except BaseException:
            self.pending.extendleft(reversed(chunk))
            raise

    def _read_keys(self) -> Plan:
        page = self.page
        if self.remaining is not None and not self.filter:
            page = min(page, self.remaining)
        self.page = min(self.page * 2, self.MAX_PAGE)
        clauses, params = list(self.clauses), list(self.params)
        if self.last is not None:
            clauses.append(self._compare("<"))
            params += self.last
        where = " AND ".join(clauses) or "1"
        order = ", ".join(f"{column} DESC" for column in self.order)
        if not self.filter:
            keys = yield Query(
                f"SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE {where} "
                f"ORDER BY {order} LIMIT ?",
                [*params, page],
            )
            self.keys_exhausted = len(keys) < page
        else:
            # The page's last key, then the page as a range: metadata is read
            # only for the page's rows, without a lookup per key.
            columns = ", ".join(self.order)
            bound = yield Query(
                f"SELECT {columns} FROM checkpoints WHERE {where} ORDER BY {order} "
                "LIMIT 1 OFFSET ?",
                [*params, page - 1],
            )
            self.keys_exhausted = not bound
            if bound:
                where += f" AND {self._compare('>=')}"
                params += bound[0]
            rows = yield Query(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, metadata FROM checkpoints "
                f"WHERE {where}{self.narrowing} ORDER BY {order}",
                [*params, *self.narrowing_params],
            )
            if bound:
                self.last = tuple(bound[0])
            keys = [row for row in rows if filter_matches(load_metadata(row[3]), self.filter)]
        if keys and not self.filter:
            last = dict(zip(("thread_id", "checkpoint_ns", "checkpoint_id"), keys[-1]))
            self.last = tuple(last[column] for column in self.order)
        self.pending.extend((row[0], row[1], row[2]) for row in keys)

    def _compare(self, operator: str) -> str:
        """The ordering columns compared with a position (as many parameters)."""
        if len(self.order) == 1:
            return f"checkpoint_id {operator} ?"
        return f"({', '.join(self.order)}) {operator} ({', '.join('?' for _ in self.order)})"


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
    channel_list = json_list(channels)
    start = yield Query(
        "SELECT parent_checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? "
        "AND checkpoint_id = ?",
        (thread_id, ns, checkpoint_id),
    )
    next_id = start[0][0] if start else None
    ancestors: list[tuple[str, Any]] = []  # (checkpoint_id, decoded channel_values)
    while next_id and walk.pending:
        rows = yield Query(
            """WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, type, checkpoint, stop) AS (
                SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint,
                    NOT EXISTS (SELECT 1 FROM json_each(metadata, '$.counters_since_delta_snapshot')
                                WHERE key IN (SELECT value FROM json_each(?)))
                FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
                UNION ALL
                SELECT c.checkpoint_id, c.parent_checkpoint_id, c.type, c.checkpoint,
                    NOT EXISTS (SELECT 1 FROM json_each(c.metadata, '$.counters_since_delta_snapshot')
                                WHERE key IN (SELECT value FROM json_each(?)))
                FROM checkpoints c JOIN chain ON c.checkpoint_id = chain.parent_checkpoint_id
                WHERE c.thread_id = ? AND c.checkpoint_ns = ? AND NOT chain.stop
            )
            SELECT checkpoint_id, parent_checkpoint_id, type, checkpoint FROM chain""",
            (channel_list, thread_id, ns, next_id, channel_list, thread_id, ns),
        )
        if not rows:
            break
        next_id = None
        checkpoints = yield from load_checkpoints(
            serde, [(thread_id, ns, row[0], row[2], row[3]) for row in rows]
        )
        for (ancestor_id, parent_id, _, _), checkpoint in zip(rows, checkpoints):
            values = checkpoint.get("channel_values", {})
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


# -- converting a database ----------------------------------------------------------

# Rows decoded at a time while converting one thread (bounded memory).
CONVERT_CHUNK = 20


def threads_to_convert_plan(compact: bool) -> Plan[list[str]]:
    """Every thread for `compact`; for expanding, only threads with compact rows."""
    if compact:
        rows = yield Query("SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id")
    else:
        rows = yield Query(
            "SELECT DISTINCT thread_id FROM checkpoints WHERE type = ? ORDER BY thread_id",
            (COMPACT_ROW_TYPE,),
        )
    return [row[0] for row in rows]


def convert_thread_plan(serde: SerializerProtocol, thread_id: str, compact: bool) -> Plan[int]:
    """Rewrite one thread's rows as a compact saver would have written them,
    oldest first (`compact`), or every compact row plain; the number of rows
    rewritten. Running it again changes nothing."""
    namespaces = yield Query(
        "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (thread_id,)
    )
    rewritten = 0
    for (ns,) in namespaces:
        cache = DeltaCache() if compact else None
        after = ""
        while rows := (
            yield Query(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, type, checkpoint FROM checkpoints "
                "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id > ? "
                "ORDER BY checkpoint_id LIMIT ?",
                (thread_id, ns, after, CONVERT_CHUNK),
            )
        ):
            checkpoints = yield from load_checkpoints(serde, rows)
            for (_, _, checkpoint_id, type_, blob), checkpoint in zip(rows, checkpoints):
                encoded = encode_checkpoint(serde, thread_id, ns, checkpoint, cache)
                if cache is not None:
                    cache.remember(thread_id, ns, encoded.stored)
                if COMPACT_ROW_TYPE in (type_, encoded.type) and (type_, blob) != (
                    encoded.type,
                    encoded.blob,
                ):
                    yield Execute(
                        "UPDATE checkpoints SET type = ?, checkpoint = ? WHERE thread_id = ? "
                        "AND checkpoint_ns = ? AND checkpoint_id = ?",
                        (encoded.type, encoded.blob, thread_id, ns, checkpoint_id),
                    )
                    rewritten += 1
            after = rows[-1][2]
    return rewritten


# -- deleting, copying, pruning --------------------------------------------------


def delete_thread_plan(thread_id: str) -> Plan:
    """Delete the thread, its retention settings (`base.retention`) included,
    and leave its tombstone (see `CREATE_DELETION_GUARD`)."""
    thread_id = validated_thread_id(thread_id)
    yield Execute("DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,))
    yield Execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
    yield Execute(f"DELETE FROM {RETENTION_TABLE} WHERE thread_id = ?", (thread_id,))
    yield Execute(
        "DELETE FROM checkpoint_tombstones WHERE deleted_before < ?",
        (expired_watermarks_before(),),
    )
    yield Execute(
        "INSERT OR REPLACE INTO checkpoint_tombstones (thread_id, deleted_before) VALUES (?, ?)",
        (thread_id, deletion_watermark()),
    )


def delete_for_runs_plan(serde: SerializerProtocol, run_ids: Sequence[str]) -> Plan:
    run_ids = [str(r) for r in run_ids]
    if not run_ids:
        return
    doomed = "json_extract(metadata, '$.run_id') IN (SELECT value FROM json_each(?))"
    params = (json_list(run_ids),)
    keys = yield Query(
        f"SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE {doomed}", params
    )
    by_namespace: dict[tuple[str, str], set[str]] = {}
    for thread_id, ns, checkpoint_id in keys:
        by_namespace.setdefault((thread_id, ns), set()).add(checkpoint_id)
    for (thread_id, ns), gone in by_namespace.items():
        yield from _store_whole_past(serde, thread_id, ns, gone=gone)
    yield Execute(
        "DELETE FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) IN "
        f"(SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints WHERE {doomed})",
        params,
    )
    yield Execute(f"DELETE FROM checkpoints WHERE {doomed}", params)


def _store_whole_past(
    serde: SerializerProtocol,
    thread_id: str,
    ns: str,
    *,
    gone: set[str] | None = None,
    kept: Sequence[str] | None = None,
) -> Plan:
    """Before rows are deleted (the `gone` ones, or all but the `kept` ones):
    rewrite the remaining compact rows whose delta chains run through a
    deleted row, storing those channels whole (rebuilt while the chain is
    still there)."""
    sql = (
        "SELECT checkpoint_id, checkpoint FROM checkpoints WHERE thread_id = ? "
        "AND checkpoint_ns = ? AND type = ?"
    )
    params: list[Any] = [thread_id, ns, COMPACT_ROW_TYPE]
    if kept is not None:
        sql += " AND checkpoint_id IN (SELECT value FROM json_each(?))"
        params.append(json_list(kept))
        kept_ids = set(kept)

        def is_gone(checkpoint_id: str) -> bool:
            return checkpoint_id not in kept_ids
    else:
        assert gone is not None

        def is_gone(checkpoint_id: str) -> bool:
            return checkpoint_id in gone

    rows = [row for row in (yield Query(sql, params)) if not is_gone(row[0])]
    known = {
        (thread_id, ns, checkpoint_id): (COMPACT_ROW_TYPE, blob) for checkpoint_id, blob in rows
    }
    links_of = _links_by_channel(serde, known)
    # A record is cut when its walk passes a deleted row; the walk stops at
    # rows not read here: plain rows (full values) or deleted ones.
    broken: dict[str, tuple[CompactRow, dict[str, DeltaRecord]]] = {}
    for checkpoint_id, blob in rows:
        compact = unpack_compact_row(blob)
        records = {channel: decode_record(raw) for channel, raw in compact[1].items()}
        cut = {
            channel: record
            for channel, record in records.items()
            if any(is_gone(at) for at, _ in walk(record, links_of(thread_id, ns, channel)))
        }
        if cut:
            broken[checkpoint_id] = (compact, cut)
    if not broken:
        return
    yield from _fetch_links(
        known,
        [(thread_id, ns, c, r) for _, cut in broken.values() for c, r in cut.items()],
        links_of,
    )
    for checkpoint_id, ((base, stored_records), cut) in broken.items():
        checkpoint = serde.loads_typed(base)
        for channel, record in cut.items():
            checkpoint["channel_values"][channel] = _rebuild(
                serde, known, thread_id, ns, channel, record, links=links_of(thread_id, ns, channel)
            )
        remaining = {c: raw for c, raw in stored_records.items() if c not in cut}
        if remaining:
            type_, blob = (
                COMPACT_ROW_TYPE,
                pack_compact_row(serde.dumps_typed(checkpoint), remaining),
            )
        else:
            type_, blob = serde.dumps_typed(checkpoint)
        yield Execute(
            "UPDATE checkpoints SET type = ?, checkpoint = ? WHERE thread_id = ? "
            "AND checkpoint_ns = ? AND checkpoint_id = ?",
            (type_, blob, thread_id, ns, checkpoint_id),
        )


def copy_thread_plan(
    serde: SerializerProtocol, source_thread_id: str, target_thread_id: str
) -> Plan:
    """The source's rows under the target's id, replacing the target's rows of
    the same ids; values stored as deltas on a row replaced by other content
    are stored whole first, as for a put again (`put_plan`)."""
    params = (validated_thread_id(target_thread_id), validated_thread_id(source_thread_id))
    # Copying into a deleted thread is a new, explicit write: lift its tombstone.
    yield Execute("DELETE FROM checkpoint_tombstones WHERE thread_id = ?", params[:1])
    replaced = yield Query(
        "SELECT t.checkpoint_ns, t.checkpoint_id FROM checkpoints t JOIN checkpoints s "
        "ON s.checkpoint_ns = t.checkpoint_ns AND s.checkpoint_id = t.checkpoint_id "
        "WHERE t.thread_id = ? AND s.thread_id = ? "
        "AND (s.type IS NOT t.type OR s.checkpoint IS NOT t.checkpoint)",
        params,
    )
    by_namespace: dict[str, set[str]] = {}
    for ns, checkpoint_id in replaced:
        by_namespace.setdefault(ns, set()).add(checkpoint_id)
    for ns, gone in by_namespace.items():
        yield from _store_whole_past(serde, params[0], ns, gone=gone)
    yield Execute(
        "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
        "parent_checkpoint_id, type, checkpoint, metadata) SELECT ?, checkpoint_ns, "
        "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
        "WHERE thread_id = ?",
        params,
    )
    yield Execute(
        "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
        "task_path, idx, channel, type, value) SELECT ?, checkpoint_ns, checkpoint_id, "
        "task_id, task_path, idx, channel, type, value FROM writes WHERE thread_id = ?",
        params,
    )


def prune_plan(serde: SerializerProtocol, thread_ids: Sequence[str], strategy: str) -> Plan:
    """`delete` drops the threads; `keep_latest` keeps each namespace's latest
    checkpoint and the ancestors its delta channels still replay from."""
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
    for thread_id in validated_thread_ids(thread_ids):
        if strategy == "delete":
            yield from delete_thread_plan(thread_id)
            continue
        latest = yield Query(
            "SELECT checkpoint_ns, max(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
            "GROUP BY checkpoint_ns",
            (thread_id,),
        )
        for ns, latest_id in latest:
            keep = yield from _keep_for_delta(serde, thread_id, ns, latest_id)
            yield from _store_whole_past(serde, thread_id, ns, kept=keep)
            for table in ("writes", "checkpoints"):
                yield Execute(
                    f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                    "AND checkpoint_id NOT IN (SELECT value FROM json_each(?))",
                    (thread_id, ns, json_list(keep)),
                )


def _keep_for_delta(serde: SerializerProtocol, thread_id: str, ns: str, latest_id: str) -> Plan:
    """Ids to keep: the latest and the ancestors its delta channels replay from,
    read one at a time (only the chain is ever in memory)."""
    keep: list[str] = []
    pending: set[str] | None = None  # delta channels still without a stored value
    checkpoint_id: str | None = latest_id
    while checkpoint_id is not None and (pending is None or pending):
        rows = yield Query(
            "SELECT parent_checkpoint_id, type, checkpoint, metadata FROM checkpoints "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, checkpoint_id),
        )
        if not rows:
            break
        parent_id, type_, blob, metadata = rows[0]
        values = stored_channels(serde, type_, blob)
        if pending is None:
            pending = delta_channels_needing_history(load_metadata(metadata), values)
        else:
            pending -= values
        keep.append(checkpoint_id)
        checkpoint_id = parent_id
    return keep
