"""The shared store plans on a dialect that implements only the required hooks.

A new backend starts with these four methods: no filter pre-filter (Python
decides), scores computed in Python, and an item and its vectors written in
separate statements. The plans run here on a real SQLite file through
`drive`, with the store tables created by hand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from langgraph.checkpoint.base.plan import ExecuteMany, Query, Step, drive
from langgraph.store.base import GetOp, PutOp, SearchOp, compile_filter, sqlplans

TABLES = [
    "CREATE TABLE store (prefix text NOT NULL, key text NOT NULL, value text NOT NULL, "
    "created_at TIMESTAMP, updated_at TIMESTAMP, expires_at TIMESTAMP, ttl_minutes REAL, "
    "PRIMARY KEY (prefix, key))",
    "CREATE TABLE store_vectors (prefix text NOT NULL, key text NOT NULL, "
    "field_name text NOT NULL, embedding text, created_at TIMESTAMP, updated_at TIMESTAMP, "
    "PRIMARY KEY (prefix, key, field_name))",
]


class MinimalDialect(sqlplans.Dialect):
    """JSON text everywhere, a portable LIKE for namespaces."""

    def dump_value(self, value: Any) -> str:
        return json.dumps(value)

    def timestamp(self, at: datetime) -> str:
        return at.isoformat()

    def pack_vector(self, vector: Sequence[float]) -> str:
        return json.dumps([float(x) for x in vector])

    def unpack_vector(self, stored: Any) -> list[float]:
        return [float(x) for x in json.loads(stored)]

    def namespace_under(self, prefix: str) -> sqlplans.Statement:
        return "prefix = ? OR substr(prefix, 1, ?) = ?", [prefix, len(prefix) + 1, prefix + "."]


class PlanRunner:
    """Runs batch plans on one SQLite connection, keeping the SQL of the last batch."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.statements: list[str] = []

    def execute(self, step: Step) -> Any:
        self.statements.append(step.sql)
        if isinstance(step, ExecuteMany):
            self.conn.executemany(step.sql, step.rows)
            return None
        cursor = self.conn.execute(step.sql, step.params)
        return cursor.fetchall() if isinstance(step, Query) else None

    def batch(
        self,
        ops: list[Any],
        *,
        vectors_enabled: bool = False,
        embedded: dict[int, list[tuple[str, list[float]]]] | None = None,
        query_vectors: dict[str, list[float]] | None = None,
    ) -> list[Any]:
        self.statements.clear()
        plan = sqlplans.batch_plan(
            MinimalDialect(),
            ops,
            vectors_enabled=vectors_enabled,
            embedded=embedded or {},
            query_vectors=query_vectors or {},
        )
        return drive(plan, self.execute)


@pytest.fixture
def runner(tmp_path):
    conn = sqlite3.connect(tmp_path / "minimal.db", isolation_level=None)
    for statement in TABLES:
        conn.execute(statement)
    yield PlanRunner(conn)
    conn.close()


def test_the_required_hooks_are_abstract():
    with pytest.raises(TypeError, match="abstract"):
        sqlplans.Dialect()  # type: ignore[abstract]


def test_search_without_a_prefilter_is_decided_in_python(runner):
    values = {f"k{i}": {"n": i, "kind": "even" if i % 2 == 0 else "odd"} for i in range(10)}
    runner.batch([PutOp(("docs",), key, value) for key, value in values.items()])
    runner.batch(
        [PutOp(("docsx",), "other", {"n": 4, "kind": "even"})]
    )  # a label prefix, not under
    assert MinimalDialect().prefilter({"kind": "even"}) == ("", [])

    filter = {"kind": "even", "n": {"$gte": 4}}
    [found] = runner.batch([SearchOp(("docs",), filter=filter, limit=10)])
    matches = compile_filter(filter)
    assert {item.key for item in found} == {k for k, v in values.items() if matches(v)}
    assert all(item.namespace == ("docs",) for item in found)
    assert not any("json" in sql for sql in runner.statements)  # no SQL of another database


def test_vectors_are_written_separately_and_scored_in_python(runner):
    dialect = MinimalDialect()
    assert not dialect.writes_vectors_with_item
    with pytest.raises(NotImplementedError):
        dialect.delete_with_vectors("docs", "k")
    vectors = {"near": [1.0, 0.0], "far": [0.0, 1.0]}
    ops = [PutOp(("docs",), key, {"text": key}) for key in vectors]
    embedded = {i: [("text", vectors[op.key])] for i, op in enumerate(ops)}
    runner.batch(ops, vectors_enabled=True, embedded=embedded)
    assert runner.statements.count(
        "INSERT INTO store_vectors (prefix, key, field_name, embedding, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (prefix, key, field_name) DO UPDATE SET "
        "embedding = excluded.embedding, updated_at = excluded.updated_at"
    ) == len(vectors)

    [ranked] = runner.batch(
        [SearchOp(("docs",), query="q", limit=10)],
        vectors_enabled=True,
        query_vectors={"q": [0.9, 0.1]},
    )
    assert [item.key for item in ranked] == ["near", "far"]
    assert ranked[0].score == pytest.approx(0.9 / (0.9**2 + 0.1**2) ** 0.5)

    runner.batch([PutOp(("docs",), "near", None)], vectors_enabled=True)
    assert runner.statements == [
        "DELETE FROM store WHERE prefix = ? AND key = ?",
        "DELETE FROM store_vectors WHERE prefix = ? AND key = ?",
    ]
    assert runner.batch([GetOp(("docs",), "near")]) == [None]
    assert runner.conn.execute("SELECT count(*) FROM store_vectors").fetchone() == (1,)
