"""The checkpoint saver interface and the data it stores.

A saver persists `Checkpoint`s (snapshots of a graph's channels) together with
`CheckpointMetadata` and the pending writes tasks made after each checkpoint.
Concrete savers subclass `BaseCheckpointSaver`; the behaviour every saver must
have is checked by the `langgraph.checkpoint.conformance` suite.
"""

from __future__ import annotations

import copy as _copy
import random
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Generic, Literal, NamedTuple, TypeVar
from uuid import UUID

from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.errors import InvalidConfigError
from langgraph.checkpoint.serde.base import SerializerProtocol, maybe_add_typed_methods
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import (
    ERROR,
    INTERRUPT,
    RESUME,
    SCHEDULED,
    ChannelProtocol,
)
from typing_extensions import NotRequired, TypedDict

__all__ = [
    "BaseCheckpointSaver",
    "ChannelProtocol",
    "ChannelVersions",
    "Checkpoint",
    "CheckpointMetadata",
    "CheckpointTuple",
    "DeltaChannelHistory",
    "ERROR",
    "EXCLUDED_METADATA_KEYS",
    "EmptyChannelError",
    "EncryptedSerializer",
    "INTERRUPT",
    "JsonPlusSerializer",
    "LATEST_VERSION",
    "PendingWrite",
    "RESUME",
    "RunnableConfig",
    "SCHEDULED",
    "SerializerProtocol",
    "V",
    "WRITES_IDX_MAP",
    "DeltaHistoryWalk",
    "config_location",
    "delta_channels_needing_history",
    "metadata_matches",
    "next_string_version",
    "copy_checkpoint",
    "create_checkpoint",
    "empty_checkpoint",
    "get_checkpoint_id",
    "get_checkpoint_metadata",
    "get_serializable_checkpoint_metadata",
    "maybe_add_typed_methods",
    "uuid6",
    "validated_thread_id",
    "writes_sort_key",
]

# LangChain's RunnableConfig is a TypedDict; we only read it as a mapping, so a
# plain alias keeps langchain-core out of our runtime dependencies.
RunnableConfig = dict[str, Any]

V = TypeVar("V", int, float, str)
PendingWrite = tuple[str, str, Any]
ChannelVersions = dict[str, str | int | float]

LATEST_VERSION = 2


class CheckpointMetadata(TypedDict, total=False):
    """What a saver stores beside a checkpoint, and what `list(filter=...)` matches."""

    source: Literal["input", "loop", "update", "fork"]
    """How the checkpoint was made: graph input, a loop step, a manual update, or a fork."""
    step: int
    """Step number: -1 for the input checkpoint, then 0, 1, 2, ..."""
    parents: dict[str, str]
    """Checkpoint id of each parent graph, by checkpoint namespace."""
    run_id: str
    """Id of the run that made this checkpoint."""
    counters_since_delta_snapshot: dict[str, Any]
    """Per delta channel, progress since its last full snapshot."""


class Checkpoint(TypedDict):
    """A snapshot of a graph's channels at one point in time."""

    v: int
    """Format version."""
    id: str
    """UUIDv6: sorting ids as strings sorts checkpoints by time."""
    ts: str
    """ISO 8601 creation time."""
    channel_values: dict[str, Any]
    """Value of each channel that has one."""
    channel_versions: dict[str, Any]
    """Current version of each channel; versions compare as strings."""
    versions_seen: dict[str, dict[str, Any]]
    """Per node, the channel versions it has already seen."""
    updated_channels: NotRequired[list[str] | None]
    """Channels updated in the step that made this checkpoint."""


class CheckpointTuple(NamedTuple):
    """A checkpoint with its config, metadata, parent and pending writes."""

    config: RunnableConfig
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    parent_config: RunnableConfig | None = None
    pending_writes: list[PendingWrite] | None = None


class DeltaChannelHistory(TypedDict):
    """What is needed to rebuild a delta channel at a checkpoint.

    `seed` is the value stored at the nearest ancestor that has one (absent
    when the walk reached the root); `writes` are the `(task_id, channel,
    value)` writes to the channel after it, oldest first.
    """

    writes: list[PendingWrite]
    seed: NotRequired[Any]


class EmptyChannelError(Exception):
    """Raised when reading a channel that holds no value yet."""


WRITES_IDX_MAP = {ERROR: -1, SCHEDULED: -2, INTERRUPT: -3, RESUME: -4}
"""Fixed write index of each special channel (regular writes use their position)."""

