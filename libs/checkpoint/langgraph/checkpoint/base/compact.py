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

A record also carries the digest of the whole value it stands for, and the
cache keeps the bytes of the last value it stored as a delta per channel
(within `VALUE_BYTES`): a read of the latest checkpoint by the process that
wrote it decodes those bytes, found by that digest, instead of fetching and
joining the chain (one blob to decode, as in plain mode, and fewer bytes from
the database). The digest decides, so an entry can only ever serve the very
bytes the record was made from.

Chains have two tiers, so that full values can be rare while a chain stays
short. A value is stored as a *step* (a delta on the value stored just before
it) up to `STEPS_PER_ANCHOR` times in a row; the next one is an *anchor*: a
delta on the nearest anchor (or full value) behind, holding every item since.
After `ANCHORS_PER_FULL` anchors the value is stored whole. A chain thus has at
most `MAX_CHAIN` links, a full value comes every `FULL_EVERY` versions, and each
item is stored about twice (once in a step, once in an anchor) instead of once
per full snapshot.

Delta rows carry types (`DELTA_TYPE`, `COMPACT_ROW_TYPE`) that serializers
without this module reject with an error instead of misreading.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sys
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ormsgpack
from langgraph.checkpoint.errors import CheckpointError, SerializationError
from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = [
    "COMPACT_ROW_TYPE",
    "ConversionProgress",
    "DELTA_BASE_MISSING_MARK",
    "DELTA_TYPE",
    "ANCHORS_PER_FULL",
    "FULL_EVERY",
    "MAX_CHAIN",
    "STEPS_PER_ANCHOR",
    "VALUE_BYTES",
    "WALK_LIMIT",
    "BrokenChainError",
    "DeltaCache",
    "DeltaRecord",
    "EncodedList",
    "FullValue",
    "HeldValue",
    "LinkAt",
    "StoredList",
    "decode_record",
    "decompress",
    "encode_list",
    "encode_record",
    "is_missing_base",
    "list_channels",
    "missing_link",
    "blob_links",
    "progress_bar",
    "channel_place",
    "rebuild_blob",
    "rebuild_list",
]

DELTA_TYPE = "lgc-delta-v1"
"""Type of a stored delta record (a Postgres blob)."""
COMPACT_ROW_TYPE = "lgc-compact-v1"
"""Type of a SQLite checkpoint row holding delta records."""

# Measured with bench/growth.py (one thread, 200 turns, 1,000 checkpoints):
# a single tier with a full value every 33 versions stored 4.3 MB on SQLite
# with the snapshots compressed (8.2 MB without) and read the latest in 3.6 ms
# against plain's 2.3 (1.2 ms of it zlib); two tiers of 16 store less without
# compressing anything, and read as fast as plain (bench/README.md, growth).
STEPS_PER_ANCHOR = 16
ANCHORS_PER_FULL = 16
MAX_CHAIN = STEPS_PER_ANCHOR + ANCHORS_PER_FULL
"""At most this many older links behind a record a saver lays out."""
WALK_LIMIT = 4 * (MAX_CHAIN + 1)
"""At most this many links a reader follows. Layouts mix: a conversion re-lays
the rows a running saver's next deltas extend (a walk of up to twice
MAX_CHAIN + 1 until that saver's next full value), and reads the rows of one
thread while it rewrites them (old-layout links into rewritten rows, a third
time); a longer walk is a corrupt (or cyclic) chain."""
FULL_EVERY = (STEPS_PER_ANCHOR + 1) * (ANCHORS_PER_FULL + 1)
"""A chain of appends stores a full value at least this often."""

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
    """What a saver last stored for one channel: where, how many items, the
    length and digest of their serialized bytes, and its place in the tiers."""

    location: str
    count: int
    length: int
    digest: bytes
    chain: tuple[str, ...]  # the links behind it, nearest first (empty: a full value)
    steps: int = 0  # steps from here down to the nearest anchor, this one included
    anchors: int = 0  # anchors from that one down to the full value, it included
    anchor_count: int = 0  # items and bytes of that anchor (this value's: steps == 0)
    anchor_length: int = 0
    # the value serialized whole, for `DeltaCache` to keep (stored as a delta only)
    whole: tuple[str, bytes] | None = dataclasses.field(default=None, compare=False, repr=False)

    def as_whole(self) -> StoredList:
        """The entry once this value was stored whole instead (its delta's
        links went away meanwhile): a full value, where new chains start."""
        return StoredList(
            self.location, self.count, self.length, self.digest, (), 0, 0, self.count, self.length
        )


@dataclass(frozen=True, slots=True)
class DeltaRecord:
    """`count` items appended to the value at `chain[0]`, itself rebuilt from
    the rest; `payload` is their msgpack encodings one after the other (the
    tail of the array the serializer wrote for the whole list); `digest`, that
    of the whole list's items (`StoredList.digest`; empty in older records)."""

    chain: tuple[str, ...]
    count: int
    payload: bytes
    digest: bytes = b""


