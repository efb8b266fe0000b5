"""InMemoryStore and the store base: operations, validation, filters, semantic
search, namespaces, TTL, batches, embeddings helpers, AsyncBatchedBaseStore."""

from __future__ import annotations

import asyncio
import builtins
import json
import pathlib
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.store.base import (
    NOT_PROVIDED,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.store.base.embed import index_text_paths
from langgraph.store.memory import InMemoryStore, cosine_similarities

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letter_embedding(texts: list[str]) -> list[list[float]]:
    """Deterministic fake embedding: letter frequencies."""
    return [[float(Counter(t.lower())[c]) for c in ALPHABET] for t in texts]


def keys(items: list[Any]) -> list[str]:
    return [i.key for i in items]


# -- basic operations ------------------------------------------------------


def test_put_get_delete_and_timestamps():
    store = InMemoryStore()
    store.put(("users", "u1"), "prefs", {"theme": "dark"})
    first = store.get(("users", "u1"), "prefs")
    assert first.value == {"theme": "dark"} and first.namespace == ("users", "u1")
    assert first.created_at.tzinfo is not None
    time.sleep(0.002)
    store.put(("users", "u1"), "prefs", {"theme": "light"})
    second = store.get(("users", "u1"), "prefs")
    assert second.value == {"theme": "light"}
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    store.delete(("users", "u1"), "prefs")
    assert store.get(("users", "u1"), "prefs") is None
    store.delete(("users", "u1"), "prefs")  # deleting what is absent is fine
    assert store.get(("nobody",), "nothing") is None


def test_put_copies_the_value_and_stringifies_keys():
    store = InMemoryStore()
    value = {"n": 1}
    store.put(("a",), 7, value)  # type: ignore[arg-type]
    value["n"] = 2
    item = store.get(("a",), "7")
    assert item.key == "7" and item.value == {"n": 1}


def test_values_must_be_dicts():
    with pytest.raises(TypeError, match="dict"):
        InMemoryStore().put(("a",), "k", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_unknown_operation_is_rejected():
    with pytest.raises(ValueError, match="unknown store operation"):
        InMemoryStore().batch(["get me something"])  # type: ignore[list-item]


# -- namespace validation --------------------------------------------------

BAD_LABELS = {
    "empty-label": (("",), "empty"),
    "dot": (("a.b",), "'.'"),
    "non-string": (("ok", 3), "strings"),
}


@pytest.mark.parametrize(
    ("namespace", "message"),
    [((), "empty"), (("langgraph", "x"), "langgraph"), *BAD_LABELS.values()],
    ids=["empty", "reserved-root", *BAD_LABELS],
)
def test_put_rejects_bad_namespaces(namespace, message):
    store = InMemoryStore()
    with pytest.raises(InvalidNamespaceError, match=message):
        store.put(namespace, "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError, match=message):
        asyncio.run(store.aput(namespace, "k", {"v": 1}))
    assert store.search(()) == []


@pytest.mark.parametrize(("namespace", "message"), BAD_LABELS.values(), ids=list(BAD_LABELS))
def test_reads_and_deletes_reject_malformed_labels(namespace, message):
    store = InMemoryStore()
    for call in (
        lambda: store.get(namespace, "k"),
        lambda: store.search(namespace),
        lambda: store.delete(namespace, "k"),
        lambda: store.list_namespaces(prefix=namespace),
        lambda: validate_op_namespace(GetOp(namespace, "k")),
    ):
        with pytest.raises(InvalidNamespaceError, match=message):
            call()


def test_reserved_root_and_look_alikes_are_readable():
    store = InMemoryStore()
    assert store.get(("langgraph",), "k") is None  # only writing there is refused
    store.put(("langgraphs",), "k", {"v": 1})
    store.put(("x", "langgraph"), "k", {"v": 2})
    assert store.get(("langgraphs",), "k").value == {"v": 1}
    assert store.get(("x", "langgraph"), "k").value == {"v": 2}
    validate_op_namespace(ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("*",)),)))


# -- filters ---------------------------------------------------------------

