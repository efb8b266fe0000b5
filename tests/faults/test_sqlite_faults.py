"""SQLite savers under real faults: writer processes killed with SIGKILL mid-loop
(plain and compact), and several processes creating and writing one fresh
file at the same moment.

Every writer prints each checkpoint (and write) only after the saver's call
returned; whatever was printed must then be readable, exactly. Both savers
run in the writers (`sync`: SqliteSaver, `async`: AsyncSqliteSaver).
"""

from __future__ import annotations

import inspect
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from pathlib import Path

from langgraph.checkpoint.base.compact import COMPACT_ROW_TYPE
from langgraph.checkpoint.sqlite import SqliteSaver

DEADLINE_S = 60  # only reached if something hangs; the tests take seconds


def log_of(name, step):
    """A checkpoint's "log" channel: it extends the one of the step before, so
    a compact saver stores it as a delta. (Its source runs in the children.)"""
    return [f"{name} {i}: " + "entry " * 30 for i in range(step + 1)]


# One checkpoint and one write per step, on thread `name`, acknowledged on
# stdout as JSON after the call returned.
CHILD_COMMON = inspect.getsource(log_of) + textwrap.dedent(
    """
    import asyncio, json, os, sys
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    def ack(**record):
        print(json.dumps(record), flush=True)

    def step_args(saver, name, step, version):
        version = saver.get_next_version(version, None)
        value = f"{name}:{step}:{os.urandom(4).hex()}:" + "x" * (500 + 97 * step % 2500)
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"v": value, "log": log_of(name, step)}
        checkpoint["channel_versions"] = {"v": version, "log": version}
        return version, value, checkpoint, {"step": step, "writer": name}

    async def run_async(path, body, compact=False):
        async with AsyncSqliteSaver.from_conn_string(path, compact=compact) as saver:
            await body(saver)
    """
)

# argv: path name mode [compact]. Writes until killed, continuing its thread's
# latest checkpoint.
WRITER = CHILD_COMMON + textwrap.dedent(
    """
    path, name, mode = sys.argv[1:4]
    compact = sys.argv[4:] == ["compact"]

    def sync_loop():
        with SqliteSaver.from_conn_string(path, compact=compact) as saver:
            latest = saver.get_tuple({"configurable": {"thread_id": name, "checkpoint_ns": ""}})
            config = latest.config if latest else {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
            step = latest.metadata["step"] + 1 if latest else 0
            version = latest.checkpoint["channel_versions"]["v"] if latest else None
            while True:
                version, value, checkpoint, metadata = step_args(saver, name, step, version)
                parent = config["configurable"].get("checkpoint_id")
                config = saver.put(config, checkpoint, metadata, {"v": version, "log": version})
                ack(kind="checkpoint", id=config["configurable"]["checkpoint_id"], parent=parent, value=value, step=step)
                saver.put_writes(config, [("v", f"write-{value}")], f"task-{step}")
                ack(kind="write", id=config["configurable"]["checkpoint_id"], task=f"task-{step}")
                step += 1

    async def async_loop(saver):
        latest = await saver.aget_tuple({"configurable": {"thread_id": name, "checkpoint_ns": ""}})
        config = latest.config if latest else {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
        step = latest.metadata["step"] + 1 if latest else 0
        version = latest.checkpoint["channel_versions"]["v"] if latest else None
        while True:
            version, value, checkpoint, metadata = step_args(saver, name, step, version)
            parent = config["configurable"].get("checkpoint_id")
            config = await saver.aput(config, checkpoint, metadata, {"v": version, "log": version})
            ack(kind="checkpoint", id=config["configurable"]["checkpoint_id"], parent=parent, value=value, step=step)
            await saver.aput_writes(config, [("v", f"write-{value}")], f"task-{step}")
            ack(kind="write", id=config["configurable"]["checkpoint_id"], task=f"task-{step}")
            step += 1

    if mode == "sync":
        sync_loop()
    else:
        asyncio.run(run_async(path, async_loop, compact))
    """
)

# argv: directory name mode rounds steps. In round r, once the parent says go (a
# line on stdin, sent to every racer at once), runs setup() on the fresh file
# <directory>/<r>.db and writes `steps` checkpoints to its thread.
RACER = CHILD_COMMON + textwrap.dedent(
    """
    directory, name, mode, rounds, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

    def write(saver, path):
        config = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
        version = None
        for step in range(steps):
            version, value, checkpoint, metadata = step_args(saver, name, step, version)
            parent = config["configurable"].get("checkpoint_id")
            config = saver.put(config, checkpoint, metadata, {"v": version, "log": version})
            ack(kind="checkpoint", path=path, id=config["configurable"]["checkpoint_id"], parent=parent, value=value, step=step)

    async def awrite(saver, path):
        config = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
        version = None
        for step in range(steps):
            version, value, checkpoint, metadata = step_args(saver, name, step, version)
            parent = config["configurable"].get("checkpoint_id")
            config = await saver.aput(config, checkpoint, metadata, {"v": version, "log": version})
            ack(kind="checkpoint", path=path, id=config["configurable"]["checkpoint_id"], parent=parent, value=value, step=step)

    for r in range(rounds):
        ack(kind="ready", round=r)
        sys.stdin.readline()
        path = os.path.join(directory, f"{r}.db")
        if mode == "sync":
            with SqliteSaver.from_conn_string(path) as saver:
                saver.setup()
                write(saver, path)
        else:
            async def body(saver):
                await saver.setup()
                await awrite(saver, path)
            asyncio.run(run_async(path, body))
    ack(kind="finished")
    """
)


