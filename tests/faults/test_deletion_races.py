"""Writes that race `delete_thread`, on every saver (the rule is in
`langgraph.checkpoint.base.deletion`).

A write that began before its thread was deleted and arrives after the
deletion raises `ThreadDeletedError` and stores nothing, so a deletion leaves
no orphan writes and no checkpoint whose parent is gone; a new history on the
same thread id is stored as usual. The race test runs a writer against
repeated deletions on real databases and checks those invariants in SQL, and
that every call begun after the last deletion returned is readable; with
compact savers too, whose threads another saver deletes (so a put may extend
a value that is gone, and must store it whole).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.compact import COMPACT_ROW_TYPE, DELTA_TYPE
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.errors import CheckpointError, ThreadDeletedError
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg_pool import ConnectionPool

from testsupport.loop_thread import on_loop_thread

KINDS = ["memory", "sqlite", "sqlite-async", "postgres", "postgres-pool", "postgres-async"]
# Compact savers whose threads another saver (its own cache: another process)
# deletes: a put may extend a value that is gone, and must then store it whole.
COMPACT_KINDS = ["sqlite-compact", "postgres-compact", "postgres-async-compact"]

ORPHAN_WRITES = """
SELECT count(*) FROM {writes} w WHERE NOT EXISTS (
    SELECT 1 FROM checkpoints c WHERE c.thread_id = w.thread_id
       AND c.checkpoint_ns = w.checkpoint_ns AND c.checkpoint_id = w.checkpoint_id)
"""
DANGLING_PARENTS = """
SELECT count(*) FROM checkpoints c WHERE c.parent_checkpoint_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM checkpoints p WHERE p.thread_id = c.thread_id
       AND p.checkpoint_ns = c.checkpoint_ns AND p.checkpoint_id = c.parent_checkpoint_id)