DOCS = {
    "d0": {"n": 0, "kind": "even", "meta": {"lang": "en", "stars": 5}, "tags": ["a"]},
    "d1": {"n": 1, "kind": "odd", "meta": {"lang": "fr", "stars": 3}},
    "d2": {"n": 2, "kind": "even", "meta": {"lang": "en", "stars": "4"}},
    "d3": {"n": 3, "kind": "odd", "meta": {"lang": "de"}, "tags": ["a", "b"]},
    "d4": {"n": "4", "kind": "even", "when": "2024-05-01", "missing_n": None},
    "d5": {"kind": None, "when": "2023-12-31"},
}


@pytest.fixture
def docs_store() -> InMemoryStore:
    store = InMemoryStore()
    for key, value in DOCS.items():
        store.put(("docs",), key, value)
    return store


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"kind": "even"}, ["d0", "d2", "d4"]),
        ({"kind": {"$eq": "odd"}}, ["d1", "d3"]),
        ({"kind": {"$ne": "even"}}, ["d1", "d3", "d5"]),
        ({"n": {"$gt": 2}}, ["d3", "d4"]),  # "4" is a numeric string: compared as 4
        ({"n": {"$gte": 2}}, ["d2", "d3", "d4"]),
        ({"n": {"$lt": 2}}, ["d0", "d1"]),
        ({"n": {"$lte": 2}}, ["d0", "d1", "d2"]),
        ({"n": {"$gt": 0, "$lt": 3}}, ["d1", "d2"]),
        ({"n": {"$ne": 1}}, ["d0", "d2", "d3", "d4", "d5"]),
        ({"meta": {"lang": "en"}}, ["d0", "d2"]),  # nested dicts match field by field
        ({"meta": {"stars": {"$gte": 4}}}, ["d0", "d2"]),  # operators inside nesting
        ({"meta.lang": "fr"}, ["d1"]),  # dotted keys reach nested fields too
        ({"meta.stars": {"$lt": 4}}, ["d1"]),
        ({"kind": None}, ["d5"]),
        ({"absent": None}, list(DOCS)),  # a missing field equals None
        ({"absent": {"$ne": None}}, []),
        ({"when": {"$gte": "2024-01-01"}}, ["d4"]),  # strings compare as text
        ({"kind": {"$gt": 1}}, []),  # incomparable values never match
        ({"tags": ["a", "b"]}, ["d3"]),
        ({"kind": "even", "meta": {"lang": "en"}}, ["d0", "d2"]),
        ({}, list(DOCS)),
    ],
)
def test_search_filters_and_operators(docs_store, filter, expected):
    assert sorted(keys(docs_store.search(("docs",), filter=filter, limit=100))) == expected


@pytest.mark.parametrize(
    ("filter", "error", "message"),
    [
        ({"n": {"$regex": "x"}}, ValueError, r"\$regex"),
        ({"meta": {"stars": {"$in": [1]}}}, ValueError, r"\$in"),
        ({"n": {"$gt": 1, "plain": 2}}, ValueError, "plain"),
        ("n = 1", TypeError, "dict"),
        ({1: "x"}, TypeError, "strings"),
    ],
)
def test_malformed_filters_fail_clearly_even_on_an_empty_store(filter, error, message):
    with pytest.raises(error, match=message):
        InMemoryStore().search(("docs",), filter=filter)


def test_search_order_prefix_and_paging(docs_store):
    docs_store.put(("docs", "sub"), "s1", {"n": 9})
    docs_store.put(("other",), "o1", {"n": 9})
    docs_store.put(("docs",), "d1", {"n": 1, "kind": "odd"})  # an update keeps its place
    assert keys(docs_store.search(("docs",))) == [*DOCS, "s1"]
    assert keys(docs_store.search(("docs", "sub"))) == ["s1"]
    assert keys(docs_store.search((), limit=100)) == [*DOCS, "s1", "o1"]
    assert keys(docs_store.search(("docs",), limit=2)) == ["d0", "d1"]
    assert keys(docs_store.search(("docs",), limit=2, offset=2)) == ["d2", "d3"]
    assert keys(docs_store.search(("docs",), offset=6)) == ["s1"]
    assert docs_store.search(("docs",), offset=50) == []
    assert docs_store.search(("do",)) == []  # labels match whole, not as text prefixes
    result = docs_store.search(("docs",), limit=1)[0]
    assert isinstance(result, SearchItem) and result.score is None


