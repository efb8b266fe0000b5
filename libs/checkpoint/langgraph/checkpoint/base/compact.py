"""Compact storage: a list channel stored as what was appended to its last stored value.

With `add_messages` state every checkpoint holds the whole message list again,
so one thread costs O(n²) bytes. A saver in compact mode keeps, per
(thread, namespace, channel), the length and digest of the bytes it last
stored (`DeltaCache`); when a new value is a list whose first items serialize
to those same bytes, it stores a *delta record*: the appended items plus the
locations of the older links back to a full value (`encode_list`). Content
decides, never object identity, so a list whose message was mutated in place
is stored whole.

A record lists its whole chain (nearest link first), so a reader fetches every
link in one query; `rebuild_list` walks them back to the nearest full value. A
location is backend-specific (a checkpoint id in SQLite, a blob version in
Postgres); this module only passes it around.

Delta rows carry types (`DELTA_TYPE`, `COMPACT_ROW_TYPE`) that serializers
without this module reject with an error instead of misreading.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ormsgpack
from langgraph.checkpoint.errors import CheckpointError, SerializationError
from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = [
    "COMPACT_ROW_TYPE",
    "COMPRESS_ABOVE",
    "ConversionProgress",
    "DELTA_BASE_MISSING_MARK",
    "DELTA_TYPE",
    "SNAPSHOT_EVERY",
    "BrokenChainError",
    "DeltaCache",
    "DeltaRecord",
    "EncodedList",
    "FullValue",
    "StoredList",
    "compress",
    "decode_record",
    "decompress",
    "encode_list",
    "encode_record",
    "is_missing_base",
    "list_channels",
    "progress_bar",
    "rebuild_list",
]

DELTA_TYPE = "lgc-delta-v1"
"""Type of a stored delta record (a Postgres blob)."""
COMPACT_ROW_TYPE = "lgc-compact-v1"
"""Type of a SQLite checkpoint row holding delta records."""

# At most this many older links behind a record: a full value is stored at
# least every SNAPSHOT_EVERY + 1 versions. Measured with bench/growth.py (200
# turns, 1,000 checkpoints, SQLite, snapshots compressed): 16 -> 3.4 MB,
# 32 -> 3.1 MB, 64 -> 3.5 MB (the chains each row lists outgrow what fewer
# snapshots save), against 137 MB plain; get_state within noise of plain for
# 16 and 32, and a read fetches twice the rows at 64. Without compression 64
# was smallest (5.3 MB against 6.7 MB at 32), which is why it is measured again.
SNAPSHOT_EVERY = 32

# Full values this large are compressed in compact mode: with deltas, the
# full snapshots are most of a conversation's bytes (bench/growth.py: 2 MB of
# 5.3 MB at 200 turns, 1/8 of that compressed), and zlib reads 270 KB back
# in about a millisecond against 3-6 ms to decode it. (Postgres compresses large blobs
# itself, TOAST, so its savers leave them as they are.)
COMPRESS_ABOVE = 16 * 1024

Item = tuple[str, bytes]
"""One list item as the saver's serializer wrote it: (type, bytes)."""


DELTA_BASE_MISSING_MARK = "langgraph-checkpoint: delta base missing"
"""In the error a database raises for a delta whose chain is not all there
(Postgres: the trigger on `checkpoint_blobs`); the saver then stores whole."""


