"""A sweep killed with SIGKILL half way leaves a consistent database: every
thread is whole or gone (no orphan writes or blobs), and the next sweep
finishes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.checkpoint.errors import NotSetUpError
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver

THREADS, STEPS = 400, 2
SWEEPER = textwrap.dedent(
    """
    import sys
    from langgraph.checkpoint.{module} import {cls}
    with {cls}.from_conn_string(sys.argv[1], ttl={{"default_ttl": 0.01}}) as saver:
        print("sweeping", flush=True)
        while True:
            saver.sweep_ttl()
    """
)


def fill(saver) -> None:
    for t in range(THREADS):
        config = {"configurable": {"thread_id": f"t{t:04}", "checkpoint_ns": ""}}
        checkpoint = empty_checkpoint()
        for step in range(STEPS):
            checkpoint = create_checkpoint(checkpoint, None, step)
            config = saver.put(config, checkpoint, {"step": step}, {"v": str(step)})
            saver.put_writes(config, [("log", step)], f"task{step}")


def kill_mid_sweep(module: str, cls: str, location: str, remaining) -> None:
    script = SWEEPER.format(module=module, cls=cls)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, location], stdout=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        assert proc.stdout.readline().strip() == b"sweeping"
        deadline = time.monotonic() + 30
        while remaining() == THREADS and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        left = remaining()
        print(f"killed with {left} of {THREADS} threads left")
        assert left < THREADS  # the sweep had begun
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sqlite_sweep_killed_leaves_a_consistent_file(tmp_path):
    path = str(tmp_path / "killed.db")
    with SqliteSaver.from_conn_string(path) as saver:
        fill(saver)
    time.sleep(0.7)
    conn = sqlite3.connect(path)

    def remaining() -> int:
        return conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0]

    kill_mid_sweep("sqlite", "SqliteSaver", path, remaining)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    per_thread = conn.execute(
        "SELECT count(*) FROM checkpoints GROUP BY thread_id HAVING count(*) <> ?", (STEPS,)
    ).fetchall()
    assert per_thread == []
    orphans = conn.execute(
        "SELECT count(*) FROM writes w WHERE NOT EXISTS (SELECT 1 FROM checkpoints c "
        "WHERE c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns "
        "AND c.checkpoint_id = w.checkpoint_id)"
    ).fetchone()[0]
    assert orphans == 0
    conn.close()
    with SqliteSaver.from_conn_string(path, ttl={"default_ttl": 0.01}) as saver:
        saver.sweep_ttl()
        assert list(saver.list(None)) == []


def test_postgres_sweep_killed_leaves_a_consistent_database(postgres_server):
    uri = postgres_server.new_database()
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        fill(saver)
    time.sleep(0.7)
    with psycopg.connect(uri, autocommit=True) as conn:

        def remaining() -> int:
            return conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0]

        kill_mid_sweep("postgres", "PostgresSaver", uri, remaining)
        per_thread = conn.execute(
            "SELECT count(*) FROM checkpoints GROUP BY thread_id HAVING count(*) <> %s", (STEPS,)
        ).fetchall()
        assert per_thread == []
        for table in ("checkpoint_writes", "checkpoint_blobs"):
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} x WHERE NOT EXISTS "
                "(SELECT 1 FROM checkpoints c WHERE c.thread_id = x.thread_id)"
            ).fetchone()[0]
            assert orphans == 0, table
    with PostgresSaver.from_conn_string(uri, ttl={"default_ttl": 0.01}) as saver:
        saver.sweep_ttl()
        assert list(saver.list(None)) == []


def test_postgres_database_without_the_retention_table(postgres_server):
    """Set up without our table (as by the reference): everything else works,
    the retention calls ask for setup()."""
    uri = postgres_server.new_database()
    with PostgresSaver.from_conn_string(uri, ttl={"default_ttl": 60}) as saver:
        saver.setup()
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute("DROP TABLE checkpoint_thread_retention")
        fill_one = {"configurable": {"thread_id": "plain", "checkpoint_ns": ""}}
        saver.put(fill_one, create_checkpoint(empty_checkpoint(), None, 0), {}, {})
        assert saver.get_tuple({"configurable": {"thread_id": "plain"}}) is not None
        saver.prune(["plain"], strategy="keep_last", keep=1)
        with pytest.raises(NotSetUpError, match="setup"):
            saver.sweep_ttl()
        with pytest.raises(NotSetUpError, match="setup"):
            saver.set_thread_ttl("plain", None)
        saver.setup()
        saver.set_thread_ttl("plain", None)
        assert saver.get_thread_ttl("plain") is None
