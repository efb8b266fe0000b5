"""What the command needs from a database, and how a URL becomes one.

A backend package registers a factory under the entry-point group
`langgraph_checkpoint.cli`, named by the URL scheme it opens (`sqlite`,
`postgresql`), so this package never imports it. The factory returns a
`Backend`: a saver for checkpoints (read through `get_tuple`/`list`, written
through `put`/`put_writes`), plus summaries its storage can answer in SQL
without decoding a single blob. A `module:factory` import path opens any
other saver; its summaries come from `list`, which decodes everything.

The write commands need a `WritableBackend` (the SQL backends): opened for
`"write"`, it changes the database; opened for `"rehearse"`, it runs the same
operations where nothing is kept (a copy of a SQLite file, a Postgres
transaction that is rolled back), so a dry run reports exactly what a real
run would do.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol, runtime_checkable

from langgraph.checkpoint.base import (
    INTERRUPT,
    BaseCheckpointSaver,
    CheckpointTuple,
    SerializerProtocol,
)
from langgraph.checkpoint.base.compact import ConversionProgress
from langgraph.checkpoint.base.retention import Retention, SweepReport

ENTRY_POINT_GROUP = "langgraph_checkpoint.cli"

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


class CliError(Exception):
    """An operational failure, reported as one line and exit code 1."""


@dataclass
class ThreadRow:
    """One thread as `threads` lists it; `bytes`/`interrupted` are None until filled in."""

    thread_id: str
    checkpoints: int
    namespaces: int
    last_checkpoint_id: str
    bytes: int | None = None
    interrupted: bool | None = None

    @property
    def last_activity(self) -> datetime | None:
        return checkpoint_time(self.last_checkpoint_id)


@dataclass
class Totals:
    checkpoints: int
    writes: int
    bytes: int


class Backend(Protocol):
    """A database opened for the command."""

    @property
    def saver(self) -> BaseCheckpointSaver[Any]: ...

    def thread_rows(self) -> list[ThreadRow]:
        """Every thread, counted from the primary-key index (no blob is read)."""
        ...

    def thread_bytes(self, thread_ids: Sequence[str] | None) -> dict[str, int]:
        """Stored bytes per thread (all threads for None)."""
        ...

    def interrupted(self, thread_ids: Sequence[str]) -> set[str]:
        """Those threads whose latest root checkpoint has an interrupt write."""
        ...

    def totals(self) -> Totals: ...

    def task_paths(self, thread_id: str, ns: str, checkpoint_id: str) -> dict[str, str]:
        """task id -> task path of a checkpoint's writes (the savers' `list`
        does not return paths; `copy` needs them to write the same rows)."""
        ...

    def checkpoint_ids(self) -> Iterator[str]:
        """Every checkpoint id (for growth per day)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class WritableBackend(Backend, Protocol):
    """A backend the write commands can change (through its saver's own methods)."""

    def prune(self, thread_ids: Sequence[str], strategy: str, keep: int | None) -> None: ...

    def sweep(self) -> SweepReport:
        """One TTL sweep with the retention settings the backend was opened with."""
        ...

    def convert(self, *, compact: bool, progress: ConversionProgress) -> int:
        """Rewrite the database compact (or plain again); the rows rewritten."""
        ...


class RetentionSaver(Protocol):
    """What the write commands call on a SQL saver."""

    serde: SerializerProtocol

    def prune(
        self, thread_ids: Sequence[str], *, strategy: str = ..., keep: int | None = ...
    ) -> None: ...

    def sweep_ttl(self) -> SweepReport: ...


Converter = Callable[..., int]
"""A backend package's `compact_database` or `expand_database` (`convert` modules)."""


class SaverWriteMethods:
    """`WritableBackend`'s write methods, for a backend with a set-up saver
    (`writer`), its connection, and its package's (compact, expand) converters."""

    writer: RetentionSaver
    conn: Any
    converters: tuple[Converter, Converter]

    def prune(self, thread_ids: Sequence[str], strategy: str, keep: int | None) -> None:
        self.writer.prune(thread_ids, strategy=strategy, keep=keep)

    def sweep(self) -> SweepReport:
        return self.writer.sweep_ttl()

    def convert(self, *, compact: bool, progress: ConversionProgress) -> int:
        convert = self.converters[0] if compact else self.converters[1]
        return convert(self.conn, serde=self.writer.serde, progress=progress)


Access = Literal["read", "write", "rehearse"]
"""How a backend is opened: read-only; set up for writing; or for writing
where nothing is kept (a dry run)."""

BackendFactory = Callable[[str, Access, Retention | None], Backend]
"""`factory(url, access, ttl)`; `ttl` is the savers' retention option (for `sweep`)."""


