"""Everything the Postgres savers do, written once for the sync and async savers.

Plans (see `langgraph.checkpoint.base.plan`) yield SQL steps and decode rows;
`PostgresSaver` and `AsyncPostgresSaver` only run them. Layout and migrations
are the reference package's: `checkpoints` (checkpoint as JSONB, with only
primitive channel values inline), `checkpoint_blobs` (one row per channel
version), `checkpoint_writes`, and `checkpoint_migrations`.

Every statement passes user data as bound parameters; metadata filters use
JSONB containment (`metadata @> %s`), so filter keys never become SQL text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    DeltaHistoryWalk,
    RunnableConfig,
    SerializerProtocol,
    config_location,
    delta_channels_needing_history,
    get_checkpoint_id,
    get_checkpoint_metadata,
    next_string_version,
    validated_thread_id,
    validated_thread_ids,
    writes_sort_key,
)
from langgraph.checkpoint.base.compact import (
    DELTA_BASE_MISSING_MARK,
    DELTA_TYPE,
    BrokenChainError,
    DeltaCache,
    DeltaRecord,
    StoredList,
    blob_links,
    channel_place,
    decode_record,
    encode_list,
    encode_record,
    missing_link,
    rebuild_blob,
)
from langgraph.checkpoint.base.deletion import (
    THREAD_DELETED_MARK,
    deletion_watermark,
    expired_watermarks_before,
)
from langgraph.checkpoint.base.legacy import (
    SENDS_IN_CHANNEL_VERSION,
    migrate_pending_sends,
    needs_parent_sends,
)
from langgraph.checkpoint.base.plan import Execute, Plan, Query, grown_within, held_entries
from langgraph.checkpoint.base.retention import RETENTION_TABLE
from langgraph.checkpoint.serde.types import TASKS
from psycopg.types.json import Jsonb

# Numbered by position, exactly as the reference numbers them: a database it
# set up is recognised as current, and one we set up is current for it.
MIGRATIONS: list[str] = [
    """CREATE TABLE IF NOT EXISTS checkpoint_migrations (
    v INTEGER PRIMARY KEY
);""",
    """CREATE TABLE IF NOT EXISTS checkpoints (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    parent_checkpoint_id TEXT,
    type TEXT,
    checkpoint JSONB NOT NULL,
    metadata JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
);""",
    """CREATE TABLE IF NOT EXISTS checkpoint_blobs (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    type TEXT NOT NULL,
    blob BYTEA,
    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
);""",
    """CREATE TABLE IF NOT EXISTS checkpoint_writes (
    thread_id TEXT NOT NULL,
    checkpoint_ns TEXT NOT NULL DEFAULT '',
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    channel TEXT NOT NULL,
    type TEXT,
    blob BYTEA NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
);""",
    "ALTER TABLE checkpoint_blobs ALTER COLUMN blob DROP NOT NULL;",
    "SELECT 1;",
    "CREATE INDEX IF NOT EXISTS checkpoints_thread_id_idx ON checkpoints(thread_id);",
    "CREATE INDEX IF NOT EXISTS checkpoint_blobs_thread_id_idx ON checkpoint_blobs(thread_id);",
    "CREATE INDEX IF NOT EXISTS checkpoint_writes_thread_id_idx ON checkpoint_writes(thread_id);",
    "ALTER TABLE checkpoint_writes ADD COLUMN IF NOT EXISTS task_path TEXT NOT NULL DEFAULT '';",
]

# Any constant works; it only has to be the same in every process.
SETUP_LOCK_KEY = 0x6C67_6370  # "lgcp"


# The deletion rule (langgraph.checkpoint.base.deletion), kept by the database so
# that it holds for every client, the reference's included. It lives outside
# MIGRATIONS, whose numbering must stay the reference's. A trigger takes a
# shared advisory lock on the thread, which `delete_thread` takes exclusively:
# a write in flight finishes before the deletion reads the thread, and a later
# one reads the tombstone in a new snapshot (plpgsql statements each take one).
# Only UUIDv6 ids (36 characters, version digit 6) are compared with the watermark.
THREAD_LOCK_CLASS = 0x6C67_7464  # "lgtd": the first key of the per-thread advisory lock
_MADE_BEFORE = (
    "(length({id}) = 36 AND substr({id}, 15, 1) = '6' "
    'AND {id} COLLATE "C" <= t.deleted_before COLLATE "C")'
)
GUARD_TRIGGERS = {
    "checkpoints": (
        "checkpoints_deleted_thread_guard_v1",
        f"{_MADE_BEFORE.format(id='NEW.checkpoint_id')} "
        f"OR {_MADE_BEFORE.format(id='NEW.parent_checkpoint_id')}",
    ),
    "checkpoint_writes": (
        "checkpoint_writes_deleted_thread_guard_v1",
        _MADE_BEFORE.format(id="NEW.checkpoint_id"),
    ),
}


def _guard_function(name: str, condition: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({THREAD_LOCK_CLASS}, hashtext(NEW.thread_id));
    IF EXISTS (SELECT 1 FROM checkpoint_tombstones t
                WHERE t.thread_id = NEW.thread_id AND ({condition})) THEN
        RAISE EXCEPTION USING MESSAGE = '{THREAD_DELETED_MARK}: ' || NEW.thread_id;
    END IF;
    RETURN NEW;
END
$guard$"""


def _deletion_guard_plan() -> Plan[None]:
    """Create the tombstone table and the guard triggers, unless they exist
    (creating a trigger locks its table against writers, so it is not redone
    on every setup)."""
    rows = yield Query(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s) "
        "AND tgrelid IN (to_regclass('checkpoints'), to_regclass('checkpoint_writes'))",
        ([name for name, _ in GUARD_TRIGGERS.values()],),
    )
    if rows[0][0] == len(GUARD_TRIGGERS):
        return
    yield Execute(
        "CREATE TABLE IF NOT EXISTS checkpoint_tombstones "
        "(thread_id TEXT PRIMARY KEY, deleted_before TEXT NOT NULL)"
    )
    yield Execute(
        "CREATE INDEX IF NOT EXISTS checkpoint_tombstones_deleted_before_idx "
        "ON checkpoint_tombstones (deleted_before)"
    )
    for table, (name, condition) in GUARD_TRIGGERS.items():
        yield Execute(_guard_function(name, condition))
        yield Execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        yield Execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


# Compact storage (base.compact): a delta blob (type DELTA_TYPE) extends the
# blobs of its chain, versions of the same channel listed in its msgpack record
# ([chain, items]; `lgc_delta_chain_v1` reads the chain). A trigger refuses a
# delta whose chain is not all there, under the thread's shared advisory lock,
# which every deletion takes exclusively: a saver whose cache is out of date
# (another process deleted or pruned the thread) gets a marked error and
# stores the value whole instead.
DELTA_GUARD = "checkpoint_blobs_delta_guard_v1"
DELTA_CHAIN_FUNCTION = """CREATE OR REPLACE FUNCTION lgc_delta_chain_v1(record bytea) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $chain$
DECLARE
    pos int;
    n int;
    len int;
    tag int;
    chain text[] := '{}';
BEGIN
    -- a fixarray [chain, items]; get_byte counts from 0, substring from 1
    tag := get_byte(record, 1);
    IF tag BETWEEN 144 AND 159 THEN n := tag - 144; pos := 2;
    ELSIF tag = 220 THEN n := get_byte(record, 2) * 256 + get_byte(record, 3); pos := 4;
    ELSE RAISE EXCEPTION 'malformed delta record';
    END IF;
    FOR i IN 1..n LOOP
        tag := get_byte(record, pos);
        IF tag = 196 AND get_byte(record, pos + 1) = 16 THEN  -- a UUID's 16 bytes
            chain := chain || encode(substring(record FROM pos + 3 FOR 16), 'hex')::uuid::text;
            pos := pos + 18;
            CONTINUE;
        ELSIF tag BETWEEN 160 AND 191 THEN len := tag - 160; pos := pos + 1;
        ELSIF tag = 217 THEN len := get_byte(record, pos + 1); pos := pos + 2;
        ELSIF tag = 218 THEN len := get_byte(record, pos + 1) * 256 + get_byte(record, pos + 2);
            pos := pos + 3;
        ELSE RAISE EXCEPTION 'malformed delta record';
        END IF;
        chain := chain || convert_from(substring(record FROM pos + 1 FOR len), 'UTF8');
        pos := pos + len;
    END LOOP;
    RETURN chain;
END
$chain$"""
DELTA_GUARD_FUNCTION = f"""CREATE OR REPLACE FUNCTION {DELTA_GUARD}() RETURNS trigger
LANGUAGE plpgsql AS $guard$
DECLARE
    chain text[] := lgc_delta_chain_v1(NEW.blob);
BEGIN
    PERFORM pg_advisory_xact_lock_shared({THREAD_LOCK_CLASS}, hashtext(NEW.thread_id));
    IF (SELECT count(*) FROM checkpoint_blobs b
         WHERE b.thread_id = NEW.thread_id AND b.checkpoint_ns = NEW.checkpoint_ns
           AND b.channel = NEW.channel AND b.version = ANY(chain) AND b.type <> 'empty')
       < cardinality(chain) THEN
        RAISE EXCEPTION USING MESSAGE = '{DELTA_BASE_MISSING_MARK}: ' || NEW.thread_id;
    END IF;
    RETURN NEW;
END
$guard$"""


