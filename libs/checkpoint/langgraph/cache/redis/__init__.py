"""`RedisCache`: LangGraph's node cache in Redis (`pip install langgraph-checkpoint[redis]`).

Keys are `<prefix><namespace labels joined by ':'>:<key>`, values
`<encoding>:<bytes>`, each with its own expiry (the reference layout, so both
read the same entries). Pass a `redis.Redis` client for the sync methods (the
async ones then run it in a worker thread) or a `redis.asyncio.Redis` client
for the async methods.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = ["BaseCache", "RedisCache", "SerializerProtocol"]

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisCache(BaseCache[ValueT]):
    """Cache on a Redis client, every key under `prefix`."""

    def __init__(
        self,
        redis: Any,
        *,
        serde: SerializerProtocol | None = None,
        prefix: str = "langgraph:cache:",
    ) -> None:
        super().__init__(serde=serde)
        self.redis = redis
        self.prefix = prefix
        # redis-py's asyncio client lives in redis.asyncio; its methods return awaitables.
        self._is_async = type(redis).__module__.startswith(
            "redis.asyncio"
        ) or inspect.iscoroutinefunction(getattr(redis, "get", None))

    def _key(self, namespace: Namespace, key: str) -> str:
        return f"{self.prefix}{':'.join(namespace)}:{key}" if namespace else f"{self.prefix}:{key}"

    def _encode(self, value: ValueT) -> bytes:
        encoding, data = self.serde.dumps_typed(value)
        return encoding.encode() + b":" + data

    def _decode(self, raw: bytes) -> ValueT:
        encoding, _, data = raw.partition(b":")
        return self.serde.loads_typed((encoding.decode(), data))

    def _pattern(self, namespace: Namespace) -> str:
        """SCAN pattern for everything under `namespace`, labels taken literally."""
        return _GLOB_SPECIAL.sub(r"\\\1", self._key(namespace, "")) + "*"

    def _require_sync(self) -> None:
        if self._is_async:
            raise TypeError("RedisCache was given an asyncio Redis client: use aget/aset/aclear")

    # -- sync --

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        self._require_sync()
        if not keys:
            return {}
        raws = self.redis.mget([self._key(ns, key) for ns, key in keys])
        return {full: self._decode(raw) for full, raw in zip(keys, raws) if raw is not None}

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self._require_sync()
        with self.redis.pipeline(transaction=False) as pipe:
            for (ns, key), (value, ttl) in pairs.items():
                pipe.set(self._key(ns, key), self._encode(value), ex=ttl)
            pipe.execute()

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self._require_sync()
        patterns = (
            [self._pattern(ns) for ns in namespaces]
            if namespaces is not None
            else [_GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"]
        )
        for pattern in patterns:
            batch = []
            for key in self.redis.scan_iter(match=pattern, count=500):
                batch.append(key)
                if len(batch) >= 500:
                    self.redis.delete(*batch)
                    batch = []
            if batch:
                self.redis.delete(*batch)

    # -- async --

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        if not self._is_async:
            return await asyncio.to_thread(self.get, keys)
        if not keys:
            return {}
        raws = await self.redis.mget([self._key(ns, key) for ns, key in keys])
        return {full: self._decode(raw) for full, raw in zip(keys, raws) if raw is not None}

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        if not self._is_async:
            return await asyncio.to_thread(self.set, pairs)
        async with self.redis.pipeline(transaction=False) as pipe:
            for (ns, key), (value, ttl) in pairs.items():
                pipe.set(self._key(ns, key), self._encode(value), ex=ttl)
            await pipe.execute()

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        if not self._is_async:
            return await asyncio.to_thread(self.clear, namespaces)
        patterns = (
            [self._pattern(ns) for ns in namespaces]
            if namespaces is not None
            else [_GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"]
        )
        for pattern in patterns:
            keys = [key async for key in self.redis.scan_iter(match=pattern, count=500)]
            for start in range(0, len(keys), 500):
                await self.redis.delete(*keys[start : start + 500])
