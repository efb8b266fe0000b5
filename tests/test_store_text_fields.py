"""Index configs that name their text paths with `text_fields` (the key the
reference's SQLite store reads) embed those paths, as `fields` does."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore


def embed(texts: list[str]) -> list[list[float]]:
    # One dimension per marker word: a text scores only on what it contains.
    return [[float("apple" in t), float("pear" in t), 1.0] for t in texts]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request, tmp_path):
    opened = []

    def make(index: dict):
        if request.param == "memory":
            return InMemoryStore(index=index)
        manager = SqliteStore.from_conn_string(str(tmp_path / f"s{len(opened)}.db"), index=index)
        store = manager.__enter__()
        opened.append(manager)
        store.setup()
        return store

    yield make
    for manager in opened:
        manager.__exit__(None, None, None)


@pytest.mark.parametrize("key", ["fields", "text_fields"])
def test_text_fields_name_the_embedded_paths(make_store, key):
    store = make_store({"dims": 3, "embed": embed, key: ["info.title"]})
    store.put(("docs",), "a", {"info": {"title": "apple"}, "body": "pear"})
    store.put(("docs",), "b", {"info": {"title": "pear"}, "body": "apple"})
    # Only the title is embedded, so the body's words do not count.
    found = store.search(("docs",), query="apple", limit=2)
    assert [item.key for item in found] == ["a", "b"]
    assert found[0].score > found[1].score


def test_fields_and_text_fields_that_disagree_are_refused(make_store):
    with pytest.raises(ValueError, match="text_fields"):
        make_store({"dims": 3, "embed": embed, "fields": ["a"], "text_fields": ["b"]})
