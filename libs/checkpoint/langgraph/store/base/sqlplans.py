"""Store operations as sans-I/O plans, shared by the SQL stores.

The stores of `langgraph-checkpoint-sqlite` and `-postgres` keep the reference
tables (`store`, plus `store_vectors` for semantic search). Their sync and
async classes only run these plans (see `langgraph.checkpoint.base.plan`).
The plans are written once against `Dialect`; what differs between databases
(placeholders, JSON binding and access, the namespace-prefix and filter
conditions, how similarity is scored, whether an item and its vectors are
written in one statement) is a `Dialect` subclass in each backend package, so
this module holds no database's own SQL.

Searches narrow what they read in SQL (the namespace prefix through its index,
a filter pre-filter from `sqlfilters` with every key and value bound as a
parameter, a LIMIT), then `compile_filter` and the TTL check decide in Python
on each row read, so the SQL side can only ever widen what is read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.base.retention import TaskSweeper, ThreadSweeper
from langgraph.checkpoint.errors import InvalidConfigError
from langgraph.store.base import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    compile_filter,
    cosine_similarities,
    ensure_embeddings,
    namespace_matches,
    queries_to_embed,
    sqlfilters,
    texts_to_embed,
    validate_op_namespace,
    vectors_by_field,
)
from langgraph.store.base.embed import Embeddings, index_text_paths

Statement = tuple[str, Sequence[Any]]
"""SQL with `?` marks, and its parameters."""


@dataclass(frozen=True)
class Dialect(ABC):
    """How one database spells what the plans need.

    The backend packages subclass it; the plans give every SQL text they build
    to `sql`, so the SQL a dialect returns uses `?` marks too. The fields are
    the settings a store may change once it knows its database (at setup,
    with `dataclasses.replace`).
    """

    mark: str = "?"
    """Parameter placeholder: `?` or `%s`."""
    migration_lock: str | None = None
    """Statement serializing concurrent migrations, if the transaction does not."""
    similarity_sql: str | None = None
    """Expression scoring `embedding` against the query vector (bound as `?`)
    in SQL; without it, scores are computed in Python (`unpack_vector`)."""
    load_document: Callable[[bytes], Any] | None = None
    """The store's `deserializer`: reads a stored document from its JSON bytes
    (None: `json.loads`)."""

    writes_vectors_with_item: ClassVar[bool] = False
    """Whether `upsert_with_vectors` and `delete_with_vectors` write an item
    and its vectors in one statement. Otherwise they take several statements,
    and a batch writing them runs in a transaction."""

    def sql(self, text: str) -> str:
        return text.replace("?", self.mark)

    @abstractmethod
    def dump_value(self, value: Any) -> Any:
        """A JSON document as the `value` column binds it."""

    @abstractmethod
    def timestamp(self, at: datetime) -> Any:
        """A time as the timestamp columns bind it."""

    @abstractmethod
    def pack_vector(self, vector: Sequence[float]) -> Any:
        """An embedding as the `embedding` column binds it (and the query
        vector `similarity_sql` compares with)."""

    def unpack_vector(self, stored: Any) -> list[float]:
        """An embedding as read back from the `embedding` column."""
        return [float(x) for x in stored]

    @abstractmethod
    def namespace_under(self, prefix: str) -> Statement:
        """A condition on the `prefix` column keeping the namespace `prefix`
        and every namespace under it (never a label that merely starts with
        its last label)."""

    def filter_terms(self, clause: sqlfilters.Clause) -> sqlfilters.Rendered | None:
        """SQL for one pre-filter clause (see `sqlfilters`), or None for one
        the database cannot test exactly; by default none (Python decides)."""
        return None

    def prefilter(self, filter: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """A condition keeping at least the rows `filter` keeps (`""` for none)."""
        return sqlfilters.where(self.filter_terms, filter)

    def delete_with_vectors(self, prefix: str, key: str) -> Statement:
        """One statement deleting an item and its vectors (when
        `writes_vectors_with_item`)."""
        raise NotImplementedError(f"{type(self).__name__} writes vectors in separate statements")

    def upsert_with_vectors(
        self,
        upsert: Statement,
        prefix: str,
        key: str,
        vectors: Sequence[tuple[str, Sequence[float]]],
        stamp: Any,
    ) -> Statement:
        """One statement running `upsert` (the item's insert or update) and
        replacing the item's vectors by `vectors`, stamped `stamp` (when
        `writes_vectors_with_item`)."""
        raise NotImplementedError(f"{type(self).__name__} writes vectors in separate statements")


def namespace_key(namespace: Sequence[str]) -> str:
    return ".".join(namespace)


def namespace_of(prefix: str) -> tuple[str, ...]:
    return tuple(prefix.split(".")) if prefix else ()


def now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


# -- schema -------------------------------------------------------------------------------------


Migration = str | None
"""One numbered migration: a statement, or None for one that does not apply
yet (it and those after it stay unrecorded, and are tried at the next setup)."""


def migrate_plan(dialect: Dialect, table: str, migrations: Sequence[Migration]) -> Plan[None]:
    """Run the migrations of `table` (`store_migrations` style) not yet recorded."""
    if dialect.migration_lock:
        yield Execute(dialect.migration_lock)
    yield Execute(f"CREATE TABLE IF NOT EXISTS {table} (v INTEGER PRIMARY KEY)")
    rows = yield Query(f"SELECT v FROM {table} ORDER BY v DESC LIMIT 1")
    done = rows[0][0] if rows else -1
    for version in range(done + 1, len(migrations)):
        statement = migrations[version]
        if statement is None:
            return
        yield Execute(statement)
        yield Execute(dialect.sql(f"INSERT INTO {table} (v) VALUES (?)"), (version,))


# -- the batch ---------------------------------------------------------------------------------

_COLUMNS = "prefix, key, value, created_at, updated_at, expires_at, ttl_minutes"


def _value(row: Sequence[Any], dialect: Dialect) -> Any:
    """The stored document: JSON text or bytes, or already decoded by the
    driver; through the store's `deserializer` (given the JSON bytes) if it has one."""
    value = row[2]
    if dialect.load_document is not None:
        if isinstance(value, str):
            value = value.encode()
        elif not isinstance(value, (bytes, bytearray)):  # decoded by the driver (jsonb)
            value = json.dumps(value, ensure_ascii=False).encode()
        return dialect.load_document(bytes(value))
    return json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value


