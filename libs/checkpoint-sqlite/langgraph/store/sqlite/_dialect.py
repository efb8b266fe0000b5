"""The SQLite dialect of the SQL store: its tables, its SQL, and how it scores vectors.

The tables are the reference package's (`store`, `store_migrations`; with an
index, `store_vectors` and `vector_migrations`), so existing store files keep
working.

Search pre-filters (see `langgraph.store.base.sqlfilters`) are JSON1 tests on
the text `value`. Values written by other programs may be BLOBs or hold NaN
(which Python reads and SQLite's JSON does not), so the document is read as
text and rows that are not valid JSON are kept as they are. Keys must be
printable ASCII without a backslash or slash: SQLite matches a path against
the key as written in the JSON text, escapes included. Nor may a key read as
a number, "null", "true" or "false": `json.dumps({1: "a", "1": "b"})` writes
the key "1" twice, and SQLite finds the first where Python keeps the last.
Equality with a plain string is tested first as a substring of the document
text (`instr`), which is much cheaper than parsing it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langgraph.store.base import IndexConfig, sqlplans
from langgraph.store.base.sqlfilters import Clause, Rendered, Term, bounds

# The name it had before this module existed, for log filters that name it.
logger = logging.getLogger("langgraph.store.sqlite.base")

_DOC = "CAST(value AS TEXT)"

# What json.dumps writes for non-str keys (None, True, False, NaN, infinities;
# numbers are caught by float()): a dict holding both 1 and "1" is written with
# the key twice, Python reads back the last, SQLite finds the first.
_SPELLED_KEYS = frozenset({"null", "true", "false"})

# Characters every JSON writer leaves as they are in a string: a string made of
# them is stored as '"' + text + '"', which a plain substring test can look for
# before any JSON is parsed. (Not '"' or backslash, which are escaped, nor
# '/', '<', '>', '&', "'", which some writers escape too.)
_VERBATIM = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%()*+,-.:;=?@[]^_`{|}~"
)


def _sqlite_key(key: str) -> bool:
    """Printable ASCII without the characters writers may escape ('\\', '/'),
    and not a spelling of a non-str key."""
    if not all(" " <= c <= "~" for c in key) or "\\" in key or "/" in key:
        return False
    if key in _SPELLED_KEYS:
        return False
    try:
        float(key)
    except ValueError:
        return True
    return False


def _sqlite(clause: Clause) -> Rendered | None:
    if not _sqlite_key(clause.key):
        return None
    path = f'$."{clause.key}"'
    extract = f"json_extract({_DOC}, ?)"
    first: list[Term] = []
    if clause.op == "eq":
        if clause.operand is None:  # missing or JSON null
            term: Term = (f"coalesce(json_type({_DOC}, ?), 'null') = 'null'", [path])
        elif isinstance(clause.operand, str):
            if _VERBATIM.issuperset(clause.operand):
                # bytes in a BLOB (UTF-8 JSON, whatever the database's encoding)
                needle = f'"{clause.operand}"'
                first.append(
                    (
                        "CASE typeof(value) WHEN 'blob' THEN instr(value, ?) "
                        "ELSE instr(value, ?) END",
                        [needle.encode(), needle],
                    )
                )
            # strings extract as their text; arrays and objects as JSON text (kept)
            term = (f"{extract} = ?", [path, clause.operand])
        else:
            # numbers and booleans (true/false extract as 1/0); text sorts above numbers
            low, high = bounds(clause.operand)
            term = (f"{extract} BETWEEN ? AND ?", [path, low, high])
    else:
        assert isinstance(clause.operand, float)
        low, high = bounds(clause.operand)
        if clause.op in ("gt", "ge"):
            # text (numeric strings, arrays, objects) sorts above every number: kept
            term = (f"{extract} >= ?", [path, low])
        else:
            # strings may be numeric: kept
            term = (f"({extract} <= ? OR json_type({_DOC}, ?) = 'text')", [path, high, path])
    # NaN/Infinity (which json.dumps writes) or a non-JSON document: keep the row
    sql, params = term
    return first, [(f"CASE WHEN json_valid({_DOC}) THEN {sql} ELSE 1 END", params)]


@dataclasses.dataclass(frozen=True)
class SqliteDialect(sqlplans.Dialect):
    """SQLite's spelling of the store plans (JSON as text, vectors as float32 bytes)."""

    def dump_value(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def timestamp(self, at: datetime) -> str:
        return at.isoformat(sep=" ")

    def pack_vector(self, vector: Sequence[float]) -> bytes:
        """float32 little-endian, the layout sqlite-vec uses."""
        return struct.pack(f"<{len(vector)}f", *vector)

    def unpack_vector(self, stored: Any) -> list[float]:
        if not isinstance(stored, (bytes, bytearray, memoryview)):
            return super().unpack_vector(stored)
        data = bytes(stored)
        return list(struct.unpack(f"<{len(data) // 4}f", data))

    def namespace_under(self, prefix: str) -> sqlplans.Statement:
        # A range SQLite serves from `store_prefix_idx` (LIKE would scan the
        # table): labels hold no ".", and "/" is the byte after "." (exact under
        # the BINARY collation of the column).
        return "prefix = ? OR (prefix >= ? AND prefix < ?)", [prefix, prefix + ".", prefix + "/"]

    def filter_terms(self, clause: Clause) -> Rendered | None:
        return _sqlite(clause)


SQLITE = SqliteDialect()

# With sqlite-vec loaded: cosine similarity computed by SQLite.
SQLITE_VEC = dataclasses.replace(SQLITE, similarity_sql="1.0 - vec_distance_cosine(embedding, ?)")


def sqlite_vec_path() -> str | None:
    """The sqlite-vec extension's file, if the package is installed."""
    try:
        import sqlite_vec  # type: ignore[import-untyped]
    except ImportError:
        return None
    return sqlite_vec.loadable_path()


MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store (
    -- 'prefix' represents the doc's 'namespace'
    prefix text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key)
)""",
    "CREATE INDEX IF NOT EXISTS store_prefix_idx ON store (prefix)",
    "ALTER TABLE store ADD COLUMN expires_at TIMESTAMP",
    "ALTER TABLE store ADD COLUMN ttl_minutes REAL",
    "CREATE INDEX IF NOT EXISTS idx_store_expires_at ON store (expires_at) WHERE expires_at IS NOT NULL",
]

VECTOR_MIGRATIONS = [
    """CREATE TABLE IF NOT EXISTS store_vectors (
    prefix text NOT NULL,
    key text NOT NULL,
    field_name text NOT NULL,
    embedding BLOB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prefix, key, field_name),
    FOREIGN KEY (prefix, key) REFERENCES store(prefix, key) ON DELETE CASCADE
)""",
]


class SqliteIndexConfig(IndexConfig, total=False):
    """Semantic search settings of a SQLite store."""

    distance_type: str
    """Only "cosine" is supported."""


class BaseSqliteStore(sqlplans.PlannedStore):
    """What the sync and async SQLite stores share: dialect and migrations."""

    dialect = SQLITE
    migrations = MIGRATIONS
    vector_migrations = VECTOR_MIGRATIONS

    def _vec_extension(self) -> str | None:
        """The extension to load at setup: only stores with an index need it."""
        if self.index_config is None:
            return None
        path = sqlite_vec_path()
        if path is None:
            logger.warning(
                "sqlite-vec is not installed: vector similarity is computed in Python "
                "(pip install sqlite-vec to compute it in SQLite)"
            )
        return path

    def _vec_loaded(self, error: Exception | None) -> None:
        if error is None:
            self.dialect = SQLITE_VEC
        else:
            logger.warning(
                "could not load sqlite-vec (%s): vector similarity is computed in Python", error
            )