@dataclass(frozen=True, slots=True)
class EncodedList:
    """A list value ready to store: as a delta (`record`) or whole (`record`
    None); `place` None when its bytes cannot be extended (not msgpack)."""

    record: DeltaRecord | None
    whole: tuple[str, bytes]  # the value serialized whole (as a plain saver stores it)
    place: StoredList | None  # what `stored_at` returns, at a location to fill in

    def stored_at(self, location: str) -> StoredList | None:
        """The cache entry once this value is stored at `location`."""
        if self.place is None:
            return None
        return dataclasses.replace(self.place, location=location)


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
    serde: SerializerProtocol, value: list[Any], previous: StoredList | None
) -> EncodedList:
    """`value` as a step or an anchor behind `previous` (module docstring)
    when its first items serialize to the bytes previous's items did;
    otherwise whole.

    A msgpack array is its items' encodings one after the other, so the
    list is serialized once, as a plain saver does, and its prefix compared
    by digest: the bytes after that prefix are the appended items, the
    record's payload. (The prefix ends on an item's boundary: it is the whole
    of a value stored before, itself a prefix of the stored value after it.)
    """
    type_, packed = serde.dumps_typed(value)
    offset = _items_offset(packed, len(value)) if type_ == "msgpack" else None
    if offset is None:
        return EncodedList(None, (type_, packed), None)
    items = memoryview(packed)[offset:]
    count, length = len(value), len(items)
    hasher = hashlib.blake2b(digest_size=16)
    whole = place = StoredList("", count, length, b"", (), 0, 0, count, length)
    record = None
    if (
        previous is not None
        and 1 <= previous.count <= count
        and previous.length <= length
        and (previous.steps < STEPS_PER_ANCHOR or previous.anchors < ANCHORS_PER_FULL)
    ):
        hasher.update(items[: previous.length])
        if hasher.copy().digest() == previous.digest:
            if previous.steps < STEPS_PER_ANCHOR:
                chain = (previous.location, *previous.chain)
                base_count, base_length = previous.count, previous.length
                place = StoredList(
                    "",
                    count,
                    length,
                    b"",
                    chain,
                    previous.steps + 1,
                    previous.anchors,
                    previous.anchor_count,
                    previous.anchor_length,
                )
            else:  # an anchor on the nearest one behind previous's steps
                chain = previous.chain[previous.steps - 1 :]
                base_count, base_length = previous.anchor_count, previous.anchor_length
                place = StoredList(
                    "", count, length, b"", chain, 0, previous.anchors + 1, count, length
                )
            if chain:  # a delta always names the value it extends
                record = DeltaRecord(chain, count - base_count, bytes(items[base_length:]))
            else:
                place = whole
        hasher.update(items[previous.length :])
    else:
        hasher.update(items)
    digest = hasher.digest()
    if record is None:
        return EncodedList(None, (type_, packed), dataclasses.replace(place, digest=digest))
    return EncodedList(
        dataclasses.replace(record, digest=digest),
        (type_, packed),
        dataclasses.replace(place, digest=digest, whole=(type_, packed)),
    )


def _pack_location(location: str) -> str | bytes:
    """A location in a canonical UUID's form (SQLite's checkpoint ids) as its
    16 bytes: a chain of them takes half the space. (Postgres versions stay
    strings: the database's delta guard reads them.) Checked by hand rather
    than through `uuid.UUID`, which cost a put 0.1 ms for a 20-link chain."""
    if len(location) == 36 and location[8] == location[13] == location[18] == location[23] == "-":
        digits = location.replace("-", "")
        try:
            packed = bytes.fromhex(digits)
        except ValueError:
            return location
        if packed.hex() == digits:  # lower case, no spaces: it reads back the same
            return packed
    return location


def _unpack_location(packed: str | bytes) -> str:
    if isinstance(packed, str):
        return packed
    if len(packed) != 16:
        raise SerializationError(f"malformed delta record: a {len(packed)}-byte location")
    digits = packed.hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def encode_record(record: DeltaRecord) -> bytes:
    """msgpack of [chain, count, payload, digest] (the chain first: Postgres's
    `lgc_delta_chain_v1` reads it there)."""
    chain = [_pack_location(location) for location in record.chain]
    return ormsgpack.packb([chain, record.count, record.payload, record.digest])


