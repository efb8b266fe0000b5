"""`SqliteCache`: LangGraph's node cache in a SQLite file, shared by processes.

Each method is a plan (`langgraph.checkpoint.base.plan`) run by the SQLite
runner, like the saver's and the store's, so the cache shares their locking,
busy handling and errors.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.base.plan import Execute, ExecuteMany, Plan, Query
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite._connection import BUSY_TIMEOUT_MS
from langgraph.checkpoint.sqlite._runner import Runner

__all__ = ["BaseCache", "SerializerProtocol", "SqliteCache"]

# The reference package's table, so an existing cache file keeps working.
CREATE_TABLE = """CREATE TABLE IF NOT EXISTS cache (
    ns TEXT,
    key TEXT,
    expiry REAL,
    encoding TEXT NOT NULL,
    val BLOB NOT NULL,
    PRIMARY KEY (ns, key)
)"""

Row = tuple[str, str, float | None, str, bytes]


def _ns(namespace: Namespace) -> str:
    return ",".join(namespace)


def _setup_plan() -> Plan[None]:
    yield Execute(CREATE_TABLE)


def _get_plan(keys: Sequence[tuple[str, str]], now: float) -> Plan[list[Row]]:
    """The live entries among `keys`; the expired ones found are deleted."""
    # The keys travel as one JSON parameter: a step with many cached tasks
    # never meets SQLite's limit on bound variables.
    rows: list[Row] = yield Query(
        "SELECT ns, key, expiry, encoding, val FROM cache WHERE (ns, key) IN "
        "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
        (json.dumps(list(keys)),),
    )
    live = [row for row in rows if row[2] is None or row[2] > now]
    if len(live) < len(rows):
        # Only if still expired: another process may have set it since.
        yield ExecuteMany(
            "DELETE FROM cache WHERE ns = ? AND key = ? AND expiry <= ?",
            [
                (ns, key, now)
                for ns, key, expiry, _, _ in rows
                if expiry is not None and expiry <= now
            ],
        )
    return live


def _set_plan(rows: Sequence[Row]) -> Plan[None]:
    yield ExecuteMany(
        "INSERT OR REPLACE INTO cache (ns, key, expiry, encoding, val) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _clear_plan(namespaces: Sequence[Namespace] | None) -> Plan[None]:
    if namespaces is None:
        yield Execute("DELETE FROM cache")
    else:
        yield ExecuteMany("DELETE FROM cache WHERE ns = ?", [(_ns(ns),) for ns in namespaces])


class SqliteCache(BaseCache[ValueT]):
    """Cache entries in the `cache` table of a SQLite file (expiry in Unix seconds)."""

    def __init__(self, *, path: str, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        conn = sqlite3.connect(
            path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        self._runner = Runner(
            conn,
            owner=self,
            tables="the cache table",
            remedy="make a new SqliteCache on the file to create it",
            synchronous="NORMAL",
            setup_plans=lambda: (_setup_plan(),),
        )
        self._runner.setup()

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._runner.conn

    @_conn.setter
    def _conn(self, conn: sqlite3.Connection) -> None:
        self._runner.conn = conn

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        if not keys:
            return {}
        wanted = {(_ns(ns), key): (ns, key) for ns, key in keys}
        rows = self._runner.run(_get_plan(list(wanted), time.time()))
        return {
            wanted[(ns, key)]: self.serde.loads_typed((encoding, value))
            for ns, key, _, encoding, value in rows
        }

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    def set(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        now = time.time()
        rows: list[Row] = []
        for (namespace, key), (value, ttl) in mapping.items():
            encoding, blob = self.serde.dumps_typed(value)
            expiry = now + ttl if ttl is not None else None
            rows.append((_ns(namespace), key, expiry, encoding, blob))
        self._runner.run(_set_plan(rows), write=True)

    async def aset(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(mapping)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self._runner.run(_clear_plan(namespaces))

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)
