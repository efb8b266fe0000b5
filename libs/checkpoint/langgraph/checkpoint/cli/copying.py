"""`copy SRC DST`: threads from one backend to another, through the savers' API.

Checkpoints are read with the source saver's `list` and written, oldest
first so that every parent precedes its children, with the destination's
`put` and `put_writes`. A checkpoint the destination already holds, with at
least as many writes, is skipped: re-running copies nothing twice, and a run
that was cut off resumes where it stopped (`put_writes` is an upsert, so
writes of a checkpoint half done are completed, never doubled).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from langgraph.checkpoint.base import CheckpointTuple, RunnableConfig
from langgraph.checkpoint.cli.backend import Backend, CliError
from langgraph.checkpoint.cli.render import to_plain

VERIFY_SAMPLE = 20


@dataclass
class CopyReport:
    threads: int = 0
    copied: int = 0
    skipped: int = 0
    writes: int = 0
    seconds: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    verified_threads: int = 0

    def as_dict(self) -> dict[str, Any]:
        rate = self.copied / self.seconds if self.seconds else None
        return {
            "threads": self.threads,
            "copied_checkpoints": self.copied,
            "skipped_checkpoints": self.skipped,
            "copied_writes": self.writes,
            "seconds": round(self.seconds, 3),
            "checkpoints_per_second": round(rate, 1) if rate else None,
            "verified_threads": self.verified_threads,
            "mismatches": self.mismatches,
            "ok": not self.mismatches,
        }


class Progress:
    """One status line on stderr: rewritten in place on a terminal, else a line every second."""

    def __init__(
        self,
        total: int,
        *,
        label: str,
        unit: str,
        stream: TextIO = sys.stderr,
        enabled: bool = True,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.last_shown = 0.0
        self.tty = stream.isatty()

    def update(self, done: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last_shown < (0.1 if self.tty else 1.0)):
            return
        self.last_shown = now
        rate = done / (now - self.started) if now > self.started else 0.0
        width = 30
        filled = width * done // self.total if self.total else width
        bar = "#" * filled + "." * (width - filled)
        line = f"{self.label} [{bar}] {done}/{self.total} {self.unit}, {rate:.0f}/s"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _location(item: CheckpointTuple) -> tuple[str, str]:
    configurable = item.config["configurable"]
    return configurable.get("checkpoint_ns", ""), configurable["checkpoint_id"]


def _thread_items(backend: Backend, thread_id: str) -> list[CheckpointTuple]:
    """Every checkpoint of the thread, all namespaces, oldest first."""
    items = list(backend.saver.list({"configurable": {"thread_id": thread_id}}))
    items.sort(key=lambda item: _location(item)[1])
    return items


def copy_threads(
    source: Backend,
    destination: Backend,
    thread_ids: Sequence[str] | None,
    *,
    progress: bool = True,
) -> CopyReport:
    rows = {row.thread_id: row for row in source.thread_rows()}
    if thread_ids:
        if unknown := [t for t in thread_ids if t not in rows]:
            raise CliError(f"no thread {unknown[0]!r} in the source database")
        selected = list(dict.fromkeys(thread_ids))
    else:
        selected = sorted(rows)
    report = CopyReport(threads=len(selected))
    bar = Progress(
        sum(rows[t].checkpoints for t in selected),
        label="copy",
        unit="checkpoints",
        enabled=progress,
    )
    started = time.monotonic()
    for thread_id in selected:
        done = {
            _location(item): len(item.pending_writes or ())
            for item in destination.saver.list({"configurable": {"thread_id": thread_id}})
        }
        for item in _thread_items(source, thread_id):
            writes = item.pending_writes or []
            have = done.get(_location(item))
            if have is None:
                _put_checkpoint(destination, item)
            if have is None or have < len(writes):
                report.writes += _put_writes(source, destination, item)
                report.copied += 1
            else:
                report.skipped += 1
            bar.update(report.copied + report.skipped)
    report.seconds = time.monotonic() - started
    bar.update(report.copied + report.skipped, final=True)
    verify(source, destination, selected, report)
    return report


def _put_checkpoint(destination: Backend, item: CheckpointTuple) -> None:
    ns, _ = _location(item)
    configurable: dict[str, Any] = {
        "thread_id": item.config["configurable"]["thread_id"],
        "checkpoint_ns": ns,
    }
    parent_id = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    if parent_id:
        configurable["checkpoint_id"] = parent_id
    config: RunnableConfig = {"configurable": configurable}
    # Every channel's version as "new": a saver that stores channel values apart
    # (Postgres) then has each value at hand, and upserts what it already holds.
    versions = dict(item.checkpoint.get("channel_versions") or {})
    destination.saver.put(config, item.checkpoint, item.metadata, versions)


def _put_writes(source: Backend, destination: Backend, item: CheckpointTuple) -> int:
    """The checkpoint's pending writes, one `put_writes` per task in their
    stored order, each with its task path (which orders writes on reading)."""
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in item.pending_writes or ():
        by_task.setdefault(task_id, []).append((channel, value))
    if not by_task:
        return 0
    ns, checkpoint_id = _location(item)
    paths = source.task_paths(item.config["configurable"]["thread_id"], ns, checkpoint_id)
    for task_id, writes in by_task.items():
        destination.saver.put_writes(item.config, writes, task_id, paths.get(task_id, ""))
    return sum(map(len, by_task.values()))


def comparable(item: CheckpointTuple) -> dict[str, Any]:
    """What must read back identically through both savers."""
    checkpoint = item.checkpoint
    parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    writes = [to_plain(write) for write in item.pending_writes or ()]
    return {
        "location": _location(item),
        "parent": parent,
        "ts": checkpoint.get("ts"),
        "channel_values": to_plain(checkpoint["channel_values"]),
        "channel_versions": to_plain(checkpoint.get("channel_versions")),
        "versions_seen": to_plain(checkpoint.get("versions_seen")),
        "metadata": to_plain(item.metadata),
        "writes": sorted(writes, key=lambda w: json.dumps(w, sort_keys=True, default=str)),
    }


def verify(
    source: Backend, destination: Backend, thread_ids: Sequence[str], report: CopyReport
) -> None:
    """Counts of every thread, and a sample of threads read back in full."""
    source_rows = {row.thread_id: row.checkpoints for row in source.thread_rows()}
    destination_rows = {row.thread_id: row.checkpoints for row in destination.thread_rows()}
    for thread_id in thread_ids:
        if source_rows.get(thread_id) != destination_rows.get(thread_id):
            report.mismatches.append(
                f"{thread_id}: {source_rows.get(thread_id)} checkpoints in the source, "
                f"{destination_rows.get(thread_id, 0)} in the destination"
            )
    step = max(1, len(thread_ids) // VERIFY_SAMPLE)
    for thread_id in list(thread_ids)[::step][:VERIFY_SAMPLE]:
        report.verified_threads += 1
        expected = [comparable(item) for item in _thread_items(source, thread_id)]
        actual = [comparable(item) for item in _thread_items(destination, thread_id)]
        if expected != actual:
            report.mismatches.append(f"{thread_id}: reads back differently from the destination")


def copy_text(data: dict[str, Any]) -> str:
    rate = data["checkpoints_per_second"]
    lines = [
        f"copied {data['copied_checkpoints']} checkpoints and {data['copied_writes']} writes "
        f"of {data['threads']} threads in {data['seconds']:.2f}s"
        + (f" ({rate:.0f} checkpoints/s)" if rate else ""),
        f"skipped {data['skipped_checkpoints']} checkpoints already in the destination",
    ]
    if data["ok"]:
        lines.append(f"verified: counts of every thread, {data['verified_threads']} read back")
    else:
        lines += ["VERIFICATION FAILED:", *(f"  {m}" for m in data["mismatches"])]
    return "\n".join(lines)
