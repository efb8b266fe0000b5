"""InMemoryStore, AsyncBatchedBaseStore, embeddings helpers, InMemoryCache; and
the published langgraph using them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest
from langgraph.cache.memory import InMemoryCache
from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    Item,
    PutOp,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.memory import InMemoryStore

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letter_embedding(texts: list[str]) -> list[list[float]]:
    """Deterministic fake embedding: letter frequencies."""
    return [[float(Counter(t.lower())[c]) for c in ALPHABET] for t in texts]


def test_put_get_delete_and_timestamps():
    store = InMemoryStore()
    store.put(("users", "u1"), "prefs", {"theme": "dark"})
    first = store.get(("users", "u1"), "prefs")
    assert first.value == {"theme": "dark"} and first.namespace == ("users", "u1")
    store.put(("users", "u1"), "prefs", {"theme": "light"})
    second = store.get(("users", "u1"), "prefs")
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    store.delete(("users", "u1"), "prefs")
    assert store.get(("users", "u1"), "prefs") is None


@pytest.mark.parametrize(
    "namespace",
    [(), ("",), ("a.b",), ("langgraph", "x"), ("ok", 3)],
    ids=["empty", "empty-label", "dot", "reserved-root", "non-string"],
)
def test_namespace_validation(namespace):
    with pytest.raises(InvalidNamespaceError):
        InMemoryStore().put(namespace, "k", {"v": 1})


def test_values_must_be_dicts():
    with pytest.raises(TypeError, match="dict"):
        InMemoryStore().put(("a",), "k", ["not", "a", "dict"])


def test_search_filters_and_operators():
    store = InMemoryStore()
    for i in range(6):
        store.put(
            ("docs", "team" if i % 2 else "solo"),
            f"d{i}",
            {"n": i, "meta": {"kind": "even" if i % 2 == 0 else "odd"}},
        )
    assert {i.key for i in store.search(("docs",), filter={"n": {"$gte": 4}})} == {"d4", "d5"}
    assert {i.key for i in store.search(("docs",), filter={"n": {"$gt": 1, "$lt": 4}})} == {
        "d2",
        "d3",
    }
    assert {
        i.key for i in store.search(("docs",), filter={"n": {"$ne": 0}, "meta.kind": "even"})
    } == {"d2", "d4"}
    assert {i.key for i in store.search(("docs",), filter={"meta": {"kind": "odd"}})} == {
        "d1",
        "d3",
        "d5",
    }
    assert {i.key for i in store.search(("docs", "team"))} == {"d1", "d3", "d5"}
    assert len(store.search(("docs",), limit=2)) == 2
    assert len(store.search(("docs",), limit=10, offset=4)) == 2
    with pytest.raises(ValueError, match=r"\$regex"):
        store.search(("docs",), filter={"n": {"$regex": "x"}})


def test_semantic_search_ranks_by_cosine_similarity():
    store = InMemoryStore(index={"dims": 26, "embed": letter_embedding, "fields": ["text"]})
    store.put(("notes",), "zebra", {"text": "zzzz zebra"})
    store.put(("notes",), "apple", {"text": "apple pie apple"})
    store.put(("notes",), "plain", {"text": "banana"})
    store.put(("notes",), "unindexed", {"text": "zzzz"}, index=False)
    results = store.search(("notes",), query="zzz")
    assert results[0].key == "zebra"
    assert results[0].score > results[1].score
    assert results[-1].key == "unindexed" and results[-1].score is None


async def test_async_embedding_function_and_abatch():
    async def embed(texts):
        return letter_embedding(texts)

    store = InMemoryStore(index={"dims": 26, "embed": embed, "fields": ["$"]})
    await store.aput(("a",), "x", {"t": "xxxx"})
    await store.aput(("a",), "y", {"t": "yyyy"})
    results = await store.asearch(("a",), query="yy")
    assert [r.key for r in results][0] == "y"


def test_list_namespaces_prefix_suffix_depth_paging():
    store = InMemoryStore()
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c"), ("z", "c")]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces(prefix=("a",)) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x", "c"),
    ]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("a", "x", "c"), ("z", "c")]
    assert store.list_namespaces(prefix=("a", "*", "c")) == [("a", "b", "c"), ("a", "x", "c")]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z", "c")]
    assert store.list_namespaces(limit=1, offset=1) == [("a", "b", "d")]


def test_ttl_expiry_and_refresh_on_read():
    store = InMemoryStore(ttl={"default_ttl": 0.5 / 60, "refresh_on_read": True})
    store.put(("t",), "short", {"v": 1})
    store.put(("t",), "forever", {"v": 2}, ttl=None)
    time.sleep(0.3)
    assert store.get(("t",), "short") is not None  # read refreshes the TTL
    time.sleep(0.3)
    assert store.get(("t",), "short", refresh_ttl=False) is not None
    time.sleep(0.35)
    assert store.get(("t",), "short") is None
    assert store.get(("t",), "forever") is not None


def test_embedding_helpers():
    assert tokenize_path("a.b[0].c") == ["a", "b", "[0]", "c"]
    value = {"a": [{"t": "x"}, {"t": "y"}], "b": {"c": 1, "d": "z"}}
    assert get_text_at_path(value, "a[*].t") == ["x", "y"]
    assert get_text_at_path(value, "a[-1].t") == ["y"]
    assert get_text_at_path(value, "b.{c,d}") == ["1", "z"]
    assert get_text_at_path(value, "missing") == []
    with pytest.raises(ValueError, match="provider"):
        ensure_embeddings("nosuchprovider:model-x")
    with pytest.raises(ValueError, match="provider:model"):
        ensure_embeddings("no-colon")


class CountingStore(AsyncBatchedBaseStore):
    """Records every abatch call it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = InMemoryStore()
        self.calls: list[list[Any]] = []

    async def abatch(self, ops):
        ops = list(ops)
        self.calls.append(ops)
        return await self.inner.abatch(ops)


