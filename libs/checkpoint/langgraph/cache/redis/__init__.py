"""`RedisCache`: LangGraph's node cache in Redis (`pip install langgraph-checkpoint[redis]`).

Keys are `<prefix><namespace labels joined by ':'>:<key>`, values
`<encoding>:<bytes>`, each with its own expiry (the reference layout, so both
read the same entries). Pass a `redis.Redis` client for the sync methods (the
async ones then run it in a worker thread) or a `redis.asyncio.Redis` client
for the async methods.

An unreachable Redis never fails a run: a read is a miss and a write is
skipped, with a warning when the cache becomes unavailable (and a line when it
is back). `clear` still raises, so that a clear that did not happen is known.
How long a call takes to give up is the client's setting (redis-py retries
with backoff by default: pass `retry=` and `socket_connect_timeout=` to bound it).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = ["BaseCache", "RedisCache", "SerializerProtocol"]

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_SCAN_COUNT = 500  # keys asked for per SCAN step, and deleted per DEL
_UNREADABLE = object()

logger = logging.getLogger(__name__)

try:
    from redis.exceptions import RedisError
except ImportError:  # a client of another library: its socket errors are OSErrors
    _OUTAGE: tuple[type[BaseException], ...] = (OSError,)
else:
    # Connection refused, unknown host, timeouts, a server going away: all
    # redis-py errors (its ConnectionError and TimeoutError wrap the OSErrors).
    _OUTAGE = (RedisError, OSError)


class RedisCache(BaseCache[ValueT]):
    """Cache on a Redis client, every key under `prefix`.

    Each entry expires on the Redis side after its TTL (seconds). `clear`
    walks the keys of the given namespaces with SCAN (never KEYS, which
    blocks the server) and deletes them in chunks; clearing a namespace also
    clears the namespaces nested under it.
    """

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
        self._unavailable = False

    def _outage(self, action: str, error: BaseException) -> None:
        if not self._unavailable:
            self._unavailable = True
            logger.warning(
                "Redis cache unavailable (%s: %s): %s; reads are misses and writes are "
                "skipped until it answers again",
                type(error).__name__,
                error,
                action,
            )
        else:
            logger.debug("Redis cache still unavailable: %s (%s)", action, error)

    def _answered(self) -> None:
        if self._unavailable:
            self._unavailable = False
            logger.info("Redis cache available again")

    # -- layout, shared by the sync and async methods --

    def _key(self, namespace: Namespace, key: str) -> str:
        labels = ":".join(namespace)
        return f"{self.prefix}{labels}:{key}" if labels else f"{self.prefix}{key}"

    def _patterns(self, namespaces: Sequence[Namespace] | None) -> list[str]:
        """SCAN patterns for the keys to clear, with labels taken literally."""
        if namespaces is None:
            return [_GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"]
        return [_GLOB_SPECIAL.sub(r"\\\1", self._key(ns, "")) + "*" for ns in namespaces]

    def _encode(self, value: ValueT) -> bytes:
        encoding, data = self.serde.dumps_typed(value)
        return encoding.encode() + b":" + data

    def _decode(self, raw: bytes) -> Any:
        encoding, sep, data = raw.partition(b":")
        if not sep:
            return _UNREADABLE
        try:
            return self.serde.loads_typed((encoding.decode(), data))
        except Exception:  # a foreign or corrupt entry is a miss, not a crash
            return _UNREADABLE

    def _found(
        self, keys: Sequence[FullKey], raws: Sequence[bytes | None]
    ) -> dict[FullKey, ValueT]:
        found: dict[FullKey, ValueT] = {}
        for full_key, raw in zip(keys, raws):
            if raw is not None:
                value = self._decode(raw)
                if value is not _UNREADABLE:
                    found[full_key] = value
        return found

    def _queue_writes(self, pipe: Any, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        for (namespace, key), (value, ttl) in pairs.items():
            redis_key = self._key(namespace, key)
            if ttl is None:
                pipe.set(redis_key, self._encode(value))
            elif ttl <= 0:  # already expired: drop any older entry
                pipe.delete(redis_key)
            else:
                pipe.set(redis_key, self._encode(value), px=max(1, round(ttl * 1000)))

    def _require_sync(self) -> None:
        if self._is_async:
            raise TypeError("RedisCache was given an asyncio Redis client: use aget/aset/aclear")

    # -- sync --

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The cached values of the keys present in Redis."""
        self._require_sync()
        if not keys:
            return {}
        try:
            raws = self.redis.mget([self._key(ns, key) for ns, key in keys])
        except _OUTAGE as exc:
            self._outage("treating the read as a miss", exc)
            return {}
        self._answered()
        return self._found(keys, raws)

    def set(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Store values, each with its TTL in seconds (None: no expiry)."""
        self._require_sync()
        if not mapping:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            self._queue_writes(pipe, mapping)
            try:
                pipe.execute()
            except _OUTAGE as exc:
                self._outage("skipping the write", exc)
                return
        self._answered()

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of these namespaces (and nested ones); all when None."""
        self._require_sync()
        for pattern in self._patterns(namespaces):
            chunk: list[bytes] = []
            for key in self.redis.scan_iter(match=pattern, count=_SCAN_COUNT):
                chunk.append(key)
                if len(chunk) >= _SCAN_COUNT:
                    self.redis.delete(*chunk)
                    chunk = []
            if chunk:
                self.redis.delete(*chunk)

    # -- async --

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async `get`."""
        if not self._is_async:
            return await asyncio.to_thread(self.get, keys)
        if not keys:
            return {}
        try:
            raws = await self.redis.mget([self._key(ns, key) for ns, key in keys])
        except _OUTAGE as exc:
            self._outage("treating the read as a miss", exc)
            return {}
        self._answered()
        return self._found(keys, raws)

    async def aset(self, mapping: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Async `set`."""
        if not self._is_async:
            return await asyncio.to_thread(self.set, mapping)
        if not mapping:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            self._queue_writes(pipe, mapping)
            try:
                await pipe.execute()
            except _OUTAGE as exc:
                self._outage("skipping the write", exc)
                return
        self._answered()

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async `clear`."""
        if not self._is_async:
            return await asyncio.to_thread(self.clear, namespaces)
        for pattern in self._patterns(namespaces):
            chunk: list[bytes] = []
            async for key in self.redis.scan_iter(match=pattern, count=_SCAN_COUNT):
                chunk.append(key)
                if len(chunk) >= _SCAN_COUNT:
                    await self.redis.delete(*chunk)
                    chunk = []
            if chunk:
                await self.redis.delete(*chunk)
