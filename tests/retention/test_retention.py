"""Retention on every saver (issue 17): TTL sweeps, keep_latest, refresh on
read, pinned threads, keep_last, concurrent sweepers; interrupts resume
through the published langgraph."""

from __future__ import annotations

import asyncio
import operator
import threading
import time
import uuid
from typing import Annotated

import pytest
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.checkpoint.base.retention import SweepReport, validated_ttl
from langgraph.checkpoint.errors import InvalidConfigError
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

TTL = 0.02  # minutes: 1.2 s (what is fresh must stay so through a slow sweep)
PAST_TTL = 1.3  # seconds


def cfg(thread_id: str, ns: str = "") -> dict:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


async def write_thread(s, thread_id: str, steps: int = 3) -> dict:
    """`steps` checkpoints on the thread, each with one pending write."""
    config = cfg(thread_id)
    checkpoint = empty_checkpoint()
    for step in range(steps):
        checkpoint = create_checkpoint(checkpoint, None, step)
        config = await s.call("put", config, checkpoint, {"step": step}, {})
        await s.call("put_writes", config, [("log", step)], f"task-{step}")
    return config


async def history(s, thread_id: str, ns: str | None = None) -> list:
    config = cfg(thread_id) if ns is not None else {"configurable": {"thread_id": thread_id}}
    if ns is not None:
        config["configurable"]["checkpoint_ns"] = ns
    return await s.call("list", config)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


# -- the option ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ttl",
    [
        {"strategy": "forget"},
        {"default_ttl": 0},
        {"default_ttl": "60"},
        {"default_ttl": True},
        {"sweep_interval_minutes": -1},
        {"refresh_on_read": "yes"},
        {"keep_last": 0},
        {"keep_last": 2.5},
        {"ttl_minutes": 5},
        ["delete"],
    ],
)
def test_bad_ttl_options_are_refused_clearly(ttl):
    with pytest.raises(InvalidConfigError):
        validated_ttl(ttl)


def test_ttl_option_defaults():
    settings = validated_ttl({"default_ttl": 60})
    assert settings.strategy == "delete"
    assert settings.sweep_interval_minutes == 5
    assert settings.refresh_on_read is False
    assert settings.keep_last is None


async def test_prune_arguments_are_checked(saver):
    with pytest.raises(InvalidConfigError, match="keep_last"):
        await saver.call("prune", ["t"], strategy="keep_some")
    with pytest.raises(InvalidConfigError, match="keep"):
        await saver.call("prune", ["t"], strategy="keep_last")
    with pytest.raises(InvalidConfigError, match="keep"):
        await saver.call("prune", ["t"], strategy="keep_latest", keep=2)
    with pytest.raises(InvalidConfigError):
        await saver.call("set_thread_ttl", "t", -5)


# -- expiry ---------------------------------------------------------------------------------


async def test_expired_thread_is_deleted_and_fresh_one_kept(saver):
    old, fresh = unique("old"), unique("fresh")
    await write_thread(saver, old)
    await asyncio.sleep(PAST_TTL)
    await write_thread(saver, fresh)
    report = await saver.call("sweep_ttl")
    assert isinstance(report, SweepReport)
    assert report.threads_deleted >= 1 and report.checkpoints_deleted >= 3
    assert await history(saver, old) == []
    kept = await history(saver, fresh)
    assert len(kept) == 3 and all(item.pending_writes for item in kept)
    # A second sweep finds nothing more to do.
    assert (await saver.call("sweep_ttl")).checkpoints_deleted == 0


async def test_no_default_ttl_keeps_everything(open_saver):
    async with open_saver(None) as s:
        thread_id = unique("t")
        await write_thread(s, thread_id)
        await asyncio.sleep(PAST_TTL)
        assert (await s.call("sweep_ttl")).checkpoints_deleted == 0
        assert len(await history(s, thread_id)) == 3


async def test_ids_that_carry_no_time_never_expire(saver):
    thread_id = unique("plain-ids")
    checkpoint = empty_checkpoint()
    config = cfg(thread_id)
    for step in range(2):
        checkpoint = create_checkpoint(checkpoint, None, step, id=f"checkpoint-{step}")
        config = await saver.call("put", config, checkpoint, {"step": step}, {})
    await asyncio.sleep(PAST_TTL)
    await saver.call("sweep_ttl")
    assert len(await history(saver, thread_id)) == 2


