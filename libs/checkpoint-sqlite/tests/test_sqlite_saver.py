"""SqliteSaver / AsyncSqliteSaver: compatibility, reliability, errors.

The contract itself is covered by the conformance suite (libs/checkpoint-conformance).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading
import tracemalloc
from contextlib import closing
from datetime import datetime
from pathlib import Path

import aiosqlite
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.plan import drive
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite._connection import PAGE_CACHE_KIB
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from testsupport.compat_graph import build_compat_graph, view_history

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_copy(name: str, tmp_path: Path) -> str:
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    target.chmod(0o644)
    return str(target)


def put_one(saver, thread_id: str, value, parent=None, metadata=None):
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"v": value}
    checkpoint["channel_versions"] = {"v": version}
    config = parent or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return saver.put(config, checkpoint, metadata or {"step": 0}, {"v": version})


# -- compatibility with the reference package ------------------------------------


def test_reference_database_reads_back_exactly(tmp_path):
    expected = json.loads((FIXTURES / "upstream-sqlite.expected.json").read_text())
    with SqliteSaver.from_conn_string(fixture_copy("upstream-sqlite.db", tmp_path)) as saver:
        graph = build_compat_graph(saver)
        for thread_id, view in expected.items():
            assert view_history(saver, thread_id) == view["history"]
            state = graph.get_state({"configurable": {"thread_id": thread_id}})
            assert list(state.next) == view["next"]
            assert {k: repr(v) for k, v in state.values.items()} == view["values"]


async def test_reference_thread_resumes_its_interrupt(tmp_path):
    path = fixture_copy("upstream-sqlite.db", tmp_path)
    async with AsyncSqliteSaver.from_conn_string(path) as saver:
        graph = build_compat_graph(saver)
        config = {"configurable": {"thread_id": "visible-thread-1"}}
        assert (await graph.aget_state(config)).next == ("review",)
        result = await graph.ainvoke(Command(resume="yes"), config)
    assert result["approved"] is True
    assert result["messages"][-1].content == "looked up"
    assert len(result["messages"]) == 3


def test_reference_reads_what_we_write(tmp_path):
    """`ours.db` was written by SqliteSaver; the json is what the reference read from it
    (see fixtures/make_ours_fixture.py). We must read the same."""
    seen_by_reference = json.loads((FIXTURES / "ours.read-by-reference.json").read_text())
    with SqliteSaver.from_conn_string(fixture_copy("ours.db", tmp_path)) as saver:
        graph = build_compat_graph(saver)
        for thread_id, view in seen_by_reference.items():
            assert view_history(saver, thread_id) == view["history"]
            state = graph.get_state({"configurable": {"thread_id": thread_id}})
            assert list(state.next) == view["next"]


def test_old_layout_without_task_path_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE checkpoints (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
            checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint BLOB,
            metadata BLOB, PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id));
        CREATE TABLE writes (thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '',
            checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL,
            channel TEXT NOT NULL, type TEXT, value BLOB,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx));
        INSERT INTO writes VALUES ('old', '', 'c1', 'task', 0, 'ch', 'null', x'');
        """
    )
    conn.close()
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.setup()
        saver.setup()  # idempotent
        columns = [row[1] for row in saver.conn.execute("PRAGMA table_info(writes)")]
        assert "task_path" in columns
        assert saver.conn.execute("SELECT task_path, channel FROM writes").fetchall() == [
            ("", "ch")
        ]
        config = put_one(saver, "new", 1)
        saver.put_writes(config, [("v", 2)], "t", "path")
        assert saver.get_tuple(config).pending_writes == [("t", "v", 2)]


# -- reliability -------------------------------------------------------------------
# Several processes and killed writers: tests/faults/test_sqlite_faults.py.

VARIABLE_LIMIT = 16  # SQLite's own default is 32,766 (999 before 3.32)


