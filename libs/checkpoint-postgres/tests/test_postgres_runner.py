"""The runner's error translation, on the throwaway server: each driver error
callers can act on becomes the library's error naming the right object."""

from __future__ import annotations

import psycopg
import pytest
from langgraph.checkpoint.base.deletion import THREAD_DELETED_MARK
from langgraph.checkpoint.base.plan import Execute, Plan
from langgraph.checkpoint.errors import (
    ClosedError,
    ConnectionLostError,
    NotSetUpError,
    ThreadDeletedError,
)
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres._conn import Effect
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore


def raise_guard_error() -> Plan[None]:
    # What the deletion guard's trigger does: a plpgsql RAISE EXCEPTION with the mark.
    yield Execute(f"DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = '{THREAD_DELETED_MARK}: t'; END $$")


def test_dropped_store_table_names_the_store(postgres_server):
    uri = postgres_server.new_database("storedropped")
    with PostgresStore.from_conn_string(uri) as store:
        store.setup()
        with psycopg.connect(uri, autocommit=True) as admin:
            admin.execute("DROP TABLE store CASCADE")
        with pytest.raises(NotSetUpError, match=r"store tables .* `store.setup\(\)`") as raised:
            store.get(("a",), "k")
        assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)


def test_missing_checkpoint_tables_name_the_saver(postgres_server):
    with PostgresSaver.from_conn_string(postgres_server.new_database("saverbare")) as saver:
        with pytest.raises(NotSetUpError, match=r"checkpoint tables .* `saver.setup\(\)`"):
            saver.get_tuple({"configurable": {"thread_id": "t"}})


def test_deletion_guard_error_becomes_thread_deleted(postgres_server):
    with PostgresSaver.from_conn_string(postgres_server.new_database("guard")) as saver:
        with pytest.raises(ThreadDeletedError) as raised:
            saver._runner.run(raise_guard_error, Effect.ONCE)
        assert isinstance(raised.value.__cause__, psycopg.errors.RaiseException)
        # The connection is still usable: the transaction was rolled back.
        assert saver.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


async def test_async_deletion_guard_error_becomes_thread_deleted(postgres_server):
    uri = postgres_server.new_database("aguard")
    async with AsyncPostgresSaver.from_conn_string(uri, pipeline=True) as saver:
        with pytest.raises(ThreadDeletedError):
            await saver._runner.run(raise_guard_error, Effect.ONCE)


def test_closed_user_connection_is_a_closed_error(postgres_server):
    uri = postgres_server.new_database("closedconn")
    conn = psycopg.connect(uri, autocommit=True)
    store = PostgresStore(conn)
    store.setup()
    conn.close()
    with pytest.raises(ClosedError, match="closed"):
        store.get(("a",), "k")


async def test_store_on_a_lost_user_connection_says_so(postgres_server):
    uri = postgres_server.new_database("lostconn")
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        store = AsyncPostgresStore(conn)
        await store.setup()
        pid = conn.info.backend_pid
        with psycopg.connect(postgres_server.admin_uri, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(ConnectionLostError, match="connection you passed"):
            await store.aget(("a",), "k")


def test_store_from_conn_string_remakes_its_connection(postgres_server):
    uri = postgres_server.new_database("storeremade")
    with PostgresStore.from_conn_string(uri) as store:
        store.setup()
        store.put(("a",), "k", {"v": 1})
        with psycopg.connect(postgres_server.admin_uri, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (store.conn.info.backend_pid,))
        # A read may run again on a new connection: the store owns this one.
        assert store.get(("a",), "k").value == {"v": 1}
