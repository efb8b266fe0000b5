"""Seeded random histories, each run twice on one backend: by plain savers
and by compact ones. Every read must come back the same both times.

The operations mix what compact storage must survive: lists grown, edited,
shrunk or replaced by another type, forks from old checkpoints, a subgraph
namespace, checkpoints put again, savers reopened (their caches lost), a
second saver on the same database, conversions beside a running saver
(compact side only: they change no value), and every deletion. A history
refers to checkpoints by the order they were put (ids differ between runs).
"""

from __future__ import annotations

import copy
import random
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, closing, nullcontext
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, create_checkpoint, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres import convert as postgres_convert
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite import convert as sqlite_convert

OPERATIONS = 150
THREAD, NAMESPACES = "history", ("", "child:1")

OpenSaver = Callable[[], AbstractContextManager[BaseCheckpointSaver]]


class World:
    """One database, the savers on it, and a conversion (None: there is none)."""

    def __init__(self, open_saver: OpenSaver, convert: Callable[[bool], int] | None) -> None:
        self.open_saver = open_saver
        self.convert = convert


class History:
    """A seeded run of operations on one world; `snapshots` is what it read."""

    def __init__(self, seed: int, world: World, compact: bool) -> None:
        self.rng = random.Random(seed)
        self.world = world
        self.compact = compact
        self.puts: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # (ns, config, checkpoint)
        self.latest: dict[str, int] = {}  # namespace -> index of its latest put
        self.snapshots: list[Any] = []
        self.copies = 0

    def item(self) -> dict[str, Any]:
        words = " ".join(self.rng.choice(("ask", "tool", "answer", "note")) for _ in range(30))
        return {"id": f"m{self.rng.randrange(10**6)}", "content": words}

    def next_values(self, values: dict[str, Any]) -> dict[str, Any]:
        messages = copy.deepcopy(values.get("messages", []))
        roll = self.rng.random()
        if not isinstance(messages, list) or roll < 0.03:
            messages = [self.item()] if isinstance(messages, str) else "a string for once"
        elif roll < 0.75 or not messages:
            messages += [self.item() for _ in range(self.rng.randint(1, 3))]
        elif roll < 0.85:
            messages[self.rng.randrange(len(messages))]["content"] = "edited"
        elif roll < 0.92:
            messages = messages[: self.rng.randrange(len(messages))]
        else:
            messages = [*messages, self.item()][1:]  # one dropped from the front
        return {"messages": messages, "step": len(self.puts)}

    def put(self, saver: BaseCheckpointSaver) -> None:
        ns = NAMESPACES[self.rng.random() < 0.15]
        own = [i for i, (put_ns, _, _) in enumerate(self.puts) if put_ns == ns]
        parent_index = self.latest.get(ns)
        if own and self.rng.random() < 0.08:
            parent_index = self.rng.choice(own)  # a fork
        parent = self.puts[parent_index][2] if parent_index is not None else empty_checkpoint()
        checkpoint = create_checkpoint(parent, None, len(self.puts))
        checkpoint["channel_values"] = self.next_values(parent["channel_values"])
        for channel in checkpoint["channel_values"]:
            current = checkpoint["channel_versions"].get(channel)
            checkpoint["channel_versions"][channel] = saver.get_next_version(current, None)
        base = {"configurable": {"thread_id": THREAD, "checkpoint_ns": ns}}
        if parent_index is not None:
            base = self.puts[parent_index][1]
        config = saver.put(
            base,
            copy.deepcopy(checkpoint),
            {"step": len(self.puts), "run_id": f"run-{len(self.puts) // 12}"},
            dict(checkpoint["channel_versions"]),
        )
        self.puts.append((ns, config, checkpoint))
        self.latest[ns] = len(self.puts) - 1

    def operate(self, saver: BaseCheckpointSaver, other: BaseCheckpointSaver) -> None:
        roll = self.rng.random()
        if roll < 0.70 or not self.puts:
            self.put(other if roll < 0.05 else saver)  # now and then by the second saver
        elif roll < 0.76:
            index = self.rng.randrange(len(self.puts))
            saver.put_writes(self.puts[index][1], [("messages", self.item())], f"t{index}")
        elif roll < 0.80:  # put again: a retry (the latest, or any), or another saver's edit
            index = self.rng.choice([*self.latest.values(), self.rng.randrange(len(self.puts))])
            ns, _, checkpoint = self.puts[index]
            checkpoint = copy.deepcopy(checkpoint)
            by = saver
            if self.rng.random() < 0.3 and isinstance(
                checkpoint["channel_values"]["messages"], list
            ):
                checkpoint["channel_values"]["messages"].append(self.item())
                by = other
            parent = {"configurable": {"thread_id": THREAD, "checkpoint_ns": ns}}
            by.put(parent, checkpoint, {"step": -1}, dict(checkpoint["channel_versions"]))
        elif roll < 0.84:
            saver.delete_for_runs([f"run-{self.rng.randrange(len(self.puts) // 12 + 1)}"])
            self.forget_deleted(saver)
        elif roll < 0.86:
            saver.prune([THREAD], strategy="keep_latest")
            self.forget_deleted(saver)
        elif roll < 0.89:
            self.copies += 1
            saver.copy_thread(THREAD, f"copy-{self.copies}")
        elif roll < 0.92:
            to_compact = self.rng.random() < 0.8  # drawn on both sides: the runs stay alike
            if self.compact and self.world.convert is not None:
                self.world.convert(to_compact)  # compact, or now and then expand

    def forget_deleted(self, saver: BaseCheckpointSaver) -> None:
        """Later puts continue each namespace's latest checkpoint still stored."""
        for ns in NAMESPACES:
            found = saver.get_tuple({"configurable": {"thread_id": THREAD, "checkpoint_ns": ns}})
            if found is None:
                self.latest.pop(ns, None)
                continue
            found_id = found.config["configurable"]["checkpoint_id"]
            self.latest[ns] = next(
                i
                for i, (_, config, _) in enumerate(self.puts)
                if config["configurable"]["checkpoint_id"] == found_id
            )

    def snapshot(self, reader: BaseCheckpointSaver) -> None:
        """Every checkpoint by id, each namespace's latest, and the lists, by put index."""
        index = {c["configurable"]["checkpoint_id"]: i for i, (_, c, _) in enumerate(self.puts)}

        def read(found: Any) -> Any:
            if found is None:
                return None
            checkpoint_id = found.config["configurable"]["checkpoint_id"]
            return (index[checkpoint_id], found.checkpoint["channel_values"], found.pending_writes)

        by_id = [read(reader.get_tuple(config)) for _, config, _ in self.puts]
        threads = [THREAD, *(f"copy-{n}" for n in range(1, self.copies + 1))]
        latest = [
            read(reader.get_tuple({"configurable": {"thread_id": t, "checkpoint_ns": ns}}))
            for t in threads
            for ns in NAMESPACES
        ]
        listed = [
            [read(found) for found in reader.list({"configurable": {"thread_id": t}})]
            for t in threads
        ]
        self.snapshots.append((by_id, latest, listed))

    def run(self) -> list[Any]:
        with self.world.open_saver() as other, ExitStack() as writer:
            saver = writer.enter_context(self.world.open_saver())
            for step in range(OPERATIONS):
                if step % 40 == 39:  # the writer closed and opened again: its cache lost
                    writer.close()
                    saver = writer.enter_context(self.world.open_saver())
                self.operate(saver, other)
                if step % 15 == 14:
                    with self.world.open_saver() as reader:  # reads the database, no cache
                        self.snapshot(reader)
            self.snapshot(saver)
        return self.snapshots


