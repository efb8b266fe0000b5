"""Helpers for the compact-storage tests: checkpoints put directly, with the
values each one must read back as (copied when it was put)."""

from __future__ import annotations

import copy
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, create_checkpoint, empty_checkpoint
from langgraph.checkpoint.base.plan import drive


class Thread:
    """A thread written one checkpoint at a time through `saver`, remembering
    what each checkpoint held when it was put."""

    def __init__(self, thread_id: str, ns: str = "") -> None:
        self.thread_id = thread_id
        self.ns = ns
        self.expected: dict[str, dict[str, Any]] = {}  # checkpoint id -> channel values
        self.last: dict[str, Any] | None = None  # config of the latest put
        self.checkpoint = empty_checkpoint()
        self.step = 0

    def config(self, checkpoint_id: str | None = None) -> dict[str, Any]:
        configurable = {"thread_id": self.thread_id, "checkpoint_ns": self.ns}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    def put(
        self,
        saver: BaseCheckpointSaver,
        values: dict[str, Any],
        *,
        parent: str | None = None,
        run_id: str = "run",
    ) -> str:
        """Store a checkpoint holding `values` (after the latest, or after `parent`)."""
        self.step += 1
        checkpoint = create_checkpoint(self.checkpoint, None, self.step)
        checkpoint["channel_values"] = values
        for channel in values:
            checkpoint["channel_versions"][channel] = saver.get_next_version(
                checkpoint["channel_versions"].get(channel), None
            )
        parent_config = self.config(parent) if parent else self.last or self.config()
        returned = saver.put(
            parent_config,
            checkpoint,
            {"source": "loop", "step": self.step, "run_id": run_id},
            checkpoint["channel_versions"],
        )
        self.checkpoint = checkpoint
        self.last = returned
        self.expected[checkpoint["id"]] = copy.deepcopy(values)
        return checkpoint["id"]

    def check(self, saver: BaseCheckpointSaver, ids: Sequence[str] | None = None) -> None:
        """Every checkpoint (or those `ids`) reads back as it was put, by
        get_tuple (the latest also without its id) and by list."""
        wanted = list(self.expected) if ids is None else list(ids)
        if ids is None and self.expected:  # and the latest, as get_state reads it
            latest = saver.get_tuple(self.config())
            assert latest is not None
            assert latest.checkpoint["channel_values"] == self.expected[max(self.expected)]
        for checkpoint_id in wanted:
            found = saver.get_tuple(self.config(checkpoint_id))
            assert found is not None, checkpoint_id
            assert found.checkpoint["channel_values"] == self.expected[checkpoint_id]
        listed = {
            t.config["configurable"]["checkpoint_id"]: t.checkpoint["channel_values"]
            for t in saver.list(self.config())
        }
        for checkpoint_id in wanted:
            assert listed[checkpoint_id] == self.expected[checkpoint_id]


@pytest.fixture
def new_thread() -> Callable[..., Thread]:
    """Threads with ids unique to the test (savers may share a database)."""
    return lambda ns="": Thread(f"t-{uuid.uuid4()}", ns)


def _message(i: int) -> dict[str, Any]:
    """A message-like item of 100-400 characters."""
    return {"role": "user" if i % 2 else "ai", "id": f"m{i}", "content": f"{i} " * (50 + i % 100)}


@pytest.fixture
def messages() -> Callable[[int], list[dict[str, Any]]]:
    """`messages(n)`: the first n messages of one conversation (new objects each call)."""
    return lambda n: [_message(i) for i in range(n)]


@pytest.fixture
def runs_deleted_one_by_one(new_thread, messages) -> Callable[[BaseCheckpointSaver], None]:
    """A scenario: three runs on one thread, the first deleted (later
    checkpoints extended it), then the last (it extended the middle one); what
    is left reads back exactly each time."""

    def scenario(saver: BaseCheckpointSaver) -> None:
        thread = new_thread()
        first = [thread.put(saver, {"messages": messages(n)}, run_id="a") for n in range(1, 4)]
        middle = [thread.put(saver, {"messages": messages(n)}, run_id="b") for n in range(4, 7)]
        last = [thread.put(saver, {"messages": messages(n)}, run_id="c") for n in range(7, 10)]
        saver.delete_for_runs(["a"])
        thread.check(saver, middle + last)
        assert all(saver.get_tuple(thread.config(i)) is None for i in first)
        saver.delete_for_runs(["c"])
        thread.check(saver, middle)

    return scenario