def is_missing_base(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is the database refusing a delta."""
    current: BaseException | None = exc
    while current is not None:
        if DELTA_BASE_MISSING_MARK in str(current):
            return True
        current = current.__cause__
    return False


class BrokenChainError(CheckpointError, LookupError):
    """A delta record refers to a stored value that is gone: the value cannot
    be rebuilt (it is never returned shorter than it was)."""


@dataclass(frozen=True, slots=True)
class StoredList:
    """What a saver last stored for one channel: where, how many items, and
    the length and digest of their serialized bytes."""

    location: str
    count: int
    length: int
    digest: bytes
    chain: tuple[str, ...]  # the links behind it, nearest first (empty: a full value)


@dataclass(frozen=True, slots=True)
class DeltaRecord:
    """Items appended to the value at `chain[0]`, itself rebuilt from the rest."""

    chain: tuple[str, ...]
    appended: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class EncodedList:
    """A list value ready to store: as a delta (`record`) or whole (`record`
    None); `digest` None when its bytes cannot be extended (not msgpack)."""

    count: int
    length: int
    digest: bytes | None
    record: DeltaRecord | None
    whole: tuple[str, bytes]  # the value serialized whole (as a plain saver stores it)

    def stored_at(self, location: str) -> StoredList | None:
        """The cache entry once this value is stored at `location`."""
        if self.digest is None:
            return None
        chain = self.record.chain if self.record is not None else ()
        return StoredList(location, self.count, self.length, self.digest, chain)


def _items_offset(packed: bytes, count: int) -> int | None:
    """Where the items start in a msgpack array of `count` items (None: not one)."""
    first = packed[:1]
    if count < 16 and first == bytes([0x90 | count]):
        return 1
    if first == b"\xdc" and int.from_bytes(packed[1:3], "big") == count:
        return 3
    if first == b"\xdd" and int.from_bytes(packed[1:5], "big") == count:
        return 5
    return None


def encode_list(
    serde: SerializerProtocol,
    value: list[Any],
    previous: StoredList | None,
    max_links: int = SNAPSHOT_EVERY,
) -> EncodedList:
    """`value` as a delta on `previous` when its first items serialize to the
    bytes previous's items did and the chain has room; otherwise whole.

    A msgpack array is its items' encodings one after the other, so the
    list is serialized once, as a plain saver does, and its prefix compared
    by digest; only the appended items are serialized on their own (and
    checked to be that array's tail), as the record stores them one by one.
    """
    type_, packed = serde.dumps_typed(value)
    offset = _items_offset(packed, len(value)) if type_ == "msgpack" else None
    if offset is None:
        return EncodedList(len(value), 0, None, None, (type_, packed))
    items = memoryview(packed)[offset:]
    hasher = hashlib.blake2b(digest_size=16)
    record = None
    if (
        previous is not None
        and 1 <= previous.count <= len(value)
        and previous.length <= len(items)
        and len(previous.chain) < max_links
    ):
        hasher.update(items[: previous.length])
        if hasher.copy().digest() == previous.digest:
            appended = tuple(serde.dumps_typed(item) for item in value[previous.count :])
            if (
                all(t == "msgpack" for t, _ in appended)
                and b"".join(payload for _, payload in appended) == items[previous.length :]
            ):
                record = DeltaRecord((previous.location, *previous.chain), appended)
        hasher.update(items[previous.length :])
    else:
        hasher.update(items)
    return EncodedList(len(value), len(items), hasher.digest(), record, (type_, packed))


def _pack_location(location: str) -> str | bytes:
    """A location in a canonical UUID's form (SQLite's checkpoint ids) as its
    16 bytes: a chain of them takes half the space."""
    if len(location) == 36:
        try:
            if str(uuid.UUID(location)) == location:
                return uuid.UUID(location).bytes
        except ValueError:
            pass
    return location


def _unpack_location(packed: str | bytes) -> str:
    return str(uuid.UUID(bytes=packed)) if isinstance(packed, bytes) else packed


def encode_record(record: DeltaRecord) -> bytes:
    chain = [_pack_location(location) for location in record.chain]
    return ormsgpack.packb([chain, [list(item) for item in record.appended]])


def decode_record(blob: bytes) -> DeltaRecord:
    chain, appended = ormsgpack.unpackb(blob)
    return DeltaRecord(
        tuple(_unpack_location(location) for location in chain),
        tuple((type_, payload) for type_, payload in appended),
    )


@dataclass(frozen=True, slots=True)
class FullValue:
    """A chain link that holds the whole list; `load` decodes it."""

    load: Callable[[], list[Any]]


Link = DeltaRecord | FullValue


def rebuild_list(
    serde: SerializerProtocol,
    record: DeltaRecord,
    links: Mapping[str, Link | None],
    describe: str,
) -> list[Any]:
    """The value `record` stands for. `links` maps a location to what is stored
    there (None, or absent: nothing). The walk stops at the nearest full value,
    so a link rewritten whole (by a prune) ends the chain early; a missing
    link raises `BrokenChainError` naming `describe` (the channel's place)."""
    parts: list[Sequence[Item]] = [record.appended]
    for location in record.chain:
        link = links.get(location)
        if link is None:
            raise BrokenChainError(
                f"{describe}: the stored value at {location!r} that this delta extends is "
                "missing (was it deleted by a tool that does not know compact storage?)"
            )
        if isinstance(link, FullValue):
            return [*link.load(), *_load_items(serde, [i for p in reversed(parts) for i in p])]
        parts.append(link.appended)
    raise BrokenChainError(f"{describe}: the delta chain ends without a full value")


def _load_items(serde: SerializerProtocol, items: Sequence[Item]) -> list[Any]:
    """Items decoded in one call when all are msgpack (as one array of them)."""
    if not all(type_ == "msgpack" for type_, _ in items):
        return [serde.loads_typed(item) for item in items]
    count = len(items)
    header = bytes([0x90 | count]) if count < 16 else b"\xdd" + count.to_bytes(4, "big")
    return serde.loads_typed(("msgpack", header + b"".join(payload for _, payload in items)))


def compress(blob: bytes) -> tuple[str, bytes]:
    """(codec, bytes): zlib (in every Python, so a database compacted anywhere
    reads anywhere; an optional faster codec would make that depend on what
    the reader installed); "" for a blob too small to gain."""
    if len(blob) <= COMPRESS_ABOVE:
        return "", blob
    return "zlib", zlib.compress(blob, 1)


def decompress(codec: str, blob: bytes) -> bytes:
    if codec == "":
        return blob
    if codec == "zlib":
        return zlib.decompress(blob)
    raise SerializationError(f"unknown compression {codec!r} in a compact checkpoint")


class DeltaCache:
    """Per saver: (thread_id, namespace, channel) -> the `StoredList` last written,
    least recently used entries dropped beyond `capacity`. A miss only means
    the next value is stored whole; correctness never depends on an entry."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str, str], StoredList] = OrderedDict()
        self._lock = threading.Lock()  # sync savers are shared between threads

    def get(self, thread_id: str, ns: str, channel: str) -> StoredList | None:
        with self._lock:
            entry = self._entries.get((thread_id, ns, channel))
            if entry is not None:
                self._entries.move_to_end((thread_id, ns, channel))
            return entry

    def remember(self, thread_id: str, ns: str, stored: Mapping[str, StoredList]) -> None:
        with self._lock:
            for channel, entry in stored.items():
                self._entries[(thread_id, ns, channel)] = entry
                self._entries.move_to_end((thread_id, ns, channel))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self, thread_id: str, ns: str | None = None) -> None:
        """Drop a thread's entries (or those of one of its namespaces)."""
        with self._lock:
            doomed = [
                key for key in self._entries if key[0] == thread_id and (ns is None or key[1] == ns)
            ]
            for key in doomed:
                del self._entries[key]

    def forget_threads(self, thread_ids: Sequence[str]) -> None:
        for thread_id in thread_ids:
            self.forget(thread_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


ConversionProgress = Callable[[int, int, str], None]
"""What a database conversion calls after each thread: (threads done, threads
in all, the thread's id)."""


def progress_bar(done: int, total: int, thread_id: str) -> None:
    """A `ConversionProgress` drawing a bar on stderr (for the command lines)."""
    filled = 30 * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} threads")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def list_channels(channel_values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The channels whose value a delta may store: plain lists (a subclass may
    serialize as more than its items)."""
    return {channel: value for channel, value in channel_values.items() if type(value) is list}