def _item_fields(row: Sequence[Any], value: Any) -> dict[str, Any]:
    prefix, key, _, created_at, updated_at = row[:5]
    return {
        "namespace": namespace_of(prefix),
        "key": key,
        "value": value,
        "created_at": parse_time(created_at) or now(),
        "updated_at": parse_time(updated_at) or now(),
    }


def _item(row: Sequence[Any], dialect: Dialect) -> Item:
    return Item(**_item_fields(row, _value(row, dialect)))


def _search_item(row: Sequence[Any], value: Any, score: float | None) -> SearchItem:
    return SearchItem(**_item_fields(row, value), score=score)


def _past(stored: Any, at: datetime) -> bool:
    """Whether an `expires_at` value is set and not after `at`."""
    expires_at = parse_time(stored)
    return expires_at is not None and expires_at <= at


def _expired(row: Sequence[Any], at: datetime) -> bool:
    return _past(row[5], at)


def batch_plan(
    dialect: Dialect,
    ops: Sequence[Op],
    *,
    vectors_enabled: bool,
    embedded: dict[int, list[tuple[str, list[float]]]],
    query_vectors: dict[str, list[float]],
) -> Plan[list[Result]]:
    """Run every operation in order; one result per operation."""
    results: list[Result] = []
    for position, op in enumerate(ops):
        if isinstance(op, GetOp):
            results.append((yield from _get(dialect, op)))
        elif isinstance(op, PutOp):
            yield from _put(dialect, op, embedded.get(position), vectors_enabled)
            results.append(None)
        elif isinstance(op, SearchOp):
            results.append((yield from _search(dialect, op, vectors_enabled, query_vectors)))
        elif isinstance(op, ListNamespacesOp):
            results.append((yield from _list_namespaces(dialect, op)))
        else:
            raise ValueError(f"unknown store operation: {op!r}")
    return results


def _refresh(dialect: Dialect, items: Sequence[tuple[str, str, Any]], at: datetime) -> Plan[None]:
    for prefix, key, ttl_minutes in items:
        if ttl_minutes is not None:
            yield Execute(
                dialect.sql("UPDATE store SET expires_at = ? WHERE prefix = ? AND key = ?"),
                (dialect.timestamp(at + timedelta(minutes=float(ttl_minutes))), prefix, key),
            )


def _get(dialect: Dialect, op: GetOp) -> Plan[Item | None]:
    prefix = namespace_key(op.namespace)
    rows = yield Query(
        dialect.sql(f"SELECT {_COLUMNS} FROM store WHERE prefix = ? AND key = ?"), (prefix, op.key)
    )
    at = now()
    if not rows or _expired(rows[0], at):
        return None
    if op.refresh_ttl:
        yield from _refresh(dialect, [(prefix, op.key, rows[0][6])], at)
    return _item(rows[0], dialect)


