"""`SqliteCache`: LangGraph's node cache in a SQLite file, shared by processes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import retry_busy

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


def _ns(namespace: Namespace) -> str:
    return ",".join(namespace)


class SqliteCache(BaseCache[ValueT]):
    """Cache entries in the `cache` table of a SQLite file (expiry in Unix seconds)."""

    def __init__(self, *, path: str, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self._conn = sqlite3.connect(
            path, check_same_thread=False, timeout=30, isolation_level=None
        )
        self._lock = threading.Lock()
        with self._lock:
            # A fresh file refuses the WAL switch at once while another
            # process holds its lock; busy_timeout does not cover that.
            retry_busy(lambda: self._conn.execute("PRAGMA journal_mode = WAL").fetchall())
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(CREATE_TABLE)

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        if not keys:
            return {}
        now = time.time()
        wanted = {(_ns(ns), key): (ns, key) for ns, key in keys}
        # The keys travel as one JSON parameter: a step with many cached
        # tasks never meets SQLite's limit on bound variables.
        with self._lock:
            rows = self._conn.execute(
                "SELECT ns, key, expiry, encoding, val FROM cache WHERE (ns, key) IN "
                "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                "FROM json_each(?))",
                (json.dumps(list(wanted)),),
            ).fetchall()
        found: dict[FullKey, ValueT] = {}
        expired = []
        for ns, key, expiry, encoding, value in rows:
            if expiry is not None and expiry <= now:
                expired.append((ns, key))
                continue
            found[wanted[(ns, key)]] = self.serde.loads_typed((encoding, value))
        if expired:
            with self._lock:
                # Only if still expired: another process may have set it since.
                self._conn.executemany(
                    "DELETE FROM cache WHERE ns = ? AND key = ? AND expiry <= ?",
                    [(ns, key, now) for ns, key in expired],
                )
        return found

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    def set(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        now = time.time()
        rows = []
        for (namespace, key), (value, ttl) in mapping.items():
            encoding, blob = self.serde.dumps_typed(value)
            rows.append(
                (_ns(namespace), key, now + ttl if ttl is not None else None, encoding, blob)
            )
        with self._lock:
            retry_busy(lambda: self._conn.execute("BEGIN IMMEDIATE"))
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO cache (ns, key, expiry, encoding, val) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def aset(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(mapping)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        with self._lock:
            if namespaces is None:
                self._conn.execute("DELETE FROM cache")
            else:
                self._conn.executemany(
                    "DELETE FROM cache WHERE ns = ?", [(_ns(ns),) for ns in namespaces]
                )

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)