def run_both(seed: int, make_world: Callable[[bool], World]) -> None:
    plain = History(seed, make_world(False), compact=False).run()
    compact = History(seed, make_world(True), compact=True).run()
    assert len(plain) == len(compact)
    for number, (expected, got) in enumerate(zip(plain, compact, strict=True)):
        assert got == expected, f"seed {seed}: snapshot {number} differs"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_memory_histories_read_alike(seed):
    def make_world(compact: bool) -> World:
        shared = InMemorySaver(compact=compact)
        return World(lambda: nullcontext(shared), None)

    run_both(seed, make_world)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sqlite_histories_read_alike(seed, tmp_path):
    def make_world(compact: bool) -> World:
        path = str(tmp_path / f"{compact}.db")

        def convert(to_compact: bool) -> int:
            run = sqlite_convert.compact_database if to_compact else sqlite_convert.expand_database
            with closing(sqlite3.connect(path, check_same_thread=False)) as conn:
                return run(conn)

        return World(lambda: SqliteSaver.from_conn_string(path, compact=compact), convert)

    run_both(seed, make_world)


@pytest.mark.parametrize("seed", [1, 2])
def test_postgres_histories_read_alike(seed, postgres_server):
    def make_world(compact: bool) -> World:
        uri = postgres_server.new_database("history")
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()

        def convert(to_compact: bool) -> int:
            run = (
                postgres_convert.compact_database
                if to_compact
                else postgres_convert.expand_database
            )
            with psycopg.connect(uri, autocommit=True) as conn:
                return run(conn)

        return World(lambda: PostgresSaver.from_conn_string(uri, compact=compact), convert)

    run_both(seed, make_world)