class Child:
    """A child Python process whose JSON stdout lines are collected as they come."""

    def __init__(self, script: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.records: list[dict] = []
        self.lines: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                break  # cut off by SIGKILL: not an acknowledgement
            record = json.loads(line)
            self.records.append(record)
            self.lines.put(record)
        self.lines.put(None)  # end of output

    def wait_for(self, kind: str, deadline: float) -> dict:
        while True:
            record = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if record is None:
                raise AssertionError(f"child exited early: {self.finish()}")
            if record["kind"] == kind:
                return record

    def count(self, kind: str) -> int:
        return sum(1 for r in self.records if r["kind"] == kind)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)

    def finish(self) -> str:
        """Wait for the exit; stderr."""
        _, err = self.proc.communicate(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)
        return err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def assert_acknowledged_are_stored(path: str, records: list[dict]) -> None:
    """Every acknowledged checkpoint reads back with exactly what was written, and
    every acknowledged write is among its checkpoint's pending writes."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    checkpoints = [r for r in records if r["kind"] == "checkpoint"]
    values = {r["id"]: r["value"] for r in checkpoints}
    with SqliteSaver.from_conn_string(path) as saver:
        for record in checkpoints:
            thread = record["value"].split(":")[0]
            config = {
                "configurable": {
                    "thread_id": thread,
                    "checkpoint_ns": "",
                    "checkpoint_id": record["id"],
                }
            }
            stored = saver.get_tuple(config)
            assert stored is not None, f"acknowledged checkpoint {record['id']} is missing"
            assert stored.checkpoint["channel_values"] == {
                "v": record["value"],
                "log": log_of(thread, record["step"]),
            }
            assert stored.metadata["step"] == record["step"]
            assert stored.metadata["writer"] == thread
            parent = stored.parent_config
            assert (parent["configurable"]["checkpoint_id"] if parent else None) == record["parent"]
        for record in records:
            if record["kind"] == "write":
                thread = values[record["id"]].split(":")[0]
                config = {
                    "configurable": {
                        "thread_id": thread,
                        "checkpoint_ns": "",
                        "checkpoint_id": record["id"],
                    }
                }
                assert saver.get_tuple(config).pending_writes == [
                    (record["task"], "v", f"write-{values[record['id']]}")
                ]


def test_writers_killed_mid_loop_lose_nothing_acknowledged(tmp_path: Path):
    path = str(tmp_path / "killed.db")
    # the compact writers store each "log" as a delta on the one they wrote before
    modes = {"w0": "sync", "w1": "async", "w2": "sync compact", "w3": "async compact"}
    records: list[dict] = []
    for _ in range(2):  # the second round continues the same threads after the kill
        writers = [Child(WRITER, path, name, *mode.split()) for name, mode in modes.items()]
        try:
            deadline = time.monotonic() + DEADLINE_S
            for writer in writers:
                while writer.count("write") < 10:
                    writer.wait_for("write", deadline)
            for writer in writers:  # mid-loop: each is still writing
                assert writer.proc.poll() is None, writer.finish()
                writer.kill()
                assert writer.proc.returncode == -signal.SIGKILL
        finally:
            for writer in writers:
                writer.stop()
        records += [r for writer in writers for r in writer.records]
    assert_acknowledged_are_stored(path, records)
    with SqliteSaver.from_conn_string(path) as saver:
        for name in modes:
            # one unbroken chain per thread across both kills, acknowledged or not
            history = list(saver.list({"configurable": {"thread_id": name, "checkpoint_ns": ""}}))
            steps = [item.metadata["step"] for item in history]
            assert steps == list(range(len(steps) - 1, -1, -1))
            acknowledged = {
                r["id"]
                for r in records
                if r["kind"] == "checkpoint" and r["value"].startswith(f"{name}:")
            }
            assert acknowledged <= {
                item.config["configurable"]["checkpoint_id"] for item in history
            }
            assert len(history) - len(acknowledged) <= 2  # at most one unacknowledged per kill
    with closing(sqlite3.connect(path)) as conn:
        for name, mode in modes.items():
            (compact_rows,) = conn.execute(
                "SELECT count(*) FROM checkpoints WHERE thread_id = ? AND type = ?",
                (name, COMPACT_ROW_TYPE),
            ).fetchone()
            assert (compact_rows > 0) == mode.endswith("compact"), (name, compact_rows)


def test_processes_set_up_and_write_one_fresh_file_at_once(tmp_path: Path):
    """8 processes, released together, each run setup() on a fresh file and write to it;
    6 fresh files in a row. None may fail (e.g. "database is locked")."""
    count, rounds, steps = 8, 6, 2
    racers = [
        Child(RACER, str(tmp_path), f"r{n}", "sync" if n % 2 else "async", str(rounds), str(steps))
        for n in range(count)
    ]
    try:
        deadline = time.monotonic() + DEADLINE_S
        for r in range(rounds):
            for racer in racers:
                assert racer.wait_for("ready", deadline)["round"] == r
            for racer in racers:  # all at once, all already started and imported
                racer.proc.stdin.write("go\n")
                racer.proc.stdin.flush()
        for racer in racers:
            racer.wait_for("finished", deadline)
            err = racer.finish()
            assert racer.proc.returncode == 0, err
    finally:
        for racer in racers:
            racer.stop()
    records = [r for racer in racers for r in racer.records]
    assert sum(1 for r in records if r["kind"] == "checkpoint") == count * rounds * steps
    for r in range(rounds):
        path = str(tmp_path / f"{r}.db")
        assert_acknowledged_are_stored(path, [x for x in records if x.get("path") == path])
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            conn.close()