def _delta_guard_plan() -> Plan[None]:
    """Create the delta guard and the chain reader unless they exist (as
    `_deletion_guard_plan`); a reader dropped since is created again (the
    trigger's function calls it, which the server does not track)."""
    rows = yield Query(
        "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname = %s "
        "AND tgrelid = to_regclass('checkpoint_blobs')), "
        "to_regprocedure('lgc_delta_chain_v1(bytea)') IS NOT NULL",
        (DELTA_GUARD,),
    )
    has_trigger, has_reader = rows[0]
    if has_trigger and has_reader:
        return
    yield Execute(DELTA_CHAIN_FUNCTION)
    yield Execute(DELTA_GUARD_FUNCTION)
    if not has_trigger:
        yield Execute(
            f"CREATE TRIGGER {DELTA_GUARD} BEFORE INSERT ON checkpoint_blobs FOR EACH ROW "
            f"WHEN (NEW.type = '{DELTA_TYPE}') EXECUTE FUNCTION {DELTA_GUARD}()"
        )


# Blobs are TOAST-compressed by the server; its default, pglz, compresses a
# 50 KB message list in about as long as the rest of a durable put takes.
# lz4 (PostgreSQL 14 and later, when built with it) made the agent workload's
# put+put_writes 2.4x faster and its list 1.2x, for blobs 27% larger
# (bench/README.md). Set once, on columns still at the server's default: a
# DBA's explicit choice, pglz included, is left alone. A server without lz4
# raises, inside the block, and keeps pglz. The ALTERs need an exclusive lock
# on the tables: on a busy database that waits at most SETUP_LOCK_TIMEOUT, and
# otherwise gives up until a later setup() (an optimization never stalls
# the savers at work).
BLOB_COLUMNS = ("checkpoint_blobs", "checkpoint_writes")
SETUP_LOCK_TIMEOUT = "2s"


def _optional_ddl(statements: Sequence[str], also_ignoring: Sequence[str] = ()) -> str:
    """A DO block running `statements` with locks awaited at most
    SETUP_LOCK_TIMEOUT; on a lock timeout (or an error named in
    `also_ignoring`) it undoes them and carries on."""
    ignored = " OR ".join([*also_ignoring, "lock_not_available"])
    return f"""DO $ddl$
DECLARE
    previous text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', '{SETUP_LOCK_TIMEOUT}', true);
    {" ".join(statements)}
    PERFORM set_config('lock_timeout', previous, true);
EXCEPTION WHEN {ignored} THEN
    NULL;  -- the block's changes, the lock timeout's included, are undone
END
$ddl$"""


LZ4_BLOBS = _optional_ddl(
    [f"ALTER TABLE {table} ALTER COLUMN blob SET COMPRESSION lz4;" for table in BLOB_COLUMNS],
    also_ignoring=("feature_not_supported", "invalid_parameter_value"),
)


def _blob_compression_plan() -> Plan[None]:
    """lz4 for the blob columns, where the server has it and nobody chose."""
    version = yield Query("SELECT current_setting('server_version_num')::int")
    if version[0][0] < 140000:
        return
    rows = yield Query(
        "SELECT count(*) FROM pg_attribute WHERE attname = 'blob' AND attcompression = '' "
        "AND attrelid IN (to_regclass('checkpoint_blobs'), to_regclass('checkpoint_writes'))"
    )
    if rows[0][0] == len(BLOB_COLUMNS):
        yield Execute(LZ4_BLOBS)


# The reference's migrations index thread_id alone on each table, a prefix of
# each primary key, so no query needs them. They cost more than their upkeep:
# where the statistics predate a thread's growth, the planner prices them
# below the primary key and reads every blob or write of the thread to find
# one (a list page of 64 rows of a 10,000-checkpoint thread in a database of
# a million checkpoints: 604 ms with them, 2 ms without; the whole thread 22
# to 27 s, 0.6 s without them and with `select_thread_page`). setup() drops
# them, waiting at most SETUP_LOCK_TIMEOUT for each table's lock, as for lz4
# (otherwise a later setup() does). The reference reads and writes the same
# without them: its statements filter on the primary keys' prefixes too.
REDUNDANT_INDEXES = (
    "checkpoints_thread_id_idx",
    "checkpoint_blobs_thread_id_idx",
    "checkpoint_writes_thread_id_idx",
)
DROP_REDUNDANT_INDEXES = _optional_ddl(
    [f"DROP INDEX IF EXISTS {name};" for name in REDUNDANT_INDEXES]
)


def _redundant_index_plan() -> Plan[None]:
    """Drop the thread_id indexes the reference's migrations made, if any."""
    rows = yield Query(
        "SELECT count(*) FROM unnest(%s::text[]) AS i(name) WHERE to_regclass(i.name) IS NOT NULL",
        (list(REDUNDANT_INDEXES),),
    )
    if rows[0][0]:
        yield Execute(DROP_REDUNDANT_INDEXES)


def setup_plan() -> Plan[None]:
    """Run the migrations not yet recorded, in one transaction, then make sure
    the deletion and delta guards exist, the blobs are compressed with lz4 and
    the redundant thread_id indexes are gone.

    A transaction-scoped advisory lock makes concurrent `setup()` calls wait
    for each other. (The reference builds its indexes CONCURRENTLY, which
    cannot run in a transaction and deadlocks against a second process
    waiting for the lock; a plain CREATE INDEX on a new table costs nothing.)
    """
    yield Execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK_KEY,))
    yield Execute(MIGRATIONS[0])
    rows = yield Query("SELECT v FROM checkpoint_migrations ORDER BY v DESC LIMIT 1")
    done = rows[0][0] if rows else -1
    for version in range(done + 1, len(MIGRATIONS)):
        yield Execute(MIGRATIONS[version])
        yield Execute("INSERT INTO checkpoint_migrations (v) VALUES (%s)", (version,))
    yield from _deletion_guard_plan()
    yield from _delta_guard_plan()
    yield from _blob_compression_plan()
    yield from _redundant_index_plan()


# -- writing -------------------------------------------------------------------


def _is_inline(value: Any) -> bool:
    """Values stored inside the checkpoint JSON rather than as blobs (as the reference does)."""
    if isinstance(value, str):
        return "\x00" not in value  # JSONB cannot hold NUL
    return value is None or isinstance(value, (int, float, bool))


_INSERT_CHECKPOINT = """
INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id)
DO UPDATE SET checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata
"""


def _values(row_count: int, width: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * row_count)


# Blobs travel as one parameter each in a multi-row VALUES: bound as a bytea[]
# array for unnest(), a 50 KB message list cost the server about 3 ms more per
# put (measured on PostgreSQL 15), the whole difference with the
# reference on durable servers. The statement text is cached per row count.
@functools.lru_cache(maxsize=64)
def _upsert_checkpoint_sql(blob_count: int) -> str:
    """The blobs and the checkpoint in one statement (a data-modifying CTE)."""
    if not blob_count:
        return _INSERT_CHECKPOINT
    return (
        "WITH new_blobs AS (\n"
        "    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)\n"
        f"    VALUES {_values(blob_count, 6)}\n"
        "    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING\n"
        ")" + _INSERT_CHECKPOINT
    )


