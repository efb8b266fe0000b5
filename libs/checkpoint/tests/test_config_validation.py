"""Config values every saver stores as text: thread_id, checkpoint_ns,
checkpoint_id (and its old name thread_ts).

Measured on the reference packages: LangGraph turns any thread_id into
str(thread_id) before a saver sees it, so `{"thread_id": 1}` works on every
saver through a graph; called directly, the reference Postgres saver stores
`1` and then fails to read it (`operator does not exist: text = smallint`)
and stores `["a"]` as "{a}". Here ints, floats and UUIDs become their str()
on every saver, and values with no faithful text form are refused, naming the
key and the type, before anything is written.
"""

from __future__ import annotations

import operator
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import aiosqlite
import pytest
from langgraph.checkpoint.base import (
    config_location,
    empty_checkpoint,
    get_checkpoint_id,
    validated_thread_id,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

U = uuid.UUID("12345678-1234-5678-1234-567812345678")
BAD_VALUES = [["a"], ("a",), {"a": 1}, {"a"}, b"ab", bytearray(b"ab"), object()]
KEYS = ("thread_id", "checkpoint_ns", "checkpoint_id")


def cfg(**configurable: Any) -> dict:
    return {"configurable": {"thread_id": "t", "checkpoint_ns": "", **configurable}}


# -- the shared rules -------------------------------------------------------------


def test_scalars_become_their_text():
    assert config_location(cfg(thread_id=1)) == ("1", "", None)
    assert config_location(cfg(thread_id=U, checkpoint_ns=123, checkpoint_id=U)) == (
        str(U),
        "123",
        str(U),
    )
    assert config_location({"configurable": {"thread_id": 1.5, "checkpoint_ns": None}}) == (
        "1.5",
        "",
        None,
    )
    assert get_checkpoint_id({"configurable": {"thread_ts": U}}) == str(U)
    assert get_checkpoint_id({"configurable": {"checkpoint_id": ""}}) is None
    assert validated_thread_id(7) == "7"


@pytest.mark.parametrize("key", KEYS + ("thread_ts",))
@pytest.mark.parametrize("value", BAD_VALUES, ids=lambda v: type(v).__name__)
def test_values_without_a_text_form_name_the_key_and_type(key, value):
    with pytest.raises(TypeError) as caught:
        config_location(cfg(**{key: value}))
    assert f'["{key}"]' in str(caught.value)
    assert type(value).__name__ in str(caught.value)


@pytest.mark.parametrize("thread_id", [None, ""])
def test_thread_id_is_required(thread_id):
    with pytest.raises(ValueError, match="thread_id"):
        config_location({"configurable": {"thread_id": thread_id}})
    with pytest.raises(ValueError, match="thread_id"):
        validated_thread_id(thread_id)


# -- every saver, sync and async ------------------------------------------------


class Saver:
    """One saver behind one calling convention, so each test runs on all."""

    def __init__(self, saver: Any, is_async: bool) -> None:
        self.saver, self.is_async = saver, is_async

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return await getattr(self.saver, "a" + name)(*args, **kwargs)
        return getattr(self.saver, name)(*args, **kwargs)

    async def list(self, config: Any) -> list:
        if self.is_async:
            return [t async for t in self.saver.alist(config)]
        return list(self.saver.list(config))


@pytest.fixture(
    params=["memory", "memory-async", "sqlite", "sqlite-async", "postgres", "postgres-async"]
)
async def saver(request, tmp_path) -> AsyncIterator[Saver]:
    kind = request.param
    if kind.startswith("memory"):
        yield Saver(InMemorySaver(), kind.endswith("async"))
    elif kind == "sqlite":
        conn = sqlite3.connect(tmp_path / "c.db", check_same_thread=False)
        yield Saver(SqliteSaver(conn), False)
        conn.close()
    elif kind == "sqlite-async":
        async with aiosqlite.connect(tmp_path / "c.db") as conn:
            yield Saver(AsyncSqliteSaver(conn), True)
    else:
        uri = request.getfixturevalue("postgres_server").new_database("config")
        if kind == "postgres":
            with PostgresSaver.from_conn_string(uri) as pg:
                pg.setup()
                yield Saver(pg, False)
        else:
            async with AsyncPostgresSaver.from_conn_string(uri) as pg:
                await pg.setup()
                yield Saver(pg, True)


async def test_rejected_calls_store_nothing(saver):
    stored = await saver.call("put", cfg(), empty_checkpoint(), {}, {})
    for key in KEYS:
        for value in BAD_VALUES:
            bad = cfg(**{key: value})
            with pytest.raises(TypeError, match=key):
                await saver.call("put", bad, empty_checkpoint(), {"source": "input"}, {})
            with pytest.raises(TypeError, match=key):
                await saver.call("put_writes", {**bad}, [("ch", 1)], "task")
            with pytest.raises(TypeError, match=key):
                await saver.call("get_tuple", bad)
            with pytest.raises(TypeError, match=key):
                await saver.list(bad)
    everything = await saver.list(None)
    assert [t.config for t in everything] == [stored]
    assert everything[0].pending_writes == []
    assert everything[0].metadata == {}


async def test_bad_thread_ids_outside_a_config_are_refused(saver):
    stored = await saver.call("put", cfg(), empty_checkpoint(), {}, {})
    for value in BAD_VALUES:
        with pytest.raises(TypeError, match="thread_id"):
            await saver.call("delete_thread", value)
        with pytest.raises(TypeError, match="thread_id"):
            await saver.call("copy_thread", "t", value)
        with pytest.raises(TypeError, match="thread_id"):
            await saver.call("prune", [value])
    with pytest.raises(TypeError, match="sequence"):
        await saver.call("prune", "t")
    assert [t.config for t in await saver.list(None)] == [stored]


async def test_int_uuid_and_number_values_are_their_text(saver):
    one = await saver.call("put", cfg(thread_id=1, checkpoint_ns=123), empty_checkpoint(), {}, {})
    assert one["configurable"]["thread_id"] == "1"
    assert one["configurable"]["checkpoint_ns"] == "123"
    # The case: a namespace stored from an int reads back, by int or text.
    for config in (cfg(thread_id=1, checkpoint_ns=123), cfg(thread_id="1", checkpoint_ns="123")):
        found = await saver.call("get_tuple", config)
        assert found.config == one
        assert [t.config for t in await saver.list(config)] == [one]
    by_uuid = await saver.call("put", cfg(thread_id=U), empty_checkpoint(), {}, {})
    assert by_uuid["configurable"]["thread_id"] == str(U)
    exact = cfg(thread_id=U, checkpoint_id=uuid.UUID(by_uuid["configurable"]["checkpoint_id"]))
    assert (await saver.call("get_tuple", exact)).config == by_uuid
    await saver.call("put_writes", exact, [("ch", "v")], "task")
    assert (await saver.call("get_tuple", cfg(thread_id=str(U)))).pending_writes == [
        ("task", "ch", "v")
    ]
    await saver.call("copy_thread", U, 2)
    assert (await saver.call("get_tuple", cfg(thread_id="2"))) is not None
    await saver.call("delete_thread", 1)
    assert await saver.call("get_tuple", cfg(thread_id="1", checkpoint_ns="123")) is None


class Count(TypedDict):
    n: Annotated[list[int], operator.add]


async def test_graph_with_an_int_thread_id_continues_its_thread(saver):
    builder = StateGraph(Count)
    builder.add_node("step", lambda state: {"n": [len(state["n"])]})
    builder.add_edge(START, "step")
    graph = builder.compile(checkpointer=saver.saver)
    config = {"configurable": {"thread_id": 1}}
    for _ in range(2):
        if saver.is_async:
            result = await graph.ainvoke({"n": []}, config)
        else:
            result = graph.invoke({"n": []}, config)
    assert result == {"n": [0, 1]}
    latest = await saver.call("get_tuple", {"configurable": {"thread_id": "1"}})
    assert latest.checkpoint["channel_values"]["n"] == [0, 1]
