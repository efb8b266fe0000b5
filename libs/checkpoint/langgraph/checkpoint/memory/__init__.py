"""`InMemorySaver`: a checkpoint saver that keeps everything in process memory.

Meant for tests, notebooks and short-lived processes. Values are stored
serialized, so what you read back is a copy, exactly as with a database.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any

import ormsgpack
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    DeltaHistoryWalk,
    RunnableConfig,
    SerializerProtocol,
    config_location,
    delta_channels_needing_history,
    get_checkpoint_id,
    get_checkpoint_metadata,
    metadata_matches,
    next_string_version,
    validated_thread_id,
    validated_thread_ids,
    writes_sort_key,
)
from langgraph.checkpoint.base.compact import (
    DELTA_TYPE,
    DeltaCache,
    EncodedList,
    StoredList,
    blob_links,
    channel_place,
    decode_record,
    encode_list,
    encode_record,
    list_channels,
    rebuild_blob,
    walk,
)
from langgraph.checkpoint.base.deletion import (
    deletion_watermark,
    expired_watermarks_before,
    late_write_error,
    made_before,
)
from langgraph.checkpoint.base.retention import (
    BATCH_THREADS,
    CheckpointTTLConfig,
    Retention,
    SweepReport,
    TaskSweeper,
    ThreadSweeperMethods,
    id_floor_minutes_ago,
    read_mark,
    sweep_interval_seconds,
    validated_prune,
    validated_thread_ttl,
    validated_ttl,
)
from langgraph.checkpoint.errors import InvalidConfigError

__all__ = [
    "BaseCheckpointSaver",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "DeltaChannelHistory",
    "InMemorySaver",
    "MemorySaver",
    "PersistentDict",
    "SerializerProtocol",
    "WRITES_IDX_MAP",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
    "writes_sort_key",
]

Typed = tuple[str, bytes]
# Stored per checkpoint: (checkpoint without channel_values, metadata, parent id).
StoredCheckpoint = tuple[Typed, Typed, str | None]
# Stored per write: (task_id, channel, value, task_path).
StoredWrite = tuple[str, str, Typed, str]
_EMPTY: Typed = ("empty", b"")


class InMemorySaver(
    # BaseCheckpointSaver first: subclasses (LangGraph's tests among them) reach
    # its methods as InMemorySaver.__mro__[1].
    BaseCheckpointSaver[str],
    ThreadSweeperMethods,
    AbstractContextManager,
    AbstractAsyncContextManager,
):
    """Checkpoint saver backed by dictionaries, safe to share between threads.

    Implements the whole interface, sync and async (the async methods do no
    I/O and simply call the sync ones). Channel values are stored once per
    (channel, version), so a long thread does not copy unchanged channels;
    with `compact=True` a list that grew is stored as what was appended
    (base.compact), so a long conversation takes O(n) memory, not O(n²).
    """

    def __init__(
        self,
        *,
        serde: SerializerProtocol | None = None,
        factory: type[defaultdict] = defaultdict,
        ttl: CheckpointTTLConfig | Retention | None = None,
        compact: bool = False,
    ) -> None:
        super().__init__(serde=serde)
        # Compact storage: what was last stored per (thread, namespace, channel);
        # no value kept whole, as every link of a chain is in memory already.
        self.delta_cache = DeltaCache(value_bytes=0) if compact else None
        # Retention (base.retention): the option, and per thread its own
        # settings (ttl minutes or None, pinned, last read mark or None).
        self.ttl = validated_ttl(ttl)
        self._thread_retention: dict[str, tuple[float | None, bool, str | None]] = {}
        self._task_sweeper = TaskSweeper()
        # thread_id -> checkpoint_ns -> checkpoint_id -> StoredCheckpoint
        self.storage: defaultdict[str, dict[str, dict[str, StoredCheckpoint]]] = factory(
            lambda: defaultdict(dict)
        )
        # (thread_id, checkpoint_ns, checkpoint_id) -> (task_id, idx) -> StoredWrite
        self.writes: defaultdict[tuple[str, str, str], dict[tuple[str, int], StoredWrite]] = (
            factory(dict)
        )
        # (thread_id, checkpoint_ns, channel, version) -> serialized value
        self.blobs: dict[tuple[str, str, str, str | int | float], Typed] = factory()
        self.lock = threading.RLock()
        # thread_id -> deletion watermark (langgraph.checkpoint.base.deletion)
        self._tombstones: dict[str, str] = {}
        # Leaving the saver's `with` block closes what `factory` made when that
        # is closable (PersistentDict writes itself out); subclasses register
        # their own cleanup here too (`self.stack.callback(...)`).
        self.stack = ExitStack()
        for container in (self.storage, self.writes, self.blobs):
            if isinstance(container, AbstractContextManager):
                self.stack.enter_context(container)

    def __enter__(self) -> InMemorySaver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return self.stack.__exit__(exc_type, exc_value, traceback)

    async def __aenter__(self) -> InMemorySaver:
        return self

    async def __aexit__(
        self,
        __exc_type: type[BaseException] | None,
        __exc_value: BaseException | None,
        __traceback: TracebackType | None,
    ) -> bool | None:
        return self.stack.__exit__(__exc_type, __exc_value, __traceback)

    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_string_version(current)

    # -- reading ---------------------------------------------------------

    def _tuple(self, thread_id: str, ns: str, checkpoint_id: str) -> CheckpointTuple:
        stored_checkpoint, stored_metadata, parent_id = self.storage[thread_id][ns][checkpoint_id]
        checkpoint: Checkpoint = self.serde.loads_typed(stored_checkpoint)
        values = {}
        for channel, version in checkpoint["channel_versions"].items():
            blob = self.blobs.get((thread_id, ns, channel, version), _EMPTY)
            if blob[0] != "empty":
                values[channel] = self._load_blob(thread_id, ns, channel, blob)
        checkpoint["channel_values"] = values
        writes = sorted(
            self.writes.get((thread_id, ns, checkpoint_id), {}).items(),
            key=lambda item: writes_sort_key(item[1][3], item[0][0], item[0][1]),
        )
        return CheckpointTuple(
            config={
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            },
            checkpoint=checkpoint,
            metadata=self.serde.loads_typed(stored_metadata),
            parent_config=(
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": ns,
                        "checkpoint_id": parent_id,
                    }
                }
                if parent_id
                else None
            ),
            pending_writes=[
                (task_id, channel, self.serde.loads_typed(value))
                for (_, _), (task_id, channel, value, _) in writes
            ],
        )

    def _load_blob(self, thread_id: str, ns: str, channel: str, blob: Typed) -> Any:
        """A stored channel value; a delta rebuilt from the blobs of its chain."""
        if blob[0] != DELTA_TYPE:
            return self.serde.loads_typed(blob)
        return rebuild_blob(
            self.serde,
            blob[1],
            lambda version: self.blobs.get((thread_id, ns, channel, version)),
            channel_place(thread_id, ns, channel),
        )

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, ns, checkpoint_id = config_location(config)
        with self.lock:
            checkpoints = self.storage.get(thread_id, {}).get(ns)
            if not checkpoints:
                return None
            if checkpoint_id is None:
                checkpoint_id = max(checkpoints)
            elif checkpoint_id not in checkpoints:
                return None
            self._record_read(thread_id)
            return self._tuple(thread_id, ns, checkpoint_id)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        if limit is not None and limit <= 0:
            return
        with self.lock:
            matches = self._listed_ids(config, filter, before)
            if matches and config is not None:
                self._record_read(matches[0][1])
        matches.sort(reverse=True)
        # Decoded one at a time, as the caller asks for them: the first item
        # of a long thread comes without decoding the rest, and the lock is
        # not held while the caller works (a checkpoint deleted meanwhile is
        # skipped).
        for checkpoint_id, thread_id, ns in matches[:limit]:
            with self.lock:
                if checkpoint_id not in self.storage.get(thread_id, {}).get(ns, {}):
                    continue
                found = self._tuple(thread_id, ns, checkpoint_id)
            yield found

    def _listed_namespaces(
        self, config: RunnableConfig | None
    ) -> Iterator[tuple[str, str, dict[str, StoredCheckpoint]]]:
        """`(thread_id, ns, checkpoints)` of each namespace `list(config)` looks in:
        every one without a config, the config's thread otherwise, narrowed to
        one namespace only when the config names it."""
        if config is None:
            thread_ids, wanted_ns = list(self.storage), None
        else:
            thread_id, ns, _ = config_location(config)
            named_ns = "checkpoint_ns" in (config.get("configurable") or {})
            thread_ids, wanted_ns = [thread_id], ns if named_ns else None
        for thread_id in thread_ids:
            for ns, checkpoints in self.storage.get(thread_id, {}).items():
                if wanted_ns is None or ns == wanted_ns:
                    yield thread_id, ns, checkpoints

    def _listed_ids(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
    ) -> builtins.list[tuple[str, str, str]]:
        """`(checkpoint_id, thread_id, ns)` of every checkpoint `list` returns,
        unordered. Call with the lock held."""
        wanted_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        matches = []
        for thread_id, ns, checkpoints in self._listed_namespaces(config):
            for checkpoint_id, (_, stored_metadata, _) in checkpoints.items():
                if wanted_id and checkpoint_id != wanted_id:
                    continue
                if before_id and checkpoint_id >= before_id:
                    continue
                if filter and not metadata_matches(self.serde.loads_typed(stored_metadata), filter):
                    continue
                matches.append((checkpoint_id, thread_id, ns))
        return matches

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        thread_id, ns, checkpoint_id = config_location(config)
        with self.lock:
            checkpoints = self.storage.get(thread_id, {}).get(ns) or {}
            if checkpoint_id is None and checkpoints:
                checkpoint_id = max(checkpoints)
            if checkpoint_id not in checkpoints:
                return {}
            walk = DeltaHistoryWalk(channels)
            parent_id = checkpoints[checkpoint_id][2]
            while parent_id and walk.pending and parent_id in checkpoints:
                stored_checkpoint, _, next_parent = checkpoints[parent_id]
                versions = self.serde.loads_typed(stored_checkpoint)["channel_versions"]
                values = {}
                for channel in walk.pending:
                    blob = self.blobs.get((thread_id, ns, channel, versions.get(channel)), _EMPTY)
                    if channel in versions and blob[0] != "empty":
                        values[channel] = self._load_blob(thread_id, ns, channel, blob)
                writes = sorted(
                    self.writes.get((thread_id, ns, parent_id), {}).items(),
                    key=lambda item: writes_sort_key(item[1][3], item[0][0], item[0][1]),
                )
                walk.visit(
                    values,
                    [
                        (task_id, channel, self.serde.loads_typed(value))
                        for _, (task_id, channel, value, _) in writes
                        if channel in walk.pending
                    ],
                )
                parent_id = next_parent
            return walk.result()

    # -- writing ---------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, ns, parent_id = config_location(config)
        stored: dict[str, Any] = dict(checkpoint)
        values = stored.pop("channel_values", {})
        cache = self.delta_cache
        # In compact mode, grown lists of new versions (chains name versions
        # as strings, as the saver's own are) are encoded against the cache.
        deltas: dict[str, tuple[str, EncodedList]] = {}
        if cache is not None:
            for channel, value in list_channels(values).items():
                if isinstance(version := new_versions.get(channel), str):
                    previous = cache.get(thread_id, ns, channel)
                    deltas[channel] = (version, encode_list(self.serde, value, previous))
        new_blobs = {
            (thread_id, ns, channel, version): (
                self.serde.dumps_typed(values[channel]) if channel in values else _EMPTY
            )
            for channel, version in new_versions.items()
            if channel not in deltas
        }
        record = (
            self.serde.dumps_typed(stored),
            self.serde.dumps_typed(get_checkpoint_metadata(config, metadata)),
            parent_id,
        )
        with self.lock:
            self._refuse_late(thread_id, checkpoint["id"], parent_id)
            remembered: dict[str, StoredList] = {}
            for channel, (version, encoded) in deltas.items():
                key = (thread_id, ns, channel, version)
                entry = encoded.stored_at(version)
                again = key in self.blobs  # a put again (of this checkpoint, as a retry does)
                if again:
                    # Values stored as deltas on the one it replaces are
                    # stored whole first; it is stored whole (a delta of it
                    # would extend itself).
                    self._store_whole_extending(key)
                if (
                    encoded.record is not None
                    and not again
                    and all(
                        self._has_value(thread_id, ns, channel, v) for v in encoded.record.chain
                    )
                ):
                    new_blobs[key] = (DELTA_TYPE, encode_record(encoded.record))
                else:  # not a delta, or its chain was pruned or deleted meanwhile
                    new_blobs[key] = encoded.whole
                    entry = entry.as_whole() if entry is not None else None
                if entry is not None:
                    remembered[channel] = entry
            self.blobs.update(new_blobs)
            self.storage[thread_id][ns][checkpoint["id"]] = record
            if cache is not None:
                cache.remember(thread_id, ns, remembered)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        thread_id, ns, checkpoint_id = config_location(config)
        if checkpoint_id is None:
            raise InvalidConfigError('put_writes needs config["configurable"]["checkpoint_id"]')
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = [
            (
                (task_id, WRITES_IDX_MAP.get(channel, idx)),
                (task_id, channel, self.serde.dumps_typed(value), task_path),
            )
            for idx, (channel, value) in enumerate(writes)
        ]
        with self.lock:
            self._refuse_late(thread_id, checkpoint_id)
            existing = self.writes[(thread_id, ns, checkpoint_id)]
            for key, row in rows:
                if replace or key not in existing:
                    existing[key] = row

    # -- deleting, copying, pruning ---------------------------------------

    def _refuse_late(self, thread_id: str, *checkpoint_ids: str | None) -> None:
        """Raise for a write that belongs to a deleted history (see base.deletion)."""
        watermark = self._tombstones.get(thread_id)
        if watermark is not None and any(made_before(c, watermark) for c in checkpoint_ids):
            raise late_write_error(thread_id)

    def delete_thread(self, thread_id: str) -> None:
        thread_id = validated_thread_id(thread_id)
        with self.lock:
            # Oldest first (re-inserted on each deletion), so expiry stops at the first live one.
            expired = expired_watermarks_before()
            while self._tombstones and next(iter(self._tombstones.values())) < expired:
                del self._tombstones[next(iter(self._tombstones))]
            self._tombstones.pop(thread_id, None)
            self._tombstones[thread_id] = deletion_watermark()
            self._thread_retention.pop(thread_id, None)
            self.storage.pop(thread_id, None)
            for write_key in [k for k in self.writes if k[0] == thread_id]:
                del self.writes[write_key]
            for blob_key in [k for k in self.blobs if k[0] == thread_id]:
                del self.blobs[blob_key]
            if self.delta_cache is not None:
                self.delta_cache.forget(thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(run_ids)
        if not runs:
            return
        with self.lock:
            touched: set[str] = set()
            for thread_id, namespaces in self.storage.items():
                for ns, checkpoints in namespaces.items():
                    for checkpoint_id, (_, stored_metadata, _) in list(checkpoints.items()):
                        if self.serde.loads_typed(stored_metadata).get("run_id") in runs:
                            del checkpoints[checkpoint_id]
                            self.writes.pop((thread_id, ns, checkpoint_id), None)
                            touched.add(thread_id)
            self._drop_unused_blobs(touched)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        source_thread_id = validated_thread_id(source_thread_id)
        target_thread_id = validated_thread_id(target_thread_id)
        with self.lock:
            self._tombstones.pop(target_thread_id, None)  # copying is a new, explicit write
            for ns, checkpoints in self.storage.get(source_thread_id, {}).items():
                self.storage[target_thread_id][ns].update(checkpoints)
            for (thread_id, ns, checkpoint_id), rows in list(self.writes.items()):
                if thread_id == source_thread_id:
                    self.writes[(target_thread_id, ns, checkpoint_id)] = dict(rows)
            for (thread_id, ns, channel, version), blob in list(self.blobs.items()):
                if thread_id == source_thread_id:
                    target = (target_thread_id, ns, channel, version)
                    if self.blobs.get(target, blob) != blob:  # replaced, as a put again does
                        self._store_whole_extending(target)
                    self.blobs[target] = blob

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        """Drop old checkpoints: all but what each namespace's latest needs
        ("keep_latest"), all but the `keep` newest and what they need
        ("keep_last"), or the whole threads ("delete")."""
        thread_ids = validated_thread_ids(thread_ids)
        validated_prune(strategy, keep)
        if strategy == "delete":
            for thread_id in thread_ids:
                self.delete_thread(thread_id)
            return
        with self.lock:
            for thread_id in thread_ids:
                self._trim(thread_id, keep or 1)
            self._drop_unused_blobs(set(thread_ids))

    def _trim(self, thread_id: str, keep: int) -> int:
        """Keep the `keep` newest checkpoints of each namespace and the ancestors
        their delta channels replay from; the number removed. Call with the lock
        held, then `_drop_unused_blobs`."""
        removed = 0
        for ns, checkpoints in self.storage.get(thread_id, {}).items():
            kept: set[str] = set()
            for newest in sorted(checkpoints, reverse=True)[:keep]:
                kept |= self._with_delta_ancestry(thread_id, ns, checkpoints, newest)
            for checkpoint_id in [c for c in checkpoints if c not in kept]:
                del checkpoints[checkpoint_id]
                self.writes.pop((thread_id, ns, checkpoint_id), None)
                removed += 1
        return removed

    def _with_delta_ancestry(
        self, thread_id: str, ns: str, checkpoints: dict[str, StoredCheckpoint], checkpoint_id: str
    ) -> set[str]:
        """The checkpoint plus every ancestor its delta channels replay from."""
        keep = {checkpoint_id}
        stored_checkpoint, stored_metadata, parent_id = checkpoints[checkpoint_id]
        versions = self.serde.loads_typed(stored_checkpoint)["channel_versions"]
        pending = delta_channels_needing_history(
            self.serde.loads_typed(stored_metadata),
            {c for c, v in versions.items() if self._has_value(thread_id, ns, c, v)},
        )
        while pending and parent_id in checkpoints:
            keep.add(parent_id)
            stored_checkpoint, _, next_parent = checkpoints[parent_id]
            versions = self.serde.loads_typed(stored_checkpoint)["channel_versions"]
            pending = {
                c
                for c in pending
                if not (c in versions and self._has_value(thread_id, ns, c, versions[c]))
            }
            parent_id = next_parent
        return keep

    def _store_whole_extending(self, replaced: tuple[str, str, str, str | int | float]) -> None:
        """Store whole every delta blob whose value is built on the blob at
        `replaced` (thread, ns, channel, version), which a put replaces."""
        thread_id, ns, channel, version = replaced
        link_at = blob_links(self.serde, lambda v: self.blobs.get((thread_id, ns, channel, v)))
        rebuilt = {
            key: self._load_blob(thread_id, ns, channel, blob)
            for key, blob in self.blobs.items()
            if key[:3] == replaced[:3]
            and blob[0] == DELTA_TYPE
            and any(at == version for at, _ in walk(decode_record(blob[1]), link_at))
        }
        self.blobs.update({key: self.serde.dumps_typed(value) for key, value in rebuilt.items()})

    def _has_value(self, thread_id: str, ns: str, channel: str, version: Any) -> bool:
        return self.blobs.get((thread_id, ns, channel, version), _EMPTY)[0] != "empty"

    def _drop_unused_blobs(self, thread_ids: set[str]) -> None:
        used: set[tuple[str, str, str, Any]] = set()
        for thread_id in thread_ids:
            for ns, checkpoints in self.storage.get(thread_id, {}).items():
                for stored_checkpoint, _, _ in checkpoints.values():
                    versions = self.serde.loads_typed(stored_checkpoint)["channel_versions"]
                    used.update((thread_id, ns, c, v) for c, v in versions.items())
        # A kept delta keeps its chain (each record lists all of it).
        for thread_id, ns, channel, version in list(used):
            blob = self.blobs.get((thread_id, ns, channel, version), _EMPTY)
            if blob[0] == DELTA_TYPE:
                used.update((thread_id, ns, channel, v) for v in decode_record(blob[1]).chain)
        for key in [k for k in self.blobs if k[0] in thread_ids and k not in used]:
            del self.blobs[key]

    # -- retention (base.retention) -----------------------------------------

    def _record_read(self, thread_id: str) -> None:
        """With `refresh_on_read`, note a read of the thread. Call with the lock held."""
        if self.ttl is not None and self.ttl.refresh_on_read:
            minutes, pinned, _ = self._thread_retention.get(thread_id, (None, False, None))
            self._thread_retention[thread_id] = (minutes, pinned, read_mark())

    def set_thread_ttl(self, thread_id: str, minutes: float | None) -> None:
        """Give one thread its own TTL in minutes, or None to keep it forever
        (never expired, never trimmed by `keep_last`)."""
        thread_id = validated_thread_id(thread_id)
        minutes = validated_thread_ttl(minutes)
        with self.lock:
            refreshed = self._thread_retention.get(thread_id, (None, False, None))[2]
            self._thread_retention[thread_id] = (minutes, minutes is None, refreshed)

    def get_thread_ttl(self, thread_id: str) -> float | None:
        """The thread's TTL in minutes: its own, else the default; None when it
        is kept forever (or there is no default)."""
        thread_id = validated_thread_id(thread_id)
        default = self.ttl.default_ttl if self.ttl else None
        with self.lock:
            minutes, pinned, _ = self._thread_retention.get(thread_id, (None, False, None))
        if pinned:
            return None
        return default if minutes is None else minutes

    def sweep_ttl(self) -> SweepReport:
        """Remove what the retention settings say has expired, holding the lock
        for a batch of threads at a time; returns what was removed."""
        retention = self.ttl or Retention()
        report = SweepReport()
        with self.lock:
            thread_ids = sorted(self.storage)
        for start in range(0, len(thread_ids), BATCH_THREADS):
            started = time.monotonic()
            deleted = trimmed = removed = 0
            with self.lock:
                for thread_id in thread_ids[start : start + BATCH_THREADS]:
                    action, count = self._sweep_thread(thread_id, retention)
                    deleted += action == "deleted"
                    trimmed += action == "trimmed"
                    removed += count
                self._drop_unused_blobs(set(thread_ids[start : start + BATCH_THREADS]))
            report.add_batch(deleted, trimmed, removed, time.monotonic() - started)
        return report

    def _sweep_thread(self, thread_id: str, retention: Retention) -> tuple[str, int]:
        """Apply the retention settings to one thread: what happened to it
        ("deleted", "trimmed" or "") and how many checkpoints went. Lock held."""
        namespaces = self.storage.get(thread_id)
        if not namespaces:
            return "", 0
        minutes, pinned, refreshed = self._thread_retention.get(thread_id, (None, False, None))
        if pinned:
            return "", 0
        total = sum(len(checkpoints) for checkpoints in namespaces.values())
        ttl = retention.default_ttl if minutes is None else minutes
        if ttl is not None and total:
            latest = max(max(checkpoints) for checkpoints in namespaces.values() if checkpoints)
            floor = id_floor_minutes_ago(ttl)
            if made_before(latest, floor) and (refreshed or "") < floor:
                if retention.strategy == "delete":
                    self.delete_thread(thread_id)
                    self._thread_retention.pop(thread_id, None)
                    return "deleted", total
                if count := self._trim(thread_id, 1):
                    return "trimmed", count
        if retention.keep_last is not None and (
            count := self._trim(thread_id, retention.keep_last)
        ):
            return "trimmed", count
        return "", 0

    # -- async twins: no I/O here, so they call the sync methods ------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int | None = None
    ) -> None:
        self.prune(thread_ids, strategy=strategy, keep=keep)

    async def aset_thread_ttl(self, thread_id: str, minutes: float | None) -> None:
        self.set_thread_ttl(thread_id, minutes)

    async def aget_thread_ttl(self, thread_id: str) -> float | None:
        return self.get_thread_ttl(thread_id)

    async def asweep_ttl(self) -> SweepReport:
        return self.sweep_ttl()

    async def astart_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> asyncio.Task[None]:
        """`start_ttl_sweeper` as an asyncio task (stop it with `astop_ttl_sweeper`)."""
        interval = sweep_interval_seconds(self.ttl, sweep_interval_minutes)
        return await self._task_sweeper.start(self.asweep_ttl, interval)

    async def astop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        return await self._task_sweeper.stop(timeout)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.get_delta_channel_history(config=config, channels=channels)


MemorySaver = InMemorySaver  # the older name, kept for existing code


class PersistentDict(defaultdict):
    """A `defaultdict` that can be saved to and reloaded from a file.

    Stored as msgpack (never pickle: loading the file runs no code). Nested
    containers come back with this dict's `default_factory` applied to each
    value, so `PersistentDict(lambda: defaultdict(dict), filename=...)` keeps
    its shape across a reload. `sync()` writes atomically (temp file + rename).
    """

    def __init__(self, *args: Any, filename: str, **kwds: Any) -> None:
        super().__init__(*args, **kwds)
        self.filename = filename

    def __enter__(self) -> PersistentDict:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def dump(self, fileobj: Any) -> None:
        fileobj.write(ormsgpack.packb(dict(self), option=ormsgpack.OPT_NON_STR_KEYS))

    def load(self) -> None:
        """Merge the file's contents in (a missing file is an empty dict)."""
        try:
            with open(self.filename, "rb") as fileobj:
                data = ormsgpack.unpackb(fileobj.read(), option=ormsgpack.OPT_NON_STR_KEYS)
        except FileNotFoundError:
            return
        for key, value in data.items():
            if self.default_factory is not None and isinstance(value, dict):
                shaped = self.default_factory()
                shaped.update(value)
                value = shaped
            self[key] = value

    def sync(self) -> None:
        """Write the contents to the file, replacing it atomically."""
        directory = os.path.dirname(os.path.abspath(self.filename))
        with tempfile.NamedTemporaryFile("wb", dir=directory, delete=False) as fileobj:
            self.dump(fileobj)
            fileobj.flush()
            os.fsync(fileobj.fileno())
        os.replace(fileobj.name, self.filename)

    def close(self) -> None:
        self.sync()