def _put(
    dialect: Dialect,
    op: PutOp,
    vectors: list[tuple[str, list[float]]] | None,
    vectors_enabled: bool,
) -> Plan[None]:
    prefix = namespace_key(op.namespace)
    one_statement = vectors_enabled and dialect.writes_vectors_with_item
    if op.value is None:
        if one_statement:
            yield _execute(dialect, dialect.delete_with_vectors(prefix, op.key))
            return
        yield Execute(
            dialect.sql("DELETE FROM store WHERE prefix = ? AND key = ?"), (prefix, op.key)
        )
        if vectors_enabled:
            yield from _delete_vectors(dialect, prefix, op.key)
        return
    at = now()
    expires_at = dialect.timestamp(at + timedelta(minutes=op.ttl)) if op.ttl is not None else None
    stamp = dialect.timestamp(at)
    upsert = (
        "INSERT INTO store (prefix, key, value, created_at, updated_at, expires_at, ttl_minutes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (prefix, key) DO UPDATE SET value = excluded.value, "
        "updated_at = excluded.updated_at, expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes"
    )
    upsert_params = (
        prefix,
        op.key,
        dialect.dump_value(dict(op.value)),
        stamp,
        stamp,
        expires_at,
        op.ttl,
    )
    if one_statement:
        yield _execute(
            dialect,
            dialect.upsert_with_vectors(
                (upsert, upsert_params), prefix, op.key, vectors or [], stamp
            ),
        )
        return
    yield Execute(dialect.sql(upsert), upsert_params)
    if not vectors_enabled:
        return
    yield from _delete_vectors(dialect, prefix, op.key)
    for field, vector in vectors or ():
        yield Execute(
            dialect.sql(
                "INSERT INTO store_vectors (prefix, key, field_name, embedding, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (prefix, key, field_name) DO UPDATE SET "
                "embedding = excluded.embedding, updated_at = excluded.updated_at"
            ),
            (prefix, op.key, field, dialect.pack_vector(vector), stamp, stamp),
        )


def _execute(dialect: Dialect, statement: Statement) -> Execute:
    sql, params = statement
    return Execute(dialect.sql(sql), params)


def _delete_vectors(dialect: Dialect, prefix: str, key: str) -> Plan[None]:
    yield Execute(
        dialect.sql("DELETE FROM store_vectors WHERE prefix = ? AND key = ?"), (prefix, key)
    )


def _under(dialect: Dialect, prefix: str) -> tuple[str, list[Any]]:
    """WHERE clause for the namespace `prefix` and every namespace under it."""
    if not prefix:
        return "", []
    condition, params = dialect.namespace_under(prefix)
    return f" WHERE ({condition})", list(params)


_MOST = 2**62  # a LIMIT a 64-bit signed integer holds


