"""Checkpoints written by langgraph 0.2 (format v1): their pending sends are
the parent checkpoint's `__pregel_tasks` writes, and must read back in that
channel, as the reference reads them (fixture and expected views:
testsupport/make_legacy_fixtures.py)."""

from __future__ import annotations

import json

import psycopg
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.types import TASKS
from langgraph.types import Send

from testsupport.make_legacy_fixtures import (
    POSTGRES_DUMP,
    RESUMABLE,
    THREADS,
    build_legacy_graph,
    describe_state,
    describe_tuples,
    expected_path,
    observe,
    plain,
    thread_config,
)

EXPECTED = json.loads(expected_path(POSTGRES_DUMP).read_text())


def test_sync_saver_reads_resumes_and_prunes_as_the_reference(postgres_server):
    seen = observe(
        lambda: PostgresSaver.from_conn_string(postgres_server.restore(POSTGRES_DUMP)),
        prune=True,
    )
    assert seen == EXPECTED
    interrupted = seen["threads"]["interrupted"]
    assert interrupted["get_tuple"][0]["channel_values"][TASKS] == [
        {"send": "work", "arg": {"topic": "A", "part": part}} for part in range(3)
    ]
    assert interrupted["resumed"]["summary"] == "A-0,A-1,A-2"


async def test_async_saver_reads_and_resumes_as_the_reference(postgres_server):
    for thread_id in THREADS:
        expected = EXPECTED["threads"][thread_id]
        uri = postgres_server.restore(POSTGRES_DUMP)
        async with AsyncPostgresSaver.from_conn_string(uri) as saver:
            config = thread_config(thread_id)
            listed = [t async for t in saver.alist(config)]
            assert describe_tuples(listed) == expected["list"]
            assert describe_tuples([await saver.aget_tuple(config)]) == expected["get_tuple"]
            graph = build_legacy_graph(saver)
            assert describe_state(await graph.aget_state(config)) == expected["state"]
            if thread_id in RESUMABLE:
                assert plain(await graph.ainvoke(None, config)) == expected["resumed"]


def test_list_across_threads_migrates_each_threads_sends(postgres_server):
    # The reference looks up every row's sends in the first row's thread; ours
    # finds each in its own thread.
    with PostgresSaver.from_conn_string(postgres_server.restore(POSTGRES_DUMP)) as saver:
        every = {t.checkpoint["id"]: t for t in saver.list(None)}
    for thread_id in THREADS:
        for view in EXPECTED["threads"][thread_id]["list"]:
            assert describe_tuples([every[view["checkpoint_id"]]]) == [view]


def _put_with_sent_parent(saver: PostgresSaver, thread_id: str, v: int, versions: dict) -> dict:
    parent = empty_checkpoint()
    parent_config = saver.put(thread_config(thread_id), parent, {}, {})
    saver.put_writes(parent_config, [(TASKS, Send("work", {"part": 7}))], "task-1")
    child = {**empty_checkpoint(), "v": v, "channel_versions": versions}
    return saver.put(parent_config, child, {}, {})


def test_only_old_formats_take_their_parents_sends(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
        # Format v4 keeps sends in the channel itself: parent writes stay writes.
        current = saver.get_tuple(_put_with_sent_parent(saver, "v4", 4, {"a": "1.5"}))
        assert TASKS not in current.checkpoint["channel_values"]
        assert TASKS not in current.checkpoint["channel_versions"]
        old = saver.get_tuple(_put_with_sent_parent(saver, "v3", 3, {"a": "1.5", "b": "2.5"}))
        assert plain(old.checkpoint["channel_values"][TASKS]) == [
            {"send": "work", "arg": {"part": 7}}
        ]
        assert old.checkpoint["channel_versions"][TASKS] == "2.5"
        # No versions yet: the channel gets the saver's first version.
        bare = saver.get_tuple(_put_with_sent_parent(saver, "bare", 1, {}))
        first = bare.checkpoint["channel_versions"][TASKS]
        assert first.startswith("0" * 31 + "1.")
        assert saver.get_next_version(first, None) > first


def test_prune_keeps_the_parent_holding_the_pending_sends(postgres_server):
    uri = postgres_server.restore(POSTGRES_DUMP)
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.prune(list(THREADS))
        graph = build_legacy_graph(saver)
        assert graph.get_state(thread_config("interrupted")).next == ("work",) * 3
    with psycopg.connect(uri) as conn:
        kept = dict(
            conn.execute(
                "SELECT thread_id, count(*) FROM checkpoints GROUP BY thread_id"
            ).fetchall()
        )
    # `finished` ended on a step that sent nothing: only its latest is kept.
    assert kept == {"interrupted": 2, "failed": 2, "finished": 1}