def prepare_put(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: Mapping[str, Any],
    cache: DeltaCache | None = None,
) -> tuple[Execute, RunnableConfig, dict[str, StoredList]]:
    """The single statement storing a checkpoint and its new channel values.
    With a `cache` (compact mode), a new list value that extends what was last
    stored is a delta blob; the cache entries to record once the statement
    ran come third."""
    thread_id, ns, parent_id = config_location(config)
    values = checkpoint.get("channel_values", {})
    inline = {k: v for k, v in values.items() if _is_inline(v)}
    stored = {**checkpoint, "channel_values": inline}
    params: list[Any] = []
    entries: dict[str, StoredList] = {}
    for channel, version in new_versions.items():
        # Inline values live in the checkpoint JSON; a channel with a version
        # but no value needs no row at all (it reads back absent), as the
        # reference writes it. Rows of type 'empty' from older writers still read.
        if channel in inline or channel not in values:
            continue
        value = values[channel]
        if cache is not None and type(value) is list:
            encoded = encode_list(serde, value, cache.get(thread_id, ns, channel))
            if (entry := encoded.stored_at(str(version))) is not None:
                entries[channel] = entry
            if encoded.record is not None:
                type_, blob = DELTA_TYPE, encode_record(encoded.record)
            else:
                type_, blob = encoded.whole
        else:
            type_, blob = serde.dumps_typed(value)
        params += (thread_id, ns, channel, str(version), type_, blob)
    blob_count = len(params) // 6
    params += (
        thread_id,
        ns,
        checkpoint["id"],
        parent_id,
        Jsonb(stored),
        Jsonb(get_checkpoint_metadata(config, metadata)),
    )
    returned = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": ns,
            "checkpoint_id": checkpoint["id"],
        }
    }
    return Execute(_upsert_checkpoint_sql(blob_count), params), returned, entries


