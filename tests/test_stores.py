"""Every store of the family behaves the same: SQLite and Postgres, sync and
async, and the in-memory reference point."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from langgraph.graph import START, StateGraph
from langgraph.store.base import BaseStore, InvalidNamespaceError
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letters(texts):
    return [[float(Counter(t.lower())[c]) for c in ALPHABET] for t in texts]


INDEX = {"dims": 26, "embed": letters, "fields": ["text"]}
TTL = {"default_ttl": None, "refresh_on_read": True}
STORES = ["memory", "sqlite", "async_sqlite", "postgres", "async_postgres"]


@pytest.fixture(params=STORES)
async def store(request, tmp_path):
    kind = request.param
    if kind == "memory":
        yield InMemoryStore(index=INDEX, ttl=TTL)
    elif kind == "sqlite":
        with SqliteStore.from_conn_string(str(tmp_path / "store.db"), index=INDEX, ttl=TTL) as s:
            s.setup()
            yield s
    elif kind == "async_sqlite":
        async with AsyncSqliteStore.from_conn_string(
            str(tmp_path / "store.db"), index=INDEX, ttl=TTL
        ) as s:
            await s.setup()
            yield s
    else:
        uri = request.getfixturevalue("postgres_server").new_database("store")
        if kind == "postgres":
            with PostgresStore.from_conn_string(uri, index=INDEX, ttl=TTL) as s:
                s.setup()
                yield s
        else:
            async with AsyncPostgresStore.from_conn_string(uri, index=INDEX, ttl=TTL) as s:
                await s.setup()
                yield s


async def test_put_get_update_delete(store: BaseStore):
    await store.aput(("users", "u1"), "prefs", {"theme": "dark", "nested": {"n": 1}})
    item = await store.aget(("users", "u1"), "prefs")
    assert item.value == {"theme": "dark", "nested": {"n": 1}} and item.namespace == ("users", "u1")
    await store.aput(("users", "u1"), "prefs", {"theme": "light"})
    updated = await store.aget(("users", "u1"), "prefs")
    assert updated.value == {"theme": "light"}
    assert updated.created_at == item.created_at and updated.updated_at >= item.updated_at
    await store.adelete(("users", "u1"), "prefs")
    assert await store.aget(("users", "u1"), "prefs") is None


async def test_filters_operators_and_paging(store: BaseStore):
    for i in range(6):
        await store.aput(
            ("docs", "even" if i % 2 == 0 else "odd"),
            f"d{i}",
            {"n": i, "meta": {"tag": f"t{i % 3}"}},
        )
    assert {i.key for i in await store.asearch(("docs",), filter={"n": {"$gte": 4}})} == {
        "d4",
        "d5",
    }
    assert {i.key for i in await store.asearch(("docs",), filter={"n": {"$gt": 0, "$lt": 3}})} == {
        "d1",
        "d2",
    }
    assert {
        i.key
        for i in await store.asearch(("docs",), filter={"n": {"$ne": 1}, "meta": {"tag": "t1"}})
    } == {"d4"}
    assert {i.key for i in await store.asearch(("docs", "odd"), filter={"n": {"$lte": 3}})} == {
        "d1",
        "d3",
    }
    first = await store.asearch(("docs",), limit=4)
    rest = await store.asearch(("docs",), limit=4, offset=4)
    assert len(first) == 4 and len(rest) == 2 and not {i.key for i in first} & {i.key for i in rest}


async def test_hostile_filter_keys_are_data(store: BaseStore):
    key = "x') OR 1=1; DROP TABLE store; --"
    await store.aput(("h",), "a", {key: 1})
    await store.aput(("h",), "b", {"x": 1})
    assert [i.key for i in await store.asearch(("h",), filter={key: 1})] == ["a"]
    assert await store.asearch(("h",), filter={"' OR '1'='1": 1}) == []
    assert len(await store.asearch(("h",))) == 2


async def test_semantic_search_ranking(store: BaseStore):
    await store.aput(("notes",), "zebra", {"text": "zzzz zebra"})
    await store.aput(("notes",), "apple", {"text": "apple pie apple"})
    await store.aput(("notes",), "skip", {"text": "zzzz"}, index=False)
    results = await store.asearch(("notes",), query="zz")
    assert results[0].key == "zebra" and results[0].score > 0.5
    assert {r.key for r in results} == {"zebra", "apple", "skip"}
    assert next(r for r in results if r.key == "skip").score is None
    [query], [zebra] = letters(["zz"]), letters(["zzzz zebra"])
    expected = sum(a * b for a, b in zip(query, zebra)) / (
        sum(a * a for a in query) ** 0.5 * sum(b * b for b in zebra) ** 0.5
    )
    assert results[0].score == pytest.approx(expected, abs=1e-5)


async def test_list_namespaces(store: BaseStore):
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c"), ("z", "c")]:
        await store.aput(ns, "k", {"v": 1})
    assert await store.alist_namespaces(prefix=("a",)) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x", "c"),
    ]
    assert await store.alist_namespaces(suffix=("c",)) == [
        ("a", "b", "c"),
        ("a", "x", "c"),
        ("z", "c"),
    ]
    assert await store.alist_namespaces(prefix=("a", "*", "c")) == [
        ("a", "b", "c"),
        ("a", "x", "c"),
    ]
    assert await store.alist_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z", "c")]
    assert await store.alist_namespaces(limit=1, offset=1) == [("a", "b", "d")]


async def test_prefix_search_does_not_match_label_prefixes(store: BaseStore):
    await store.aput(("team",), "k", {"v": 1})
    await store.aput(("teammates",), "k", {"v": 2})
    await store.aput(("team", "sub"), "k", {"v": 3})
    assert sorted(i.value["v"] for i in await store.asearch(("team",))) == [1, 3]


async def test_ttl_expiry_refresh_and_sweep(store: BaseStore):
    await store.aput(("t",), "short", {"v": 1}, ttl=0.6 / 60)
    await store.aput(("t",), "forever", {"v": 2})
    await asyncio.sleep(0.4)
    assert await store.aget(("t",), "short") is not None  # refreshes
    await asyncio.sleep(0.4)
    assert await store.aget(("t",), "short", refresh_ttl=False) is not None
    await asyncio.sleep(0.5)
    assert await store.aget(("t",), "short") is None
    sweep = getattr(store, "sweep_ttl", None)
    if sweep is not None:
        swept = sweep()
        swept = await swept if asyncio.iscoroutine(swept) else swept
        assert swept == 1
    assert [i.key for i in await store.asearch(("t",))] == ["forever"]


async def test_namespace_validation(store: BaseStore):
    for bad in [(), ("a.b",), ("langgraph",), ("",)]:
        with pytest.raises(InvalidNamespaceError):
            await store.aput(bad, "k", {"v": 1})


async def test_sync_methods_from_a_thread(store: BaseStore):
    await asyncio.to_thread(store.put, ("sync",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("sync",), "k")
    assert item.value == {"v": 1}


def test_graph_uses_sqlite_and_postgres_stores(tmp_path, postgres_server):
    def build(store):
        def count(state: dict, *, store: BaseStore) -> dict:
            seen = store.get(("visits",), "ann")
            n = (seen.value["n"] if seen else 0) + 1
            store.put(("visits",), "ann", {"n": n})
            return {"n": n}

        builder = StateGraph(dict)
        builder.add_node("count", count)
        builder.add_edge(START, "count")
        return builder.compile(store=store)

    with SqliteStore.from_conn_string(str(tmp_path / "g.db")) as sqlite_store:
        graph = build(sqlite_store)
        graph.invoke({"n": 0})
        assert graph.invoke({"n": 0}) == {"n": 2}
    with PostgresStore.from_conn_string(postgres_server.new_database("gstore")) as pg_store:
        graph = build(pg_store)
        graph.invoke({"n": 0})
        assert graph.invoke({"n": 0}) == {"n": 2}
    time.sleep(0)


def test_pgvector_requested_without_extension_is_a_clear_error(postgres_server):
    index = {**INDEX, "ann_index_config": {"kind": "hnsw"}}
    with PostgresStore.from_conn_string(postgres_server.new_database("vec"), index=index) as s:
        with pytest.raises(RuntimeError, match="vector' extension"):
            s.setup()
