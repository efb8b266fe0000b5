"""The write commands: `prune`, `sweep`, `compact`, `expand`.

Each changes the database only through its backend: the saver's own `prune`
and `sweep_ttl`, and the backend package's conversion functions. A dry run
makes the very same calls on a backend opened to rehearse (see
`backend.Access`), so what it reports is what a real run would do. The
reports compare each thread's checkpoint count before and after, from the
primary-key index (no blob is read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.cli.backend import CliError, WritableBackend
from langgraph.checkpoint.cli.copying import Progress
from langgraph.checkpoint.cli.render import table

DRY_RUN_NOTE = "dry run: nothing was changed"


def _checkpoint_counts(backend: WritableBackend) -> dict[str, int]:
    return {row.thread_id: row.checkpoints for row in backend.thread_rows()}


def _shrunk(
    before: dict[str, int], after: dict[str, int], thread_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The threads of `thread_ids` that lost checkpoints, with their counts."""
    return [
        {
            "thread_id": thread_id,
            "checkpoints_before": before[thread_id],
            "checkpoints_after": after.get(thread_id, 0),
        }
        for thread_id in thread_ids
        if after.get(thread_id, 0) < before[thread_id]
    ]


def _removal_totals(threads: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "threads_deleted": sum(1 for t in threads if t["checkpoints_after"] == 0),
        "threads_trimmed": sum(1 for t in threads if t["checkpoints_after"] > 0),
        "checkpoints_deleted": sum(
            t["checkpoints_before"] - t["checkpoints_after"] for t in threads
        ),
    }


def prune(
    backend: WritableBackend,
    thread_ids: Sequence[str],
    *,
    strategy: str,
    keep: int | None,
    dry_run: bool,
) -> dict[str, Any]:
    before = _checkpoint_counts(backend)
    if unknown := [thread_id for thread_id in thread_ids if thread_id not in before]:
        raise CliError(f"no thread {unknown[0]!r} in the database (nothing was changed)")
    selected = list(dict.fromkeys(thread_ids))
    backend.prune(selected, strategy, keep)
    threads = _shrunk(before, _checkpoint_counts(backend), selected)
    return {
        "command": "prune",
        "dry_run": dry_run,
        "strategy": strategy,
        "keep": keep,
        **_removal_totals(threads),
        "threads": threads,
    }


def sweep(backend: WritableBackend, *, dry_run: bool) -> dict[str, Any]:
    before = _checkpoint_counts(backend)
    report = backend.sweep()
    threads = _shrunk(before, _checkpoint_counts(backend), sorted(before))
    return {
        "command": "sweep",
        "dry_run": dry_run,
        # The sweep's own counts; `threads` may also show what other writers
        # removed meanwhile (a real run on a database in use).
        "threads_deleted": report.threads_deleted,
        "threads_trimmed": report.threads_trimmed,
        "checkpoints_deleted": report.checkpoints_deleted,
        "batches": report.batches,
        "longest_batch_seconds": round(report.longest_batch_seconds, 3),
        "threads": threads,
    }


class ThreadProgress:
    """A conversion's progress callback: a `Progress` line of threads on stderr."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int, thread_id: str) -> None:
        if self.bar is None:
            self.bar = Progress(total, label=self.label, unit="threads", enabled=self.enabled)
        self.bar.update(done, final=done == total)


def convert(
    backend: WritableBackend, *, compact: bool, dry_run: bool, progress: bool
) -> dict[str, Any]:
    command = "compact" if compact else "expand"
    rewritten = backend.convert(compact=compact, progress=ThreadProgress(command, progress))
    return {"command": command, "dry_run": dry_run, "rows_rewritten": rewritten}


def write_text(data: dict[str, Any]) -> str:
    """The text rendering of any write command's report."""
    dry_run = data["dry_run"]
    if data["command"] in ("compact", "expand"):
        verb = "would be rewritten" if dry_run else "rewritten"
        lines = [f"{data['command']}: {data['rows_rewritten']} rows {verb}"]
    else:
        how = data["strategy"] if data["command"] == "prune" else "sweep"
        if data.get("keep"):
            how += f" {data['keep']}"
        verb = "would be removed" if dry_run else "removed"
        lines = [
            f"{how}: {data['checkpoints_deleted']} checkpoints {verb}; "
            f"{data['threads_deleted']} threads deleted whole, {data['threads_trimmed']} trimmed"
        ]
        if data["threads"]:
            rows = [
                [t["thread_id"], t["checkpoints_before"], t["checkpoints_after"]]
                for t in data["threads"]
            ]
            lines.append(table(["THREAD", "BEFORE", "AFTER"], rows))
    if dry_run:
        lines.append(DRY_RUN_NOTE)
    return "\n".join(lines)