@pytest.fixture
def across_a_conversion(new_thread, messages) -> Callable[..., None]:
    """A scenario: a saver whose cache predates a conversion (its chains laid
    out from a value it stored whole, which the conversion made a delta deep
    in its own layout) writes on, its records listing links whose rows now
    extend other values, its walks longer than any one layout's. Runs "a" (by
    an earlier saver), "b" (then `convert()`), "c"; then `remove` ("prune":
    keep the latest; "copy": copy the thread; a run id: delete that run; "":
    nothing); what is left (and the copy) reads back exactly, by that saver
    and by a new one (`open_saver()`)."""

    def scenario(
        open_saver: Callable[[], AbstractContextManager[BaseCheckpointSaver]],
        convert: Callable[[], int],
        remove: str = "",
    ) -> None:
        thread = new_thread()
        copy = new_thread()
        runs: dict[str, list[str]] = {}

        def run(saver: BaseCheckpointSaver, run_id: str, turns: range) -> None:
            runs[run_id] = [
                thread.put(saver, {"messages": messages(n)}, run_id=run_id) for n in turns
            ]

        with open_saver() as first:
            run(first, "a", range(1, 11))
        with open_saver() as writer:  # stores 11 whole
            run(writer, "b", range(11, 147))
            assert convert() > 0
            run(writer, "c", range(147, 167))
            everything = [*runs["a"], *runs["b"], *runs["c"]]
            kept = everything
            if remove == "prune":
                writer.prune([thread.thread_id], strategy="keep_latest")
                kept = everything[-1:]
            elif remove == "copy":
                writer.copy_thread(thread.thread_id, copy.thread_id)
                copy.expected = thread.expected
            elif remove:
                writer.delete_for_runs([remove])
                kept = [i for i in everything if i not in runs[remove]]
            thread.check(writer, kept)
        with open_saver() as reader:
            thread.check(reader, kept)
            gone = [i for i in everything if i not in kept]
            assert all(reader.get_tuple(thread.config(i)) is None for i in gone)
            if remove == "copy":
                copy.check(reader)

    return scenario


@pytest.fixture
def converted_after_a_restart(new_thread, messages) -> Callable[..., None]:
    """A scenario: two compact savers in turn (a restart: the second starts
    with an empty cache) write one thread, then `convert()` re-lays it, oldest
    first, reading rows of the old layout whose walks run into rows it has
    already rewritten; every checkpoint reads back exactly, and a second
    conversion changes nothing."""

    def scenario(
        open_saver: Callable[[], AbstractContextManager[BaseCheckpointSaver]],
        convert: Callable[[], int],
    ) -> None:
        thread = new_thread()
        with open_saver() as first:
            for n in range(1, 14):
                thread.put(first, {"messages": messages(n)})
        with open_saver() as second:
            for n in range(14, 118):
                thread.put(second, {"messages": messages(n)})
        assert convert() > 0
        assert convert() == 0
        with open_saver() as reader:
            thread.check(reader)

    return scenario


@pytest.fixture
def put_again(messages) -> Callable[..., dict[str, Any]]:
    """A scenario: checkpoints put again, as a retried put whose first run
    committed does (the same checkpoint, same values), and by another saver
    with other values; then more puts on top. Returns each checkpoint's
    values as a new saver reads them, in put order, to compare with plain mode's reading
    of the same calls (`open_saver(compact)` opens a saver on one database,
    or, where there is none, returns the same one)."""

    def scenario(
        open_saver: Callable[[bool], AbstractContextManager[BaseCheckpointSaver]],
        compact: bool,
    ) -> dict[str, Any]:
        thread = Thread(f"again-{compact}")
        puts: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (parent config, checkpoint)

        def put(saver: BaseCheckpointSaver, parent: dict[str, Any], checkpoint: Any) -> Any:
            versions = dict(checkpoint["channel_versions"])
            return saver.put(parent, copy.deepcopy(checkpoint), {"step": len(puts)}, versions)

        with open_saver(compact) as writer:
            for n in range(1, 8):
                parent = thread.last or thread.config()
                thread.put(writer, {"messages": messages(n)})
                puts.append((parent, copy.deepcopy(thread.checkpoint)))
            put(writer, *puts[6])  # the latest again
            thread.put(writer, {"messages": messages(8)})
            with open_saver(compact) as other:  # another process: one in the middle, changed
                parent, changed = copy.deepcopy(puts[3])
                changed["channel_values"]["messages"][0]["content"] = "changed"
                put(other, parent, changed)
            thread.put(writer, {"messages": messages(9)})
        with open_saver(compact) as reader:
            read = [
                reader.get_tuple(thread.config(checkpoint_id)).checkpoint["channel_values"]
                for checkpoint_id in thread.expected
            ]
        # What no put again touched reads as put, in either mode.
        assert [v for i, v in enumerate(read) if i != 3] == [
            v for i, v in enumerate(thread.expected.values()) if i != 3
        ]
        return read

    return scenario