class FewVariables(sqlite3.Connection):
    """A connection that may bind only VARIABLE_LIMIT parameters per statement."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, VARIABLE_LIMIT)


def exercise_large_results(saver) -> None:
    """Every operation whose result grows with the data, on far more rows than variables."""
    chain, delta_chain = 40, 3 * VARIABLE_LIMIT
    version = saver.get_next_version(None, None)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    ids = []
    for step in range(delta_chain):
        checkpoint = empty_checkpoint()
        # `log` is a delta channel: a snapshot at step 0 only, counters after it.
        checkpoint["channel_values"] = {"log": ["seed"]} if step == 0 else {}
        checkpoint["channel_versions"] = {"log": version}
        metadata = {"step": step, "run_id": f"run-{step}"}
        if step:
            metadata["counters_since_delta_snapshot"] = {"log": [step, step]}
        config = saver.put(config, checkpoint, metadata, {"log": version})
        saver.put_writes(config, [("log", f"w{step}"), ("other", step)], f"task-{step}")
        ids.append(config["configurable"]["checkpoint_id"])
        version = saver.get_next_version(version, None)
    other = None
    for step in range(chain):
        other = put_one(saver, "u", step, parent=other, metadata={"run_id": f"urun-{step}"})
    newest_first = ids[::-1]

    listed = list(saver.list({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}))
    assert [c.config["configurable"]["checkpoint_id"] for c in listed] == newest_first
    assert [c.pending_writes for c in listed[:2]] == [
        [(f"task-{s}", "log", f"w{s}"), (f"task-{s}", "other", s)]
        for s in (delta_chain - 1, delta_chain - 2)
    ]
    everything = list(saver.list(None))
    assert len(everything) == delta_chain + chain
    assert [c.config["configurable"]["checkpoint_id"] for c in everything] == sorted(
        (c.config["configurable"]["checkpoint_id"] for c in everything), reverse=True
    )
    assert len(list(saver.list(None, limit=delta_chain + 5))) == delta_chain + 5
    before = {"configurable": {"thread_id": "t", "checkpoint_id": ids[30]}}
    assert [
        c.metadata["step"]
        for c in saver.list({"configurable": {"thread_id": "t"}}, before=before, limit=20)
    ] == list(range(29, 9, -1))
    assert [c.metadata["step"] for c in saver.list(None, filter={"run_id": "run-7"})] == [7]

    history = saver.get_delta_channel_history(config=config, channels=["log"])
    assert history["log"]["seed"] == ["seed"]
    assert [w[2] for w in history["log"]["writes"]] == [f"w{s}" for s in range(delta_chain - 1)]

    saver.prune(["t"], strategy="keep_latest")  # keeps the whole delta ancestry
    assert saver.get_delta_channel_history(config=config, channels=["log"]) == history
    saver.delete_for_runs([f"urun-{step}" for step in range(chain - 3)])
    assert [c.metadata["run_id"] for c in saver.list({"configurable": {"thread_id": "u"}})] == [
        f"urun-{step}" for step in (chain - 1, chain - 2, chain - 3)
    ]
    saver.copy_thread("t", "t2")
    assert len(list(saver.list({"configurable": {"thread_id": "t2"}}))) == delta_chain


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of a few keys, so that a few dozen rows cross many page boundaries."""
    from langgraph.checkpoint.sqlite._plans import ListPages

    monkeypatch.setattr(ListPages, "FIRST_PAGE", 4)
    monkeypatch.setattr(ListPages, "MAX_PAGE", 7)
    monkeypatch.setattr(ListPages, "MAX_CHUNK", 3)


@pytest.mark.usefixtures("small_pages")
def test_large_results_bind_few_variables(tmp_path):
    conn = sqlite3.connect(tmp_path / "v.db", check_same_thread=False, factory=FewVariables)
    with closing(conn):
        exercise_large_results(SqliteSaver(conn))


@pytest.mark.usefixtures("small_pages")
async def test_large_results_bind_few_variables_async(tmp_path):
    async with aiosqlite.connect(tmp_path / "v.db", factory=FewVariables) as conn:
        await asyncio.to_thread(exercise_large_results, AsyncSqliteSaver(conn))


def fill_large_thread(saver, count: int, size: int) -> None:
    config = None
    for step in range(count):
        config = put_one(saver, "big", f"{step:06d}" + "x" * size, parent=config)
        saver.put_writes(config, [("v", step)], "task")


def test_list_streams_in_bounded_memory(tmp_path):
    count, size = 400, 50_000  # 20 MB of checkpoints
    with SqliteSaver.from_conn_string(str(tmp_path / "m.db")) as saver:
        fill_large_thread(saver, count, size)
        tracemalloc.start()
        try:
            seen = 0
            for item in saver.list(None):
                assert item.pending_writes == [("task", "v", count - 1 - seen)]
                seen += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert seen == count
    assert peak < count * size / 5, f"list held {peak:,} bytes at once"