def put_plan(statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
    yield statement
    return returned


def prepare_writes(
    serde: SerializerProtocol,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> Execute | None:
    thread_id, ns, checkpoint_id = config_location(config)
    if checkpoint_id is None:
        raise ValueError('put_writes needs config["configurable"]["checkpoint_id"]')
    if not writes:
        return None
    replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
    rows = [
        (WRITES_IDX_MAP.get(channel, idx), channel, *serde.dumps_typed(value))
        for idx, (channel, value) in enumerate(writes)
    ]
    fixed = (thread_id, ns, checkpoint_id, task_id, task_path)
    if len(rows) <= _MAX_VALUES_ROWS:
        params = [param for row in rows for param in (*fixed, *row)]
        return Execute(_insert_writes_sql(len(rows), replace), params)
    # A fan-out of thousands of Sends: more rows than one VALUES can bind, so
    # columns go as arrays (slower per byte, still one atomic statement).
    columns = [list(column) for column in zip(*rows)]
    return Execute(_insert_writes_sql(0, replace), [*fixed, *columns])


# PostgreSQL binds at most 65,535 parameters per statement, 9 per write row.
_MAX_VALUES_ROWS = 65_535 // 9


@functools.lru_cache(maxsize=64)
def _insert_writes_sql(row_count: int, replace: bool) -> str:
    """A task's writes in one statement: `row_count` rows of VALUES (see
    `_upsert_checkpoint_sql`), or with 0, arrays of columns for unnest().
    Special channels (errors, interrupts, resumes) replace what the task wrote
    before; ordinary writes are kept as first written."""
    conflict = (
        "DO UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob"
        if replace
        else "DO NOTHING"
    )
    rows = (
        f"VALUES {_values(row_count, 9)}"
        if row_count
        else "SELECT %s, %s, %s, %s, %s, w.idx, w.channel, w.type, w.blob "
        "FROM unnest(%s::int[], %s::text[], %s::text[], %s::bytea[]) AS w(idx, channel, type, blob)"
    )
    return (
        "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, "
        f"idx, channel, type, blob) {rows} "
        f"ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) {conflict}"
    )


def put_writes_plan(statement: Execute | None) -> Plan[None]:
    if statement is not None:
        yield statement


# -- reading -------------------------------------------------------------------

# A checkpoint older than format v4 (LangGraph < 0.5) has its pending sends
# as its parent's writes to the tasks channel (see base.legacy).
_OLD_FORMAT = f"(c.checkpoint ->> 'v')::int < {SENDS_IN_CHANNEL_VERSION}"

# get_tuple and each page of list are one statement, never a query per row:
# the checkpoints (in `c`), then a row of their own for each blob, pending
# write, parent's send (old formats) and, in compact mode, chain link, every
# blob a column of its own. (Aggregated into arrays, one row per checkpoint,
# they were copied into the arrays on the server and taken apart again by the
# client: get_tuple of a 200-message list cost 1.2-1.7 ms against 1.0-1.3 now,
# measured side by side; pages of list cost the same either way.)
# Columns: part, thread_id, checkpoint_ns, checkpoint_id, then by part:
#   checkpoint: ord, parent_checkpoint_id, checkpoint, metadata
#   blob: channel, type, blob     write: idx, task_id, channel, type, task_path, blob
#   link: channel, version, type, blob      send: the same, ord for idx (their order)
# Each blob and link is one primary-key lookup (the LIMIT 1 keeps the planner
# from turning it into a hash of every blob of the thread: list of a
# 4,000-checkpoint thread took 7.5 s that way), each checkpoint's writes an
# index range (OFFSET 0 keeps them from becoming a hash join).
PART_CHECKPOINT, PART_BLOB, PART_WRITE, PART_SEND, PART_LINK = range(5)

_BLOB_OF_VERSION = """
       CROSS JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') AS cv
       CROSS JOIN LATERAL (
           SELECT b.type, b.blob FROM checkpoint_blobs b
            WHERE b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
              AND b.channel = cv.key AND b.version = cv.value{condition}
            LIMIT 1) AS bl"""

_PARTS = f"""
SELECT {PART_CHECKPOINT} AS part, c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.ord::int AS i,
       c.parent_checkpoint_id AS a, NULL::text AS b, NULL::text AS t, NULL::text AS p,
       c.checkpoint, c.metadata, NULL::bytea AS blob
  FROM c
UNION ALL
SELECT {PART_BLOB}, c.thread_id, c.checkpoint_ns, c.checkpoint_id, NULL, cv.key, bl.type, NULL, NULL,
       NULL, NULL, bl.blob
  FROM c{_BLOB_OF_VERSION.format(condition="")}
UNION ALL
SELECT {PART_WRITE}, c.thread_id, c.checkpoint_ns, c.checkpoint_id, cw.idx, cw.task_id, cw.channel,
       coalesce(cw.type, ''), cw.task_path, NULL, NULL, cw.blob
  FROM c CROSS JOIN LATERAL (
       SELECT * FROM checkpoint_writes w
        WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
          AND w.checkpoint_id = c.checkpoint_id OFFSET 0) AS cw
UNION ALL
SELECT {PART_SEND}, c.thread_id, c.checkpoint_ns, c.checkpoint_id, ps.ord::int, ps.task_id,
       ps.channel, coalesce(ps.type, ''), ps.task_path, NULL, NULL, ps.blob
  FROM c CROSS JOIN LATERAL (
       SELECT w.*, row_number() OVER (ORDER BY w.task_path, w.task_id, w.idx) AS ord
         FROM checkpoint_writes w
        WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
          AND w.checkpoint_id = c.parent_checkpoint_id AND w.channel = '{TASKS}' OFFSET 0) AS ps
 WHERE {_OLD_FORMAT} AND c.parent_checkpoint_id IS NOT NULL"""

# In compact mode get_tuple's statement also reads the chain links of its
# delta blobs (lgc_delta_chain_v1 reads the chains; setup() creates it), so
# reading a compact checkpoint is one round trip, as a plain one is (the
# latest one the saver wrote needs no links: `get_tuple_plan`). Pages of
# list fetch them in a second statement (`_fetch_links`), as other savers do
# (they may read a database whose setup() predates that function): the
# planner's guesses (100 channels a checkpoint, 10 links a chain) priced a
# page of 10 with its links above `jit_above_cost`, and compiling it took
# 30 ms.
_LINK_PARTS = f"""
UNION ALL
SELECT {PART_LINK}, l.thread_id, l.checkpoint_ns, NULL, NULL, l.channel, lb.version, lb.type, NULL,
       NULL, NULL, lb.blob
  FROM (SELECT DISTINCT c.thread_id, c.checkpoint_ns, cv.key AS channel, link.version
          FROM c{_BLOB_OF_VERSION.format(condition=f" AND b.type = '{DELTA_TYPE}'")}
          CROSS JOIN LATERAL unnest(lgc_delta_chain_v1(bl.blob)) AS link(version)) AS l
  CROSS JOIN LATERAL (
       SELECT b.version, b.type, b.blob FROM checkpoint_blobs b
        WHERE b.thread_id = l.thread_id AND b.checkpoint_ns = l.checkpoint_ns
          AND b.channel = l.channel AND b.version = l.version
        LIMIT 1) AS lb"""


def _in_parts(ordinal: str, source: str, with_links: bool = False, ctes: str = "WITH") -> str:
    """The statement reading, in parts (`assemble_tuples` puts them together),
    the checkpoints of `source` (rows of `checkpoints` named `c`, after the
    `FROM`), numbered by `ordinal`; `ctes` opens the WITH clause (and may
    define CTEs `source` reads)."""
    return (
        f"{ctes} c AS MATERIALIZED (\n"
        f"SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,\n"
        f"       c.checkpoint, c.metadata, {ordinal} AS ord\n"
        f"  FROM {source})"
        f"{_PARTS}{_LINK_PARTS if with_links else ''}"
    )


def select_tuples(where: str, order: str, limit: str = "", with_links: bool = False) -> str:
    """The statement reading the checkpoints `where` (on `checkpoints c`, in
    `order`, up to `limit`), in parts."""
    ordinal = f"row_number() OVER ({order.strip()})" if order else "1"
    return _in_parts(ordinal, f"checkpoints c{where}{order}{limit}", with_links)


_IN_THREAD = "c.thread_id = %(thread_id)s AND c.checkpoint_ns = %(ns)s"


@functools.cache  # two statements, asked for on every page
def select_thread_page(bounded: bool) -> str:
    """The statement reading the next `%(size)s` checkpoints of one thread and
    namespace, newest first (below `%(before)s` if `bounded`), in parts.

    It walks the primary key's index one entry at a time (a LIMIT 1 probe
    each) rather than leaving the order to the planner: for a thread that
    grew since the last ANALYZE it guesses the average thread's few rows, and
    for pages of 8 and more it then read and sorted every row of the thread
    (a `list(limit=10)` of a 10,000-checkpoint thread in a database of a
    million checkpoints took 25-29 ms, 1.3 ms with this walk). Each step
    costs about 8 µs: 0.1-0.5 ms more for a thread of 60 small checkpoints,
    within the noise for agent-sized ones."""
    below = " AND c.checkpoint_id < %(before)s" if bounded else ""
    walk = (
        f"WITH RECURSIVE k(checkpoint_id, ord) AS (\n"
        f"    (SELECT c.checkpoint_id, 1::bigint FROM checkpoints c\n"
        f"      WHERE {_IN_THREAD}{below} ORDER BY c.checkpoint_id DESC LIMIT 1)\n"
        f"    UNION ALL\n"
        f"    SELECT (SELECT c.checkpoint_id FROM checkpoints c\n"
        f"             WHERE {_IN_THREAD} AND c.checkpoint_id < k.checkpoint_id\n"
        f"             ORDER BY c.checkpoint_id DESC LIMIT 1), k.ord + 1\n"
        f"      FROM k WHERE k.ord < %(size)s AND k.checkpoint_id IS NOT NULL\n"
        f"),"
    )
    return _in_parts(
        "k.ord",
        f"k CROSS JOIN LATERAL (\n"
        f"       SELECT * FROM checkpoints c\n"
        f"        WHERE {_IN_THREAD} AND c.checkpoint_id = k.checkpoint_id LIMIT 1) AS c",
        ctes=walk,
    )


BlobRow = tuple[str, str, bytes]
"""A blob as read: (channel, type, blob)."""
WriteRow = tuple[str, str, str, bytes, str, int]
"""A pending write as read: (task_id, channel, type, blob, task_path, idx)."""
# (thread_id, checkpoint_ns, channel, version) -> (type, blob) of a chain link
LinkBlobs = dict[tuple[str, str, str, str], tuple[str, bytes]]


def _fetch_links(
    serde: SerializerProtocol,
    placed: Iterable[tuple[str, str, Iterable[BlobRow]]],
    cache: DeltaCache | None = None,
) -> Plan[LinkBlobs]:
    """The blobs the delta blobs among `placed` ((thread_id, ns, blobs) of
    rows) extend, in one statement, or none at all when there is no delta
    (or `cache` holds the value of each)."""
    deltas = [
        (thread_id, ns, channel, record)
        for thread_id, ns, blobs in placed
        for channel, type_, blob in blobs
        if type_ == DELTA_TYPE
        for record in [decode_record(blob)]
        if cache is None or cache.held_value(thread_id, ns, channel, record) is None
    ]
    keys = {(t, ns, channel, link) for t, ns, channel, record in deltas for link in record.chain}
    links: LinkBlobs = {}
    yield from _complete_links(serde, deltas, links, keys)
    return links


def _complete_links(
    serde: SerializerProtocol,
    deltas: Sequence[tuple[str, str, str, DeltaRecord]],
    links: LinkBlobs,
    keys: set[tuple[str, str, str, str]],
) -> Plan[None]:
    """Fetch into `links` the blobs of `keys`, then those that rows laid out
    anew (by a conversion) extend outside the chains `deltas` list
    (`missing_link`), until their walks need nothing more."""
    tried = set(links)
    while True:
        if keys := keys - tried:
            tried |= keys
            columns = (list(column) for column in zip(*sorted(keys)))
            rows = yield Query(
                "SELECT b.thread_id, b.checkpoint_ns, b.channel, b.version, b.type, b.blob "
                "FROM checkpoint_blobs b JOIN unnest(%s::text[], %s::text[], %s::text[], "
                "%s::text[]) AS k(t, n, c, v) ON b.thread_id = k.t AND b.checkpoint_ns = k.n "
                "AND b.channel = k.c AND b.version = k.v",
                tuple(columns),
            )
            links.update({(row[0], row[1], row[2], row[3]): (row[4], row[5]) for row in rows})
        keys = set()
        for thread_id, ns, channel, record in deltas:
            found = blob_links(serde, functools.partial(_link_of, links, thread_id, ns, channel))
            if (location := missing_link(record, found)) is not None:
                keys.add((thread_id, ns, channel, location))
        if not keys - tried:
            return


def _link_of(
    links: LinkBlobs, thread_id: str, ns: str, channel: str, version: str
) -> tuple[str, bytes] | None:
    return links.get((thread_id, ns, channel, version))


def _rebuild(
    serde: SerializerProtocol,
    links: LinkBlobs,
    thread_id: str,
    ns: str,
    channel: str,
    blob: bytes,
    cache: DeltaCache | None = None,
) -> list[Any]:
    """The value a delta blob stands for: the one `cache` holds, or else
    rebuilt from `links` (`_fetch_links`)."""
    return rebuild_blob(
        serde,
        blob,
        functools.partial(_link_of, links, thread_id, ns, channel),
        channel_place(thread_id, ns, channel),
        functools.partial(cache.held_value, thread_id, ns, channel) if cache else None,
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A blob decoded as its row arrived (`_preload`), and its length."""

    value: Any
    size: int


class ListedBytes:
    """Blob bytes per checkpoint in the last page a saver listed, which tells
    the next page whether streaming it pays (`ListPages._preload`); None
    until a page was read. Only a hint: a stale one costs time, not data."""

    __slots__ = ("per_checkpoint",)

    def __init__(self) -> None:
        self.per_checkpoint: float | None = None

    def seen(self, rows: Sequence[Sequence[Any]], checkpoints: int) -> None:
        if checkpoints:
            total = sum(_blob_size(row[11]) for row in rows)
            self.per_checkpoint = total / checkpoints


def _blob_size(blob: bytes | _Loaded | None) -> int:
    if isinstance(blob, _Loaded):
        return blob.size
    return len(blob) if blob else 0


def _preload(serde: SerializerProtocol, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A list page's row with its blob decoded, while the next rows arrive
    (`Query.each`): as read if it holds no blob to decode here (a delta is
    rebuilt once its links are read) or decoding failed (the plan's own
    decoding of it then raises)."""
    part, blob = row[0], row[11]
    if part == PART_BLOB:
        type_ = row[6]
        blob = blob or b""
    elif part in (PART_WRITE, PART_SEND):
        type_ = row[7]
    else:
        return row
    if type_ in (DELTA_TYPE, "empty"):
        return row
    try:
        return (*row[:11], _Loaded(serde.loads_typed((type_, blob)), len(blob)))
    except Exception:
        return row


def _load(serde: SerializerProtocol, type_: str, blob: bytes | _Loaded) -> Any:
    return blob.value if isinstance(blob, _Loaded) else serde.loads_typed((type_, blob))


def _decode_blobs(
    serde: SerializerProtocol, blobs: Iterable[BlobRow], rebuild: Callable[[str, bytes], list[Any]]
) -> dict[str, Any]:
    """Channel values of blob rows; a delta blob through `rebuild(channel, blob)`."""
    values = {}
    for channel, type_, blob in blobs:
        if type_ == DELTA_TYPE:
            values[channel] = rebuild(channel, blob)
        elif type_ != "empty":
            values[channel] = _load(serde, type_, blob or b"")
    return values


def _decode_writes(
    serde: SerializerProtocol, writes: Iterable[WriteRow]
) -> list[tuple[str, str, Any]]:
    ordered = sorted(writes, key=lambda w: writes_sort_key(w[4], w[0], w[5]))
    return [
        (task_id, channel, _load(serde, type_, blob))
        for task_id, channel, type_, blob, _, _ in ordered
    ]


def _array_blobs(blobs: Sequence[Sequence[bytes]] | None) -> list[BlobRow]:
    """Blob rows aggregated as arrays of bytea (the history walk's statement)."""
    return [(channel.decode(), type_.decode(), blob) for channel, type_, blob in blobs or ()]


def _array_writes(writes: Sequence[Sequence[bytes]] | None) -> list[WriteRow]:
    return [
        (task_id.decode(), channel.decode(), type_.decode(), blob, path.decode(), int(idx))
        for task_id, channel, type_, blob, path, idx in writes or ()
    ]


class _Parts:
    """One checkpoint's row and the rows of its parts."""

    __slots__ = ("row", "blobs", "writes", "sends")

    def __init__(self, row: Sequence[Any]) -> None:
        self.row = row
        self.blobs: list[BlobRow] = []
        self.writes: list[WriteRow] = []
        self.sends: list[WriteRow] = []


def assemble_tuples(
    serde: SerializerProtocol,
    rows: Sequence[Sequence[Any]],
    with_links: bool,
    cache: DeltaCache | None = None,
) -> Plan[list[CheckpointTuple]]:
    """The checkpoint tuples of `select_tuples` rows, in the statement's order;
    the values a compact saver's `cache` holds are not read again."""
    checkpoints: dict[tuple[str, str, str], _Parts] = {}
    for row in rows:
        if row[0] == PART_CHECKPOINT:
            checkpoints[(row[1], row[2], row[3])] = _Parts(row)
    links: LinkBlobs = {}
    for part, thread_id, ns, checkpoint_id, idx, a, b, t, p, _, _, blob in rows:
        if part == PART_BLOB:
            checkpoints[(thread_id, ns, checkpoint_id)].blobs.append((a, b, blob))
        elif part == PART_WRITE:
            checkpoints[(thread_id, ns, checkpoint_id)].writes.append((a, b, t, blob, p, idx))
        elif part == PART_SEND:
            checkpoints[(thread_id, ns, checkpoint_id)].sends.append((a, b, t, blob, p, idx))
        elif part == PART_LINK:
            links[(thread_id, ns, a, b)] = (t, blob)
    ordered = sorted(checkpoints.values(), key=lambda parts: parts.row[4])
    placed = [(parts.row[1], parts.row[2], parts.blobs) for parts in ordered]
    if not with_links:
        links = yield from _fetch_links(serde, placed, cache)
    elif links:  # the statement read the chains; rows laid out anew may need more
        deltas = [
            (thread_id, ns, channel, decode_record(blob))
            for thread_id, ns, blobs in placed
            for channel, type_, blob in blobs
            if type_ == DELTA_TYPE
        ]
        yield from _complete_links(serde, deltas, links, set())
    return [_to_tuple(serde, parts, links, cache) for parts in ordered]


def _to_tuple(
    serde: SerializerProtocol, parts: _Parts, links: LinkBlobs, cache: DeltaCache | None
) -> CheckpointTuple:
    _, thread_id, ns, checkpoint_id, _, parent_id, _, _, _, checkpoint, metadata, _ = parts.row
    checkpoint = dict(checkpoint)
    rebuild = functools.partial(_rebuild, serde, links, thread_id, ns, cache=cache)
    checkpoint["channel_values"] = {
        **(checkpoint.get("channel_values") or {}),
        **_decode_blobs(serde, parts.blobs, rebuild),
    }
    if parts.sends and needs_parent_sends(checkpoint, parent_id):
        sends = sorted(parts.sends, key=lambda w: w[5])  # by task path, task id, idx
        decoded = [_load(serde, type_, blob) for _, _, type_, blob, _, _ in sends]
        migrate_pending_sends(checkpoint, decoded, next_string_version(None))
    return CheckpointTuple(
        config={
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        },
        checkpoint=checkpoint,  # type: ignore[arg-type]
        metadata=metadata or CheckpointMetadata(),
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
        pending_writes=_decode_writes(serde, parts.writes),
    )


def get_tuple_plan(
    serde: SerializerProtocol, config: RunnableConfig, cache: DeltaCache | None = None
) -> Plan[CheckpointTuple | None]:
    """With a compact saver's `cache`: the latest checkpoint of a thread whose
    values the cache holds is read without its delta chains (one the cache
    turns out not to hold comes in a second statement); any other checkpoint
    with its chains, in the same statement."""
    thread_id, ns, checkpoint_id = config_location(config)
    with_links = cache is not None and (
        bool(checkpoint_id) or not cache.holds_values(thread_id, ns)
    )
    if checkpoint_id:
        statement = select_tuples(
            " WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND c.checkpoint_id = %s",
            "",
            with_links=with_links,
        )
        params: tuple[str, ...] = (thread_id, ns, checkpoint_id)
    else:
        statement = select_tuples(
            " WHERE c.thread_id = %s AND c.checkpoint_ns = %s",
            " ORDER BY c.checkpoint_id DESC",
            " LIMIT 1",
            with_links,
        )
        params = (thread_id, ns)
    rows = yield Query(statement, params)
    found = yield from assemble_tuples(serde, rows, with_links, cache)
    return found[0] if found else None


class ListPages:
    """One `list` call, read in keyset pages: until `done`, the driver runs
    `next_plan()` (a plan returning the next page's items) and yields them
    before asking for the next page.

    Pages start at 1 row (at the limit, if one is given), so the first item
    of a long thread costs one checkpoint's transfer and decode (one query
    returning them all cost 2.8x the reference's first item), and grow, so
    a whole listing takes few round trips.
    Within one thread and namespace a page walks the primary key's index
    (`select_thread_page`) and pages grow 8 times over up to 64 rows (bounded
    memory): their blobs are decoded as their rows arrive (`_preload`), so
    the larger the page the more of the decoding overlaps the transfer (1,
    8, 64 listed the agent workload's threads 1.2x faster than doubling,
    which also streamed). Elsewhere each page sorts what is left, so they keep
    doubling (a logarithmic number of sorts, as many rows in memory at most
    as the one query held).
    Rows come newest first; ties between threads (copied checkpoints share
    ids) are ordered by thread and namespace, so pages never skip or repeat.
    """

    FIRST_PAGE, MAX_PAGE, GROWTH = 1, 64, 8
    # A walk's pages grow only while the values decoded at once stay under
    # this many top-level entries (`held_entries`): 64 of a long thread's
    # checkpoints (up to 500 messages each) alive together made the garbage
    # collector's full passes half of its whole list (gen2: 1.06-1.15 s over
    # three lists, 0.67-0.70 s with this bound, whole lists 720-800 ms
    # against 530-720). A bound of 2,048 (pages of 4 there) cut it further,
    # but made the agent workload's lists (pages of 1, 8, 17, ... instead of
    # 1, 8, 51) a third slower: a page overlaps its decoding with the transfer.
    HELD_ENTRIES = 8192
    STREAM_FROM_BYTES = 64 * 1024  # of blobs in a page, see `_preload`

    def __init__(
        self,
        serde: SerializerProtocol,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
        cache: DeltaCache | None = None,
        listed: ListedBytes | None = None,
    ) -> None:
        if filter is not None and not isinstance(filter, Mapping):
            raise ValueError(
                f"filter must be a dict of metadata keys to values, got {type(filter).__name__}"
            )
        self.serde = serde
        self.cache = cache  # a compact saver's: the values it holds are not read again
        self.listed = listed if listed is not None else ListedBytes()
        self.clauses: list[str] = []
        self.params: list[Any] = []
        # With the thread and namespace fixed, the id alone orders the rows,
        # and the keyset condition is a range of the primary key's index.
        self.one_namespace = False
        # (thread, namespace) when the pages are walks down the primary key
        # (`select_thread_page`): not with a filter, which would make each
        # step of the walk a scan of its own, nor for one checkpoint by id
        self.walk: tuple[str, str] | None = None
        if config is not None:
            thread_id, ns, checkpoint_id = config_location(config)
            self.clauses.append("c.thread_id = %s")
            self.params.append(thread_id)
            if "checkpoint_ns" in (config.get("configurable") or {}):
                self.clauses.append("c.checkpoint_ns = %s")
                self.params.append(ns)
                self.one_namespace = True
                self.walk = None if filter or checkpoint_id else (thread_id, ns)
            if checkpoint_id:
                self.clauses.append("c.checkpoint_id = %s")
                self.params.append(checkpoint_id)
        if filter:
            self.clauses.append("c.metadata @> %s")
            self.params.append(Jsonb(dict(filter)))
        self.before_id = get_checkpoint_id(before) if before is not None else None
        if self.before_id:
            self.clauses.append("c.checkpoint_id < %s")
            self.params.append(self.before_id)
        self.order = (
            " ORDER BY c.checkpoint_id DESC"
            if self.one_namespace
            else " ORDER BY c.checkpoint_id DESC, c.thread_id DESC, c.checkpoint_ns DESC"
        )
        self.remaining = limit  # None: no limit
        # With a limit, its rows come in one page (up to the cap): the caller
        # asked for them (pages of 1, 2, 4, 3 made list(limit=10) 0.6x).
        self.page = self.FIRST_PAGE if limit is None else max(1, min(limit, self.MAX_PAGE))
        self.last: tuple[str, str, str] | None = None  # (id, thread, namespace) of the last row
        self.done = limit is not None and limit <= 0

    def next_plan(self) -> Plan[list[CheckpointTuple]]:
        """The next page. The state moves on only once its rows arrived, so a
        plan that failed (and is run again from a new `next_plan()`) reads the
        same page."""
        size = self.page if self.remaining is None else min(self.page, self.remaining)
        if self.walk is not None:
            before = self.last[0] if self.last is not None else self.before_id
            statement = select_thread_page(bounded=bool(before))
            walk = {"thread_id": self.walk[0], "ns": self.walk[1], "before": before, "size": size}
            rows = yield Query(statement, walk, each=self._preload(size))
            return (yield from self._took(rows, size))
        clauses, params = list(self.clauses), list(self.params)
        if self.last is not None and self.one_namespace:
            clauses.append("c.checkpoint_id < %s")
            params.append(self.last[0])
        elif self.last is not None:
            clauses.append("(c.checkpoint_id, c.thread_id, c.checkpoint_ns) < (%s, %s, %s)")
            params += self.last
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        rows = yield Query(
            select_tuples(where, self.order, " LIMIT %s"), [*params, size], self._preload(size)
        )
        return (yield from self._took(rows, size))

    def _preload(self, size: int) -> Callable[[Any], Any] | None:
        """Blobs decoded as the page's rows arrive (`Query.each`), overlapping
        their transfer: the agent workload's 10 threads of 60 checkpoints
        listed in 0.43 s against 0.63 s decoded after each page (medians of
        14, one process, alternating; with pages doubling, 0.53 against
        0.65). Not for a page of one checkpoint, nor for one expected to hold
        less than `STREAM_FROM_BYTES` of blobs: a stream's statement is not
        prepared, and planning it costs about 0.8 ms, which the overlap
        (about 10 µs per KiB) wins back only on large pages (`list(limit=10)`
        of a thread of 20 small checkpoints took 1.4 ms streamed, 0.9 ms
        prepared; of an agent's thread 13 ms streamed, 19 ms prepared)."""
        expected = self.listed.per_checkpoint
        if size > 1 and (expected is None or size * expected >= self.STREAM_FROM_BYTES):
            return functools.partial(_preload, self.serde)
        return None

    def _took(self, rows: Sequence[Sequence[Any]], size: int) -> Plan[list[CheckpointTuple]]:
        """The page's tuples, the state moved past them."""
        found = yield from assemble_tuples(self.serde, rows, False, self.cache)
        self.listed.seen(rows, len(found))
        if not self.one_namespace:
            self.page *= 2
        else:
            grown = min(self.page * self.GROWTH, self.MAX_PAGE)
            self.page = grown_within(grown, len(found), held_entries(found), self.HELD_ENTRIES)
        self.done = len(found) < size
        if found:
            last = found[-1].config["configurable"]
            self.last = (last["checkpoint_id"], last["thread_id"], last["checkpoint_ns"])
        if self.remaining is not None:
            self.remaining -= len(found)
            self.done = self.done or self.remaining <= 0
        return found


_UTF8 = "'UTF8'"
_WRITES_ARRAY = (
    f"array[convert_to(cw.task_id, {_UTF8}), convert_to(cw.channel, {_UTF8}), "
    f"convert_to(coalesce(cw.type, ''), {_UTF8}), cw.blob, convert_to(cw.task_path, {_UTF8}), "
    f"convert_to(cw.idx::text, {_UTF8})]"
)
_BLOBS_ARRAY = f"array[convert_to(bl.channel, {_UTF8}), convert_to(bl.type, {_UTF8}), bl.blob]"

# Walks the ancestors of a checkpoint, each row carrying the channels still
# without a seed; stops once every channel has one. Blobs and writes of the
# pending channels come along, so the whole history is one round trip.
DELTA_CHAIN = f"""
WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, checkpoint, depth, pending) AS (
    SELECT p.checkpoint_id, p.parent_checkpoint_id, p.checkpoint, 0, %(channels)s::text[]
      FROM checkpoints t
      JOIN checkpoints p ON p.thread_id = t.thread_id AND p.checkpoint_ns = t.checkpoint_ns
           AND p.checkpoint_id = t.parent_checkpoint_id
     WHERE t.thread_id = %(thread_id)s AND t.checkpoint_ns = %(ns)s AND t.checkpoint_id = %(checkpoint_id)s
    UNION ALL
    SELECT p.checkpoint_id, p.parent_checkpoint_id, p.checkpoint, chain.depth + 1, still.pending
      FROM chain
      CROSS JOIN LATERAL (
          SELECT coalesce(array_agg(ch), '{{}}') AS pending
            FROM unnest(chain.pending) AS ch
           WHERE NOT (chain.checkpoint -> 'channel_values' ? ch OR EXISTS (
                 SELECT 1 FROM checkpoint_blobs b
                  WHERE b.thread_id = %(thread_id)s AND b.checkpoint_ns = %(ns)s AND b.channel = ch
                    AND b.version = chain.checkpoint -> 'channel_versions' ->> ch AND b.type <> 'empty'))
      ) AS still
      JOIN checkpoints p ON p.thread_id = %(thread_id)s AND p.checkpoint_ns = %(ns)s
           AND p.checkpoint_id = chain.parent_checkpoint_id
     WHERE cardinality(still.pending) > 0
)
SELECT chain.checkpoint_id, chain.pending, chain.checkpoint -> 'channel_values',
    (SELECT array_agg({_BLOBS_ARRAY}) FROM checkpoint_blobs bl
      WHERE bl.thread_id = %(thread_id)s AND bl.checkpoint_ns = %(ns)s AND bl.channel = ANY(chain.pending)
        AND bl.version = chain.checkpoint -> 'channel_versions' ->> bl.channel),
    (SELECT array_agg({_WRITES_ARRAY}) FROM checkpoint_writes cw
      WHERE cw.thread_id = %(thread_id)s AND cw.checkpoint_ns = %(ns)s
        AND cw.checkpoint_id = chain.checkpoint_id AND cw.channel = ANY(chain.pending))
FROM chain ORDER BY chain.depth
"""


def _delta_chain(
    serde: SerializerProtocol, thread_id: str, ns: str, checkpoint_id: str, channels: Sequence[str]
) -> Plan[tuple[DeltaHistoryWalk, list[str]]]:
    rows = yield Query(
        DELTA_CHAIN,
        {
            "thread_id": thread_id,
            "ns": ns,
            "checkpoint_id": checkpoint_id,
            "channels": list(channels),
        },
    )
    blobs_of = [_array_blobs(row[3]) for row in rows]
    links = yield from _fetch_links(serde, [(thread_id, ns, blobs) for blobs in blobs_of])
    rebuild = functools.partial(_rebuild, serde, links, thread_id, ns)
    walk = DeltaHistoryWalk(channels)
    visited = []
    for (ancestor_id, pending, inline, _, writes), blobs in zip(rows, blobs_of):
        values = {k: v for k, v in (inline or {}).items() if k in pending}
        values.update(_decode_blobs(serde, blobs, rebuild))
        walk.visit(values, _decode_writes(serde, _array_writes(writes)))
        visited.append(ancestor_id)
    return walk, visited


def delta_history_plan(
    serde: SerializerProtocol, config: RunnableConfig, channels: Sequence[str]
) -> Plan[Mapping[str, DeltaChannelHistory]]:
    thread_id, ns, checkpoint_id = config_location(config)
    if not channels:
        return {}
    if checkpoint_id is None:
        latest = yield Query(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id, ns),
        )
        if not latest:
            return {}
        checkpoint_id = latest[0][0]
    walk, _ = yield from _delta_chain(serde, thread_id, ns, checkpoint_id, channels)
    return walk.result()


# -- converting a database ----------------------------------------------------------

# Blobs decoded at a time while converting one thread (bounded memory).
CONVERT_CHUNK = 20


def threads_to_convert_plan(compact: bool) -> Plan[list[str]]:
    """Every thread for `compact`; for expanding, only threads with delta blobs."""
    if compact:
        rows = yield Query("SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id")
    else:
        rows = yield Query(
            "SELECT DISTINCT thread_id FROM checkpoint_blobs WHERE type = %s ORDER BY thread_id",
            (DELTA_TYPE,),
        )
    return [row[0] for row in rows]


def convert_thread_plan(serde: SerializerProtocol, thread_id: str, compact: bool) -> Plan[int]:
    """Rewrite one thread's blobs as a compact saver would have written them,
    oldest version first (`compact`), or every delta blob whole; the number
    of blobs rewritten. Running it again changes nothing. Holds the thread's
    lock (as deletions do), so no delta is written meanwhile."""
    yield from _lock_threads([thread_id])
    series = yield Query(
        "SELECT DISTINCT checkpoint_ns, channel FROM checkpoint_blobs WHERE thread_id = %s "
        + ("" if compact else "AND type = %s"),
        (thread_id,) if compact else (thread_id, DELTA_TYPE),
    )
    rewritten = 0
    for ns, channel in series:
        cache = DeltaCache()
        after = ""
        while rows := (
            yield Query(
                "SELECT version, type, blob FROM checkpoint_blobs WHERE thread_id = %s "
                "AND checkpoint_ns = %s AND channel = %s AND version > %s AND type <> 'empty' "
                + ("" if compact else f"AND type = '{DELTA_TYPE}' ")
                + "ORDER BY version LIMIT %s",
                (thread_id, ns, channel, after, CONVERT_CHUNK),
            )
        ):
            links = yield from _fetch_links(
                serde, [(thread_id, ns, [(channel, type_, blob)]) for _, type_, blob in rows]
            )
            for version, type_, blob in rows:
                if type_ == DELTA_TYPE:
                    value = _rebuild(serde, links, thread_id, ns, channel, blob)
                else:
                    value = serde.loads_typed((type_, blob))
                new_type, new_blob = type_, blob
                if not compact:
                    new_type, new_blob = serde.dumps_typed(value)
                elif type(value) is list:
                    encoded = encode_list(serde, value, cache.get(thread_id, ns, channel))
                    if (entry := encoded.stored_at(version)) is not None:
                        cache.remember(thread_id, ns, {channel: entry})
                    if encoded.record is not None:
                        new_type, new_blob = DELTA_TYPE, encode_record(encoded.record)
                    elif type_ == DELTA_TYPE:
                        new_type, new_blob = encoded.whole
                if (new_type, new_blob) != (type_, blob):
                    yield Execute(
                        "UPDATE checkpoint_blobs SET type = %s, blob = %s WHERE thread_id = %s "
                        "AND checkpoint_ns = %s AND channel = %s AND version = %s",
                        (new_type, new_blob, thread_id, ns, channel, version),
                    )
                    rewritten += 1
            after = rows[-1][0]
    return rewritten


# -- deleting, copying, pruning --------------------------------------------------

# Blobs no checkpoint of their thread references any more.
DELETE_UNUSED_BLOBS = """
DELETE FROM checkpoint_blobs b
 WHERE b.thread_id = ANY(%s)
   AND NOT EXISTS (
       SELECT 1 FROM checkpoints c
        WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
          AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)
"""


def _lock_threads(thread_ids: Iterable[str]) -> Plan[None]:
    """The per-thread advisory locks a deletion takes (in one order: no
    deadlock between deletions), so no delta blob is written meanwhile."""
    for thread_id in sorted(set(thread_ids)):
        yield Execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (THREAD_LOCK_CLASS, thread_id)
        )


# Delta blobs some checkpoint still references, with the versions their chains
# run through that no checkpoint references any more (about to be deleted).
_DELTAS_LOSING_LINKS = f"""
SELECT b.thread_id, b.checkpoint_ns, b.channel, b.version, b.blob
  FROM checkpoint_blobs b
 WHERE b.thread_id = ANY(%s) AND b.type = '{DELTA_TYPE}'
   AND EXISTS (SELECT 1 FROM checkpoints c
                WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                  AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)
   AND EXISTS (SELECT 1 FROM unnest(lgc_delta_chain_v1(b.blob)) AS link(version)
                WHERE NOT EXISTS (
                    SELECT 1 FROM checkpoints c
                     WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
                       AND c.checkpoint -> 'channel_versions' ->> b.channel = link.version))
"""


def _store_whole_losing_links(serde: SerializerProtocol, thread_ids: Sequence[str]) -> Plan[None]:
    """After checkpoints were deleted, before their blobs are: rewrite whole
    the delta blobs still in use whose chains run through blobs about to go
    (rebuilt while the chain is still there)."""
    exists = yield Query("SELECT to_regprocedure('lgc_delta_chain_v1(bytea)') IS NOT NULL")
    if not exists[0][0]:  # set up before compact storage: no delta blobs
        return
    losing = yield Query(_DELTAS_LOSING_LINKS, (list(thread_ids),))
    if not losing:
        return
    links = yield from _fetch_links(
        serde, [(t, n, [(c, DELTA_TYPE, blob)]) for t, n, c, _, blob in losing]
    )
    for thread_id, ns, channel, version, blob in losing:
        value = _rebuild(serde, links, thread_id, ns, channel, blob)
        yield Execute(
            "UPDATE checkpoint_blobs SET type = %s, blob = %s WHERE thread_id = %s "
            "AND checkpoint_ns = %s AND channel = %s AND version = %s",
            (*serde.dumps_typed(value), thread_id, ns, channel, version),
        )


def delete_thread_plan(thread_id: str) -> Plan[None]:
    """Delete the thread, its retention settings (`base.retention`) included,
    and leave its tombstone (see `GUARD_TRIGGERS`). A database set up before
    these tables existed lacks them: the thread is deleted all the same."""
    thread_id = validated_thread_id(thread_id)
    rows = yield Query(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s)) IS NULL, "
        "to_regclass('checkpoint_tombstones') IS NOT NULL, to_regclass(%s) IS NOT NULL",
        (THREAD_LOCK_CLASS, thread_id, RETENTION_TABLE),
    )
    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
        yield Execute(f"DELETE FROM {table} WHERE thread_id = %s", (thread_id,))
    if rows[0][2]:
        yield Execute(f"DELETE FROM {RETENTION_TABLE} WHERE thread_id = %s", (thread_id,))
    if rows[0][1]:
        yield Execute(
            "DELETE FROM checkpoint_tombstones WHERE deleted_before < %s",
            (expired_watermarks_before(),),
        )
        yield Execute(
            "INSERT INTO checkpoint_tombstones (thread_id, deleted_before) VALUES (%s, %s) "
            "ON CONFLICT (thread_id) DO UPDATE SET deleted_before = EXCLUDED.deleted_before",
            (thread_id, deletion_watermark()),
        )