EXCLUDED_METADATA_KEYS = {
    "checkpoint_id",
    "checkpoint_ns",
    "checkpoint_map",
    "langgraph_checkpoint_ns",
    "langgraph_node",
    "langgraph_path",
    "langgraph_step",
    "langgraph_triggers",
    "thread_id",
}
"""Config keys never copied into checkpoint metadata."""


def empty_checkpoint() -> Checkpoint:
    """A checkpoint with no channels, stamped now."""
    return Checkpoint(
        v=LATEST_VERSION,
        id=str(uuid6(clock_seq=-2)),
        ts=datetime.now(timezone.utc).isoformat(),
        channel_values={},
        channel_versions={},
        versions_seen={},
        updated_channels=None,
    )


def copy_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    """Copy deep enough that changing the copy's dicts leaves the original alone."""
    copied = Checkpoint(
        v=checkpoint["v"],
        id=checkpoint["id"],
        ts=checkpoint["ts"],
        channel_values=dict(checkpoint["channel_values"]),
        channel_versions=dict(checkpoint["channel_versions"]),
        versions_seen={k: dict(v) for k, v in checkpoint["versions_seen"].items()},
        updated_channels=checkpoint.get("updated_channels"),
    )
    return copied


def create_checkpoint(
    checkpoint: Checkpoint,
    channels: Mapping[str, ChannelProtocol] | None,
    step: int,
    *,
    id: str | None = None,
) -> Checkpoint:
    """The next checkpoint after `checkpoint`, holding the current channel values.

    With `channels` None the values are taken over from `checkpoint`.
    """
    if channels is None:
        values = dict(checkpoint["channel_values"])
    else:
        values = {}
        for name in checkpoint["channel_versions"]:
            if name not in channels:
                continue
            try:
                values[name] = channels[name].checkpoint()
            except EmptyChannelError:
                continue
    return Checkpoint(
        v=LATEST_VERSION,
        id=id or str(uuid6(clock_seq=step)),
        ts=datetime.now(timezone.utc).isoformat(),
        channel_values=values,
        channel_versions=dict(checkpoint["channel_versions"]),
        versions_seen={k: dict(v) for k, v in checkpoint["versions_seen"].items()},
        updated_channels=None,
    )


# Config values a saver stores as text. LangGraph itself turns a non-str
# thread_id into str(thread_id) (users pass ints and UUIDs); these scalars have
# one text form, so direct calls get the same. Anything else (lists, dicts,
# bytes, ...) would be stored as some adapter's rendering of it, or fail only
# at read time, so it is refused before anything is written.
_TEXT_LIKE = (str, int, float, UUID)


def _config_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, _TEXT_LIKE):
        return str(value)
    raise InvalidConfigError(
        f'config["configurable"]["{key}"] must be a str (or an int, float or UUID, used as '
        f"its str()), got {type(value).__name__}: {value!r}"
    )


def validated_thread_id(thread_id: Any) -> str:
    """`thread_id` as the text savers store, or an `InvalidConfigError` naming it.

    For the thread ids savers take outside a config (`delete_thread`,
    `copy_thread`, `prune`): the same rules as in a config.
    """
    if thread_id is None or thread_id == "":
        raise InvalidConfigError(
            'config["configurable"]["thread_id"] is required: pass '
            '{"configurable": {"thread_id": ...}}'
        )
    return _config_text("thread_id", thread_id)


def validated_thread_ids(thread_ids: Any) -> list[str]:
    """`validated_thread_id` of each, for `prune`; a lone str is refused
    rather than read as a sequence of one-letter ids."""
    if isinstance(thread_ids, str):
        raise InvalidConfigError(
            f"thread_ids must be a sequence of thread ids, not the str {thread_ids!r}"
        )
    return [validated_thread_id(t) for t in thread_ids]


def config_location(config: RunnableConfig) -> tuple[str, str, str | None]:
    """`(thread_id, checkpoint_ns, checkpoint_id)` of a config, as text.

    Every saver reads a config through this, so all report the same clear
    error before writing anything: an `InvalidConfigError` (a `ValueError`)
    when `thread_id` is missing, or naming the key and the type (a
    `TypeError`) when a value has no faithful text form. ints, floats and
    UUIDs become their str(); a missing or None namespace is "".
    """
    configurable = (config or {}).get("configurable") or {}
    ns = configurable.get("checkpoint_ns")
    return (
        validated_thread_id(configurable.get("thread_id")),
        "" if ns is None else _config_text("checkpoint_ns", ns),
        get_checkpoint_id(config),
    )