# -- semantic search -------------------------------------------------------


def test_semantic_search_ranks_by_cosine_similarity():
    store = InMemoryStore(index={"dims": 26, "embed": letter_embedding, "fields": ["text"]})
    store.put(("notes",), "zebra", {"text": "zzzz zebra"})
    store.put(("notes",), "apple", {"text": "apple pie apple"})
    store.put(("notes",), "banana", {"text": "banana"})
    store.put(("notes",), "unindexed", {"text": "zzzz"}, index=False)
    store.put(("notes",), "no-text", {"title": "zzzz"})
    store.put(("elsewhere",), "zz", {"text": "zz"})
    results = store.search(("notes",), query="zzz")
    assert keys(results) == ["zebra", "apple", "banana", "unindexed", "no-text"]
    expected = cosine_similarities(letter_embedding(["zzz"])[0], letter_embedding(["zzzz zebra"]))
    assert results[0].score == pytest.approx(expected[0]) and 0.9 < results[0].score < 1
    assert results[1].score == results[2].score == 0.0  # no z at all: ties keep insertion order
    assert results[3].score is None and results[4].score is None  # not embedded: last
    assert keys(store.search(("notes",), query="zzz", limit=2, offset=1)) == ["apple", "banana"]
    filtered = store.search(("notes",), query="zzz", filter={"text": "banana"})
    assert keys(filtered) == ["banana"]
    assert keys(store.search((), query="zz", limit=1)) == ["zz"]


def test_semantic_search_uses_best_field_and_per_put_fields():
    store = InMemoryStore(
        index={"dims": 26, "embed": letter_embedding, "fields": ["title", "parts[*].body"]}
    )
    store.put(("d",), "title-match", {"title": "qqqq", "parts": [{"body": "aaaa"}]})
    store.put(("d",), "part-match", {"title": "aaaa", "parts": [{"body": "b"}, {"body": "qqq"}]})
    store.put(("d",), "override", {"title": "qqqq", "summary": "bbbb"}, index=["summary"])
    results = store.search(("d",), query="q")
    assert keys(results) == ["title-match", "part-match", "override"]
    assert results[0].score == pytest.approx(1.0) and results[1].score == pytest.approx(1.0)
    assert results[2].score == pytest.approx(0.0)
    # re-putting without the field drops the old vectors with it
    store.put(("d",), "title-match", {"title": "bbbb"})
    results = store.search(("d",), query="q")
    assert keys(results) == ["part-match", "title-match", "override"]
    assert results[1].score == pytest.approx(0.0)