def delete_for_runs_plan(serde: SerializerProtocol, run_ids: Sequence[str]) -> Plan[None]:
    run_ids = [str(r) for r in run_ids]
    if not run_ids:
        return
    affected = yield Query(
        "SELECT DISTINCT thread_id FROM checkpoints WHERE metadata ->> 'run_id' = ANY(%s)",
        (run_ids,),
    )
    yield from _lock_threads(row[0] for row in affected)
    doomed = yield Query(
        "DELETE FROM checkpoints WHERE metadata ->> 'run_id' = ANY(%s) "
        "RETURNING thread_id, checkpoint_ns, checkpoint_id",
        (run_ids,),
    )
    if not doomed:
        return
    threads, namespaces, ids = (list(column) for column in zip(*doomed))
    yield Execute(
        "DELETE FROM checkpoint_writes w USING unnest(%s::text[], %s::text[], %s::text[]) AS d(t, n, c) "
        "WHERE w.thread_id = d.t AND w.checkpoint_ns = d.n AND w.checkpoint_id = d.c",
        (threads, namespaces, ids),
    )
    yield from _store_whole_losing_links(serde, sorted(set(threads)))
    yield Execute(DELETE_UNUSED_BLOBS, (sorted(set(threads)),))


def copy_thread_plan(source_thread_id: str, target_thread_id: str) -> Plan[None]:
    params = (validated_thread_id(target_thread_id), validated_thread_id(source_thread_id))
    # Copying into a deleted thread is a new, explicit write: lift its tombstone.
    exists = yield Query("SELECT to_regclass('checkpoint_tombstones') IS NOT NULL")
    if exists[0][0]:
        yield Execute("DELETE FROM checkpoint_tombstones WHERE thread_id = %s", params[:1])
    yield Execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
        "checkpoint, metadata) SELECT %s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, "
        "checkpoint, metadata FROM checkpoints WHERE thread_id = %s "
        "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET "
        "checkpoint = EXCLUDED.checkpoint, metadata = EXCLUDED.metadata",
        params,
    )
    # A delta blob is inserted after the blobs its chain lists (the guard
    # checks them; rows inserted earlier by the statement are visible to it).
    has_deltas = yield Query("SELECT to_regprocedure('lgc_delta_chain_v1(bytea)') IS NOT NULL")
    chains = []
    if has_deltas[0][0]:
        chains = yield Query(
            "SELECT checkpoint_ns, channel, version, lgc_delta_chain_v1(blob) FROM checkpoint_blobs "
            f"WHERE thread_id = %s AND type = '{DELTA_TYPE}'",
            params[1:],
        )
    ranks = _insert_ranks(chains)
    yield Execute(
        "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) "
        "SELECT %s, b.checkpoint_ns, b.channel, b.version, b.type, b.blob FROM checkpoint_blobs b "
        "LEFT JOIN unnest(%s::text[], %s::text[], %s::text[], %s::int[]) AS o(ns, channel, version, "
        "rank) ON o.ns = b.checkpoint_ns AND o.channel = b.channel AND o.version = b.version "
        "WHERE b.thread_id = %s ORDER BY coalesce(o.rank, 0) "
        "ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING",
        (params[0], *([list(column) for column in zip(*ranks)] or [[], [], [], []]), params[1]),
    )
    yield Execute(
        "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
        "channel, type, blob) SELECT %s, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
        "type, blob FROM checkpoint_writes WHERE thread_id = %s "
        "ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO NOTHING",
        params,
    )


