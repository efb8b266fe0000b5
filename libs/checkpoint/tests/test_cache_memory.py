"""InMemoryCache: get/set/clear, per-entry TTL, serialization, threads."""

from __future__ import annotations

import threading
import time

from langgraph.cache.base import BaseCache
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer


def test_get_set_and_missing_keys():
    cache = InMemoryCache()
    assert isinstance(cache, BaseCache)
    cache.set({(("ns", "sub"), "a"): ({"x": [1, 2]}, None), (("ns",), "b"): ((1, "t"), None)})
    assert cache.get([(("ns", "sub"), "a"), (("ns",), "b"), (("ns",), "nope")]) == {
        (("ns", "sub"), "a"): {"x": [1, 2]},
        (("ns",), "b"): [1, "t"],  # tuples come back as lists, as with the reference
    }
    assert cache.get([]) == {}
    cache.set({(("ns",), "b"): ("replaced", None)})
    assert cache.get([(("ns",), "b")]) == {(("ns",), "b"): "replaced"}


def test_values_are_stored_serialized():
    cache = InMemoryCache()
    value = {"list": [1]}
    cache.set({(("ns",), "k"): (value, None)})
    value["list"].append(2)
    got = cache.get([(("ns",), "k")])[(("ns",), "k")]
    assert got == {"list": [1]}
    got["list"].append(3)  # what callers get is a copy too
    assert cache.get([(("ns",), "k")])[(("ns",), "k")] == {"list": [1]}


def test_custom_serde_is_used():
    calls = []

    class Recording(JsonPlusSerializer):
        def dumps_typed(self, obj):
            calls.append("dump")
            return super().dumps_typed(obj)

    cache = InMemoryCache(serde=Recording())
    cache.set({(("ns",), "k"): (1, None)})
    assert cache.get([(("ns",), "k")]) == {(("ns",), "k"): 1} and calls == ["dump"]


def test_ttl_in_seconds():
    cache = InMemoryCache()
    cache.set(
        {
            (("ns",), "short"): (1, 0.3),
            (("ns",), "long"): (2, 30),
            (("ns",), "none"): (3, None),
            (("ns",), "zero"): (4, 0),
        }
    )
    assert set(cache.get([(("ns",), k) for k in ("short", "long", "none", "zero")])) == {
        (("ns",), "short"),
        (("ns",), "long"),
        (("ns",), "none"),
    }  # a zero TTL is expired at once
    time.sleep(0.35)
    assert cache.get([(("ns",), k) for k in ("short", "long", "none")]) == {
        (("ns",), "long"): 2,
        (("ns",), "none"): 3,
    }
    cache.set({(("ns",), "short"): (5, None)})  # re-set after expiry
    assert cache.get([(("ns",), "short")]) == {(("ns",), "short"): 5}


def test_clear_by_exact_namespace_and_all():
    cache = InMemoryCache()
    cache.set(
        {
            (("a",), "k"): (1, None),
            (("a", "b"), "k"): (2, None),
            (("c",), "k"): (3, None),
        }
    )
    cache.clear([("zzz",)])
    cache.clear([])
    assert len(cache.get([(("a",), "k"), (("a", "b"), "k"), (("c",), "k")])) == 3
    cache.clear([("a",)])
    assert cache.get([(("a",), "k"), (("a", "b"), "k"), (("c",), "k")]) == {
        (("a", "b"), "k"): 2,
        (("c",), "k"): 3,
    }
    cache.clear()
    assert cache.get([(("a", "b"), "k"), (("c",), "k")]) == {}


async def test_async_twins():
    cache = InMemoryCache()
    await cache.aset({(("n",), "k"): ([1, 2], None), (("m",), "k"): (1, None)})
    assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): [1, 2]}
    await cache.aclear([("n",)])
    assert await cache.aget([(("n",), "k"), (("m",), "k")]) == {(("m",), "k"): 1}
    await cache.aclear()
    assert await cache.aget([(("m",), "k")]) == {}


def test_threads_setting_reading_and_clearing():
    cache = InMemoryCache()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(200):
                cache.set({(("t", str(n)), str(i)): (i, None)})
                cache.get([(("t", str(n)), str(i // 2))])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def clearer() -> None:
        for _ in range(50):
            cache.clear([("t", "scratch")])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=clearer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    wanted = [(("t", str(n)), str(i)) for n in range(8) for i in range(200)]
    assert len(cache.get(wanted)) == 1600


def test_expired_entries_nobody_reads_are_swept(monkeypatch):
    import langgraph.cache.memory as memory

    monkeypatch.setattr(memory, "_PURGE_INTERVAL", 0.0)
    cache = InMemoryCache()
    cache.set({(("old", str(i)), "k"): (i, 0.05) for i in range(100)})
    cache.set({(("kept",), "k"): (1, None)})
    time.sleep(0.1)
    cache.set({(("new",), "k"): (2, None)})  # sweeps while writing
    assert sorted(cache._entries) == [("kept",), ("new",)]
    assert cache.get([(("kept",), "k"), (("new",), "k")]) == {
        (("kept",), "k"): 1,
        (("new",), "k"): 2,
    }