def decode_record(blob: bytes, *, with_chain: bool = True) -> DeltaRecord:
    """The record in `blob`; `with_chain=False` keeps only the first location
    of its chain (the value it extends), for a link on another record's walk.

    Records written before the payload was one run of bytes hold
    [chain, [[type, item bytes], ...]], every type msgpack; those written
    before the digest, [chain, count, payload]."""
    try:
        fields = ormsgpack.unpackb(blob)
        locations = fields[0] if with_chain else fields[0][:1]
        chain = tuple(_unpack_location(location) for location in locations)
        count = fields[1] if len(fields) in (3, 4) else None
        digest = fields[3] if len(fields) == 4 else b""
        if (
            type(count) is int
            and 0 <= count < 2**32
            and type(fields[2]) is bytes
            and type(digest) is bytes
        ):
            return DeltaRecord(chain, count, fields[2], digest)
        if len(fields) == 2 and all(item[0] == "msgpack" for item in fields[1]):
            return DeltaRecord(chain, len(fields[1]), b"".join(item[1] for item in fields[1]))
    except (ormsgpack.MsgpackDecodeError, TypeError, IndexError, KeyError) as exc:
        raise SerializationError(f"malformed delta record: {exc}") from exc
    raise SerializationError("malformed delta record")


HeldValue = Callable[[DeltaRecord], tuple[str, bytes] | None]
"""The bytes of the value a record stands for, when a cache holds them
(`DeltaCache.held_value` bound to the record's channel)."""


@dataclass(frozen=True, slots=True)
class FullValue:
    """A chain link that holds the whole list; `load` decodes it."""

    load: Callable[[], list[Any]]


Link = DeltaRecord | FullValue


LinkAt = Callable[[str], Link | None]
"""What is stored at a location (None: nothing)."""


def walk(record: DeltaRecord, link_at: LinkAt) -> Iterator[tuple[str, Link | None]]:
    """The locations a rebuild of `record` visits and what `link_at` finds
    there, nearest first: from each record to the value it extends (the first
    location of its own chain), so rows a conversion laid out anew since
    `record` was written are followed too (its chain only says what to
    fetch). Ends after a full value or a missing link (None), when a chain
    ends, or after `WALK_LIMIT` links."""
    current = record
    for _ in range(WALK_LIMIT):
        if not current.chain:
            return
        location = current.chain[0]
        link = link_at(location)
        yield location, link
        if not isinstance(link, DeltaRecord):
            return
        current = link


def rebuild_list(
    serde: SerializerProtocol, record: DeltaRecord, link_at: LinkAt, describe: str
) -> list[Any]:
    """The value `record` stands for, rebuilt along its `walk`. A link
    rewritten whole (by a prune) ends the walk early; a missing link raises
    `BrokenChainError` naming `describe` (the channel's place)."""
    parts = [record]
    for location, link in walk(record, link_at):
        if link is None:
            raise BrokenChainError(
                f"{describe}: the stored value at {location!r} that this delta extends is "
                "missing (was it deleted by a tool that does not know compact storage?)"
            )
        if isinstance(link, FullValue):
            return [*link.load(), *_load_items(serde, parts[::-1])]
        parts.append(link)
    if len(parts) > WALK_LIMIT:
        raise BrokenChainError(f"{describe}: the delta chain runs beyond {WALK_LIMIT} links")
    raise BrokenChainError(f"{describe}: the delta chain ends without a full value")


def missing_link(record: DeltaRecord, link_at: LinkAt) -> str | None:
    """The first location `rebuild_list` would need that `link_at` lacks
    (None: none), which the reader then fetches too."""
    return next((location for location, link in walk(record, link_at) if link is None), None)


def channel_place(thread_id: str, ns: str, channel: str) -> str:
    """How a broken chain's error names the channel."""
    return f"thread {thread_id!r}, namespace {ns!r}, channel {channel!r}"


def rebuild_blob(
    serde: SerializerProtocol,
    blob: bytes,
    link_at: Callable[[str], tuple[str, bytes] | None],
    place: str,
    held: HeldValue | None = None,
) -> list[Any]:
    """The value a delta blob stands for, where each version of a channel is
    a blob of its own (Postgres, InMemorySaver): `link_at(location)` is the
    (type, bytes) stored there, or None; `place` names it in errors. Decoded
    from what `held` finds for the record, if anything, without its links."""
    record = decode_record(blob)
    whole = held(record) if held is not None else None
    if whole is not None:
        return serde.loads_typed(whole)
    return rebuild_list(serde, record, blob_links(serde, link_at), place)


def blob_links(
    serde: SerializerProtocol, link_at: Callable[[str], tuple[str, bytes] | None]
) -> LinkAt:
    """The chain links of blobs, each decoded when first asked for, where
    `link_at(location)` is the (type, bytes) stored there (`rebuild_blob`)."""
    decoded: dict[str, Link | None] = {}

    def link(location: str) -> Link | None:
        if location not in decoded:
            type_, blob = link_at(location) or ("empty", b"")
            if type_ == DELTA_TYPE:
                decoded[location] = decode_record(blob, with_chain=False)
            elif type_ != "empty":
                decoded[location] = FullValue(functools.partial(serde.loads_typed, (type_, blob)))
            else:
                decoded[location] = None
        return decoded[location]

    return link