def get_checkpoint_id(config: RunnableConfig) -> str | None:
    """The checkpoint id a config points at (as text), or None for "the latest"."""
    configurable = (config or {}).get("configurable") or {}
    for key in ("checkpoint_id", "thread_ts"):
        value = configurable.get(key)
        if value is not None and value != "":
            return _config_text(key, value)
    return None


def _without_nul(value: Any) -> Any:
    # PostgreSQL cannot store NUL in text or JSONB; strip it everywhere.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def get_checkpoint_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> CheckpointMetadata:
    """`metadata` plus the scalar values of the config it does not already have.

    Scalars (str, int, float, bool) from `config["metadata"]` and
    `config["configurable"]` are added unless their key is already present,
    excluded, or starts with `__`. NUL characters are removed from strings.
    """
    merged: dict[str, Any] = {k: _without_nul(v) for k, v in metadata.items()}
    for source in (config.get("metadata") or {}, config.get("configurable") or {}):
        for key, value in source.items():
            if (
                key in merged
                or key in EXCLUDED_METADATA_KEYS
                or key.startswith("__")
                or not isinstance(value, (str, int, float, bool))
            ):
                continue
            merged[key] = _without_nul(value)
    return merged  # type: ignore[return-value]


def get_serializable_checkpoint_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> CheckpointMetadata:
    """Like `get_checkpoint_metadata`, without the bulky `writes` entry."""
    merged = get_checkpoint_metadata(config, metadata)
    # LangGraph's metadata may carry `writes`, a key the TypedDict does not declare.
    merged.pop("writes", None)  # type: ignore[typeddict-item]
    return merged


def _json_equal(stored: Any, wanted: Any) -> bool:
    """Equality as JSON sees it: `True` is not `1`, `1` is `1.0`, key order is irrelevant."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(stored, (int, float)) and isinstance(wanted, (int, float)):
        return stored == wanted
    if isinstance(stored, dict) and isinstance(wanted, dict):
        return stored.keys() == wanted.keys() and all(
            _json_equal(stored[k], wanted[k]) for k in stored
        )
    if isinstance(stored, (list, tuple)) and isinstance(wanted, (list, tuple)):
        return len(stored) == len(wanted) and all(map(_json_equal, stored, wanted))
    return type(stored) is type(wanted) and stored == wanted


def metadata_matches(metadata: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    """Whether every filter key is present in `metadata` with a JSON-equal value."""
    return all(
        key in metadata and _json_equal(metadata[key], value) for key, value in filter.items()
    )


def delta_channels_needing_history(
    metadata: Mapping[str, Any], channels_with_value: Collection[str]
) -> set[str]:
    """Delta channels of a checkpoint that must be rebuilt from its ancestors.

    LangGraph counts, in `counters_since_delta_snapshot`, the steps since each
    delta channel's last snapshot; a channel listed there with no stored value
    at this checkpoint needs the ancestor that holds its snapshot.
    """
    counters = metadata.get("counters_since_delta_snapshot") or {}
    return {channel for channel in counters if channel not in channels_with_value}


def writes_sort_key(task_path: str, task_id: str = "", idx: int = 0) -> tuple[str, str, int]:
    """Order of pending writes: by task path, then task id, then index."""
    return (task_path, task_id, idx)


class BaseCheckpointSaver(Generic[V]):
    """Interface every checkpoint saver implements.

    The base methods raise `NotImplementedError`, except
    `get_delta_channel_history`, which walks parents through `get_tuple`
    (correct for any saver; savers with direct storage answer it faster).
    """

    serde: SerializerProtocol = JsonPlusSerializer()

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        self.serde = maybe_add_typed_methods(serde or self.serde)

    @property
    def config_specs(self) -> list:
        """Configurable fields this saver reads (none beyond thread and checkpoint ids)."""
        return []

    def with_allowlist(
        self, extra_allowlist: Collection[tuple[str, ...]]
    ) -> BaseCheckpointSaver[V]:
        """A copy of this saver whose serializer may also rebuild these types.

        Each entry is `(module, class_name)`. Savers whose serializer has no
        allowlist are returned unchanged.
        """
        widen = getattr(self.serde, "with_msgpack_allowlist", None)
        if widen is None:
            return self
        clone = _copy.copy(self)
        clone.serde = widen(extra_allowlist)
        return clone

    # -- reading ---------------------------------------------------------

    def get(self, config: RunnableConfig) -> Checkpoint | None:
        """The checkpoint `config` points at (latest when it names none)."""
        if value := self.get_tuple(config):
            return value.checkpoint
        return None

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint tuple `config` points at, or None."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_tuple")

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints matching the arguments, newest first."""
        raise NotImplementedError(f"{type(self).__name__} does not implement list")

    # -- writing ---------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; returns the config that points at it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement put")

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes, linked to the checkpoint in `config`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement put_writes")

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread, in all namespaces."""
        raise NotImplementedError(f"{type(self).__name__} does not implement delete_thread")

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints made by these runs, with their writes."""
        raise NotImplementedError(f"{type(self).__name__} does not implement delete_for_runs")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a thread's whole history to another thread id."""
        raise NotImplementedError(f"{type(self).__name__} does not implement copy_thread")

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Drop old checkpoints ("keep_latest") or all of them ("delete")."""
        raise NotImplementedError(f"{type(self).__name__} does not implement prune")

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Seed and writes needed to rebuild each delta channel at `config`.

        Generic version: follows parent links one `get_tuple` at a time.
        """
        target = self.get_tuple(config)
        if target is None:
            return {}
        walk = DeltaHistoryWalk(channels)
        parent = target.parent_config
        while parent is not None and walk.pending:
            current = self.get_tuple(parent)
            if current is None:
                break
            walk.visit(current.checkpoint["channel_values"], current.pending_writes or [])
            parent = current.parent_config
        return walk.result()

    def get_next_version(self, current: V | None, channel: None) -> V:
        """Version that follows `current` (ints count up from 1)."""
        if current is None:
            return 1  # type: ignore[return-value]
        if isinstance(current, int):
            return current + 1
        raise NotImplementedError(
            f"{type(self).__name__} must override get_next_version for {type(current).__name__} versions"
        )

    # -- async twins -------------------------------------------------------

    async def aget(self, config: RunnableConfig) -> Checkpoint | None:
        """Async `get`."""
        if value := await self.aget_tuple(config):
            return value.checkpoint
        return None

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async `get_tuple`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aget_tuple")

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async `list`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement alist")
        yield  # pragma: no cover - makes this an async generator

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async `put`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aput")

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async `put_writes`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aput_writes")

    async def adelete_thread(self, thread_id: str) -> None:
        """Async `delete_thread`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement adelete_thread")

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async `delete_for_runs`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement adelete_for_runs")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async `copy_thread`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement acopy_thread")

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async `prune`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement aprune")

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async `get_delta_channel_history` (generic parent walk)."""
        target = await self.aget_tuple(config)
        if target is None:
            return {}
        walk = DeltaHistoryWalk(channels)
        parent = target.parent_config
        while parent is not None and walk.pending:
            current = await self.aget_tuple(parent)
            if current is None:
                break
            walk.visit(current.checkpoint["channel_values"], current.pending_writes or [])
            parent = current.parent_config
        return walk.result()