async def test_alist_streams_in_bounded_memory(tmp_path):
    count, size = 400, 50_000
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "m.db")) as saver:
        await asyncio.to_thread(fill_large_thread, saver, count, size)
        tracemalloc.start()
        try:
            seen = 0
            async for item in saver.alist({"configurable": {"thread_id": "big"}}):
                assert item.pending_writes == [("task", "v", count - 1 - seen)]
                seen += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert seen == count
        assert peak < count * size / 5, f"alist held {peak:,} bytes at once"
        # the sync methods, from another thread, stream the same way
        tracemalloc.start()
        try:
            seen = await asyncio.to_thread(lambda: sum(1 for _ in saver.list(None)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert seen == count
        assert peak < count * size / 5, f"list from a thread held {peak:,} bytes at once"


@pytest.mark.usefixtures("small_pages")
def test_list_pages_keep_ties_across_threads(tmp_path):
    """copy_thread makes equal checkpoint ids in several threads: none may be lost at a
    page boundary."""
    with SqliteSaver.from_conn_string(str(tmp_path / "ties.db")) as saver:
        config = None
        for step in range(7):
            config = put_one(saver, "a", step, parent=config)
        for target in "bcdefghijklmnopqrstuvwxyz":
            saver.copy_thread("a", target)
        everything = list(saver.list(None))
        assert len(everything) == 26 * 7
        keys = [
            (c.config["configurable"]["checkpoint_id"], c.config["configurable"]["thread_id"])
            for c in everything
        ]
        assert len(set(keys)) == len(keys)
        assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
        assert len(list(saver.list(None, limit=100))) == 100
        assert len(list(saver.list(None, filter={"step": 0}))) == 26 * 7
        assert [c.config for c in saver.list(None, filter={"step": 0}, limit=30)] == [
            c.config for c in everything[:30]
        ]
        # a thread without namespace in the config pages on (id, namespace)
        assert len(list(saver.list({"configurable": {"thread_id": "q"}}))) == 7


def test_setup_waits_for_the_lock_on_a_fresh_file(fresh_file_being_written):
    with SqliteSaver.from_conn_string(fresh_file_being_written) as saver:
        saver.setup()
        config = put_one(saver, "t", 1)
        assert saver.get_tuple(config).checkpoint["channel_values"] == {"v": 1}
        assert saver.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_async_setup_waits_for_the_lock_on_a_fresh_file(fresh_file_being_written):
    async with AsyncSqliteSaver.from_conn_string(fresh_file_being_written) as saver:
        await saver.setup()
        config = await saver.aput(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {}
        )
        assert (await saver.aget_tuple(config)).config == config
        assert await saver.conn.execute_fetchall("PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize(
    "user_setting, expected",
    [
        pytest.param(None, -PAGE_CACHE_KIB, id="default-raised"),
        pytest.param("-1000", -PAGE_CACHE_KIB, id="smaller-raised"),
        pytest.param("-100000", -100000, id="larger-kib-kept"),
        pytest.param("20000", 20000, id="larger-in-pages-kept"),
    ],
)
def test_page_cache_is_raised_never_lowered(tmp_path, user_setting, expected):
    conn = sqlite3.connect(tmp_path / "d.db", check_same_thread=False)
    if user_setting is not None:
        conn.execute(f"PRAGMA cache_size = {user_setting}")
    with closing(conn):
        saver = SqliteSaver(conn)
        saver.setup()
        assert conn.execute("PRAGMA cache_size").fetchone() == (expected,)


async def test_async_page_cache_is_raised(tmp_path):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        await saver.setup()
        assert await saver.conn.execute_fetchall("PRAGMA cache_size") == [(-PAGE_CACHE_KIB,)]


async def test_async_calls_run_their_statements_in_one_trip_to_the_connection_thread(
    tmp_path, monkeypatch
):
    """Each call's plan runs whole in aiosqlite's thread: a put (its lookup,
    insert and commit), its writes and a read cost one trip each."""
    trips = []
    execute = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        trips.append(fn)
        return await execute(self, fn, *args, **kwargs)

    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        await saver.setup()
        statements = []
        await saver.conn.set_trace_callback(statements.append)
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        config = await asyncio.to_thread(put_one, saver, "t", 1)
        await saver.aput_writes(config, [("v", 2)], "task")
        found = await saver.aget_tuple(config)
        calls = len(trips)
        monkeypatch.undo()
    assert calls == 3
    assert len(statements) > 3 * 2
    assert found.checkpoint["channel_values"] == {"v": 1}
    assert found.pending_writes == [("task", "v", 2)]


async def test_cancelled_async_puts_leave_whole_rows_and_a_working_saver(tmp_path):
    """A put cancelled while its statements run in aiosqlite's thread either
    is stored whole or not at all; every put that returned reads back, and the
    saver goes on working."""
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        await saver.setup()
        thread = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        returned, cancelled = [], 0
        for n in range(40):
            checkpoint = empty_checkpoint()
            version = saver.get_next_version(None, None)
            checkpoint["channel_values"] = {"v": n}
            checkpoint["channel_versions"] = {"v": version}
            put = asyncio.create_task(saver.aput(thread, checkpoint, {"step": n}, {"v": version}))
            await asyncio.sleep(0)  # started: waiting on the connection's thread
            if n % 2:
                put.cancel()
            try:
                returned.append((n, await put))
            except asyncio.CancelledError:
                cancelled += 1
        for n, config in returned:
            found = await saver.aget_tuple(config)
            assert found is not None and found.checkpoint["channel_values"] == {"v": n}
        listed = [item async for item in saver.alist(thread)]
        await saver.aput_writes(returned[-1][1], [("v", "after")], "task")
    assert cancelled == 20 and len(returned) == 20
    assert 20 <= len(listed) <= 40
    assert all(item.metadata["step"] == item.checkpoint["channel_values"]["v"] for item in listed)


NOT_JSON = [
    pytest.param("when", datetime(2024, 1, 2, 3, 4, 5), "datetime", id="datetime"),
    pytest.param("raw", b"\x00\xff", "bytes", id="bytes"),
    pytest.param("thing", object(), "object", id="object"),
    pytest.param("nested", {"inner": [1, {2, 3}]}, "set", id="nested-set"),
]


@pytest.mark.parametrize("key, value, type_name", NOT_JSON)
def test_non_json_metadata_is_refused_and_nothing_is_stored(tmp_path, key, value, type_name):
    with SqliteSaver.from_conn_string(str(tmp_path / "j.db")) as saver:
        with pytest.raises(TypeError, match=f"{key}.*{type_name}"):
            put_one(saver, "t", 1, metadata={"step": 1, key: value})
        assert list(saver.list(None)) == []


@pytest.mark.parametrize("key, value, type_name", NOT_JSON)
async def test_non_json_metadata_is_refused_and_nothing_is_stored_async(
    tmp_path, key, value, type_name
):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "j.db")) as saver:
        checkpoint = empty_checkpoint()
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        with pytest.raises(TypeError, match=f"{key}.*{type_name}"):
            await saver.aput(config, checkpoint, {key: value}, {})
        assert [c async for c in saver.alist(None)] == []