def checkpoint_time(checkpoint_id: str) -> datetime | None:
    """When a UUIDv6 checkpoint id was made (None for ids of another kind)."""
    try:
        value = uuid.UUID(checkpoint_id)
    except ValueError:
        return None
    if value.version != 6:
        return None
    ticks = (value.time_low << 28) | (value.time_mid << 12) | (value.time_hi_version & 0x0FFF)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return epoch + timedelta(microseconds=(ticks - _UUID_EPOCH_OFFSET) // 10)


def registered_schemes() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def open_backend(url: str, access: Access = "read", ttl: Retention | None = None) -> Backend:
    """The backend for `url`: a registered scheme, or `module:factory`."""
    scheme, sep, _ = url.partition("://")
    if sep:
        registered = registered_schemes()
        if scheme not in registered:
            known = ", ".join(f"{name}://" for name in sorted(registered)) or "none installed"
            raise CliError(f"no backend for {scheme}:// URLs (installed: {known})")
        factory: BackendFactory = registered[scheme].load()
        return factory(url, access, ttl)
    if ":" in url and not url.startswith(("/", ".")):
        if access == "rehearse":
            raise CliError(f"{url}: --dry-run needs a sqlite:// or postgresql:// database")
        return SaverBackend.from_import_path(url, writable=access == "write")
    raise CliError(
        f"not a database URL: {url!r} (use sqlite:///path.db, postgresql://..., "
        "or module:factory for a saver of your own)"
    )


class SaverBackend:
    """Any saver, summarised through its public `list` (which decodes every checkpoint)."""

    def __init__(self, saver: BaseCheckpointSaver[Any], owner: ExitStack) -> None:
        self.saver = saver
        self._owner = owner

    @classmethod
    def from_import_path(cls, path: str, *, writable: bool) -> SaverBackend:
        module_name, _, attribute = path.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise CliError(f"cannot load saver factory {path!r}: {exc}") from exc
        owner = ExitStack()
        made = factory()
        saver = owner.enter_context(made) if isinstance(made, AbstractContextManager) else made
        if not isinstance(saver, BaseCheckpointSaver):
            owner.close()
            raise CliError(f"{path} returned {type(saver).__name__}, not a checkpoint saver")
        if writable and callable(setup := getattr(saver, "setup", None)):
            setup()
        return cls(saver, owner)

    def _tuples(self) -> Iterable[CheckpointTuple]:
        return self.saver.list(None)

    def thread_rows(self) -> list[ThreadRow]:
        rows: dict[str, ThreadRow] = {}
        namespaces: dict[str, set[str]] = {}
        for item in self._tuples():
            configurable = item.config["configurable"]
            thread_id, checkpoint_id = configurable["thread_id"], configurable["checkpoint_id"]
            row = rows.setdefault(thread_id, ThreadRow(thread_id, 0, 0, checkpoint_id))
            row.checkpoints += 1
            row.last_checkpoint_id = max(row.last_checkpoint_id, checkpoint_id)
            namespaces.setdefault(thread_id, set()).add(configurable.get("checkpoint_ns", ""))
        for thread_id, row in rows.items():
            row.namespaces = len(namespaces[thread_id])
        return list(rows.values())

    def thread_bytes(self, thread_ids: Sequence[str] | None) -> dict[str, int]:
        wanted = None if thread_ids is None else set(thread_ids)
        sizes: dict[str, int] = {}
        for item in self._tuples():
            thread_id = item.config["configurable"]["thread_id"]
            if wanted is None or thread_id in wanted:
                sizes[thread_id] = sizes.get(thread_id, 0) + encoded_size(self.saver, item)
        return sizes

    def interrupted(self, thread_ids: Sequence[str]) -> set[str]:
        waiting = set()
        for thread_id in thread_ids:
            latest = self.saver.get_tuple({"configurable": {"thread_id": thread_id}})
            if latest and any(
                channel == INTERRUPT for _, channel, _ in latest.pending_writes or ()
            ):
                waiting.add(thread_id)
        return waiting

    def task_paths(self, thread_id: str, ns: str, checkpoint_id: str) -> dict[str, str]:
        return {}  # a saver of your own: its public API carries no task paths

    def totals(self) -> Totals:
        checkpoints = writes = size = 0
        for item in self._tuples():
            checkpoints += 1
            writes += len(item.pending_writes or ())
            size += encoded_size(self.saver, item)
        return Totals(checkpoints, writes, size)

    def checkpoint_ids(self) -> Iterator[str]:
        for item in self._tuples():
            yield item.config["configurable"]["checkpoint_id"]

    def close(self) -> None:
        self._owner.close()


def encoded_size(saver: BaseCheckpointSaver[Any], item: CheckpointTuple) -> int:
    """Bytes of a checkpoint and its writes as the saver's serializer encodes them."""
    size = len(saver.serde.dumps_typed(item.checkpoint)[1])
    for _, _, value in item.pending_writes or ():
        size += len(saver.serde.dumps_typed(value)[1])
    return size
