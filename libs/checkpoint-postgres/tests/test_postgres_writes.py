"""How checkpoints and writes travel to PostgreSQL: every blob a parameter of
its own in a multi-row VALUES, and past what one statement can bind (a fan-out
of thousands of `Send`s), columns as arrays, still in one statement."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.postgres import PostgresSaver, _plans
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.types import Send


def checkpoint_with(channels: dict) -> tuple[dict, dict]:
    checkpoint = empty_checkpoint()
    versions = {name: f"{i + 1:032}.0" for i, name in enumerate(channels)}
    checkpoint["channel_values"] = dict(channels)
    checkpoint["channel_versions"] = versions
    return checkpoint, versions


@pytest.fixture(scope="module")
def ready_uri(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    return postgres_uri


@pytest.mark.postgres
@pytest.mark.parametrize("blob_channels", [0, 1, 5])
def test_put_stores_each_channel_blob_once(ready_uri, blob_channels):
    channels = {f"c{i}": [b"\x00" * 40_000, i, "x" * i] for i in range(blob_channels)}
    channels["inline"] = "stays in the checkpoint JSON"
    checkpoint, versions = checkpoint_with(channels)
    thread = f"blobs-{blob_channels}"
    with PostgresSaver.from_conn_string(ready_uri) as saver:
        config = saver.put(
            {"configurable": {"thread_id": thread, "checkpoint_ns": ""}},
            checkpoint,
            {"step": 1},
            versions,
        )
        assert saver.get_tuple(config).checkpoint["channel_values"] == channels
        stored = saver.conn.execute(
            "SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %s", (thread,)
        ).fetchone()[0]
    assert stored == blob_channels


@pytest.mark.postgres
@pytest.mark.parametrize("count", [1, 3, _plans._MAX_VALUES_ROWS, _plans._MAX_VALUES_ROWS + 1])
async def test_put_writes_of_any_fan_out_reads_back_in_order(ready_uri, count):
    # Past _MAX_VALUES_ROWS rows the statement takes the array form.
    sends = [("__pregel_tasks", Send("worker", {"i": i})) for i in range(count)]
    checkpoint, versions = checkpoint_with({})
    async with AsyncPostgresSaver.from_conn_string(ready_uri) as saver:
        config = await saver.aput(
            {"configurable": {"thread_id": f"fan-{count}", "checkpoint_ns": ""}},
            checkpoint,
            {"step": 1},
            versions,
        )
        await saver.aput_writes(config, sends, "task-1")
        await saver.aput_writes(config, [("__pregel_tasks", Send("other", {}))], "task-1")
        pending = (await saver.aget_tuple(config)).pending_writes
    # A task's ordinary writes are kept as first written, in order.
    assert [(task, channel, value.arg) for task, channel, value in pending] == [
        ("task-1", "__pregel_tasks", {"i": i}) for i in range(count)
    ]


@pytest.mark.postgres
def test_special_writes_replace_what_the_task_wrote_before(ready_uri):
    checkpoint, versions = checkpoint_with({})
    with PostgresSaver.from_conn_string(ready_uri) as saver:
        config = saver.put(
            {"configurable": {"thread_id": "special", "checkpoint_ns": ""}},
            checkpoint,
            {"step": 1},
            versions,
        )
        saver.put_writes(config, [("__error__", "first")], "task-1")
        saver.put_writes(config, [("__error__", "second")], "task-1")
        assert saver.get_tuple(config).pending_writes == [("task-1", "__error__", "second")]


@pytest.mark.postgres
def test_pipelined_saver_writes_right_after_setup_of_a_fresh_database(postgres_server):
    # The migrations' DDL makes psycopg drop its prepared statements at the
    # next execute; the statements prepared after setup() must survive that.
    uri = postgres_server.new_database("pipe")
    with PostgresSaver.from_conn_string(uri, pipeline=True) as saver:
        saver.setup()
        for i in range(8):
            checkpoint, versions = checkpoint_with({"v": [i]})
            config = saver.put(
                {"configurable": {"thread_id": f"p{i}", "checkpoint_ns": ""}},
                checkpoint,
                {"step": i},
                versions,
            )
            saver.put_writes(config, [("v", i)], "task")
            assert saver.get_tuple(config).checkpoint["channel_values"] == {"v": [i]}


@pytest.mark.postgres
async def test_async_pipelined_saver_writes_right_after_setup_of_a_fresh_database(
    postgres_server,
):
    uri = postgres_server.new_database("apipe")
    async with AsyncPostgresSaver.from_conn_string(uri, pipeline=True) as saver:
        await saver.setup()
        for i in range(8):
            checkpoint, versions = checkpoint_with({"v": [i]})
            config = await saver.aput(
                {"configurable": {"thread_id": f"p{i}", "checkpoint_ns": ""}},
                checkpoint,
                {"step": i},
                versions,
            )
            await saver.aput_writes(config, [("v", i)], "task")
            assert (await saver.aget_tuple(config)).checkpoint["channel_values"] == {"v": [i]}


def test_savers_and_stores_say_whether_pipeline_mode_is_available():
    # Part of the reference's surface: callers choose pipeline=True by it.
    import psycopg
    from langgraph.store.postgres import PostgresStore
    from langgraph.store.postgres.aio import AsyncPostgresStore

    for cls in (PostgresSaver, AsyncPostgresSaver, PostgresStore, AsyncPostgresStore):
        assert cls.supports_pipeline is psycopg.Pipeline.is_supported(), cls