class Ask(TypedDict):
    steps: Annotated[list, operator.add]
    answer: str


def interrupting_graph(checkpointer, before_question: int = 3):
    """`before_question` steps, then a node that asks a question and records the answer."""
    builder = StateGraph(Ask)
    previous = START
    for i in range(before_question):
        builder.add_node(f"step{i}", lambda s, i=i: {"steps": [i]})
        builder.add_edge(previous, f"step{i}")
        previous = f"step{i}"
    builder.add_node("ask", lambda s: {"answer": interrupt("name?")})
    builder.add_edge(previous, "ask")
    return builder.compile(checkpointer=checkpointer)


async def test_keep_latest_leaves_a_thread_that_resumes_from_its_interrupt(open_saver):
    async with open_saver({"default_ttl": TTL, "strategy": "keep_latest"}) as s:
        graph = interrupting_graph(s.saver)
        config = {"configurable": {"thread_id": unique("asked")}}
        paused = await s.invoke(graph, {"steps": []}, config)
        assert paused["__interrupt__"][0].value == "name?"
        assert len(await history(s, config["configurable"]["thread_id"], "")) > 1
        await asyncio.sleep(PAST_TTL)
        report = await s.call("sweep_ttl")
        assert report.threads_trimmed >= 1 and report.threads_deleted == 0
        assert len(await history(s, config["configurable"]["thread_id"], "")) == 1
        done = await s.invoke(graph, Command(resume="Ada"), config)
        assert done["answer"] == "Ada" and done["steps"] == [0, 1, 2]


async def test_refresh_on_read_keeps_a_thread_that_is_read(open_saver):
    async with open_saver({"default_ttl": 0.02, "refresh_on_read": True}) as s:
        read, unread = unique("read"), unique("unread")
        await write_thread(s, read)
        await write_thread(s, unread)
        await asyncio.sleep(0.8)
        assert await s.call("get_tuple", cfg(read)) is not None
        await asyncio.sleep(0.6)  # 1.4 s after the writes, 0.6 s after the read; TTL 1.2 s
        await s.call("sweep_ttl")
        assert len(await history(s, read)) == 3
        assert await history(s, unread) == []
        # `list` counts as a read too.
        await asyncio.sleep(0.8)
        assert len(await history(s, read)) == 3
        await asyncio.sleep(0.6)
        await s.call("sweep_ttl")
        assert len(await history(s, read)) == 3


async def test_pinned_thread_and_own_ttl(open_saver):
    async with open_saver(None) as s:
        pinned, short, plain = unique("pinned"), unique("short"), unique("plain")
        for thread_id in (pinned, short, plain):
            await write_thread(s, thread_id)
        await s.call("set_thread_ttl", pinned, None)
        await s.call("set_thread_ttl", short, TTL)
        assert await s.call("get_thread_ttl", pinned) is None
        assert await s.call("get_thread_ttl", short) == TTL
        assert await s.call("get_thread_ttl", plain) is None  # no default
        await asyncio.sleep(PAST_TTL)
        report = await s.call("sweep_ttl")
        assert report.threads_deleted >= 1
        assert await history(s, short) == []
        assert len(await history(s, pinned)) == 3
        assert len(await history(s, plain)) == 3
    async with open_saver({"default_ttl": TTL, "keep_last": 1}) as s:
        # A pinned thread survives the default TTL and keep_last alike.
        assert await s.call("get_thread_ttl", plain) == TTL
        await s.call("sweep_ttl")
        assert len(await history(s, pinned)) == 3
        assert await history(s, plain) == []


# -- keep_last -------------------------------------------------------------------------------


async def test_prune_keep_last_leaves_n_and_the_thread_resumes(saver):
    graph = interrupting_graph(saver.saver, before_question=6)
    config = {"configurable": {"thread_id": unique("long")}}
    await saver.invoke(graph, {"steps": []}, config)
    thread_id = config["configurable"]["thread_id"]
    newest = [
        item.config["configurable"]["checkpoint_id"] for item in await history(saver, thread_id, "")
    ]
    assert len(newest) > 3
    await saver.call("prune", [thread_id], strategy="keep_last", keep=3)
    kept = await history(saver, thread_id, "")
    assert [item.config["configurable"]["checkpoint_id"] for item in kept] == newest[:3]
    done = await saver.invoke(graph, Command(resume="Ada"), config)
    assert done["answer"] == "Ada" and done["steps"] == list(range(6))


