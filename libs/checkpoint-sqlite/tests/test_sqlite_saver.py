"""SqliteSaver / AsyncSqliteSaver: compatibility, reliability, errors.

The contract itself is covered by the conformance suite (libs/checkpoint-conformance).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver
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

WRITER = textwrap.dedent(
    """
    import sys
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.sqlite import SqliteSaver

    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with SqliteSaver.from_conn_string(path) as saver:
        config = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
        version = None
        for step in range(count):
            version = saver.get_next_version(version, None)
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"step": step, "pad": "x" * 2000}
            checkpoint["channel_versions"] = {"step": version}
            config = saver.put(config, checkpoint, {"step": step}, {"step": version})
            saver.put_writes(config, [("step", step)], "task")
            print(step, flush=True)
    """
)


def test_several_processes_write_one_file_without_lock_errors(tmp_path):
    path = str(tmp_path / "shared.db")
    with SqliteSaver.from_conn_string(path) as saver:
        saver.setup()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, f"proc-{n}", "60"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    with SqliteSaver.from_conn_string(path) as saver:
        for n in range(4):
            history = list(saver.list({"configurable": {"thread_id": f"proc-{n}"}}))
            assert len(history) == 60
            assert history[0].pending_writes == [("task", "step", 59)]


def test_killed_writer_loses_at_most_the_write_in_flight(tmp_path):
    path = str(tmp_path / "killed.db")
    with SqliteSaver.from_conn_string(path) as saver:
        saver.setup()
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, path, "victim", "100000"], stdout=subprocess.PIPE, text=True
    )
    last_reported = -1
    deadline = time.monotonic() + 60
    while last_reported < 50 and time.monotonic() < deadline:
        last_reported = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with SqliteSaver.from_conn_string(path) as saver:
        history = list(saver.list({"configurable": {"thread_id": "victim"}}))
        steps = [h.metadata["step"] for h in history]
        # every step the writer reported as done is there, in one unbroken chain
        assert max(steps) >= last_reported
        assert steps == list(range(max(steps), -1, -1))
        for item in history[1:]:
            assert item.checkpoint["channel_values"]["step"] == item.metadata["step"]


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
    import threading

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
    step = next(_plans.list_plan(saver.serde, None, {key: "x", "$.a[0]": 1}, None, None))
    assert key in step.params and "$.a[0]" in step.params
    assert "DROP" not in step.sql and "$.a[0]" not in step.sql


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
