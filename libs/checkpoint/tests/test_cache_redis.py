"""RedisCache against a real redis-server started by the test setup
(testsupport/redis_server.py), with sync and asyncio clients."""

from __future__ import annotations

import logging
import shutil
import socket
import time

import pytest
import redis
import redis.asyncio
from langgraph.cache.redis import RedisCache
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from testsupport.redis_server import ThrowawayRedis


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_get_set_ttl_and_layout(client):
    cache = RedisCache(client)
    cache.set({(("a", "b"), "k"): ({"v": 1}, 1), (("a",), "k2"): (2, None), ((), "top"): (3, None)})
    assert cache.get([(("a", "b"), "k"), (("a",), "k2"), ((), "top"), (("a",), "nope")]) == {
        (("a", "b"), "k"): {"v": 1},
        (("a",), "k2"): 2,
        ((), "top"): 3,
    }
    # the reference layout: prefix + labels + key, "encoding:bytes"
    assert sorted(client.keys("*")) == [
        b"langgraph:cache:a:b:k",
        b"langgraph:cache:a:k2",
        b"langgraph:cache:top",
    ]
    assert client.get("langgraph:cache:a:k2") == b"msgpack:\x02"
    assert (
        client.ttl("langgraph:cache:a:b:k") in (0, 1) and client.ttl("langgraph:cache:a:k2") == -1
    )
    time.sleep(1.1)
    assert cache.get([(("a", "b"), "k")]) == {}
    assert cache.get([]) == {}


def test_fractional_and_zero_ttls(client):
    cache = RedisCache(client)
    cache.set({(("t",), "old"): ("v", None)})
    cache.set({(("t",), "brief"): ("b", 0.2), (("t",), "old"): ("w", 0)})
    assert cache.get([(("t",), "brief"), (("t",), "old")]) == {(("t",), "brief"): "b"}
    assert 0 < client.pttl("langgraph:cache:t:brief") <= 200
    time.sleep(0.3)
    assert cache.get([(("t",), "brief")]) == {}
    cache.set({})  # nothing to do


def test_entries_written_by_the_reference_are_read(client):
    # bytes as the reference RedisCache writes them (seen with the reference package)
    client.set("langgraph:cache:a:b:k", b"msgpack:\x81\xa1x\x01")
    client.set("langgraph:cache:a:k", b"msgpack:\x91\x01")
    cache = RedisCache(client)
    assert cache.get([(("a", "b"), "k"), (("a",), "k")]) == {
        (("a", "b"), "k"): {"x": 1},
        (("a",), "k"): [1],
    }


def test_unreadable_entries_are_misses(client):
    client.set("langgraph:cache:a:garbage", b"garbage")
    client.set("langgraph:cache:a:unknown", b"nosuchencoding:\x00")
    client.set("langgraph:cache:a:broken", b"msgpack:\xc1")
    cache = RedisCache(client)
    cache.set({(("a",), "good"): (1, None)})
    wanted = [(("a",), k) for k in ("garbage", "unknown", "broken", "good")]
    assert cache.get(wanted) == {(("a",), "good"): 1}


def test_clear_by_namespace_takes_labels_literally(client):
    cache = RedisCache(client, prefix="app:")
    cache.set(
        {(("x*",), "k"): (1, None), (("xy",), "k"): (2, None), (("x*", "sub"), "k"): (3, None)}
    )
    client.set("unrelated", "keep")
    client.set("app-not-ours", "keep")
    cache.clear([("x*",)])  # clears the namespace and those nested under it
    assert cache.get([(("x*",), "k"), (("x*", "sub"), "k"), (("xy",), "k")]) == {(("xy",), "k"): 2}
    cache.clear([])
    assert cache.get([(("xy",), "k")]) == {(("xy",), "k"): 2}
    cache.clear()
    assert cache.get([(("xy",), "k")]) == {}
    assert client.get("unrelated") == b"keep" and client.get("app-not-ours") == b"keep"


def test_clear_many_keys_with_scan(client):
    cache = RedisCache(client)
    cache.set({(("big",), str(i)): (i, None) for i in range(1200)})
    cache.set({(("small",), "k"): (1, None)})
    cache.clear([("big",)])
    assert client.dbsize() == 1
    assert cache.get([(("small",), "k")]) == {(("small",), "k"): 1}


def test_prefixes_keep_caches_apart(client):
    one, two = RedisCache(client, prefix="one:"), RedisCache(client, prefix="two:")
    one.set({(("n",), "k"): (1, None)})
    two.set({(("n",), "k"): (2, None)})
    one.clear()
    assert one.get([(("n",), "k")]) == {} and two.get([(("n",), "k")]) == {(("n",), "k"): 2}


