"""The read commands: `threads`, `history`, `show`, `diff`, `stats`.

Each returns plain data (what `--json` prints) and has a text renderer.
Checkpoints are read through the saver's `get_tuple`/`list`; thread
summaries come from the backend's SQL.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.base import INTERRUPT, CheckpointTuple, RunnableConfig
from langgraph.checkpoint.cli.backend import Backend, CliError, ThreadRow, checkpoint_time
from langgraph.checkpoint.cli.render import (
    human_bytes,
    is_conversation,
    is_message,
    message_line,
    short_text,
    table,
    to_plain,
    value_lines,
)

SORT_KEYS = ("activity", "checkpoints", "bytes", "thread")

# -- threads ---------------------------------------------------------------------


def parse_filter(pairs: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that reads as JSON (`3`, `true`) is taken as such."""
    wanted: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--filter takes key=value, got {pair!r}")
        try:
            wanted[key] = json.loads(text)
        except json.JSONDecodeError:
            wanted[key] = text
    return wanted


def threads(
    backend: Backend, *, sort: str, limit: int | None, metadata_filter: Mapping[str, Any]
) -> list[dict[str, Any]]:
    rows = backend.thread_rows()
    if metadata_filter:
        # The saver's own filter, so matching is exactly what `list(filter=...)` does.
        matching = {
            item.config["configurable"]["thread_id"]
            for item in backend.saver.list(None, filter=dict(metadata_filter))
        }
        rows = [row for row in rows if row.thread_id in matching]
    if sort == "bytes":  # needs every thread's size: reads blob lengths of the whole database
        _fill_bytes(backend, rows, None)
    rows.sort(key=_sort_key(sort), reverse=sort != "thread")
    shown = rows if limit is None else rows[:limit]
    if sort != "bytes":
        _fill_bytes(backend, shown, [row.thread_id for row in shown])
    waiting = backend.interrupted([row.thread_id for row in shown]) if shown else set()
    for row in shown:
        row.interrupted = row.thread_id in waiting
    return [_thread_data(row) for row in shown]


def _fill_bytes(backend: Backend, rows: list[ThreadRow], ids: Sequence[str] | None) -> None:
    if ids == []:
        return
    sizes = backend.thread_bytes(ids)
    for row in rows:
        row.bytes = sizes.get(row.thread_id, 0)


def _sort_key(sort: str) -> Any:
    if sort == "activity":  # UUIDv6 ids sort by creation time, as text
        return lambda row: row.last_checkpoint_id
    if sort == "checkpoints":
        return lambda row: row.checkpoints
    if sort == "bytes":
        return lambda row: row.bytes or 0
    return lambda row: row.thread_id


def _thread_data(row: ThreadRow) -> dict[str, Any]:
    last = row.last_activity
    return {
        "thread_id": row.thread_id,
        "checkpoints": row.checkpoints,
        "namespaces": row.namespaces,
        "last_checkpoint_id": row.last_checkpoint_id,
        "last_activity": last.isoformat() if last else None,
        "bytes": row.bytes,
        "interrupted": row.interrupted,
    }


def threads_text(data: list[dict[str, Any]]) -> str:
    if not data:
        return "no threads"
    headers = ["THREAD", "CHECKPOINTS", "NAMESPACES", "LAST ACTIVITY", "SIZE", "WAITING"]
    rows = [
        [
            item["thread_id"],
            item["checkpoints"],
            item["namespaces"],
            (item["last_activity"] or "-")[:19].replace("T", " "),
            human_bytes(item["bytes"]),
            "interrupt" if item["interrupted"] else "",
        ]
        for item in data
    ]
    return table(headers, rows)


# -- one checkpoint -----------------------------------------------------------------