def test_metadata_json_that_sqlite_cannot_read_is_refused(tmp_path):
    """NaN would be stored as the text NaN, which SQLite's JSON functions reject, so every
    filtered list, delete_for_runs and delta history on the file would fail."""
    with SqliteSaver.from_conn_string(str(tmp_path / "nan.db")) as saver:
        for bad in (float("nan"), float("inf"), [float("-inf")]):
            with pytest.raises(ValueError, match="score"):
                put_one(saver, "t", 1, metadata={"score": bad})
        assert list(saver.list(None)) == []
        put_one(saver, "t", 1, metadata={"when": "2024-01-02", "pair": (1, 2), "score": 1.5})
        [stored] = saver.list(None, filter={"pair": [1, 2]})
        assert stored.metadata["score"] == 1.5


def test_dotted_filter_keys_reach_nested_metadata(tmp_path):
    with SqliteSaver.from_conn_string(str(tmp_path / "dots.db")) as saver:
        rows = [
            {"user": {"plain": "x"}},
            {"user.plain": "y"},  # a top-level key that contains a dot
            {"user": {"plain": "z"}, "user.plain": "x"},
            {"a": {"b": {"c": 1}}},
            {"lst": [{"k": "v"}]},
            {"user": "plain"},
        ]
        for n, metadata in enumerate(rows):
            put_one(saver, f"t{n}", n, metadata={"n": n, **metadata})

        def found(filter):
            return sorted(c.metadata["n"] for c in saver.list(None, filter=filter))

        # as the reference: each dot steps into a nested object ...
        assert found({"user.plain": "x"}) == [0, 2]
        assert found({"user.plain": "z"}) == [2]
        assert found({"a.b.c": 1}) == [3]
        assert found({"a.b": {"c": 1}}) == [3]
        assert found({"a.b.c": True}) == []
        assert found({"a.b.c.d": 1}) == []
        assert found({"lst.0.k": "v"}) == []  # ... of objects only, never into lists
        assert found({"user": {"plain": "x"}}) == [0]
        # ... and a key stored with its dots matches literally too (the contract's
        # hostile-key case), which the reference cannot express
        assert found({"user.plain": "y"}) == [1]
        assert found({"user.plain": "y", "n": 1}) == [1]


