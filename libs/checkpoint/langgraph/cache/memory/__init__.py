"""`InMemoryCache`: a thread-safe node cache in process memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = ["BaseCache", "InMemoryCache", "SerializerProtocol"]

_PURGE_INTERVAL = 60.0  # seconds between sweeps of expired entries that are never read


class InMemoryCache(BaseCache[ValueT]):
    """Cache kept in a dictionary, safe to share between threads.

    Expired entries vanish when read, and `set` sweeps out the rest at most
    once a minute, so entries nobody asks for again do not pile up.
    """

    def __init__(self, *, serde: SerializerProtocol | None = None):
        super().__init__(serde=serde)
        # namespace -> key -> (serialized value, expires at (monotonic) or None)
        self._entries: dict[Namespace, dict[str, tuple[tuple[str, bytes], float | None]]] = {}
        self._lock = threading.RLock()
        self._next_purge = time.monotonic() + _PURGE_INTERVAL

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        now = time.monotonic()
        found: dict[FullKey, ValueT] = {}
        with self._lock:
            for namespace, key in keys:
                entry = self._entries.get(namespace, {}).get(key)
                if entry is None:
                    continue
                stored, expires_at = entry
                if expires_at is not None and expires_at <= now:
                    del self._entries[namespace][key]
                    continue
                found[(namespace, key)] = self.serde.loads_typed(stored)
        return found

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    def set(self, keys: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_purge:
                self._purge(now)
            for (namespace, key), (value, ttl) in keys.items():
                expires_at = now + ttl if ttl is not None else None
                self._entries.setdefault(namespace, {})[key] = (
                    self.serde.dumps_typed(value),
                    expires_at,
                )

    def _purge(self, now: float) -> None:
        for namespace, entries in list(self._entries.items()):
            for key, (_, expires_at) in list(entries.items()):
                if expires_at is not None and expires_at <= now:
                    del entries[key]
            if not entries:
                del self._entries[namespace]
        self._next_purge = now + _PURGE_INTERVAL

    async def aset(self, keys: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(keys)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        with self._lock:
            if namespaces is None:
                self._entries.clear()
            else:
                for namespace in namespaces:
                    self._entries.pop(namespace, None)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)