async def test_async_client(redis_url):
    client = redis.asyncio.Redis.from_url(redis_url)
    cache = RedisCache(client, prefix="async:")
    await cache.aset({(("n",), "k"): ([1, 2], None), (("n", "deep"), "k"): (1, 5)})
    assert await client.ttl("async:n:deep:k") == 5
    assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): [1, 2]}
    with pytest.raises(TypeError, match="aget"):
        cache.get([(("n",), "k")])
    await cache.aset({(("m",), str(i)): (i, None) for i in range(700)})
    await cache.aclear([("n",)])
    assert await cache.aget([(("n",), "k"), (("n", "deep"), "k")]) == {}
    assert len(await cache.aget([(("m",), str(i)) for i in range(700)])) == 700
    await cache.aclear()
    assert await client.dbsize() == 0 or not await client.keys("async:*")
    await client.aclose()


async def test_sync_client_from_async_code(client):
    cache = RedisCache(client)
    await cache.aset({(("s",), "k"): ("v", None)})
    assert await cache.aget([(("s",), "k")]) == {(("s",), "k"): "v"}
    await cache.aclear([("s",)])
    assert await cache.aget([(("s",), "k")]) == {}


def test_missing_redis_server_fails_with_install_hint(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on it
    with pytest.raises(RuntimeError, match="apt-get install -y redis-server"):
        ThrowawayRedis().__enter__()


def test_redis_url_from_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:1/0")
    with ThrowawayRedis() as server:
        assert server.url == "redis://example.invalid:1/0"


# -- an unreachable Redis is a cache miss, never a failed run ---------------


# No retries: redis-py's default retries with backoff for several seconds
# before each call gives up, which only slows the tests down.
NO_RETRY = {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2}


@pytest.fixture
def dead_port():
    """A loopback port bound but not listening: connecting is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_unreachable_redis_is_a_miss_and_a_skipped_write(dead_port, caplog):
    cache = RedisCache(redis.Redis(host="127.0.0.1", port=dead_port, **NO_RETRY))
    with caplog.at_level(logging.DEBUG, logger="langgraph.cache.redis"):
        assert cache.get([(("n",), "k")]) == {}
        cache.set({(("n",), "k"): (1, None)})
        assert cache.get([(("n",), "k")]) == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.clear()  # an explicit clear that did not happen is reported


async def test_unreachable_redis_with_an_async_client(dead_port, caplog):
    client = redis.asyncio.Redis(host="127.0.0.1", port=dead_port, retry=AsyncRetry(NoBackoff(), 0))
    cache = RedisCache(client)
    with caplog.at_level(logging.WARNING, logger="langgraph.cache.redis"):
        assert await cache.aget([(("n",), "k")]) == {}
        await cache.aset({(("n",), "k"): (1, None)})
    assert "unavailable" in caplog.text
    await client.aclose()


def test_a_graph_runs_through_a_cache_outage(dead_port):
    from langgraph.graph import START, StateGraph
    from langgraph.types import CachePolicy
    from typing_extensions import TypedDict

    class State(TypedDict):
        n: int

    calls = []

    def double(state: State) -> State:
        calls.append(state["n"])
        return {"n": state["n"] * 2}

    builder = StateGraph(State)
    builder.add_node("double", double, cache_policy=CachePolicy(ttl=60))
    builder.add_edge(START, "double")
    graph = builder.compile(
        cache=RedisCache(redis.Redis(host="127.0.0.1", port=dead_port, **NO_RETRY))
    )
    assert graph.invoke({"n": 3}) == {"n": 6}
    assert graph.invoke({"n": 3}) == {"n": 6}
    assert calls == [3, 3]  # nothing was cached, and nothing failed


def test_redis_stopped_mid_test_then_back(monkeypatch, caplog):
    monkeypatch.delenv("REDIS_URL", raising=False)  # a server of our own, to stop
    with ThrowawayRedis() as server:
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        cache = RedisCache(redis.Redis.from_url(server.url, **NO_RETRY))
        cache.set({(("n",), "k"): ("v", None)})
        assert cache.get([(("n",), "k")]) == {(("n",), "k"): "v"}
        server._stop()  # the server goes away (its directory stays, for the restart)
        with caplog.at_level(logging.INFO, logger="langgraph.cache.redis"):
            assert cache.get([(("n",), "k")]) == {}
            cache.set({(("n",), "k2"): ("w", None)})
            # a new server on the same port: the cache is used again
            assert server._start(shutil.which("redis-server"), port)
            cache.set({(("n",), "k3"): ("x", None)})
            assert cache.get([(("n",), "k3")]) == {(("n",), "k3"): "x"}
        messages = [r.getMessage() for r in caplog.records]
        assert sum("unavailable" in m for m in messages) == 1
        assert any("available again" in m for m in messages)