def _insert_ranks(
    chains: Sequence[tuple[str, str, str, Sequence[str]]],
) -> list[tuple[str, str, str, int]]:
    """(ns, channel, version, rank) of delta blobs from their listed chains
    ((ns, channel, version, chain) rows): inserted by rank, each comes after
    every delta its chain lists. Not the chain's length: a conversion beside a
    running saver re-lays a blob with a longer chain than the delta on it."""
    listed = {(ns, channel, version): chain for ns, channel, version, chain in chains}

    def links(key: tuple[str, str, str]) -> list[tuple[str, str, str]]:
        return [(key[0], key[1], link) for link in listed[key] if (key[0], key[1], link) in listed]

    ranks: dict[tuple[str, str, str], int] = {}
    for start in listed:  # depth first, without recursion (chains run up to WALK_LIMIT)
        if start in ranks:
            continue
        stack = [(start, iter(links(start)))]
        visiting = {start}
        while stack:
            key, unvisited = stack[-1]
            for link in unvisited:
                if link in ranks:
                    continue
                if link in visiting:
                    raise BrokenChainError(f"delta chains run in a cycle through {key!r}")
                visiting.add(link)
                stack.append((link, iter(links(link))))
                break
            else:
                ranks[key] = 1 + max((ranks[link] for link in links(key)), default=0)
                visiting.discard(key)
                stack.pop()
    return [(*key, rank) for key, rank in ranks.items()]


