"""Every store as LangGraph drives it: injected into the nodes of a real graph,
many nodes writing in one step (async nodes with `aput`, sync nodes with
`put` from LangGraph's worker threads), each store opened with
`from_conn_string` on a fresh database and set up on the connection it then
writes on."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from langgraph.graph import START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore
from typing_extensions import TypedDict

NODES = 50
# A bound on a graph run: a store that stops answering fails the test (while
# the event loop itself still runs).
RUN_TIMEOUT = 60

POSTGRES_MODES = {
    "plain": {},
    "pool": {"pool_config": {"min_size": 1, "max_size": 1}},
    "pipeline": {"pipeline": True},
}
STORES = [
    "memory",
    "sqlite",
    "async_sqlite",
    *(f"postgres_{mode}" for mode in POSTGRES_MODES),
    *(f"async_postgres_{mode}" for mode in POSTGRES_MODES),
]


@pytest.fixture(params=STORES)
async def store(request, tmp_path):
    kind: str = request.param
    async with AsyncExitStack() as stack:
        if kind == "memory":
            yield InMemoryStore()
            return
        if kind == "sqlite":
            s = stack.enter_context(SqliteStore.from_conn_string(str(tmp_path / "s.db")))
            s.setup()
        elif kind == "async_sqlite":
            s = await stack.enter_async_context(
                AsyncSqliteStore.from_conn_string(str(tmp_path / "s.db"))
            )
            await s.setup()
        else:
            uri = request.getfixturevalue("postgres_server").new_database("concurrency")
            options = POSTGRES_MODES[kind.rpartition("_")[2]]
            if kind.startswith("async_"):
                s = await stack.enter_async_context(
                    AsyncPostgresStore.from_conn_string(uri, **options)
                )
                await s.setup()
            else:
                s = stack.enter_context(PostgresStore.from_conn_string(uri, **options))
                s.setup()
        yield s


class State(TypedDict):
    run: str


def fan_out(nodes: dict) -> StateGraph:
    """One step: every node starts from START."""
    builder = StateGraph(State)
    for name, node in nodes.items():
        builder.add_node(name, node)
        builder.add_edge(START, name)
    return builder


def async_writer(i: int):
    async def node(state: State, *, store: BaseStore) -> dict:
        await store.aput(("docs", state["run"]), f"n{i}", {"node": i, "run": state["run"]})
        item = await store.aget(("docs", state["run"]), f"n{i}")
        assert item is not None and item.value["node"] == i
        return {}

    return node


def sync_writer(i: int):
    # LangGraph runs a sync node of an async graph in a worker thread, while
    # its event loop keeps running the other nodes.
    def node(state: State, *, store: BaseStore) -> dict:
        store.put(("docs", state["run"]), f"n{i}", {"node": i, "run": state["run"]})
        item = store.get(("docs", state["run"]), f"n{i}")
        assert item is not None and item.value["node"] == i
        assert len(store.search(("docs", state["run"]), limit=NODES)) >= 1
        return {}

    return node


async def stored(store: BaseStore, run: str) -> dict[str, dict]:
    items = await store.asearch(("docs", run), limit=NODES + 10)
    return {item.key: item.value for item in items}


def expected(run: str, nodes: range) -> dict[str, dict]:
    return {f"n{i}": {"node": i, "run": run} for i in nodes}


async def test_fifty_async_nodes_write_in_one_step(store: BaseStore):
    graph = fan_out({f"node{i}": async_writer(i) for i in range(NODES)}).compile(store=store)
    # Twice: a store whose first writes work can fail once statements are reused.
    for run in ("first", "second"):
        await asyncio.wait_for(graph.ainvoke({"run": run}), RUN_TIMEOUT)
        assert await stored(store, run) == expected(run, range(NODES))
        for i in (0, NODES - 1):
            assert (await store.aget(("docs", run), f"n{i}")).value == {"node": i, "run": run}


async def test_sync_nodes_of_an_async_graph(store: BaseStore):
    # Only sync calls: the store has seen nothing but `setup()` on its loop.
    graph = fan_out({f"node{i}": sync_writer(i) for i in range(10)}).compile(store=store)
    for run in ("first", "second"):
        await asyncio.wait_for(graph.ainvoke({"run": run}), RUN_TIMEOUT)
        assert await stored(store, run) == expected(run, range(10))


async def test_sync_and_async_nodes_of_an_async_graph(store: BaseStore):
    nodes = {f"sync{i}": sync_writer(i) for i in range(10)}
    nodes |= {f"async{i}": async_writer(i) for i in range(10, 30)}
    graph = fan_out(nodes).compile(store=store)
    for run in ("first", "second"):
        await asyncio.wait_for(graph.ainvoke({"run": run}), RUN_TIMEOUT)
        assert await stored(store, run) == expected(run, range(30))


@pytest.fixture(params=["memory", "sqlite", *(f"postgres_{mode}" for mode in POSTGRES_MODES)])
def sync_store(request, tmp_path):
    kind: str = request.param
    if kind == "memory":
        yield InMemoryStore()
    elif kind == "sqlite":
        with SqliteStore.from_conn_string(str(tmp_path / "s.db")) as s:
            s.setup()
            yield s
    else:
        uri = request.getfixturevalue("postgres_server").new_database("concurrency")
        with PostgresStore.from_conn_string(uri, **POSTGRES_MODES[kind.rpartition("_")[2]]) as s:
            s.setup()
            yield s


def test_fifty_sync_nodes_of_a_sync_graph(sync_store: BaseStore):
    graph = fan_out({f"node{i}": sync_writer(i) for i in range(NODES)}).compile(store=sync_store)
    for run in ("first", "second"):
        graph.invoke({"run": run})
        items = sync_store.search(("docs", run), limit=NODES + 10)
        assert {item.key: item.value for item in items} == expected(run, range(NODES))


ASYNC_STORES = ["async_sqlite", *(f"async_postgres_{mode}" for mode in POSTGRES_MODES)]


@pytest.mark.parametrize("store", ASYNC_STORES, indirect=True)
async def test_a_sync_call_on_the_event_loop_is_refused(store: BaseStore):
    # It would wait for the loop it blocks: an error naming the way out instead.
    with pytest.raises(asyncio.InvalidStateError, match="async methods"):
        store.put(("docs",), "k", {"v": 1})
    with pytest.raises(asyncio.InvalidStateError, match="async methods"):
        store.get(("docs",), "k")
    assert await store.aget(("docs",), "k") is None
    await store.aput(("docs",), "k", {"v": 2})
    assert (await store.aget(("docs",), "k")).value == {"v": 2}


@pytest.mark.parametrize("kind", ["async_sqlite", "async_postgres"])
def test_a_sync_call_while_the_stores_loop_is_idle(kind, tmp_path, request):
    # A script that drives the loop with run_until_complete and calls the sync
    # methods between two runs: they run on the store's own loop.
    if kind == "async_sqlite":
        opened = AsyncSqliteStore.from_conn_string(str(tmp_path / "s.db"))
    else:
        uri = request.getfixturevalue("postgres_server").new_database("idle")
        opened = AsyncPostgresStore.from_conn_string(uri)
    loop = asyncio.new_event_loop()
    try:
        s = loop.run_until_complete(opened.__aenter__())
        loop.run_until_complete(s.setup())
        s.put(("docs",), "k", {"v": 1})
        assert s.get(("docs",), "k").value == {"v": 1}
        assert loop.run_until_complete(s.aget(("docs",), "k")).value == {"v": 1}
        loop.run_until_complete(opened.__aexit__(None, None, None))
    finally:
        loop.close()
