"""PostgresStore semantic search on both layouts: pgvector (`vector`/`halfvec`
columns with the reference's HNSW/IVFFlat indexes) on the pgvector server, and
`real[]` with the similarity in plain SQL on the Debian server, which has no
pgvector. Databases the reference wrote with pgvector read back with its scores."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import psycopg
import pytest
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore

from testsupport.reference_store import reference_embed, replay_searches

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = json.loads((FIXTURES / "upstream-store-vectors.expected.json").read_text())


embed = reference_embed

INDEX = {"dims": 4, "embed": embed, "fields": ["text", "meta.title"]}
DOCS = {
    ("docs", "a"): {
        "d1": {"text": "red apples are sweet", "meta": {"title": "Fruit basket"}},
        "d2": {"text": "green cars drive fast", "meta": {"title": "Cars"}},
    },
    ("docs", "b"): {
        "e1": {"text": "apple pie recipe", "meta": {"title": "Baking"}},
        "e2": {"text": "engine oil change"},
    },
}


def expected_scores(query: str, distance: str) -> dict[str, float]:
    """Each item's best score over its fields, computed here."""
    [q] = embed([query])

    def score(v: list[float]) -> float:
        dot = sum(a * b for a, b in zip(q, v))
        if distance == "cosine":
            return dot / (math.sqrt(sum(a * a for a in q)) * math.sqrt(sum(b * b for b in v)))
        if distance == "l2":
            return -math.sqrt(sum((a - b) ** 2 for a, b in zip(q, v)))
        return dot

    scores = {}
    for docs in DOCS.values():
        for key, doc in docs.items():
            texts = [doc["text"]] + ([doc["meta"]["title"]] if "meta" in doc else [])
            scores[key] = max(score(v) for v in embed(texts))
    return scores


def fill(store) -> None:
    for namespace, docs in DOCS.items():
        for key, doc in docs.items():
            store.put(namespace, key, doc)


def assert_ranking(store, query: str, distance: str = "cosine") -> None:
    want = expected_scores(query, distance)
    got = store.search(("docs",), query=query)
    assert [r.key for r in got] == sorted(want, key=want.get, reverse=True)
    for result in got:
        assert result.score == pytest.approx(want[result.key], abs=1e-3)


def catalog(uri: str) -> dict:
    with psycopg.connect(uri) as conn:
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'store_vectors'::regclass AND attname = 'embedding'"
        ).fetchone()[0]
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'store_vectors' "
                "AND indexname = 'store_vectors_embedding_idx'"
            )
        ]
        migrations = [r[0] for r in conn.execute("SELECT v FROM vector_migrations ORDER BY v")]
    return {"column": column, "indexes": indexes, "migrations": migrations}


@pytest.mark.parametrize(
    "ann, distance, column, index",
    [
        (None, "cosine", "vector(4)", "USING hnsw (embedding vector_cosine_ops)"),
        (
            {"kind": "hnsw", "m": 8, "ef_construction": 32},
            "cosine",
            "vector(4)",
            "USING hnsw (embedding vector_cosine_ops) WITH (m='8', ef_construction='32')",
        ),
        (
            {"kind": "ivfflat", "nlist": 10},
            "cosine",
            "vector(4)",
            "USING ivfflat (embedding vector_cosine_ops) WITH (lists='10')",
        ),
        (
            {"kind": "hnsw", "vector_type": "halfvec"},
            "cosine",
            "halfvec(4)",
            "USING hnsw (embedding halfvec_cosine_ops)",
        ),
        (None, "l2", "vector(4)", "USING hnsw (embedding vector_l2_ops)"),
        (
            {"kind": "hnsw", "vector_type": "halfvec"},
            "inner_product",
            "halfvec(4)",
            "USING hnsw (embedding halfvec_ip_ops)",
        ),
        ({"kind": "flat"}, "cosine", "vector(4)", None),
    ],
)
def test_pgvector_layout_and_scores(pgvector_server, ann, distance, column, index):
    uri = pgvector_server.new_database("pgv")
    config = {**INDEX, "distance_type": distance}
    if ann is not None:
        config["ann_index_config"] = ann
    with PostgresStore.from_conn_string(uri, index=config) as store:
        store.setup()
        fill(store)
        for query in ("apple", "fast car", "sweet fruit pie"):
            assert_ranking(store, query, distance)
    found = catalog(uri)
    assert found["column"] == column
    if index is None:
        assert found["indexes"] == [] and found["migrations"] == [0, 1]
    else:
        assert index in found["indexes"][0] and found["migrations"] == [0, 1, 2]


def test_flat_store_gets_its_index_when_the_config_asks_later(pgvector_server):
    uri = pgvector_server.new_database("pgvflat")
    flat = {**INDEX, "ann_index_config": {"kind": "flat"}}
    with PostgresStore.from_conn_string(uri, index=flat) as store:
        fill(store)
    with PostgresStore.from_conn_string(uri, index=INDEX) as store:
        store.setup()
        assert_ranking(store, "apple")
    assert catalog(uri)["migrations"] == [0, 1, 2]
    assert "hnsw" in catalog(uri)["indexes"][0]


