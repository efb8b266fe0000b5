"""SqliteCache on a real file, shared by two cache objects (as two processes would)."""

from __future__ import annotations

import sqlite3
import time

from langgraph.cache.sqlite import SqliteCache


def test_get_set_ttl_clear_across_instances(tmp_path):
    path = str(tmp_path / "cache.db")
    writer, reader = SqliteCache(path=path), SqliteCache(path=path)
    writer.set(
        {(("a", "b"), "k"): ({"v": 1}, 1), (("a",), "k2"): (2, None), (("z",), "k"): ("z", None)}
    )
    assert reader.get([(("a", "b"), "k"), (("a",), "k2"), (("a",), "missing")]) == {
        (("a", "b"), "k"): {"v": 1},
        (("a",), "k2"): 2,
    }
    # the reference package's table layout
    rows = (
        sqlite3.connect(path).execute("SELECT ns, key, encoding FROM cache ORDER BY ns").fetchall()
    )
    assert rows == [("a", "k2", "msgpack"), ("a,b", "k", "msgpack"), ("z", "k", "msgpack")]
    time.sleep(1.1)
    assert reader.get([(("a", "b"), "k")]) == {}
    reader.clear([("a",)])
    assert writer.get([(("a",), "k2"), (("z",), "k")]) == {(("z",), "k"): "z"}
    writer.clear()
    assert reader.get([(("z",), "k")]) == {}


async def test_async_methods(tmp_path):
    cache = SqliteCache(path=str(tmp_path / "a.db"))
    await cache.aset({(("n",), "k"): ([1], None)})
    assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): [1]}
    await cache.aclear()
    assert await cache.aget([(("n",), "k")]) == {}


def test_get_of_many_keys_binds_one_parameter(tmp_path):
    cache = SqliteCache(path=str(tmp_path / "many.db"))
    cache._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 16)
    keys = [(("n", str(i % 7)), f"k{i}") for i in range(5_000)]
    cache.set({key: (i, None) for i, key in enumerate(keys)})
    assert cache.get(keys) == {key: i for i, key in enumerate(keys)}


def test_an_expired_entry_set_again_elsewhere_is_not_deleted(tmp_path):
    path = str(tmp_path / "race.db")
    reader, writer = SqliteCache(path=path), SqliteCache(path=path)
    key = (("n",), "k")
    writer.set({key: ("old", 0)})  # expires at once
    # What the reader saw expire, the writer renews before the reader's
    # clean-up runs: the clean-up must leave the new entry alone.
    original = reader._conn

    class RenewBeforeDelete:
        def __getattr__(self, name):
            return getattr(original, name)

        def executemany(self, sql, rows):
            writer.set({key: ("new", None)})
            return original.executemany(sql, rows)

    reader._conn = RenewBeforeDelete()
    assert reader.get([key]) == {}
    reader._conn = original
    assert writer.get([key]) == {key: "new"}


def test_a_cache_on_a_fresh_file_being_written_waits_for_the_lock(fresh_file_being_written):
    cache = SqliteCache(path=fresh_file_being_written)
    cache.set({(("n",), "k"): (1, None)})
    assert cache.get([(("n",), "k")]) == {(("n",), "k"): 1}
