"""Checkpoints written by langgraph 0.2 (format v1) in SQLite: the pending
sends are inside the serialized checkpoint (`pending_sends`), the reference
hands them back there and LangGraph moves them into `__pregel_tasks`. Ours
must read, resume and prune such threads as the reference does (fixture and
expected views: testsupport/make_legacy_fixtures.py)."""

from __future__ import annotations

import json
import shutil

import aiosqlite
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from testsupport.make_legacy_fixtures import (
    RESUMABLE,
    SQLITE_DB,
    THREADS,
    build_legacy_graph,
    describe_state,
    describe_tuples,
    expected_path,
    observe,
    plain,
    resume,
    sqlite_copy,
    thread_config,
)

EXPECTED = json.loads(expected_path(SQLITE_DB).read_text())


def test_sync_saver_reads_and_resumes_as_the_reference():
    seen = observe(lambda: sqlite_copy(SqliteSaver), prune=False)
    assert seen == EXPECTED
    interrupted = seen["threads"]["interrupted"]
    assert interrupted["get_tuple"][0]["pending_sends"] == [
        {"send": "work", "arg": {"topic": "A", "part": part}} for part in range(3)
    ]
    assert interrupted["state"]["next"] == ["work"] * 3
    assert interrupted["resumed"]["summary"] == "A-0,A-1,A-2"


async def test_async_saver_reads_and_resumes_as_the_reference(tmp_path):
    for thread_id in THREADS:
        expected = EXPECTED["threads"][thread_id]
        path = tmp_path / f"{thread_id}.db"
        shutil.copy(SQLITE_DB, path)
        async with aiosqlite.connect(path) as conn:
            saver = AsyncSqliteSaver(conn)
            config = thread_config(thread_id)
            listed = [t async for t in saver.alist(config)]
            assert describe_tuples(listed) == expected["list"]
            assert describe_tuples([await saver.aget_tuple(config)]) == expected["get_tuple"]
            graph = build_legacy_graph(saver)
            assert describe_state(await graph.aget_state(config)) == expected["state"]
            if thread_id in RESUMABLE:
                assert plain(await graph.ainvoke(None, config)) == expected["resumed"]


def test_pruned_old_thread_still_resumes():
    # The reference SqliteSaver has no prune; the sends travel inside the
    # latest checkpoint, so keeping only it must keep the thread resumable.
    with sqlite_copy(SqliteSaver) as saver:
        saver.prune(list(THREADS))
        latest = saver.get_tuple(thread_config("interrupted"))
        assert describe_tuples([latest]) == EXPECTED["threads"]["interrupted"]["get_tuple"]
        assert (
            resume(build_legacy_graph(saver), "interrupted")
            == (EXPECTED["threads"]["interrupted"]["resumed"])
        )