def _load_items(serde: SerializerProtocol, records: Sequence[DeltaRecord]) -> list[Any]:
    """The items of `records`, oldest first, decoded in one call (as one
    msgpack array of them)."""
    count = sum(record.count for record in records)
    header = bytes([0x90 | count]) if count < 16 else b"\xdd" + count.to_bytes(4, "big")
    try:
        items = serde.loads_typed(("msgpack", header + b"".join(r.payload for r in records)))
    except ValueError as exc:  # fewer items than counted (msgpack's errors are ValueErrors)
        raise SerializationError(f"malformed delta record: {exc}") from exc
    if not isinstance(items, list) or len(items) != count:
        raise SerializationError("malformed delta record: its items do not match their count")
    return items


def decompress(codec: str, blob: bytes) -> bytes:
    """A compact row's base as stored: rows written before two-tier chains
    compressed large ones with zlib (in every Python, so they read anywhere)."""
    if codec == "":
        return blob
    if codec == "zlib":
        return zlib.decompress(blob)
    raise SerializationError(f"unknown compression {codec!r} in a compact checkpoint")


VALUE_BYTES = 64 * 2**20
"""At most this many bytes of values stored as deltas a `DeltaCache` keeps whole."""


class DeltaCache:
    """Per saver: (thread_id, namespace, channel) -> the `StoredList` last written,
    least recently used entries dropped beyond `capacity`. A miss only means
    the next value is stored whole; correctness never depends on an entry.

    Per (thread_id, namespace) it also keeps, whole, the value of each channel
    last stored as a delta (`held_value`), those of the threads least recently
    written dropped beyond `value_bytes`. Found by the digest a record
    carries, they only ever stand in for the value the record was made from."""

    def __init__(self, capacity: int = 10_000, value_bytes: int = VALUE_BYTES) -> None:
        self.capacity = capacity
        self.value_bytes = value_bytes
        self._entries: OrderedDict[tuple[str, str, str], StoredList] = OrderedDict()
        # (thread_id, ns) -> {channel: (digest, (type, bytes))}; `_held` bytes in all
        self._values: OrderedDict[tuple[str, str], dict[str, tuple[bytes, tuple[str, bytes]]]]
        self._values = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()  # sync savers are shared between threads

    def get(self, thread_id: str, ns: str, channel: str) -> StoredList | None:
        with self._lock:
            entry = self._entries.get((thread_id, ns, channel))
            if entry is not None:
                self._entries.move_to_end((thread_id, ns, channel))
            return entry

    def remember(self, thread_id: str, ns: str, stored: Mapping[str, StoredList]) -> None:
        with self._lock:
            values = self._values.pop((thread_id, ns), {})
            for channel, entry in stored.items():
                if channel in values:
                    self._held -= len(values.pop(channel)[1][1])
                if entry.whole is not None:
                    values[channel] = (entry.digest, entry.whole)
                    self._held += len(entry.whole[1])
                    entry = dataclasses.replace(entry, whole=None)
                self._entries[(thread_id, ns, channel)] = entry
                self._entries.move_to_end((thread_id, ns, channel))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            if values:
                self._values[(thread_id, ns)] = values
            while self._held > self.value_bytes:
                _, dropped = self._values.popitem(last=False)
                self._held -= sum(len(whole[1]) for _, whole in dropped.values())

    def holds_values(self, thread_id: str, ns: str) -> bool:
        """Whether a value of the thread's namespace is held whole (its
        latest checkpoint likely reads without its chains)."""
        with self._lock:
            return (thread_id, ns) in self._values

    def held_value(
        self, thread_id: str, ns: str, channel: str, record: DeltaRecord
    ) -> tuple[str, bytes] | None:
        """The (type, bytes) of the value `record` stands for, if held."""
        with self._lock:
            held = self._values.get((thread_id, ns), {}).get(channel)
        if held is None or not record.digest or held[0] != record.digest:
            return None
        return held[1]

    def forget(self, thread_id: str, ns: str | None = None) -> None:
        """Drop a thread's entries (or those of one of its namespaces)."""
        with self._lock:
            doomed = [
                key for key in self._entries if key[0] == thread_id and (ns is None or key[1] == ns)
            ]
            for key in doomed:
                del self._entries[key]
            for place in [key for key in self._values if key[0] == thread_id]:
                if ns is None or place[1] == ns:
                    dropped = self._values.pop(place)
                    self._held -= sum(len(whole[1]) for _, whole in dropped.values())

    def forget_threads(self, thread_ids: Sequence[str]) -> None:
        for thread_id in thread_ids:
            self.forget(thread_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._values.clear()
            self._held = 0


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