# -- errors and modes ------------------------------------------------------------------


def test_clear_errors(tmp_path):
    conn = sqlite3.connect(tmp_path / "e.db", check_same_thread=False)
    saver = SqliteSaver(conn)
    with pytest.raises(ValueError, match="thread_id"):
        saver.get_tuple({"configurable": {}})
    with pytest.raises(ValueError, match="bogus"):
        saver.prune(["t"], strategy="bogus")
    with pytest.raises(NotImplementedError, match="AsyncSqliteSaver"):
        asyncio.run(saver.aget_tuple({"configurable": {"thread_id": "t"}}))
    conn.close()
    with pytest.raises(RuntimeError, match="closed"):
        saver.get_tuple({"configurable": {"thread_id": "t"}})


async def test_async_saver_errors_and_sync_from_thread(tmp_path):
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as saver:
        config = await asyncio.to_thread(put_one, saver, "t", 5)
        assert (await saver.aget_tuple(config)).checkpoint["channel_values"] == {"v": 5}
        with pytest.raises(asyncio.InvalidStateError, match="await"):
            saver.get_tuple(config)
        with pytest.raises(ValueError, match="thread_id"):
            await saver.aget_tuple({"configurable": {}})
    with pytest.raises(RuntimeError, match="closed"):
        await saver.aget_tuple(config)


def test_wal_and_synchronous_settings(tmp_path):
    with SqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        saver.setup()
        assert saver.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert saver.conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    with SqliteSaver.from_conn_string(str(tmp_path / "d.db"), synchronous="FULL") as saver:
        saver.setup()
        assert saver.conn.execute("PRAGMA synchronous").fetchone() == (2,)
    with pytest.raises(ValueError, match="synchronous"):
        with SqliteSaver.from_conn_string(str(tmp_path / "d.db"), synchronous="FAST") as saver:
            saver.setup()


def test_memory_database_and_threads_sharing_a_saver(tmp_path):
    with SqliteSaver.from_conn_string(":memory:") as saver:

        def worker(n):
            config = None
            for i in range(30):
                config = put_one(saver, f"t{n}", i, parent=config)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(
            len(list(saver.list({"configurable": {"thread_id": f"t{n}"}}))) == 30 for n in range(8)
        )


def test_filter_keys_never_reach_sql_text(tmp_path):
    from langgraph.checkpoint.sqlite import _plans

    key = "') OR 1=1; DROP TABLE checkpoints; --"
    with SqliteSaver.from_conn_string(str(tmp_path / "f.db")) as saver:
        put_one(saver, "t", 1, metadata={key: "x", "$.a[0]": 1})
        assert len(list(saver.list(None, filter={key: "x"}))) == 1
        assert len(list(saver.list(None, filter={"$.a[0]": 1}))) == 1
        assert list(saver.list(None, filter={"a": 1})) == []
        assert saver.conn.execute("SELECT count(*) FROM checkpoints").fetchone() == (1,)
        steps = []

        def execute(step):
            steps.append(step)
            return saver.conn.execute(step.sql, step.params).fetchall()

        pages = _plans.ListPages(saver.serde, None, {key: "x", "$.a[0]": 1}, None, None)
        found = []
        while not pages.done:
            found += drive(pages.next_plan(), execute)
    assert len(found) == 1
    assert any(key in step.params and "$.a[0]" in step.params for step in steps)
    assert not any("DROP" in step.sql or "$.a[0]" in step.sql for step in steps)


def test_reference_store_file_reads_back(tmp_path):
    from langgraph.store.sqlite import SqliteStore

    with SqliteStore.from_conn_string(fixture_copy("upstream-store.db", tmp_path)) as store:
        store.setup()
        assert store.get(("users", "u1"), "prefs").value == {
            "theme": "dark",
            "langs": ["en", "fr"],
            "n": 3,
        }
        assert [i.namespace for i in store.search(("users",), filter={"n": {"$gte": 5}})] == [
            ("users", "u2")
        ]
        assert store.get(("docs",), "readme").value == {"text": "héllo 漢字"}
        assert store.list_namespaces(prefix=("users",)) == [("users", "u1"), ("users", "u2")]