def thread_config(thread_id: str, ns: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def find_checkpoint(
    backend: Backend, thread_id: str, ns: str, checkpoint_id: str | None
) -> CheckpointTuple:
    """The checkpoint by id, or by a unique prefix of its id; the latest for None."""
    found = backend.saver.get_tuple(thread_config(thread_id, ns, checkpoint_id))
    if found is not None:
        return found
    if checkpoint_id:
        candidates = [
            item
            for item in backend.saver.list(thread_config(thread_id, ns))
            if item.config["configurable"]["checkpoint_id"].startswith(checkpoint_id)
        ]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise CliError(f"checkpoint id prefix {checkpoint_id!r} is ambiguous in {thread_id!r}")
        raise CliError(f"no checkpoint {checkpoint_id!r} in thread {thread_id!r} (ns {ns!r})")
    raise CliError(f"no thread {thread_id!r} (ns {ns!r}) in this database")


def next_nodes(item: CheckpointTuple) -> list[str]:
    """Nodes this checkpoint would run next, without the graph: those whose
    trigger channel (`branch:to:NODE`, LangGraph's edge channels, or the input's
    `__start__`) holds a value the node has not seen."""
    checkpoint = item.checkpoint
    versions = checkpoint.get("channel_versions") or {}
    seen = checkpoint.get("versions_seen") or {}
    pending = []
    for channel in checkpoint["channel_values"]:
        node = "__start__" if channel == "__start__" else channel.removeprefix("branch:to:")
        if node == channel and channel != "__start__":
            continue
        last_seen = (seen.get(node) or {}).get(channel)
        if last_seen is None or _newer(versions.get(channel), last_seen):
            pending.append(node)
    return sorted(pending)


def _newer(version: Any, seen: Any) -> bool:
    try:
        return bool(version > seen)
    except TypeError:
        return str(version) > str(seen)


def checkpoint_summary(item: CheckpointTuple) -> dict[str, Any]:
    configurable = item.config["configurable"]
    metadata = item.metadata or {}
    created = checkpoint_time(configurable["checkpoint_id"])
    parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    writes = item.pending_writes or []
    return {
        "checkpoint_id": configurable["checkpoint_id"],
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "parent_checkpoint_id": parent,
        "step": metadata.get("step"),
        "source": metadata.get("source"),
        "created": created.isoformat() if created else item.checkpoint.get("ts"),
        "next": next_nodes(item),
        "pending_writes": len(writes),
        "interrupted": any(channel == INTERRUPT for _, channel, _ in writes),
    }


def show(item: CheckpointTuple) -> dict[str, Any]:
    data = checkpoint_summary(item)
    data["metadata"] = to_plain(item.metadata)
    data["channels"] = {
        name: to_plain(value) for name, value in item.checkpoint["channel_values"].items()
    }
    data["channel_versions"] = to_plain(item.checkpoint.get("channel_versions"))
    data["writes"] = [
        {"task_id": task_id, "channel": channel, "value": to_plain(value)}
        for task_id, channel, value in item.pending_writes or ()
    ]
    return data


def show_text(data: dict[str, Any], thread_id: str) -> str:
    lines = [
        f"thread {thread_id}  checkpoint {data['checkpoint_id']}"
        + (f"  (namespace {data['checkpoint_ns']!r})" if data["checkpoint_ns"] else ""),
        f"step {data['step']}  source {data['source']}  created {data['created']}",
        f"parent {data['parent_checkpoint_id'] or '-'}",
        f"next {', '.join(data['next']) or '-'}",
    ]
    for name, value in data["channels"].items():
        count = f" ({len(value)} messages)" if is_conversation(value) else ""
        lines += ["", f"[{name}]{count}", *value_lines(value)]
    if data["writes"]:
        lines += ["", f"pending writes ({len(data['writes'])})"]
        for write in data["writes"]:
            value = write["value"]
            shown = message_line(value) if is_message(value) else short_text(value)
            lines.append(f"  {write['task_id'][:8]}  {write['channel']}: {shown}")
    return "\n".join(lines)


# -- history ---------------------------------------------------------------------


def history(backend: Backend, thread_id: str, ns: str, limit: int | None) -> list[dict[str, Any]]:
    items = [
        checkpoint_summary(item)
        for item in backend.saver.list(thread_config(thread_id, ns), limit=limit)
    ]
    if not items:
        raise CliError(f"no thread {thread_id!r} (ns {ns!r}) in this database")
    children: dict[str, list[str]] = {}
    for item in items:
        if item["parent_checkpoint_id"]:
            children.setdefault(item["parent_checkpoint_id"], []).append(item["checkpoint_id"])
    for branch, chain in enumerate(branches(items)):
        for item in chain:
            item["branch"] = branch
    for item in items:
        item["children"] = sorted(children.get(item["checkpoint_id"], []), reverse=True)
    return items


def branches(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history split into branches, newest first: the newest checkpoint's
    chain back to the root, then each fork's chain back to where it left an
    earlier branch."""
    by_id = {item["checkpoint_id"]: item for item in items}
    has_child = {item["parent_checkpoint_id"] for item in items}
    tips = [item for item in items if item["checkpoint_id"] not in has_child]  # newest first
    placed: set[str] = set()
    chains = []
    for tip in tips:
        chain = []
        current: dict[str, Any] | None = tip
        while current is not None and current["checkpoint_id"] not in placed:
            chain.append(current)
            placed.add(current["checkpoint_id"])
            current = by_id.get(current["parent_checkpoint_id"] or "")
        chains.append(chain)
    return chains


def history_text(items: list[dict[str, Any]], thread_id: str) -> str:
    headers = ["CHECKPOINT", "STEP", "SOURCE", "NEXT", "WRITES", "PARENT"]
    blocks = [f"thread {thread_id}: {len(items)} checkpoints, newest first"]
    for index, chain in enumerate(branches(items)):
        rows = [
            [
                item["checkpoint_id"],
                item["step"],
                item["source"],
                ",".join(item["next"]) or "-",
                f"{item['pending_writes']}" + (" (interrupt)" if item["interrupted"] else ""),
                item["parent_checkpoint_id"],
            ]
            for item in chain
        ]
        if index == 0:
            blocks.append(table(headers, rows))
            continue
        fork_point = chain[-1]["parent_checkpoint_id"] or "(no parent)"
        body = table(headers, rows).splitlines()
        blocks.append(
            f"\n└─ fork {index}: from {fork_point}\n" + "\n".join(f"   │ {line}" for line in body)
        )
    return "\n".join(blocks)


# -- diff --------------------------------------------------------------------------


def diff(older: CheckpointTuple, newer: CheckpointTuple) -> dict[str, Any]:
    before = {k: to_plain(v) for k, v in older.checkpoint["channel_values"].items()}
    after = {k: to_plain(v) for k, v in newer.checkpoint["channel_values"].items()}
    changes: dict[str, Any] = {}
    for channel in sorted(before.keys() | after.keys()):
        if channel not in after:
            changes[channel] = {"change": "removed", "was": before[channel]}
        elif channel not in before:
            changes[channel] = {"change": "added", "value": after[channel]}
        elif before[channel] != after[channel]:
            changes[channel] = _value_change(before[channel], after[channel])
    return {
        "a": older.config["configurable"]["checkpoint_id"],
        "b": newer.config["configurable"]["checkpoint_id"],
        "changed": changes,
    }


def _value_change(old: Any, new: Any) -> dict[str, Any]:
    if isinstance(old, list) and isinstance(new, list):
        if is_conversation(old) or is_conversation(new):
            return _messages_change(old, new)
        return {"change": "list", "length": [len(old), len(new)], "was": old, "value": new}
    if isinstance(old, dict) and isinstance(new, dict):
        return {
            "change": "keys",
            "added": sorted(new.keys() - old.keys()),
            "removed": sorted(old.keys() - new.keys()),
            "changed": sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
        }
    return {"change": "value", "was": old, "value": new}


def _messages_change(old: list[Any], new: list[Any]) -> dict[str, Any]:
    def key(position: int, message: Any) -> Any:
        return message.get("id") if isinstance(message, dict) and message.get("id") else position

    old_by_key = {key(i, m): m for i, m in enumerate(old)}
    new_by_key = {key(i, m): m for i, m in enumerate(new)}
    return {
        "change": "messages",
        "added": [m for k, m in new_by_key.items() if k not in old_by_key],
        "removed": [m for k, m in old_by_key.items() if k not in new_by_key],
        "edited": [m for k, m in new_by_key.items() if k in old_by_key and old_by_key[k] != m],
    }


def diff_text(data: dict[str, Any]) -> str:
    lines = [f"{data['a']} -> {data['b']}"]
    if not data["changed"]:
        lines.append("no channel changed")
    for channel, change in data["changed"].items():
        kind = change["change"]
        if kind == "messages":
            lines.append(
                f"[{channel}] messages: {len(change['added'])} added, "
                f"{len(change['edited'])} edited, {len(change['removed'])} removed"
            )
            for label in ("added", "edited", "removed"):
                sign = {"added": "+", "edited": "~", "removed": "-"}[label]
                lines += [f"  {sign} {message_line(m)}" for m in change[label] if is_message(m)]
        elif kind == "keys":
            lines.append(
                f"[{channel}] keys added {change['added'] or '-'}, "
                f"removed {change['removed'] or '-'}, changed {change['changed'] or '-'}"
            )
        elif kind in ("added", "removed"):
            lines.append(
                f"[{channel}] {kind}: {short_text(change.get('value', change.get('was')))}"
            )
        else:
            lines.append(
                f"[{channel}] {short_text(change['was'], 45)} -> {short_text(change['value'], 45)}"
            )
    return "\n".join(lines)


# -- stats -------------------------------------------------------------------------


def stats(backend: Backend, *, top: int, sample: int) -> dict[str, Any]:
    rows = backend.thread_rows()
    totals = backend.totals()
    sizes = backend.thread_bytes(None)
    largest = sorted(sizes.items(), key=lambda pair: pair[1], reverse=True)[:top]
    days = Counter(
        created.date().isoformat()
        for created in map(checkpoint_time, backend.checkpoint_ids())
        if created is not None
    )
    return {
        "threads": len(rows),
        "checkpoints": totals.checkpoints,
        "writes": totals.writes,
        "bytes": totals.bytes,
        "largest_threads": [{"thread_id": t, "bytes": size} for t, size in largest],
        "bytes_by_channel": channel_bytes(backend, [row.thread_id for row in rows[:sample]]),
        "checkpoints_per_day": dict(sorted(days.items())),
        "channel_sample_threads": min(sample, len(rows)),
    }


def channel_bytes(backend: Backend, thread_ids: Iterable[str]) -> dict[str, int]:
    """Encoded size of each channel's value in the latest checkpoint of these threads."""
    serde = backend.saver.serde
    totals: Counter[str] = Counter()
    for thread_id in thread_ids:
        latest = backend.saver.get_tuple(thread_config(thread_id, ""))
        if latest is None:
            continue
        for channel, value in latest.checkpoint["channel_values"].items():
            totals[channel] += len(serde.dumps_typed(value)[1])
    return dict(totals.most_common())


def stats_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['threads']} threads, {data['checkpoints']} checkpoints, "
        f"{data['writes']} writes, {human_bytes(data['bytes'])}",
        "",
        "largest threads",
        table(
            ["THREAD", "SIZE"],
            [[item["thread_id"], human_bytes(item["bytes"])] for item in data["largest_threads"]],
        ),
        "",
        f"state size by channel (latest checkpoint of {data['channel_sample_threads']} threads)",
        table(
            ["CHANNEL", "SIZE"], [[k, human_bytes(v)] for k, v in data["bytes_by_channel"].items()]
        ),
        "",
        "checkpoints per day",
        table(["DAY", "CHECKPOINTS"], list(data["checkpoints_per_day"].items())),
    ]
    return "\n".join(lines)
