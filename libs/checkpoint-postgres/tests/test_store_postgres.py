"""PostgresStore specifics not covered by the cross-store suite: pools,
pipeline mode and the background TTL sweeper on the throwaway server."""

from __future__ import annotations

import time

import psycopg
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore

TTL = {"default_ttl": None, "refresh_on_read": False}


def rows(uri: str) -> int:
    with psycopg.connect(uri) as conn:
        return conn.execute("SELECT count(*) FROM store").fetchone()[0]


def test_pool_and_pipeline_modes_share_one_database(postgres_server):
    uri = postgres_server.new_database("storemodes")
    with PostgresStore.from_conn_string(uri, pool_config={"min_size": 1, "max_size": 3}) as s:
        s.setup()
        s.put(("p",), "pooled", {"v": 1})
    with PostgresStore.from_conn_string(uri, pipeline=True) as s:
        s.put(("p",), "piped", {"v": 2})
        assert s.get(("p",), "pooled").value == {"v": 1}
        assert [i.key for i in s.search(("p",), filter={"v": {"$gt": 1}})] == ["piped"]
    assert rows(uri) == 2


async def test_async_pool(postgres_server):
    uri = postgres_server.new_database("astorepool")
    async with AsyncPostgresStore.from_conn_string(uri, pool_config={"max_size": 2}) as s:
        await s.setup()
        await s.abatch([])
        await s.aput(("p",), "k", {"v": 1})
        assert (await s.aget(("p",), "k")).value == {"v": 1}


def test_thread_sweeper_deletes_expired_rows(postgres_server):
    uri = postgres_server.new_database("storesweep")
    with PostgresStore.from_conn_string(uri, ttl=TTL) as store:
        store.setup()
        store.put(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        store.put(("s",), "kept", {"v": 2})
        store.start_ttl_sweeper(sweep_interval_minutes=0.3 / 60)
        deadline = time.monotonic() + 5
        while rows(uri) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.stop_ttl_sweeper(timeout=5)
    assert rows(uri) == 1
