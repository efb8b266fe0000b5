"""The PostgreSQL dialect of the SQL store: the store plans' SQL for `jsonb`
documents, `real[]` or pgvector embeddings, and data-modifying CTEs.

Search pre-filters (see `langgraph.store.base.sqlfilters`) are jsonb
comparisons, which never raise, with the key bound as text. An item and its
vectors are written in one statement, so a single put needs no transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langgraph.store.base import sqlplans
from langgraph.store.base.sqlfilters import Clause, Rendered, Term, bounds
from psycopg.types.json import Jsonb

_FIELD = "value -> ?::text"


def _postgres(clause: Clause) -> Rendered:
    return [], [_postgres_term(clause)]


def _postgres_term(clause: Clause) -> Term:
    key = clause.key
    if clause.op == "eq":
        if clause.operand is None:  # missing or JSON null
            return f"coalesce(jsonb_typeof({_FIELD}), 'null') = 'null'", [key]
        if isinstance(clause.operand, str):
            return f"{_FIELD} = ?::jsonb", [key, json.dumps(clause.operand)]
        # jsonb orders every number below every boolean: add the one Python equates
        low, high = bounds(clause.operand)
        sql = f"{_FIELD} BETWEEN ?::jsonb AND ?::jsonb"
        params: list[Any] = [key, json.dumps(low), json.dumps(high)]
        if clause.operand in (0.0, 1.0):
            sql = f"({sql} OR {_FIELD} = ?::jsonb)"
            params += [key, json.dumps(clause.operand == 1.0)]
        return sql, params
    assert isinstance(clause.operand, float)
    low, high = bounds(clause.operand)
    if clause.op in ("gt", "ge"):
        # booleans, arrays and objects sort above numbers (kept); strings below
        return f"({_FIELD} >= ?::jsonb OR jsonb_typeof({_FIELD}) = 'string')", [
            key,
            json.dumps(low),
            key,
        ]
    # strings and null sort below numbers (kept); booleans above
    return f"({_FIELD} <= ?::jsonb OR jsonb_typeof({_FIELD}) = 'boolean')", [
        key,
        json.dumps(high),
        key,
    ]


def like_prefix(prefix: str) -> str:
    """LIKE pattern for every namespace under `prefix` (wildcards escaped)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + ".%"


@dataclasses.dataclass(frozen=True)
class PostgresDialect(sqlplans.Dialect):
    """PostgreSQL's spelling of the store plans."""

    mark: str = "%s"
    # concurrent setup() calls wait for each other inside their transaction
    migration_lock: str | None = "SELECT pg_advisory_xact_lock(7105570)"

    writes_vectors_with_item = True

    def dump_value(self, value: Any) -> Jsonb:
        return Jsonb(value)

    def timestamp(self, at: datetime) -> datetime:
        return at

    def pack_vector(self, vector: Sequence[float]) -> list[float]:
        return [float(x) for x in vector]

    def namespace_under(self, prefix: str) -> sqlplans.Statement:
        # LIKE: the index uses text_pattern_ops (made for LIKE), and the
        # column's collation may not be byte order.
        return "prefix = ? OR prefix LIKE ? ESCAPE '\\'", [prefix, like_prefix(prefix)]

    def filter_terms(self, clause: Clause) -> Rendered:
        return _postgres(clause)

    def delete_with_vectors(self, prefix: str, key: str) -> sqlplans.Statement:
        return (
            "WITH vectors AS (DELETE FROM store_vectors WHERE prefix = ? AND key = ?) "
            "DELETE FROM store WHERE prefix = ? AND key = ?",
            [prefix, key, prefix, key],
        )

    def upsert_with_vectors(
        self,
        upsert: sqlplans.Statement,
        prefix: str,
        key: str,
        vectors: Sequence[tuple[str, Sequence[float]]],
        stamp: Any,
    ) -> sqlplans.Statement:
        # The item, its stale vectors out and its new ones in, in one round
        # trip and one implicit transaction (data-modifying CTEs).
        upsert_sql, upsert_params = upsert
        return (
            f"WITH item AS ({upsert_sql}), stale AS (DELETE FROM store_vectors WHERE prefix = ? "
            "AND key = ? AND NOT (field_name = ANY(?))) "
            "INSERT INTO store_vectors (prefix, key, field_name, embedding, created_at, updated_at) "
            "SELECT ?, ?, field, ARRAY(SELECT x::real FROM jsonb_array_elements_text(embedding) "
            "WITH ORDINALITY AS e(x, i) ORDER BY i), ?, ? "
            "FROM jsonb_to_recordset(?) AS v(field text, embedding jsonb) "
            "ON CONFLICT (prefix, key, field_name) DO UPDATE SET "
            "embedding = excluded.embedding, updated_at = excluded.updated_at",
            [
                *upsert_params,
                prefix,
                key,
                [field for field, _ in vectors],
                prefix,
                key,
                stamp,
                stamp,
                Jsonb([{"field": f, "embedding": self.pack_vector(v)} for f, v in vectors]),
            ],
        )


POSTGRES = PostgresDialect()