async def test_batched_store_coalesces_and_dedups_reads():
    store = CountingStore()
    await store.aput(("n",), "k", {"v": 1})
    store.calls.clear()
    results = await asyncio.gather(
        *(store.aget(("n",), "k") for _ in range(10)), store.asearch(("n",))
    )
    assert all(isinstance(r, Item) and r.value == {"v": 1} for r in results[:10])
    assert len(store.calls) == 1  # one abatch for eleven calls
    assert len(store.calls[0]) == 2  # ten identical gets became one


async def test_batched_store_sync_methods_from_another_thread():
    store = CountingStore()
    await store.aput(("n",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("n",), "k")
    assert item.value == {"v": 1}
    with pytest.raises(asyncio.InvalidStateError):
        store.get(("n",), "k")


def test_store_batch_reads_see_state_before_its_writes():
    store = InMemoryStore()
    store.put(("a",), "k", {"v": 0})
    results = store.batch(
        [
            PutOp(("a",), "k", {"v": 1}),
            GetOp(("a",), "k"),
            SearchOp(("a",)),
            PutOp(("a",), "k", {"v": 2}),
            PutOp(("a",), "new", {"v": 3}),
        ]
    )
    assert results[0] is None and results[3] is None and results[4] is None
    assert results[1].value == {"v": 0}  # as before the batch, like the reference
    assert [i.key for i in results[2]] == ["k"]
    assert store.get(("a",), "k").value == {"v": 2}  # the last write wins
    store.batch([PutOp(("a",), "new", None), PutOp(("a",), "new", {"v": 4})])
    assert store.get(("a",), "new").value == {"v": 4}


def test_cache_ttl_clear_and_threads():
    cache = InMemoryCache()
    cache.set(
        {(("ns",), "a"): ({"x": 1}, None), (("ns",), "b"): (2, 1), (("other",), "c"): (3, None)}
    )
    assert cache.get([(("ns",), "a"), (("ns",), "b")]) == {
        (("ns",), "a"): {"x": 1},
        (("ns",), "b"): 2,
    }
    time.sleep(1.1)
    assert cache.get([(("ns",), "b")]) == {}
    cache.clear([("ns",)])
    assert cache.get([(("ns",), "a"), (("other",), "c")]) == {(("other",), "c"): 3}

    def writer(n):
        for i in range(200):
            cache.set({(("t",), f"{n}-{i}"): (i, None)})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache.get([(("t",), f"{n}-{i}") for n in range(8) for i in range(200)])) == 1600
    cache.clear()
    assert cache.get([(("other",), "c")]) == {}


def test_langgraph_graph_uses_store_and_node_cache():
    from langgraph.graph import START, StateGraph
    from langgraph.store.base import BaseStore
    from langgraph.types import CachePolicy
    from typing_extensions import TypedDict

    calls = []

    class State(TypedDict):
        user: str
        greeting: str

    def remember(state: State, *, store: BaseStore) -> dict:
        calls.append(state["user"])
        seen = store.get(("visits",), state["user"])
        count = (seen.value["count"] if seen else 0) + 1
        store.put(("visits",), state["user"], {"count": count})
        return {"greeting": f"hello {state['user']} #{count}"}

    builder = StateGraph(State)
    builder.add_node("remember", remember, cache_policy=CachePolicy())
    builder.add_edge(START, "remember")
    store = InMemoryStore()
    graph = builder.compile(store=store, cache=InMemoryCache())
    assert graph.invoke({"user": "ann"})["greeting"] == "hello ann #1"
    assert graph.invoke({"user": "ann"})["greeting"] == "hello ann #1"  # served from cache
    assert calls == ["ann"]
    assert graph.invoke({"user": "bob"})["greeting"] == "hello bob #1"
    assert store.get(("visits",), "ann").value == {"count": 1}
