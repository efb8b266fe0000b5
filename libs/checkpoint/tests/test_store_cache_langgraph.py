"""The published langgraph running graphs on our store and caches: a node that
reads and writes `InMemoryStore` (through the `store` argument and through
`runtime.store`), and node caching with `InMemoryCache` and `RedisCache`."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis
import redis.asyncio
from langgraph.cache.memory import InMemoryCache
from langgraph.cache.redis import RedisCache
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import CachePolicy
from typing_extensions import TypedDict

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letter_embedding(texts: list[str]) -> list[list[float]]:
    return [[float(Counter(t.lower())[c]) for c in ALPHABET] for t in texts]


class State(TypedDict, total=False):
    user: str
    note: str
    greeting: str
    recalled: list[str]


def visit_counter_graph(store: InMemoryStore, calls: list[str]):
    def remember(state: State, *, store: BaseStore) -> dict:
        calls.append(state["user"])
        seen = store.get(("visits",), state["user"])
        count = (seen.value["count"] if seen else 0) + 1
        store.put(("visits",), state["user"], {"count": count})
        return {"greeting": f"hello {state['user']} #{count}"}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    return builder.compile(store=store)


def test_node_reads_and_writes_the_store_via_the_store_argument():
    store, calls = InMemoryStore(), []
    graph = visit_counter_graph(store, calls)
    assert graph.invoke({"user": "ann"})["greeting"] == "hello ann #1"
    assert graph.invoke({"user": "ann"})["greeting"] == "hello ann #2"
    assert graph.invoke({"user": "bob"})["greeting"] == "hello bob #1"
    assert store.get(("visits",), "ann").value == {"count": 2}
    assert calls == ["ann", "ann", "bob"]


def test_runtime_store_with_semantic_search():
    store = InMemoryStore(index={"dims": 26, "embed": letter_embedding, "fields": ["text"]})

    def save(state: State, runtime: Runtime) -> dict:
        runtime.store.put(
            ("notes", state["user"]), str(len(state["note"])), {"text": state["note"]}
        )
        return {}

    def recall(state: State, runtime: Runtime) -> dict:
        found = runtime.store.search(("notes", state["user"]), query="zzz", limit=2)
        return {"recalled": [item.value["text"] for item in found]}

    builder = StateGraph(State)
    builder.add_node("save", save)
    builder.add_node("recall", recall)
    builder.add_edge(START, "save")
    builder.add_edge("save", "recall")
    graph = builder.compile(store=store)
    graph.invoke({"user": "ann", "note": "apples"})
    graph.invoke({"user": "ann", "note": "zzz top"})
    result = graph.invoke({"user": "ann", "note": "a puzzle"})
    assert result["recalled"] == ["zzz top", "a puzzle"]  # most similar first
    assert store.list_namespaces(prefix=("notes",)) == [("notes", "ann")]


async def test_async_graph_with_store():
    store = InMemoryStore()

    async def remember(state: State, runtime: Runtime) -> dict:
        seen = await runtime.store.aget(("visits",), state["user"])
        count = (seen.value["count"] if seen else 0) + 1
        await runtime.store.aput(("visits",), state["user"], {"count": count})
        return {"greeting": f"#{count}"}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    graph = builder.compile(store=store)
    assert (await graph.ainvoke({"user": "ann"}))["greeting"] == "#1"
    assert (await graph.ainvoke({"user": "ann"}))["greeting"] == "#2"


def cached_graph(cache, calls: list[str], ttl: int | None = None):
    def shout(state: State) -> dict:
        calls.append(state["user"])
        return {"greeting": state["user"].upper()}

    builder = StateGraph(State)
    builder.add_node("shout", shout, cache_policy=CachePolicy(ttl=ttl))
    builder.add_edge(START, "shout")
    return builder.compile(cache=cache)


def test_node_cache_runs_the_node_once_per_input():
    calls: list[str] = []
    graph = cached_graph(InMemoryCache(), calls)
    assert graph.invoke({"user": "ann"})["greeting"] == "ANN"
    assert graph.invoke({"user": "ann"})["greeting"] == "ANN"  # served from the cache
    assert graph.invoke({"user": "bob"})["greeting"] == "BOB"
    assert graph.invoke({"user": "ann"})["greeting"] == "ANN"
    assert calls == ["ann", "bob"]
    graph.clear_cache()
    assert graph.invoke({"user": "ann"})["greeting"] == "ANN"
    assert calls == ["ann", "bob", "ann"]


def test_node_cache_entries_expire():
    calls: list[str] = []
    graph = cached_graph(InMemoryCache(), calls, ttl=1)
    graph.invoke({"user": "ann"})
    graph.invoke({"user": "ann"})
    assert calls == ["ann"]
    time.sleep(1.1)
    graph.invoke({"user": "ann"})
    assert calls == ["ann", "ann"]


def test_store_and_cache_together():
    calls: list[str] = []

    def remember(state: State, *, store: BaseStore) -> dict:
        calls.append(state["user"])
        store.put(("seen",), state["user"], {"ok": True})
        return {"greeting": f"hi {state['user']}"}

    builder = StateGraph(State)
    builder.add_node("remember", remember, cache_policy=CachePolicy())
    builder.add_edge(START, "remember")
    store = InMemoryStore()
    graph = builder.compile(store=store, cache=InMemoryCache())
    assert graph.invoke({"user": "ann"})["greeting"] == "hi ann"
    assert graph.invoke({"user": "ann"})["greeting"] == "hi ann"
    assert calls == ["ann"] and store.get(("seen",), "ann").value == {"ok": True}


def test_node_cache_on_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    cache = RedisCache(client, prefix="graph-sync:")
    cache.clear()
    calls: list[str] = []
    graph = cached_graph(cache, calls, ttl=60)
    graph.invoke({"user": "ann"})
    graph.invoke({"user": "ann"})
    assert calls == ["ann"]
    assert 0 < client.ttl(client.keys("graph-sync:*")[0]) <= 60
    graph.clear_cache()
    assert client.keys("graph-sync:*") == []
    client.close()


@pytest.mark.parametrize("async_client", [False, True], ids=["sync-client", "asyncio-client"])
async def test_node_cache_on_redis_async(redis_url, async_client):
    client = (redis.asyncio.Redis if async_client else redis.Redis).from_url(redis_url)
    cache = RedisCache(client, prefix=f"graph-async-{async_client}:")
    await cache.aclear()
    calls: list[str] = []
    graph = cached_graph(cache, calls)
    assert (await graph.ainvoke({"user": "ann"}))["greeting"] == "ANN"
    assert (await graph.ainvoke({"user": "ann"}))["greeting"] == "ANN"
    assert calls == ["ann"]
    await graph.aclear_cache()
    await graph.ainvoke({"user": "ann"})
    assert calls == ["ann", "ann"]
    if async_client:
        await client.aclose()
    else:
        client.close()
