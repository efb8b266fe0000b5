"""RedisCache against a real redis-server started by the test setup."""

from __future__ import annotations

import time

import pytest
import redis
import redis.asyncio
from langgraph.cache.redis import RedisCache


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_get_set_ttl_and_layout(client):
    cache = RedisCache(client)
    cache.set({(("a", "b"), "k"): ({"v": 1}, 1), (("a",), "k2"): (2, None)})
    assert cache.get([(("a", "b"), "k"), (("a",), "k2"), (("a",), "nope")]) == {
        (("a", "b"), "k"): {"v": 1},
        (("a",), "k2"): 2,
    }
    # the reference layout: prefix + labels + key, "encoding:bytes"
    assert client.get("langgraph:cache:a:k2") == b"msgpack:\x02"
    assert client.ttl("langgraph:cache:a:b:k") in (0, 1)
    time.sleep(1.2)
    assert cache.get([(("a", "b"), "k")]) == {}


def test_clear_by_namespace_takes_labels_literally(client):
    cache = RedisCache(client, prefix="app:")
    cache.set(
        {(("x*",), "k"): (1, None), (("xy",), "k"): (2, None), (("x*", "sub"), "k"): (3, None)}
    )
    client.set("unrelated", "keep")
    cache.clear([("x*",)])
    assert cache.get([(("x*",), "k"), (("x*", "sub"), "k"), (("xy",), "k")]) == {(("xy",), "k"): 2}
    cache.clear()
    assert cache.get([(("xy",), "k")]) == {}
    assert client.get("unrelated") == b"keep"


async def test_async_client(redis_url):
    client = redis.asyncio.Redis.from_url(redis_url)
    cache = RedisCache(client, prefix="async:")
    await cache.aset({(("n",), "k"): ([1, 2], None)})
    assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): [1, 2]}
    with pytest.raises(TypeError, match="aget"):
        cache.get([(("n",), "k")])
    await cache.aclear([("n",)])
    assert await cache.aget([(("n",), "k")]) == {}
    await client.aclose()


async def test_sync_client_from_async_code(client):
    cache = RedisCache(client)
    await cache.aset({(("s",), "k"): ("v", None)})
    assert await cache.aget([(("s",), "k")]) == {(("s",), "k"): "v"}