def prune_plan(serde: SerializerProtocol, thread_ids: Sequence[str], strategy: str) -> Plan[None]:
    """`delete` drops the threads; `keep_latest` keeps each namespace's latest
    checkpoint plus the ancestors its delta channels replay from (and, for an
    old-format checkpoint, the parent whose writes hold its pending sends),
    unlinks kept checkpoints from deleted parents, then drops blobs nothing
    references."""
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
    thread_ids = validated_thread_ids(thread_ids)
    if strategy == "delete":
        for thread_id in thread_ids:
            yield from delete_thread_plan(thread_id)
        return
    yield from _lock_threads(thread_ids)
    for thread_id in thread_ids:
        latest_rows = yield Query(
            "SELECT DISTINCT ON (c.checkpoint_ns) c.checkpoint_ns, c.checkpoint_id, c.metadata, "
            "c.checkpoint -> 'channel_values', "
            "(SELECT array_agg(bl.channel) FROM jsonb_each_text(c.checkpoint -> 'channel_versions') cv "
            "   JOIN checkpoint_blobs bl ON bl.thread_id = c.thread_id AND bl.checkpoint_ns = c.checkpoint_ns "
            "    AND bl.channel = cv.key AND bl.version = cv.value AND bl.type <> 'empty'), "
            f"CASE WHEN {_OLD_FORMAT} AND EXISTS (SELECT 1 FROM checkpoint_writes ps "
            "   WHERE ps.thread_id = c.thread_id AND ps.checkpoint_ns = c.checkpoint_ns "
            f"    AND ps.checkpoint_id = c.parent_checkpoint_id AND ps.channel = '{TASKS}') "
            "THEN c.parent_checkpoint_id END "
            "FROM checkpoints c WHERE c.thread_id = %s ORDER BY c.checkpoint_ns, c.checkpoint_id DESC",
            (thread_id,),
        )
        for ns, latest_id, metadata, inline, blob_channels, sends_parent in latest_rows:
            with_value = set(inline or {}) | set(blob_channels or ())
            needed = delta_channels_needing_history(metadata or {}, with_value)
            keep = [latest_id] if sends_parent is None else [latest_id, sends_parent]
            if needed:
                _, visited = yield from _delta_chain(
                    serde, thread_id, ns, latest_id, sorted(needed)
                )
                keep.extend(visited)
            for table in ("checkpoint_writes", "checkpoints"):
                yield Execute(
                    f"DELETE FROM {table} WHERE thread_id = %s AND checkpoint_ns = %s "
                    "AND NOT (checkpoint_id = ANY(%s))",
                    (thread_id, ns, keep),
                )
            # A kept checkpoint whose parent is gone has no parent (as the
            # reference leaves it), rather than a link to nothing.
            yield Execute(
                "UPDATE checkpoints SET parent_checkpoint_id = NULL "
                "WHERE thread_id = %s AND checkpoint_ns = %s AND NOT (parent_checkpoint_id = ANY(%s))",
                (thread_id, ns, keep),
            )
    yield from _store_whole_losing_links(serde, thread_ids)
    yield Execute(DELETE_UNUSED_BLOBS, (thread_ids,))