def _search(
    dialect: Dialect, op: SearchOp, vectors_enabled: bool, query_vectors: dict[str, list[float]]
) -> Plan[list[SearchItem]]:
    prefix = namespace_key(op.namespace_prefix)
    where, params = _under(dialect, prefix)
    matches = compile_filter(op.filter)
    # SQL narrows the rows with what it can translate of the filter (a superset
    # of the matches, keys and values bound as parameters); Python decides.
    prefilter, prefilter_params = dialect.prefilter(op.filter)
    narrowed = where + ((" AND " if where else " WHERE ") + prefilter if prefilter else "")
    narrowed_params = [*params, *prefilter_params]
    # Newest first; prefix and key break ties, so that pages asked with
    # different LIMITs (offset paging) agree on one order.
    newest = "updated_at DESC, prefix, key"
    wanted = op.offset + op.limit
    kept: list[tuple[Sequence[Any], Any]] = []  # (row, value), in result order
    seen: set[tuple[str, str]] = set()

    def keep(rows: Sequence[Sequence[Any]], at: datetime, most: int | None) -> None:
        """Add the live, matching rows not seen yet (`most` in all, at most).
        A row without a document (value NULL) is a vector the SQL side left
        out (pre-filter, or no item): skipped."""
        for row in rows:
            if row[2] is None or (row[0], row[1]) in seen or _expired(row, at):
                continue
            seen.add((row[0], row[1]))
            value = _value(row, dialect)
            if matches(value):
                kept.append((row, value))
                if most is not None and len(kept) >= most:
                    return

    def page(select: Callable[[int], tuple[str, list[Any]]]) -> Plan[datetime]:
        """Fill `kept` up to `wanted` from `select(limit)`. Python may reject
        rows SQL let through, so when the page is short and SQL returned all
        it was asked for, ask again for 4 times more."""
        base, base_seen = list(kept), set(seen)
        limit = min(max(wanted - len(kept), 1), _MOST)
        while True:
            sql, sql_params = select(limit)
            rows = yield Query(dialect.sql(sql), sql_params)
            at = now()
            kept[:] = base
            seen.clear()
            seen.update(base_seen)
            keep(rows, at, wanted)
            if len(kept) >= wanted or len(rows) < limit or limit >= _MOST:
                return at
            limit = min(limit * 4, _MOST)

    scores: dict[tuple[str, str], float] = {}
    wanted_vector = query_vectors.get(op.query) if op.query and vectors_enabled else None
    if wanted_vector is not None and dialect.similarity_sql is None:
        # Scored here: every candidate is read, then ranked.
        rows = yield Query(
            dialect.sql(f"SELECT {_COLUMNS} FROM store{narrowed} ORDER BY {newest}"),
            narrowed_params,
        )
        at = now()
        keep(rows, at, None)
        vector_rows = yield Query(
            dialect.sql(f"SELECT prefix, key, embedding FROM store_vectors{where}"), params
        )
        similarities = cosine_similarities(
            wanted_vector, [dialect.unpack_vector(r[2]) for r in vector_rows]
        )
        for (vprefix, vkey, _), score in zip(vector_rows, similarities):
            if score > scores.get((vprefix, vkey), float("-inf")):
                scores[(vprefix, vkey)] = score
        kept.sort(key=lambda pair: -scores.get((pair[0][0], pair[0][1]), float("-inf")))
    elif wanted_vector is not None:
        # The database scores the vectors and returns the best rows with their
        # documents (NULL where the pre-filter says no), best first: an item's
        # first row is its best field.
        query_vector = dialect.pack_vector(wanted_vector)
        on_filter = f" AND {prefilter}" if prefilter else ""

        def best_vectors(limit: int) -> tuple[str, list[Any]]:
            return (
                f"SELECT {_COLUMNS}, score FROM (SELECT prefix AS vprefix, key AS vkey, "
                f"{dialect.similarity_sql} AS score FROM store_vectors{where} "
                "ORDER BY score DESC, vprefix, vkey LIMIT ?) AS best LEFT JOIN store "
                f"ON prefix = vprefix AND key = vkey{on_filter} ORDER BY score DESC, vprefix, vkey",
                [query_vector, *params, limit, *prefilter_params],
            )

        at = yield from page(best_vectors)
        scores = {(row[0], row[1]): float(row[7]) for row, _ in kept}
        if len(kept) < wanted:  # then the items without vectors
            unscored = (
                f"SELECT {_COLUMNS} FROM store{narrowed}{' AND' if narrowed else ' WHERE'} "
                "NOT EXISTS (SELECT 1 FROM store_vectors AS v WHERE v.prefix = store.prefix "
                f"AND v.key = store.key) ORDER BY {newest} LIMIT ?"
            )
            at = yield from page(lambda limit: (unscored, [*narrowed_params, limit]))
    else:
        select = f"SELECT {_COLUMNS} FROM store{narrowed} ORDER BY {newest} LIMIT ?"
        at = yield from page(lambda limit: (select, [*narrowed_params, limit]))
    result = kept[op.offset : op.offset + op.limit]
    if op.refresh_ttl:
        yield from _refresh(dialect, [(row[0], row[1], row[6]) for row, _ in result], at)
    return [_search_item(row, value, scores.get((row[0], row[1]))) for row, value in result]


def _list_namespaces(dialect: Dialect, op: ListNamespacesOp) -> Plan[list[tuple[str, ...]]]:
    rows = yield Query("SELECT DISTINCT prefix FROM store")
    namespaces = [
        ns
        for ns in (namespace_of(row[0]) for row in rows)
        if all(namespace_matches(ns, c) for c in op.match_conditions or ())
    ]
    if op.max_depth is not None:
        namespaces = [ns[: op.max_depth] for ns in namespaces]
    return sorted(set(namespaces))[op.offset : op.offset + op.limit]


def sweep_plan(dialect: Dialect, vectors_enabled: bool) -> Plan[int]:
    """Delete expired items; returns how many."""
    rows = yield Query("SELECT prefix, key, expires_at FROM store WHERE expires_at IS NOT NULL")
    at = now()
    expired = [(prefix, key) for prefix, key, expires_at in rows if _past(expires_at, at)]
    for prefix, key in expired:
        yield Execute(dialect.sql("DELETE FROM store WHERE prefix = ? AND key = ?"), (prefix, key))
        if vectors_enabled:
            yield from _delete_vectors(dialect, prefix, key)
    return len(expired)


