"""PostgresStore specifics not covered by the cross-store suite: pools,
pipeline mode and the background TTL sweeper on the throwaway server."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from langgraph.store.base import PutOp
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


# -- the connection that ran the migrations keeps working ------------------------------

MODES = {
    "plain": {},
    "pool": {"pool_config": {"min_size": 1, "max_size": 1}},
    # setup()'s plans and the writes after it on different pooled connections
    "pool-of-many": {"pool_config": {"min_size": 4, "max_size": 10}},
    "pipeline": {"pipeline": True},
}


def _prepared_statements(conn: psycopg.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements", prepare=False)
        return cur.fetchone()[0]


@pytest.mark.parametrize("mode", MODES)
async def test_async_store_writes_after_setup_on_a_fresh_database(postgres_server, mode):
    # setup() runs ALTER TABLE on the connection the writes then use (one
    # connection, or a pool of one); psycopg drops its prepared statements
    # after an ALTER, and the writes after it must not use dropped ones.
    uri = postgres_server.new_database("astorefresh")
    async with AsyncPostgresStore.from_conn_string(uri, **MODES[mode]) as s:
        await s.setup()
        for i in range(3):
            await s.aput(("seq",), f"k{i}", {"v": i})
        await asyncio.gather(*(s.aput(("many",), f"k{i}", {"v": i}) for i in range(200)))
        found = await s.asearch(("many",), limit=300)
        assert sorted(item.value["v"] for item in found) == list(range(200))
        assert [(await s.aget(("seq",), f"k{i}")).value for i in range(3)] == [
            {"v": 0},
            {"v": 1},
            {"v": 2},
        ]
    assert rows(uri) == 203


@pytest.mark.parametrize("mode", MODES)
def test_sync_store_writes_after_setup_on_a_fresh_database(postgres_server, mode):
    uri = postgres_server.new_database("storefresh")
    with PostgresStore.from_conn_string(uri, **MODES[mode]) as s:
        s.setup()
        for i in range(3):
            s.put(("seq",), f"k{i}", {"v": i})
        s.batch([PutOp(("many",), f"k{i}", {"v": i}) for i in range(50)])
        assert [s.get(("seq",), f"k{i}").value["v"] for i in range(3)] == [0, 1, 2]
    assert rows(uri) == 53


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_batch_leaves_the_connection_usable(postgres_server, mode):
    uri = postgres_server.new_database("astorefail")
    async with AsyncPostgresStore.from_conn_string(uri, **MODES[mode]) as s:
        await s.setup()
        await s.aput(("p",), "before", {"v": 1})
        # The server refuses NaN (jsonb has none) in the middle of a batch: the
        # batch is rolled back as a whole.
        with pytest.raises(psycopg.DataError, match="NaN"):
            await s.abatch(
                [PutOp(("p",), "a", {"v": 2}), PutOp(("p",), "nan", {"v": float("nan")})]
            )
        # A single put is one statement, outside a transaction: in pipeline mode
        # too its error is this call's, not the next one's.
        with pytest.raises(psycopg.DataError, match="NaN"):
            await s.aput(("p",), "nan", {"v": float("nan")})
        for key in ("after", "before", "a"):
            await s.aput(("p",), key, {"v": key})
        assert sorted(item.key for item in await s.asearch(("p",))) == ["a", "after", "before"]
    assert rows(uri) == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_put_raises_in_its_own_call(postgres_server, mode):
    uri = postgres_server.new_database("storefail")
    with PostgresStore.from_conn_string(uri, **MODES[mode]) as s:
        s.setup()
        with pytest.raises(psycopg.DataError, match="NaN"):
            s.put(("p",), "nan", {"v": float("nan")})
        s.put(("p",), "after", {"v": 1})
        with pytest.raises(psycopg.DataError, match="NaN"):
            s.batch([PutOp(("p",), "a", {"v": 2}), PutOp(("p",), "nan", {"v": float("nan")})])
        assert [item.key for item in s.search(("p",))] == ["after"]
    assert rows(uri) == 1


# -- prepare_threshold -------------------------------------------------------------------


async def test_prepare_threshold_none_prepares_nothing(postgres_server):
    uri = postgres_server.new_database("noprepare")
    async with AsyncPostgresStore.from_conn_string(uri, prepare_threshold=None) as s:
        await s.setup()
        for i in range(3):
            await s.aput(("p",), f"k{i}", {"v": i})
            assert (await s.aget(("p",), f"k{i}")).value == {"v": i}
        assert s.conn.prepare_threshold is None
        async with s.conn.cursor() as cur:
            await cur.execute("SELECT count(*) FROM pg_prepared_statements")
            assert (await cur.fetchone())[0] == 0
    with PostgresStore.from_conn_string(
        uri, prepare_threshold=None, pool_config={"max_size": 1}
    ) as s:
        s.put(("p",), "pooled", {"v": 9})
        assert s.get(("p",), "pooled").value == {"v": 9}
        with s.conn.connection() as conn:
            assert conn.prepare_threshold is None and _prepared_statements(conn) == 0
    with PostgresStore.from_conn_string(uri, prepare_threshold=None, pipeline=True) as s:
        s.put(("p",), "piped", {"v": 10})
        assert s.get(("p",), "piped").value == {"v": 10}
    assert rows(uri) == 5


def test_prepare_threshold_default_and_pool_kwargs(postgres_server):
    uri = postgres_server.new_database("prepare")
    with PostgresStore.from_conn_string(uri) as s:
        s.setup()
        s.put(("p",), "k", {"v": 1})
        s.get(("p",), "k")
        assert s.conn.prepare_threshold == 0 and _prepared_statements(s.conn) > 0
    # a pool's own kwargs win over the keyword
    with PostgresStore.from_conn_string(
        uri, prepare_threshold=None, pool_config={"max_size": 1, "kwargs": {"prepare_threshold": 3}}
    ) as s:
        with s.conn.connection() as conn:
            assert conn.prepare_threshold == 3


@pytest.mark.parametrize("bad", [-1, "0", 1.5, True])
async def test_prepare_threshold_is_checked(postgres_server, bad):
    uri = postgres_server.uri_for("postgres")
    with pytest.raises(ValueError, match="prepare_threshold"):
        with PostgresStore.from_conn_string(uri, prepare_threshold=bad):
            pass
    with pytest.raises(ValueError, match="prepare_threshold"):
        async with AsyncPostgresStore.from_conn_string(uri, prepare_threshold=bad):
            pass


# -- a connection the server drops ------------------------------------------------------


def _terminate_backends(uri: str) -> None:
    dbname = uri.rsplit("/", 1)[1]
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )


async def test_a_dropped_connection_fails_the_write_and_the_pool_recovers(postgres_server):
    # No retry: the write that met the dropped connection raises (it did not
    # happen), and the pool hands a fresh connection to the next one.
    uri = postgres_server.new_database("astoredrop")
    async with AsyncPostgresStore.from_conn_string(uri, pool_config={"max_size": 1}) as s:
        await s.setup()
        await s.aput(("p",), "before", {"v": 1})
        _terminate_backends(uri)
        with pytest.raises(psycopg.OperationalError):
            await s.aput(("p",), "lost", {"v": 2})
        await s.aput(("p",), "after", {"v": 3})
        assert sorted(item.key for item in await s.asearch(("p",))) == ["after", "before"]
    with PostgresStore.from_conn_string(uri) as s:
        s.put(("p",), "single", {"v": 4})
        _terminate_backends(uri)
        with pytest.raises((psycopg.OperationalError, RuntimeError)):
            s.put(("p",), "lost", {"v": 5})
    assert rows(uri) == 3


def test_postgres_dialect_binds_any_key_and_writes_vectors_with_the_item():
    from langgraph.store.postgres._dialect import POSTGRES

    # jsonb looks a key up as Python does: keys SQLite leaves to Python are bound
    for key in ["1", "null", "a/b", "é"]:
        sql, params = POSTGRES.prefilter({key: "x"})
        assert sql == "value -> ?::text = ?::jsonb" and params == [key, '"x"']
    assert POSTGRES.namespace_under("a_b") == (
        "prefix = ? OR prefix LIKE ? ESCAPE '\\'",
        ["a_b", "a\\_b.%"],
    )
    assert POSTGRES.writes_vectors_with_item
    sql, params = POSTGRES.delete_with_vectors("ns", "k")
    assert sql.startswith("WITH vectors AS (DELETE FROM store_vectors") and params == [
        "ns",
        "k",
        "ns",
        "k",
    ]


def test_deleting_an_indexed_item_deletes_its_vectors(postgres_server):
    uri = postgres_server.new_database("storedelete")
    index = {"dims": 2, "embed": lambda texts: [[1.0, float(len(t))] for t in texts]}
    with PostgresStore.from_conn_string(uri, index={**index, "fields": ["text"]}) as s:
        s.setup()
        s.put(("d",), "k", {"text": "abc"})
        s.put(("d",), "kept", {"text": "x"})
        s.delete(("d",), "k")
        assert s.get(("d",), "k") is None
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT key FROM store_vectors").fetchall() == [("kept",)]


def _tagged(document: bytes) -> dict:
    import json

    return {"decoded_by": "deserializer", **json.loads(document)}


async def test_deserializer_reads_every_stored_document(postgres_server):
    """`deserializer=` (a reference keyword) is given each stored JSON document."""
    uri = postgres_server.new_database("deser")
    with psycopg.connect(uri, autocommit=True) as conn:
        store = PostgresStore(conn, deserializer=_tagged)
        store.setup()
        store.put(("docs",), "a", {"v": 1, "text": "é"})
        assert store.get(("docs",), "a").value == {
            "decoded_by": "deserializer",
            "v": 1,
            "text": "é",
        }
        assert [i.value["decoded_by"] for i in store.search(("docs",))] == ["deserializer"]
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        store = AsyncPostgresStore(conn, deserializer=_tagged)
        assert (await store.aget(("docs",), "a")).value["decoded_by"] == "deserializer"
        assert (await AsyncPostgresStore(conn).aget(("docs",), "a")).value == {"v": 1, "text": "é"}
