"""The test servers themselves: the pgvector one really does vector search, and
the Debian one really lacks pgvector (so the store's fallback tests there mean
something)."""

from __future__ import annotations

import math

import psycopg
import pytest

ROWS = {
    "x": [1.0, 0.0, 0.0],
    "xy": [1.0, 1.0, 0.0],
    "y": [0.0, 1.0, 0.0],
    "z": [0.0, 0.0, 1.0],
    "minus_x": [-1.0, 0.1, 0.0],
}
QUERY = [0.9, 0.2, 0.1]


def literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(x) for x in vector) + "]"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.postgres
def test_pgvector_server_does_cosine_search(pgvector_server, pgvector_uri):
    with psycopg.connect(pgvector_uri, autocommit=True) as conn:
        assert (
            conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            == 0
        ), "the fixture's database must come without the extension"
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE TABLE items (id text PRIMARY KEY, embedding vector(3))")
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO items VALUES (%s, %s::vector)",
                [(key, literal(vector)) for key, vector in ROWS.items()],
            )

        expected = sorted(ROWS, key=lambda key: -cosine(ROWS[key], QUERY))
        for use_index in (False, True):
            # An exact sequential scan first, then the (approximate) HNSW index.
            conn.execute(f"SET enable_indexscan = {'on' if use_index else 'off'}")
            conn.execute(f"SET enable_seqscan = {'off' if use_index else 'on'}")
            query = (
                "SELECT id, 1 - (embedding <=> %s::vector) FROM items "
                "ORDER BY embedding <=> %s::vector LIMIT 10"
            )
            plan = "\n".join(
                r[0] for r in conn.execute("EXPLAIN " + query, (literal(QUERY),) * 2).fetchall()
            )
            assert ("items_embedding_idx" in plan) == use_index, plan
            found = conn.execute(query, (literal(QUERY),) * 2).fetchall()
            assert [key for key, _ in found] == expected
            for key, similarity in found:
                assert similarity == pytest.approx(cosine(ROWS[key], QUERY), abs=1e-6)

        installed = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert installed.fetchone()[0] == pgvector_server.available_extension_version("vector")


@pytest.mark.postgres
def test_debian_server_has_no_pgvector(postgres_uri):
    with psycopg.connect(postgres_uri) as conn:
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()[0]
    assert available == 0, (
        "the plain test server offers pgvector, so the store's no-pgvector tests cannot run on it"
    )