def test_pure_python_similarity_matches_numpy(monkeypatch):
    query = [1.0, 2.0, 0.0, 3.0]
    vectors = [[1.0, 2.0, 0.0, 3.0], [0.0, 0.0, 1.0, 0.0], [2.0, 1.0, 1.0, 1.0], [0.0] * 4]
    with_numpy = cosine_similarities(query, vectors)
    real_import = builtins.__import__

    def no_numpy(name, *args, **kwargs):
        if name == "numpy":
            raise ImportError("numpy hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    without_numpy = cosine_similarities(query, vectors)
    assert without_numpy == pytest.approx(with_numpy)
    assert without_numpy[0] == pytest.approx(1.0) and without_numpy[1] == 0.0
    assert without_numpy[3] == 0.0  # a zero vector scores 0, not NaN


def test_query_without_index_returns_unscored_items():
    store = InMemoryStore()
    store.put(("n",), "a", {"text": "x"})
    assert [(i.key, i.score) for i in store.search(("n",), query="x")] == [("a", None)]


class DuckEmbeddings:
    """Not a langchain class: anything with embed_documents/embed_query works."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return letter_embedding(texts)

    def embed_query(self, text: str) -> list[float]:
        return letter_embedding([text])[0]


def test_embeddings_objects_by_duck_typing_and_langchain():
    from langchain_core.embeddings import Embeddings as LangChainEmbeddings

    class LetterEmbeddings(LangChainEmbeddings):
        def embed_documents(self, texts):
            return letter_embedding(texts)

        def embed_query(self, text):
            return letter_embedding([text])[0]

    duck = DuckEmbeddings()
    assert ensure_embeddings(duck) is duck
    for embed in (duck, LetterEmbeddings()):
        store = InMemoryStore(index={"dims": 26, "embed": embed, "fields": ["t"]})
        store.put(("n",), "x", {"t": "xxx"})
        store.put(("n",), "y", {"t": "yyy"})
        assert keys(store.search(("n",), query="yy")) == ["y", "x"]
        assert keys(asyncio.run(store.asearch(("n",), query="xx"))) == ["x", "y"]
    assert duck.documents == ["xxx", "yyy"]  # only the configured field was embedded


async def test_async_embedding_function():
    seen: list[list[str]] = []

    async def embed(texts):
        seen.append(list(texts))
        return letter_embedding(texts)

    store = InMemoryStore(index={"dims": 26, "embed": embed})  # fields default to "$"
    await store.aput(("a",), "x", {"t": "xxxx"})
    await store.aput(("a",), "y", {"t": "yyyy"})
    assert keys(await store.asearch(("a",), query="yy")) == ["y", "x"]
    assert seen[0] == ['{"t": "xxxx"}']
    with pytest.raises(ValueError, match="async"):
        store.put(("a",), "z", {"t": "z"})


def test_ensure_embeddings_inputs():
    wrapped = ensure_embeddings(letter_embedding)
    assert wrapped.embed_query("ab")[:3] == [1.0, 1.0, 0.0]
    assert wrapped.embed_documents(["c"])[0][2] == 1.0
    with pytest.raises(ValueError, match="provider"):
        ensure_embeddings("nosuchprovider:model-x")
    with pytest.raises(ValueError, match="provider:model"):
        ensure_embeddings("no-colon")
    with pytest.raises(ValueError, match="embed"):
        ensure_embeddings(None)
    with pytest.raises(TypeError, match="int"):
        ensure_embeddings(42)  # type: ignore[arg-type]


def test_paths_to_text():
    assert tokenize_path("a.b[0].c") == ["a", "b", "[0]", "c"]
    assert tokenize_path("a[*].b") == ["a", "[*]", "b"]
    assert tokenize_path("a.{b,c}.d") == ["a", "{b,c}", "d"]
    value = {
        "a": [{"t": "x"}, {"t": "y"}],
        "b": {"c": 1, "d": "z", "flag": True},
        "grid": [["p", "q"], ["r"]],
        "none": None,
    }
    assert get_text_at_path(value, "a[*].t") == ["x", "y"]
    assert get_text_at_path(value, "a[0].t") == ["x"]
    assert get_text_at_path(value, "a[-1].t") == ["y"]
    assert get_text_at_path(value, "a[7].t") == []
    assert get_text_at_path(value, "b.{c,d}") == ["1", "z"]
    assert get_text_at_path(value, "b.flag") == ["True"]
    assert get_text_at_path(value, "grid[*][*]") == ["p", "q", "r"]
    assert get_text_at_path(value, "grid[1][0]") == ["r"]
    assert get_text_at_path(value, "b") == ['{"c": 1, "d": "z", "flag": true}']
    assert get_text_at_path(value, "none") == []
    assert get_text_at_path(value, "missing.deeper") == []
    assert get_text_at_path({"k": "v"}, "$") == ['{"k": "v"}']


# What the reference's tokenize_path/get_text_at_path return for a table of
# paths and documents (fixtures/make_store_field_paths.py writes it).
FIELD_PATHS = json.loads(
    (pathlib.Path(__file__).parent / "fixtures" / "store-field-paths.json").read_text()
)


@pytest.mark.parametrize("row", FIELD_PATHS["rows"], ids=lambda row: repr(row["path"]))
def test_field_paths_extract_what_the_reference_extracts(row):
    assert tokenize_path(row["path"]) == row["tokens"]
    for name, document in FIELD_PATHS["documents"].items():
        assert get_text_at_path(document, row["path"]) == row["texts"][name], name


def test_wildcard_and_nested_multi_field_paths_get_embedded():
    store = InMemoryStore(
        index={
            "dims": 26,
            "embed": letter_embedding,
            "fields": ["info.metadata.*", "{name,info.age}"],
        }
    )
    store.put(("p",), "a", {"name": "zed", "info": {"age": 41, "metadata": {"x": "quux", "y": 2}}})
    [hit] = store.search(("p",), query="quux")
    assert hit.key == "a" and hit.score is not None and hit.score > 0.9
    [hit] = store.search(("p",), query="zed")
    assert hit.score is not None and hit.score > 0.9


def test_index_text_paths_reads_fields_or_text_fields():
    assert index_text_paths({}) == ["$"]
    assert index_text_paths({"fields": ["a", "b.c"]}) == ["a", "b.c"]
    assert index_text_paths({"text_fields": ["info.metadata.*"]}) == ["info.metadata.*"]
    assert index_text_paths({"text_fields": "name"}) == ["name"]  # one path as a string
    assert index_text_paths({"fields": ["a"], "text_fields": ["a"]}) == ["a"]
    with pytest.raises(ValueError, match="both 'fields' and 'text_fields'"):
        index_text_paths({"fields": ["a"], "text_fields": ["b"]})
    with pytest.raises(ValueError, match="'text_fields' must be a list"):
        index_text_paths({"text_fields": {"a": 1}})
    with pytest.raises(ValueError, match="'fields' must be a list"):
        index_text_paths({"fields": ["a", 3]})


# -- namespaces ------------------------------------------------------------


@pytest.fixture
def ns_store() -> InMemoryStore:
    store = InMemoryStore()
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c"), ("z", "c"), ("a",)]:
        store.put(ns, "k", {"v": 1})
    return store


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, [("a",), ("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c"), ("z", "c")]),
        ({"prefix": ("a", "b")}, [("a", "b", "c"), ("a", "b", "d")]),
        ({"suffix": ("c",)}, [("a", "b", "c"), ("a", "x", "c"), ("z", "c")]),
        ({"prefix": ("a", "*", "c")}, [("a", "b", "c"), ("a", "x", "c")]),
        ({"suffix": ("*", "c")}, [("a", "b", "c"), ("a", "x", "c"), ("z", "c")]),
        ({"prefix": ("a",), "suffix": ("d",)}, [("a", "b", "d")]),
        ({"max_depth": 2}, [("a",), ("a", "b"), ("a", "x"), ("z", "c")]),
        ({"max_depth": 1}, [("a",), ("z",)]),
        ({"prefix": ("a",), "max_depth": 2, "limit": 2, "offset": 1}, [("a", "b"), ("a", "x")]),
        ({"limit": 2, "offset": 3}, [("a", "x", "c"), ("z", "c")]),
        ({"prefix": ("a", "b", "c", "d")}, []),
        ({"prefix": ("q",)}, []),
    ],
)
def test_list_namespaces(ns_store, kwargs, expected):
    assert ns_store.list_namespaces(**kwargs) == expected
    assert asyncio.run(ns_store.alist_namespaces(**kwargs)) == expected


def test_namespace_disappears_with_its_last_item(ns_store):
    ns_store.delete(("z", "c"), "k")
    assert ("z", "c") not in ns_store.list_namespaces()


# -- TTL -------------------------------------------------------------------

SECOND = 1 / 60  # TTLs are in minutes


def test_ttl_expiry_and_refresh_on_read():
    store = InMemoryStore(ttl={"default_ttl": 0.5 * SECOND, "refresh_on_read": True})
    assert store.supports_ttl
    store.put(("t",), "short", {"v": 1})
    store.put(("t",), "forever", {"v": 2}, ttl=None)
    store.put(("t",), "searched", {"v": 3})
    for _ in range(3):
        time.sleep(0.3)
        assert store.get(("t",), "short") is not None  # each read pushes expiry back
        assert keys(store.search(("t",), filter={"v": 3})) == ["searched"]
    time.sleep(0.3)
    assert store.get(("t",), "short", refresh_ttl=False) is not None
    time.sleep(0.35)
    assert store.get(("t",), "short") is None
    assert store.search(("t",), filter={"v": 1}) == []
    assert store.get(("t",), "forever").value == {"v": 2}
    assert store.get(("t",), "searched") is None  # its last refresh was a search, 0.65 s ago


def test_ttl_without_refresh_and_per_item_ttl():
    store = InMemoryStore(ttl={"refresh_on_read": False})
    store.put(("t",), "brief", {"v": 1}, ttl=0.3 * SECOND)
    store.put(("t",), "kept", {"v": 2})  # no default TTL: never expires
    time.sleep(0.2)
    assert store.get(("t",), "brief") is not None  # read, but refresh is off
    time.sleep(0.2)
    assert store.get(("t",), "brief") is None
    assert store.list_namespaces() == [("t",)]
    assert store.get(("t",), "kept") is not None
    store.put(("t",), "kept", {"v": 3}, ttl=0.1 * SECOND)  # a re-put can add a TTL...
    store.put(("t",), "kept", {"v": 4}, ttl=None)  # ...and remove it again
    time.sleep(0.15)
    assert store.get(("t",), "kept").value == {"v": 4}


# -- batches ---------------------------------------------------------------


def test_batch_reads_see_state_before_its_writes():
    store = InMemoryStore()
    store.put(("a",), "k", {"v": 0})
    results = store.batch(
        [
            PutOp(("a",), "k", {"v": 1}),
            GetOp(("a",), "k"),
            SearchOp(("a",)),
            ListNamespacesOp(),
            PutOp(("a",), "k", {"v": 2}),
            PutOp(("b",), "new", {"v": 3}),
        ]
    )
    assert results[0] is None and results[4] is None and results[5] is None
    assert results[1].value == {"v": 0}  # as before the batch, like the reference
    assert keys(results[2]) == ["k"] and results[3] == [("a",)]
    assert store.get(("a",), "k").value == {"v": 2}  # the last write wins
    store.batch([PutOp(("b",), "new", None), PutOp(("b",), "new", {"v": 4})])
    assert store.get(("b",), "new").value == {"v": 4}
    assert asyncio.run(store.abatch([GetOp(("b",), "new")]))[0].value == {"v": 4}


def test_concurrent_threads():
    store = InMemoryStore()

    def writer(n: int) -> None:
        for i in range(100):
            store.put(("t", str(n)), str(i), {"i": i})
            store.search(("t",), limit=5)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.search(("t",), limit=1000)) == 600
    assert len(store.list_namespaces(prefix=("t",))) == 6


# -- items -----------------------------------------------------------------


def test_items_compare_serialize_and_accept_storage_forms():
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    item = Item(value={"x": 1}, key="k", namespace=["a", "b"], created_at=when, updated_at=when)
    same = Item(
        value={"x": 1},
        key="k",
        namespace=("a", "b"),
        created_at=when.isoformat(),
        updated_at=when.isoformat(),
    )
    assert item.namespace == ("a", "b") and item == same and hash(item) == hash(same)
    assert item != Item(
        value={"x": 2}, key="k", namespace=("a", "b"), created_at=when, updated_at=when
    )
    assert item.dict() == {
        "namespace": ["a", "b"],
        "key": "k",
        "value": {"x": 1},
        "created_at": "2024-01-02T03:04:05+00:00",
        "updated_at": "2024-01-02T03:04:05+00:00",
    }
    scored = SearchItem(("a",), "k", {"x": 1}, when, when, score=0.5)
    assert scored.dict()["score"] == 0.5 and scored.namespace == ("a",)
    serde = JsonPlusSerializer()
    assert serde.loads_typed(serde.dumps_typed(item)) == item
    assert repr(NOT_PROVIDED) == "NOT_GIVEN" and not NOT_PROVIDED


# -- AsyncBatchedBaseStore -------------------------------------------------


class CountingStore(AsyncBatchedBaseStore):
    """Records every abatch call it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = InMemoryStore()
        self.calls: list[list[Any]] = []

    async def abatch(self, ops):
        ops = list(ops)
        self.calls.append(ops)
        if any(isinstance(op, GetOp) and op.key == "explode" for op in ops):
            raise RuntimeError("backend failure")
        return await self.inner.abatch(ops)


async def test_batched_store_coalesces_and_dedups_reads():
    store = CountingStore()
    await store.aput(("n",), "k", {"v": 1})
    store.calls.clear()
    results = await asyncio.gather(
        *(store.aget(("n",), "k") for _ in range(10)),
        store.asearch(("n",)),
        store.asearch(("n",)),
        store.alist_namespaces(),
        store.aget(("n",), "other"),
    )
    assert all(isinstance(r, Item) and r.value == {"v": 1} for r in results[:10])
    assert keys(results[10]) == keys(results[11]) == ["k"]
    assert results[12] == [("n",)] and results[13] is None
    assert len(store.calls) == 1  # one abatch for fourteen calls
    assert [type(op).__name__ for op in store.calls[0]] == [
        "GetOp",
        "SearchOp",
        "ListNamespacesOp",
        "GetOp",
    ]


async def test_batched_store_merges_writes_to_one_item():
    store = CountingStore()
    await asyncio.gather(
        store.aput(("n",), "k", {"v": 1}),
        store.aput(("n",), "k", {"v": 2}),
        store.aput(("n",), "other", {"v": 3}),
    )
    assert len(store.calls) == 1 and len(store.calls[0]) == 2
    assert (await store.aget(("n",), "k")).value == {"v": 2}  # the last write won
    await asyncio.gather(store.aput(("n",), "k", {"v": 5}), store.adelete(("n",), "k"))
    assert await store.aget(("n",), "k") is None


async def test_batched_store_errors_reach_every_caller_and_it_recovers():
    store = CountingStore()
    results = await asyncio.gather(
        store.aget(("n",), "explode"), store.aget(("n",), "k"), return_exceptions=True
    )
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    with pytest.raises(InvalidNamespaceError):
        await store.aput(("langgraph",), "k", {"v": 1})
    await store.aput(("n",), "k", {"v": 1})
    assert (await store.aget(("n",), "k")).value == {"v": 1}


async def test_batched_store_sync_methods_from_another_thread():
    store = CountingStore()
    await store.aput(("n",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("n",), "k")
    assert item.value == {"v": 1}
    await asyncio.to_thread(store.put, ("n",), "k2", {"v": 2})
    assert (await store.aget(("n",), "k2")).value == {"v": 2}
    with pytest.raises(asyncio.InvalidStateError, match="async"):
        store.get(("n",), "k")  # would block the loop it runs on


def test_batched_store_sync_methods_without_a_loop():
    store = CountingStore()
    store.put(("n",), "k", {"v": 1})
    assert store.get(("n",), "k").value == {"v": 1}


def test_store_works_without_langchain_core():
    """langchain-core is optional: an equivalent Embeddings base class stands in."""
    script = """
import asyncio, sys
sys.modules["langchain_core"] = None  # import fails as if not installed
from langgraph.store.base import Embeddings
from langgraph.store.memory import InMemoryStore

class Lengths(Embeddings):
    def embed_documents(self, texts):
        return [[float(len(t)), 1.0] for t in texts]

    def embed_query(self, text):
        return [float(len(text)), 1.0]

store = InMemoryStore(index={"dims": 2, "embed": Lengths(), "fields": ["t"]})
asyncio.run(store.aput(("a",), "short", {"t": "x"}))
store.put(("a",), "long", {"t": "xxxxxxxx"})
found = asyncio.run(store.asearch(("a",), query="yyyyyyy"))
assert Embeddings.__module__ == "langgraph.store.base.embed", Embeddings.__module__
assert [i.key for i in found] == ["long", "short"], found
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_batched_store_across_successive_event_loops():
    store = CountingStore()
    asyncio.run(store.aput(("n",), "k", {"v": 1}))
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(store.aget(("n",), "k")).value == {"v": 1}
    loop.close()  # closed without cancelling what still ran on it
    assert asyncio.run(asyncio.wait_for(store.aget(("n",), "k"), 5)).value == {"v": 1}


def test_list_namespaces_rejects_unknown_match_type(ns_store):
    op = ListNamespacesOp(match_conditions=(MatchCondition("infix", ("a",)),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="infix"):
        ns_store.batch([op])