@pytest.fixture
def copied_over(messages) -> Callable[..., list[dict[str, Any]]]:
    """A scenario: a thread copied onto one that already holds checkpoints of
    the same ids and channel versions with other values, and later
    checkpoints stored as deltas on them. Returns what each of the target's
    checkpoints reads as afterwards, to compare with plain mode's reading of
    the same calls (`open_saver` as in `put_again`)."""

    def scenario(
        open_saver: Callable[[bool], AbstractContextManager[BaseCheckpointSaver]],
        compact: bool,
    ) -> list[dict[str, Any]]:
        target, source = Thread(f"target-{compact}"), f"source-{compact}"
        with open_saver(compact) as writer:
            shared = []  # the target's first checkpoints, changed, put into the source
            for n in range(1, 7):
                target.put(writer, {"messages": messages(n)})
                if n <= 3:
                    changed = copy.deepcopy(target.checkpoint)
                    changed["channel_values"]["messages"][-1]["content"] = f"source {n}"
                    shared.append(changed)
            parent = {"configurable": {"thread_id": source, "checkpoint_ns": ""}}
            for step, checkpoint in enumerate(shared):
                versions = dict(checkpoint["channel_versions"])
                parent = writer.put(parent, checkpoint, {"step": step}, versions)
            writer.copy_thread(source, target.thread_id)
        with open_saver(compact) as reader:
            read = [
                reader.get_tuple(target.config(checkpoint_id)).checkpoint["channel_values"]
                for checkpoint_id in target.expected
            ]
        # The target's own later checkpoints read as put, in either mode.
        assert read[3:] == list(target.expected.values())[3:]
        return read

    return scenario


@pytest.fixture
def reads_racing_deletions(new_thread, messages, monkeypatch) -> Callable[..., None]:
    """A scenario: a reader's get_tuple and list, each with another saver's
    prune or deletion run between the reader's first and next statements,
    which rewrites the rows the reader just read whole and deletes what they
    were built on. The reader reads again, and gets what is left, exactly."""

    @contextmanager
    def after_first_statement(reader: Any, action: Callable[[], None]) -> Iterator[None]:
        """`action` right after the first statement the reader's runner runs."""
        if getattr(reader, "runner", None) is not None:  # SQLite's plans run through execute_step
            target, name = sys.modules["langgraph.checkpoint.sqlite._connection"], "execute_step"
        else:
            target, name = reader._runner, "_execute"
        execute, pending = getattr(target, name), [action]

        def first_then_action(*args: Any) -> Any:
            result = execute(*args)
            if pending:
                pending.pop()()  # on another connection, which commits
            return result

        with monkeypatch.context() as patch:
            patch.setattr(target, name, first_then_action)
            yield
        assert not pending, "the action never ran"

    def scenario(
        writer: BaseCheckpointSaver, reader: BaseCheckpointSaver, other: BaseCheckpointSaver
    ) -> None:
        thread = new_thread()
        for n in range(1, 30):
            thread.put(writer, {"messages": messages(n)}, run_id="a")
        latest = list(thread.expected)[-1]
        prune = lambda: other.prune([thread.thread_id], strategy="keep_latest")  # noqa: E731
        with after_first_statement(reader, prune):
            found = reader.get_tuple(thread.config())
        assert found.checkpoint["channel_values"] == thread.expected[latest]
        later = [thread.put(writer, {"messages": messages(n)}, run_id="b") for n in range(30, 40)]
        delete = lambda: other.delete_for_runs(["b"])  # noqa: E731
        with after_first_statement(reader, delete):
            listed = list(reader.list(thread.config()))
        assert [t.config["configurable"]["checkpoint_id"] for t in listed] == [latest]
        assert listed[0].checkpoint["channel_values"] == thread.expected[latest]
        assert all(reader.get_tuple(thread.config(i)) is None for i in later)

    return scenario


@pytest.fixture
def latest_read() -> Callable[..., tuple[list[str], dict[str, Any]]]:
    return read_latest


def read_latest(
    get_tuple_plan: Callable[..., Any],
    saver: BaseCheckpointSaver,
    thread: Thread,
    run: Callable[[str, Any], list[Any]],
) -> tuple[list[str], dict[str, Any]]:
    """The statements `get_tuple_plan` (a backend's) runs through `run(sql,
    params)` to read the thread's latest checkpoint with `saver`'s cache, and
    the values it read."""
    statements: list[str] = []

    def execute(step: Any) -> list[Any]:
        statements.append(step.sql)
        return run(step.sql, step.params)

    plan = get_tuple_plan(saver.serde, thread.config(), getattr(saver, "delta_cache", None))
    found = drive(plan, execute)
    return statements, found.checkpoint["channel_values"]
