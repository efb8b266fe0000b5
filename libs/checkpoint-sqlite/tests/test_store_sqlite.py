"""SqliteStore specifics not covered by the cross-store suite: the background
TTL sweeper really deletes rows from the file, and stops when asked."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

TTL = {"default_ttl": None, "refresh_on_read": False}
FAST_SWEEP = 0.3 / 60  # minutes


def rows(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM store").fetchone()[0]


def test_thread_sweeper_deletes_expired_rows(tmp_path):
    path = str(tmp_path / "sweep.db")
    with SqliteStore.from_conn_string(path, ttl=TTL) as store:
        store.setup()
        store.put(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        store.put(("s",), "kept", {"v": 2})
        store.start_ttl_sweeper(sweep_interval_minutes=FAST_SWEEP)
        deadline = time.monotonic() + 5
        while rows(path) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.stop_ttl_sweeper(timeout=5)
        assert rows(path) == 1
        assert store.get(("s",), "kept").value == {"v": 2}


async def test_task_sweeper_deletes_expired_rows(tmp_path):
    path = str(tmp_path / "asweep.db")
    async with AsyncSqliteStore.from_conn_string(path, ttl=TTL) as store:
        await store.setup()
        await store.aput(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        await store.aput(("s",), "kept", {"v": 2})
        await store.start_ttl_sweeper(sweep_interval_minutes=FAST_SWEEP)
        deadline = time.monotonic() + 5
        while rows(path) != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await store.stop_ttl_sweeper(timeout=5)
        assert rows(path) == 1