def test_item_delete_and_reindex_drop_vectors(pgvector_server):
    uri = pgvector_server.new_database("pgvdel")
    with PostgresStore.from_conn_string(uri, index=INDEX) as store:
        fill(store)
        store.delete(("docs", "a"), "d1")
        store.put(("docs", "b"), "e1", {"text": "apple pie recipe"}, index=False)
        assert {r.key: r.score for r in store.search(("docs",), query="apple")}["e1"] is None
    with psycopg.connect(uri) as conn:
        keys = {r[0] for r in conn.execute("SELECT key FROM store_vectors")}
    assert keys == {"d2", "e2"}


async def test_async_store_on_pgvector(pgvector_server):
    uri = pgvector_server.new_database("apgv")
    async with AsyncPostgresStore.from_conn_string(uri, index=INDEX) as store:
        await store.setup()
        for namespace, docs in DOCS.items():
            for key, doc in docs.items():
                await store.aput(namespace, key, doc)
        want = expected_scores("fast car", "cosine")
        got = await store.asearch(("docs",), query="fast car", limit=2)
        assert [r.key for r in got] == sorted(want, key=want.get, reverse=True)[:2]
    assert catalog(uri)["column"] == "vector(4)"


def test_reference_pgvector_database_reads_back_with_its_scores(pgvector_server):
    uri = pgvector_server.restore(FIXTURES / "upstream-store-vectors.sql")
    with PostgresStore.from_conn_string(uri, index=INDEX) as store:
        store.setup()
        replay_searches(store, REFERENCE)
        # and it keeps writing in the same layout
        store.put(("docs", "c"), "n1", {"text": "apple"})
        assert store.search(("docs", "c"), query="apple")[0].score == pytest.approx(1.0)
    found = catalog(uri)
    assert found["column"] == "vector(4)" and found["migrations"] == [0, 1, 2]


def test_plain_postgres_uses_real_arrays(postgres_server):
    uri = postgres_server.new_database("noext")
    for distance in ("cosine", "l2", "inner_product"):
        config = {**INDEX, "distance_type": distance}
        with PostgresStore.from_conn_string(uri, index=config) as store:
            store.setup()
            fill(store)
            assert_ranking(store, "apple", distance)
    found = catalog(uri)
    assert found["column"] == "real[]" and found["migrations"] == [0, 1]


def test_database_made_without_pgvector_keeps_its_layout_on_a_pgvector_server(
    pgvector_server, caplog
):
    uri = pgvector_server.new_database("oldlayout")
    # The layout this family wrote before it used pgvector: real[] in migration 0.
    with psycopg.connect(uri, autocommit=True) as conn:
        PostgresStore(conn).setup()
        conn.execute(
            "CREATE TABLE vector_migrations (v INTEGER PRIMARY KEY); "
            "INSERT INTO vector_migrations VALUES (0); "
            "CREATE TABLE store_vectors (prefix text NOT NULL, key text NOT NULL, "
            "field_name text NOT NULL, embedding real[], created_at timestamptz, "
            "updated_at timestamptz, PRIMARY KEY (prefix, key, field_name))"
        )
    with caplog.at_level(logging.WARNING), PostgresStore.from_conn_string(uri, index=INDEX) as s:
        s.setup()
        fill(s)
        assert_ranking(s, "fast car")
    assert "created without pgvector" in caplog.text
    found = catalog(uri)
    assert found["column"] == "real[]" and found["indexes"] == [] and found["migrations"] == [0, 1]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"ann_index_config": {"kind": "annoy"}}, "kind 'annoy'"),
        ({"ann_index_config": {"vector_type": "bit"}}, "vector_type 'bit'"),
        ({"ann_index_config": {"kind": "hnsw", "nlist": 3}}, "'nlist' does not apply"),
        ({"ann_index_config": {"kind": "hnsw", "m": "8; DROP TABLE store"}}, "positive integer"),
        ({"distance_type": "manhattan"}, "distance_type 'manhattan'"),
        ({"dims": "4"}, "dims must be a positive integer"),
    ],
)
def test_bad_index_configs_fail_when_the_store_is_made(config, message):
    with pytest.raises(ValueError, match=message):
        PostgresStore(None, index={**INDEX, **config})  # type: ignore[arg-type]


def test_reference_read_our_pgvector_database_as_we_do(pgvector_server):
    """`ours-store-vectors.sql` was written by PostgresStore; the json holds
    what the reference's PostgresStore found in it
    (testsupport/make_store_fixtures.py)."""
    seen_by_reference = json.loads(
        (FIXTURES / "ours-store-vectors.read-by-reference.json").read_text()
    )
    uri = pgvector_server.restore(FIXTURES / "ours-store-vectors.sql")
    with PostgresStore.from_conn_string(uri, index=INDEX) as store:
        replay_searches(store, seen_by_reference)