def test_list_decodes_large_checkpoints_a_few_at_a_time(tmp_path):
    """A list's chunks grow while the values decoded at once stay small: a
    thread of checkpoints holding long lists is decoded one at a time, one of
    small values in chunks up to the cap."""
    from langgraph.checkpoint.sqlite import _plans

    entries = _plans.ListPages.HELD_ENTRIES
    with SqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        for thread_id, value in (("large", list(range(entries + 1))), ("small", [1, 2])):
            parent = None
            for _ in range(60):
                parent = put_one(saver, thread_id, value, parent)

        def chunk_sizes(thread_id):
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            pages = _plans.ListPages(saver.serde, config, None, None, None)
            sizes = []
            while not pages.done:
                sizes.append(len(saver.runner.read(pages.next_plan)))
            return [size for size in sizes if size]  # the last read may find none left

        large, small = chunk_sizes("large"), chunk_sizes("small")
    assert large == [1] * 60
    assert small == [1, 2, 4, 8, 16, 25, 4]


def test_list_reads_checkpoints_of_long_strings_a_few_at_a_time(tmp_path):
    """Values that hold no entries still bound a chunk: its rows stay near
    `CHUNK_BYTES` of checkpoints, so a thread of 100 KB strings comes a few
    checkpoints a chunk, all of them, newest first."""
    from langgraph.checkpoint.sqlite import _plans

    value_size, count = 100_000, 40
    config = {"configurable": {"thread_id": "strings", "checkpoint_ns": ""}}
    with SqliteSaver.from_conn_string(str(tmp_path / "s.db")) as saver:
        parent = None
        for step in range(count):
            parent = put_one(saver, "strings", f"{step:06d}" + "x" * value_size, parent)
        pages = _plans.ListPages(saver.serde, config, None, None, None)
        sizes, values = [], []
        while not pages.done:
            items = saver.runner.read(pages.next_plan)
            sizes.append(len(items))
            values += [item.checkpoint["channel_values"]["v"][:6] for item in items]
    per_chunk = _plans.ListPages.CHUNK_BYTES // value_size
    assert values == [f"{step:06d}" for step in reversed(range(count))]
    assert 1 < max(sizes) <= per_chunk < _plans.ListPages.MAX_CHUNK


def test_list_of_a_thread_skips_checkpoints_written_between_its_statements(tmp_path):
    """A list of one thread reads each chunk of checkpoints from the index,
    then their writes as a range of ids: a checkpoint written between the two
    statements with an id inside the chunk's range is neither returned nor
    decoded (its write here cannot be), and every listed checkpoint keeps its
    own writes. A listing that goes on later may return it: it was written
    while the listing ran."""
    from langgraph.checkpoint.sqlite import _plans

    db = str(tmp_path / "d.db")
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    with SqliteSaver.from_conn_string(db) as saver, closing(sqlite3.connect(db)) as other:
        saver.setup()
        parent = None
        for value in range(40):
            parent = put_one(saver, "t", value, parent)
            saver.put_writes(parent, [("v", value)], "task")
        ids = [
            row[0] for row in other.execute("SELECT checkpoint_id FROM checkpoints ORDER BY 1 DESC")
        ]

        def write_between(listed_ids):
            with other:
                for checkpoint_id in listed_ids[1:]:
                    between = checkpoint_id + "0"  # after it, before the next id
                    other.execute(
                        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id,"
                        " parent_checkpoint_id, type, checkpoint, metadata) SELECT thread_id,"
                        " checkpoint_ns, ?, parent_checkpoint_id, type, checkpoint, metadata"
                        " FROM checkpoints WHERE checkpoint_id = ?",
                        (between, checkpoint_id),
                    )
                    other.execute(
                        "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id,"
                        " idx, channel, type, value)"
                        " VALUES ('t', '', ?, 'task', 0, 'v', 'no-such-type', x'00')",
                        (between,),
                    )

        statements = []

        def execute(step):
            rows = saver.conn.execute(step.sql, step.params).fetchall()
            statements.append(step.sql)
            if len(statements) == 1:  # the chunk's checkpoints, before their writes
                write_between([row[2] for row in rows])
            return rows

        pages = _plans.ListPages(saver.serde, config, None, None, 30)
        listed = drive(pages.next_plan(), execute)
    assert len(statements) == 2 and "FROM writes" in statements[1]
    assert [item.config["configurable"]["checkpoint_id"] for item in listed] == ids[:25]
    assert [item.checkpoint["channel_values"]["v"] for item in listed] == list(range(39, 14, -1))
    assert [item.pending_writes for item in listed] == [
        [("task", "v", value)] for value in range(39, 14, -1)
    ]