def append_all(state: list, writes: list) -> list:
    return [
        *state,
        *[w for batch in writes for w in (batch if isinstance(batch, list) else [batch])],
    ]


class Log(TypedDict):
    items: Annotated[list, DeltaChannel(append_all, snapshot_frequency=4)]


async def test_keep_last_by_the_sweep_keeps_delta_channel_ancestors(open_saver):
    async with open_saver({"keep_last": 2}) as s:
        builder = StateGraph(Log)
        builder.add_node("add", lambda state: {"items": [len(state["items"])]})
        builder.add_edge(START, "add")
        graph = builder.compile(checkpointer=s.saver)
        config = {"configurable": {"thread_id": unique("delta")}}
        for _ in range(7):
            await s.invoke(graph, {"items": []}, config)
        state = graph.get_state(config) if not s.is_async else await graph.aget_state(config)
        expected = state.values["items"]
        before = len(await history(s, config["configurable"]["thread_id"], ""))
        report = await s.call("sweep_ttl")
        after = len(await history(s, config["configurable"]["thread_id"], ""))
        assert report.threads_trimmed >= 1 and 2 <= after < before
        state = graph.get_state(config) if not s.is_async else await graph.aget_state(config)
        assert state.values["items"] == expected
        await s.invoke(graph, {"items": []}, config)
        state = graph.get_state(config) if not s.is_async else await graph.aget_state(config)
        assert len(state.values["items"]) == len(expected) + 1


# -- several sweepers -----------------------------------------------------------------------


async def test_two_sweepers_at_once_lose_nothing_that_should_stay(open_saver, kind):
    ttl = {"default_ttl": TTL}
    async with open_saver(ttl) as first, open_saver(ttl) as second:
        expired = [unique(f"x{i}") for i in range(60)]
        for thread_id in expired:
            await write_thread(first, thread_id, steps=2)
        await asyncio.sleep(PAST_TTL)
        fresh = [unique(f"f{i}") for i in range(60)]

        async def keep_writing() -> None:
            for thread_id in fresh:
                await write_thread(first, thread_id, steps=2)

        if kind.startswith("async"):
            reports = await asyncio.gather(
                first.call("sweep_ttl"), second.call("sweep_ttl"), keep_writing()
            )
        else:
            results: list = []
            sweepers = [
                threading.Thread(target=lambda s=s: results.append(s.saver.sweep_ttl()))
                for s in (first, second)
            ]
            for sweeper in sweepers:
                sweeper.start()
            await keep_writing()
            for sweeper in sweepers:
                sweeper.join()
            reports = results
        deleted = sum(report.threads_deleted for report in reports[:2])
        assert deleted >= len(expired)
        for thread_id in expired:
            assert await history(first, thread_id) == []
        for thread_id in fresh:
            assert len(await history(first, thread_id)) == 2


async def test_background_sweeper_starts_and_stops(open_saver, kind):
    async with open_saver({"default_ttl": TTL, "sweep_interval_minutes": 0.005}) as s:
        thread_id = unique("bg")
        await write_thread(s, thread_id)
        if kind.startswith("async"):
            await s.saver.start_ttl_sweeper()
        else:
            s.saver.start_ttl_sweeper()
        deadline = time.monotonic() + 10
        while await history(s, thread_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stopped = (
            await s.saver.stop_ttl_sweeper(5)
            if kind.startswith("async")
            else s.saver.stop_ttl_sweeper(5)
        )
        assert stopped
        assert await history(s, thread_id) == []


async def test_delete_thread_forgets_the_threads_retention_settings(saver):
    """A deleted thread's id, used again, starts with the default TTL, not the
    deleted thread's own pin."""
    thread_id = unique("reused")
    await write_thread(saver, thread_id)
    await saver.call("set_thread_ttl", thread_id, None)
    assert await saver.call("get_thread_ttl", thread_id) is None
    await saver.call("delete_thread", thread_id)
    assert await saver.call("get_thread_ttl", thread_id) == TTL
