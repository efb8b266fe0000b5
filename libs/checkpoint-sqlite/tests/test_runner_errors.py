"""The library's errors from every SQLite class alike: one runner translates them."""

from __future__ import annotations

import sqlite3

import aiosqlite
import pytest
from langgraph.cache.sqlite import SqliteCache
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.errors import ClosedError, NotSetUpError, ThreadDeletedError
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

CONFIG = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}


def checkpoint_made_now() -> dict:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = str(uuid6())
    return checkpoint


def test_a_closed_connection_is_a_closed_error_for_saver_store_and_cache(tmp_path):
    conn = sqlite3.connect(tmp_path / "c.db", check_same_thread=False, isolation_level=None)
    saver, store = SqliteSaver(conn), SqliteStore(conn)
    store.put(("n",), "k", {"v": 1})
    conn.close()
    with pytest.raises(ClosedError, match="SqliteSaver.*closed"):
        saver.get_tuple(CONFIG)
    # Before, the store let sqlite3's error through: it still is one.
    with pytest.raises(sqlite3.ProgrammingError) as raised:
        store.get(("n",), "k")
    assert isinstance(raised.value, ClosedError)
    assert "SqliteStore" in str(raised.value)
    assert isinstance(raised.value.__cause__, sqlite3.ProgrammingError)

    cache = SqliteCache(path=str(tmp_path / "cache.db"))
    cache._conn.close()
    with pytest.raises(ClosedError, match="SqliteCache"):
        cache.get([(("n",), "k")])


async def test_a_closed_aiosqlite_connection_is_a_closed_error(tmp_path):
    async with aiosqlite.connect(tmp_path / "a.db", isolation_level=None) as conn:
        saver, store = AsyncSqliteSaver(conn), AsyncSqliteStore(conn)
        await store.aput(("n",), "k", {"v": 1})
    with pytest.raises(ClosedError, match="AsyncSqliteSaver"):
        await saver.aget_tuple(CONFIG)
    # aiosqlite's own error for this was a ValueError: the new one is one too.
    with pytest.raises(ValueError) as raised:
        await store.aget(("n",), "k")
    assert isinstance(raised.value, ClosedError)
    assert "AsyncSqliteStore" in str(raised.value)


def test_a_dropped_table_names_what_is_missing(tmp_path):
    conn = sqlite3.connect(tmp_path / "d.db", check_same_thread=False, isolation_level=None)
    saver, store = SqliteSaver(conn), SqliteStore(conn)
    saver.setup()
    store.setup()
    conn.execute("DROP TABLE store")
    with pytest.raises(NotSetUpError, match="SqliteStore: the store tables") as raised:
        store.get(("n",), "k")
    assert "checkpoint" not in str(raised.value)
    assert isinstance(raised.value, sqlite3.OperationalError)  # what it raised before
    conn.execute("DROP TABLE checkpoints")
    with pytest.raises(NotSetUpError, match="SqliteSaver: the checkpoint tables"):
        saver.get_tuple(CONFIG)
    saver.setup()  # creates them again
    assert saver.get_tuple(CONFIG) is None
    conn.close()


def test_a_write_to_a_deleted_thread_is_a_thread_deleted_error(tmp_path):
    with SqliteSaver.from_conn_string(str(tmp_path / "g.db")) as saver:
        config = saver.put(CONFIG, checkpoint_made_now(), {"step": 0}, {})
        saver.delete_thread("t")
        with pytest.raises(ThreadDeletedError) as raised:
            saver.put_writes(config, [("v", 1)], "task")
        assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
        # Nothing half-written stays behind, and the saver keeps working.
        assert saver.conn.execute("SELECT count(*) FROM writes").fetchone() == (0,)
        assert not saver.conn.in_transaction
        fresh = saver.put(CONFIG, checkpoint_made_now(), {"step": 0}, {})
        assert saver.get_tuple(fresh) is not None


async def test_the_async_saver_raises_the_same_thread_deleted_error(tmp_path):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "h.db")) as saver:
        config = await saver.aput(CONFIG, checkpoint_made_now(), {"step": 0}, {})
        await saver.adelete_thread("t")
        with pytest.raises(ThreadDeletedError):
            await saver.aput_writes(config, [("v", 1)], "task")
        assert not saver.conn.in_transaction


def test_attributes_callers_know_stay_in_step_with_the_runner(tmp_path):
    conn = sqlite3.connect(tmp_path / "e.db", check_same_thread=False)
    saver = SqliteSaver(conn, synchronous="FULL")
    assert saver.conn is conn and not saver.is_setup
    with saver.lock:  # the lock the saver's own calls take
        assert saver.runner.lock.locked()
    saver.get_tuple(CONFIG)
    assert saver.is_setup
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
    conn.close()


@pytest.mark.parametrize("cls", [AsyncSqliteSaver, AsyncSqliteStore])
def test_an_async_class_refuses_a_connection_it_cannot_run_plans_on(tmp_path, cls):
    # The async runner calls aiosqlite's Connection._execute: a sqlite3
    # connection (or an aiosqlite without it) is refused at once, by name,
    # rather than by an AttributeError at the first call.
    conn = sqlite3.connect(tmp_path / "plain.db")
    try:
        with pytest.raises(TypeError, match=rf"{cls.__name__} needs an aiosqlite.Connection"):
            cls(conn)
    finally:
        conn.close()