class DeltaHistoryWalk:
    """Accumulates delta-channel history while visiting ancestors newest first.

    Savers that fetch the whole ancestry at once feed it through the same
    object, so the seed and write-order rules live in one place.
    """

    def __init__(self, channels: Sequence[str]) -> None:
        self._writes: dict[str, list[list[PendingWrite]]] = {c: [] for c in channels}
        self._seeds: dict[str, Any] = {}
        self.pending: set[str] = set(channels)

    def visit(
        self, channel_values: Mapping[str, Any], pending_writes: Sequence[PendingWrite]
    ) -> None:
        """Take in one ancestor (the next older one): its writes, then maybe a seed."""
        for channel in list(self.pending):
            self._writes[channel].append([w for w in pending_writes if w[1] == channel])
            if channel in channel_values:
                self._seeds[channel] = channel_values[channel]
                self.pending.discard(channel)

    def result(self) -> dict[str, DeltaChannelHistory]:
        out: dict[str, DeltaChannelHistory] = {}
        for channel, per_ancestor in self._writes.items():
            writes = [w for batch in reversed(per_ancestor) for w in batch]
            history = DeltaChannelHistory(writes=writes)
            if channel in self._seeds:
                history["seed"] = self._seeds[channel]
            out[channel] = history
        return out


def next_string_version(current: str | int | float | None) -> str:
    """`get_next_version` of the concrete savers: zero-padded counter + random tail."""
    if current is None:
        current_n = 0
    elif isinstance(current, (int, float)):
        current_n = int(current)
    else:
        current_n = int(current.split(".")[0])
    return f"{current_n + 1:032}.{random.random():016}"