"""


class Backend:
    """A saver of one kind, and a way to count orphans behind its back:
    (writes without their checkpoint, checkpoints whose parent is gone)."""

    def __init__(
        self,
        kind: str,
        saver: Any,
        orphans: Callable[[], tuple[int, int]],
        deleter: Any = None,
        count: Callable[[str], int] | None = None,
    ) -> None:
        self.kind = kind
        self.saver = saver
        self.orphans = orphans
        self.deleter = deleter or saver  # the saver that deletes the threads
        self.count = count  # runs a counting query on the database (SQL savers)


def _sql_orphans(kind: str, count: Callable[[str], int]) -> Callable[[], tuple[int, int]]:
    writes = "writes" if kind.startswith("sqlite") else "checkpoint_writes"
    return lambda: (count(ORPHAN_WRITES.format(writes=writes)), count(DANGLING_PARENTS))


def deltas_stored(backend: Backend) -> int:
    """How many values are stored as deltas (SQLite: in compact rows)."""
    assert backend.count is not None
    if backend.kind.startswith("sqlite"):
        return backend.count(f"SELECT count(*) FROM checkpoints WHERE type = '{COMPACT_ROW_TYPE}'")
    return backend.count(f"SELECT count(*) FROM checkpoint_blobs WHERE type = '{DELTA_TYPE}'")


def _memory_orphans(saver: InMemorySaver) -> Callable[[], tuple[int, int]]:
    def orphans() -> tuple[int, int]:
        writes = sum(
            1
            for (thread_id, ns, checkpoint_id), by_task in saver.writes.items()
            if by_task and checkpoint_id not in saver.storage.get(thread_id, {}).get(ns, {})
        )
        parents = sum(
            1
            for namespaces in saver.storage.values()
            for by_id in namespaces.values()
            for _, _, parent in by_id.values()
            if parent is not None and parent not in by_id
        )
        return writes, parents

    return orphans


@contextmanager
def backend(
    kind: str, tmp_path: Path, postgres_uri_factory: Callable[[], str]
) -> Iterator[Backend]:
    """The saver of `kind`; for a `-compact` kind, a compact saver and another
    one on the same database that deletes."""
    if kind == "memory":
        saver = InMemorySaver()
        yield Backend(kind, saver, _memory_orphans(saver))
        return
    compact = kind.endswith("-compact")
    base_kind = kind.removesuffix("-compact")
    if kind.startswith("sqlite"):
        path = str(tmp_path / "races.db")

        def count(query: str) -> int:
            with closing(sqlite3.connect(path)) as conn:
                return conn.execute(query).fetchone()[0]

        def sqlite_saver() -> Any:
            if base_kind == "sqlite":
                return SqliteSaver.from_conn_string(path, compact=compact)
            return on_loop_thread(lambda: AsyncSqliteSaver.from_conn_string(path, compact=compact))

        with sqlite_saver() as saver, sqlite_saver() if compact else nullcontext() as deleter:
            yield Backend(kind, saver, _sql_orphans(kind, count), deleter, count)
        return
    uri = postgres_uri_factory()
    with PostgresSaver.from_conn_string(uri) as setup_saver:
        setup_saver.setup()

    def count(query: str) -> int:
        with psycopg.connect(uri) as conn:
            return conn.execute(query).fetchone()[0]

    def postgres_saver() -> Any:
        if base_kind == "postgres":
            return PostgresSaver.from_conn_string(uri, compact=compact)
        if base_kind == "postgres-pool":
            return pooled_saver(uri)
        return on_loop_thread(lambda: AsyncPostgresSaver.from_conn_string(uri, compact=compact))

    with postgres_saver() as saver, postgres_saver() if compact else nullcontext() as deleter:
        yield Backend(kind, saver, _sql_orphans(kind, count), deleter, count)


@contextmanager
def pooled_saver(uri: str) -> Iterator[PostgresSaver]:
    with ConnectionPool(uri, kwargs={"autocommit": True}, max_size=4) as pool:
        yield PostgresSaver(pool)


@pytest.fixture(params=KINDS)
def saver_backend(request, tmp_path):
    yield from _made_backend(request, tmp_path)


@pytest.fixture(params=KINDS + COMPACT_KINDS)
def racing_backend(request, tmp_path):
    yield from _made_backend(request, tmp_path)


def _made_backend(request, tmp_path) -> Iterator[Backend]:
    def new_uri() -> str:
        return request.getfixturevalue("postgres_server").new_database("races")

    with backend(request.param, tmp_path, new_uri) as made:
        yield made


def put(saver: Any, thread_id: str, parent: dict | None, value: int, checkpoint=None) -> dict:
    config = parent or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    checkpoint = checkpoint or empty_checkpoint()
    version = saver.get_next_version(None, None)
    checkpoint["channel_values"] = values_of(value)
    checkpoint["channel_versions"] = {"v": version, "log": version}
    return saver.put(config, checkpoint, {"step": value}, {"v": version, "log": version})


def values_of(value: int) -> dict[str, Any]:
    """What the checkpoint of step `value` holds: its "log" extends those of
    the steps before it (a compact saver stores it as a delta)."""
    return {"v": value, "log": [f"entry {i}: " + "text " * 20 for i in range(value)]}


def test_late_writes_after_a_delete_raise_and_store_nothing(saver_backend):
    saver = saver_backend.saver
    thread_id = f"late-{uuid.uuid4().hex[:8]}"
    before = empty_checkpoint()  # made before the deletion, put after it
    first = put(saver, thread_id, None, 1)
    saver.delete_thread(thread_id)

    late_calls = {
        "put_writes for a deleted checkpoint": lambda: saver.put_writes(first, [("w", 1)], "t"),
        "put of a child of a deleted checkpoint": lambda: put(saver, thread_id, first, 2),
        "put of a checkpoint made before the delete": lambda: put(
            saver, thread_id, None, 3, before
        ),
    }
    for what, call in late_calls.items():
        # One message on every saver (base.deletion.late_write_error).
        with pytest.raises(
            ThreadDeletedError, match="deleted .delete_thread. while it was in flight"
        ) as raised:
            call()
        assert isinstance(raised.value, RuntimeError) and isinstance(
            raised.value, CheckpointError
        ), what
    assert saver.get_tuple({"configurable": {"thread_id": thread_id}}) is None
    assert list(saver.list({"configurable": {"thread_id": thread_id}})) == []
    assert saver_backend.orphans() == (0, 0)

    # A new history on the same thread id is stored, writes included.
    again = put(saver, thread_id, None, 4)
    saver.put_writes(again, [("w", 4)], "t")
    child = put(saver, thread_id, again, 5)
    latest = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    assert latest.config["configurable"]["checkpoint_id"] == child["configurable"]["checkpoint_id"]
    assert (
        latest.parent_config["configurable"]["checkpoint_id"]
        == (again["configurable"]["checkpoint_id"])
    )
    assert saver.get_tuple(again).pending_writes == [("t", "w", 4)]


def test_copy_into_a_deleted_thread_and_ids_without_time_are_written(saver_backend):
    saver = saver_backend.saver
    source, target = f"src-{uuid.uuid4().hex[:8]}", f"dst-{uuid.uuid4().hex[:8]}"
    old = put(saver, source, None, 1)
    put(saver, target, None, 1)
    saver.delete_thread(target)
    saver.copy_thread(source, target)  # older ids than the target's tombstone
    copied = saver.get_tuple({"configurable": {"thread_id": target}})
    assert copied.config["configurable"]["checkpoint_id"] == old["configurable"]["checkpoint_id"]

    named = f"named-{uuid.uuid4().hex[:8]}"
    put(saver, named, None, 1)
    saver.delete_thread(named)
    checkpoint = empty_checkpoint()
    checkpoint["id"] = "checkpoint-1"  # not a UUIDv6: carries no time, the rule does not apply
    stored = put(saver, named, None, 2, checkpoint)
    saver.put_writes(stored, [("w", 2)], "t")
    assert saver.get_tuple(stored).pending_writes == [("t", "w", 2)]


def test_a_writer_racing_deletes_leaves_no_orphans(racing_backend):
    saver_backend = racing_backend
    saver = saver_backend.saver
    thread_id = f"race-{uuid.uuid4().hex[:8]}"
    deletes_done = 0
    stop = threading.Event()
    acknowledged: list[tuple[dict, int]] = []  # (config, deletions done when the call began)
    refused: list[ThreadDeletedError] = []
    failures: list[BaseException] = []

    def write_loop() -> None:
        parent, step = None, 0
        try:
            while not stop.is_set():
                step += 1
                began_after = deletes_done
                try:
                    config = put(saver, thread_id, parent, step)
                    saver.put_writes(config, [("w", step)], f"task-{step}")
                except ThreadDeletedError as exc:
                    refused.append(exc)
                    parent = None  # the history is gone: start a new one
                    continue
                acknowledged.append((config, began_after))
                parent = config
        except BaseException as exc:  # surfaced below, with the thread joined
            failures.append(exc)

    writer = threading.Thread(target=write_loop)
    writer.start()
    try:
        for _ in range(25):
            wanted = len(acknowledged) + 3
            while len(acknowledged) < wanted and writer.is_alive():
                stop.wait(0.001)
            saver_backend.deleter.delete_thread(thread_id)
            deletes_done += 1
        wanted = len(acknowledged) + 5
        while len(acknowledged) < wanted and writer.is_alive():
            stop.wait(0.001)
    finally:
        stop.set()
        writer.join(60)
    assert not failures, failures
    assert saver_backend.orphans() == (0, 0)
    survivors = [config for config, began_after in acknowledged if began_after == deletes_done]
    assert len(survivors) >= 5
    for config in survivors:
        for reader in (saver, saver_backend.deleter):  # with the writer's cache, and without
            stored = reader.get_tuple(config)
            assert stored is not None, config
            step = stored.metadata["step"]
            assert stored.checkpoint["channel_values"] == values_of(step)
            assert stored.pending_writes == [(f"task-{step}", "w", step)]
    if saver_backend.kind.endswith("-compact"):
        assert deltas_stored(saver_backend) > 0, "no delta: compact storage went unexercised"
    print(f"{saver_backend.kind}: {len(acknowledged)} acknowledged, {len(refused)} refused")


def test_tombstone_watermark_orders_like_checkpoint_ids():
    from langgraph.checkpoint.base.deletion import (
        deletion_watermark,
        expired_watermarks_before,
        made_before,
    )

    earlier = str(uuid6(clock_seq=7))
    watermark = deletion_watermark()
    later = str(uuid6(clock_seq=0))
    assert made_before(earlier, watermark)
    assert not made_before(later, watermark)
    assert not made_before("checkpoint-1", watermark)
    assert expired_watermarks_before() < earlier
