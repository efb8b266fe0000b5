"""Time-ordered UUIDv6 ids: sorting them as strings sorts them by creation time."""

from __future__ import annotations

import random
import threading
import time
import uuid

# 100-ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch.
_GREGORIAN_OFFSET = 0x01B21DD213814000


class UUID(uuid.UUID):
    """A `uuid.UUID` that knows the v6 field layout."""

    __slots__ = ()

    @property
    def subsec(self) -> int:
        """Sub-second part of the timestamp, in 100-ns units."""
        return self.time % 10_000_000

    @property
    def time(self) -> int:
        """Timestamp in 100-ns units since 1582-10-15 (v6 and v7 aware)."""
        if self.version == 6:
            return (self.time_hi_version & 0x0FFF) | (self.time_mid << 12) | (self.time_low << 28)
        return super().time


_lock = threading.Lock()
_last_timestamp = 0


def _next_timestamp() -> int:
    """Current time in 100-ns units, strictly increasing within this process."""
    global _last_timestamp
    now = time.time_ns() // 100 + _GREGORIAN_OFFSET
    with _lock:
        if now <= _last_timestamp:
            now = _last_timestamp + 1
        _last_timestamp = now
    return now


def uuid6(node: int | None = None, clock_seq: int | None = None) -> UUID:
    """A new version-6 UUID.

    `clock_seq` (14 bits kept) lets callers embed a counter; LangGraph passes
    the step number. `node` defaults to 48 random bits.
    """
    timestamp = _next_timestamp()
    if clock_seq is None:
        clock_seq = random.getrandbits(14)
    if node is None:
        node = random.getrandbits(48)
    time_high_and_mid = (timestamp >> 12) & 0xFFFF_FFFF_FFFF
    time_low_and_version = (timestamp & 0x0FFF) | (6 << 12)
    value = time_high_and_mid << 80
    value |= time_low_and_version << 64
    value |= ((clock_seq & 0x3FFF) | 0x8000) << 48  # RFC 4122 variant bits
    value |= node & 0xFFFF_FFFF_FFFF
    return UUID(int=value)