# -- what the SQL store classes share ---------------------------------------------------------


class PlannedStore:
    """Configuration, plans and TTL sweeping shared by the SQL store classes.

    Subclasses set `dialect`, `migrations` and `vector_migrations`, and run the
    plans on their connection (sync or async).
    """

    supports_ttl = True
    dialect: Dialect
    migrations: Sequence[Migration]
    vector_migrations: Sequence[Migration]
    distance_types: tuple[str, ...] = ("cosine",)
    ttl_config: TTLConfig | None
    index_config: IndexConfig | None
    embeddings: Embeddings | None

    def _configure(
        self,
        index: IndexConfig | None,
        ttl: TTLConfig | None,
        deserializer: Callable[[bytes], Any] | None = None,
    ) -> None:
        if deserializer is not None and not callable(deserializer):
            raise InvalidConfigError(
                f"deserializer must be a callable taking the stored JSON bytes, "
                f"got {type(deserializer).__name__}"
            )
        self.deserializer = deserializer
        self.ttl_config = ttl
        self.index_config = None
        self.embeddings = None
        if index:
            # The backends' index configs add `distance_type` to the base one.
            settings: Mapping[str, object] = index
            distance = settings.get("distance_type", "cosine")
            if distance not in self.distance_types:
                raise ValueError(
                    f"distance_type {distance!r} is not supported by "
                    f"{type(self).__name__}: use one of {', '.join(self.distance_types)}"
                )
            self.index_config = index.copy()
            self.index_config["fields"] = index_text_paths(index)
            self.embeddings = ensure_embeddings(index.get("embed"))
        self.is_setup = False
        self._thread_sweeper = ThreadSweeper()
        self._task_sweeper = TaskSweeper()

    def _setup_plans(self) -> Iterator[Plan[Any]]:
        yield migrate_plan(self.dialect, "store_migrations", self.migrations)
        if self.index_config is not None:
            yield migrate_plan(self.dialect, "vector_migrations", self.vector_migrations)

    def _prepare(self, ops: Iterable[Op]) -> tuple[list[Op], list[tuple[int, str, str]], list[str]]:
        ops = list(ops)
        for op in ops:
            validate_op_namespace(op)
        return ops, texts_to_embed(ops, self.index_config), queries_to_embed(ops, self.index_config)

    def _batch_plan(
        self,
        ops: Sequence[Op],
        texts: list[tuple[int, str, str]],
        vectors: list[list[float]],
        query_vectors: dict[str, list[float]],
    ) -> Plan[list[Result]]:
        # A generator: `self.dialect` is read when the plan starts running,
        # after the setup that may have changed it (how vectors are scored).
        embedded = vectors_by_field(texts, vectors)
        dialect = self.dialect
        if self.deserializer is not None:
            dialect = dataclasses.replace(dialect, load_document=self.deserializer)
        return (
            yield from batch_plan(
                dialect,
                ops,
                vectors_enabled=self.index_config is not None,
                embedded=embedded,
                query_vectors=query_vectors,
            )
        )

    def _sweep_plan(self) -> Plan[int]:
        return sweep_plan(self.dialect, self.index_config is not None)

    def _needs_transaction(self, ops: Sequence[Op]) -> bool:
        """One operation is one statement (plus an idempotent TTL refresh),
        except a put that also rewrites its vectors, where the dialect cannot
        write both in one statement."""
        if len(ops) != 1:
            return len(ops) > 1
        return (
            self.index_config is not None
            and isinstance(ops[0], PutOp)
            and not self.dialect.writes_vectors_with_item
        )

    def _sweep_interval(self, minutes: int | None) -> float:
        return 60 * (minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5)

    # -- sync sweeping (a thread) and async sweeping (a task) --
    # The savers' sweepers (base.retention): a failed sweep is logged and the
    # next one runs; starting again replaces the running one.

    def _start_thread_sweeper(
        self, sweep: Callable[[], Any], minutes: int | None
    ) -> threading.Thread:
        name = f"{type(self).__name__}-ttl-sweeper"
        return self._thread_sweeper.start(sweep, self._sweep_interval(minutes), name)

    def _stop_thread_sweeper(self, timeout: float | None) -> bool:
        return self._thread_sweeper.stop(timeout)

    async def _start_task_sweeper(
        self, sweep: Callable[[], Awaitable[Any]], minutes: int | None
    ) -> asyncio.Task:
        return await self._task_sweeper.start(sweep, self._sweep_interval(minutes))

    async def _stop_task_sweeper(self, timeout: float | None) -> bool:
        return await self._task_sweeper.stop(timeout)
