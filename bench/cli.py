"""The `langgraph-checkpoint` command at scale (`bench/run.py --cli`).

`threads` on 100,000 threads / 1,000,000 checkpoints, SQLite and PostgreSQL
(target: under 1 s), and `copy` throughput in checkpoints per second.

The big databases are made fast: one realistic thread (a conversation that
grows over 10 checkpoints, with writes) is written once by the real saver,
then its rows are replicated under new thread ids by bulk `INSERT ... SELECT`
in the database itself, a batch at a time, with progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402
from langgraph.checkpoint.base.id import uuid6  # noqa: E402
from langgraph.checkpoint.cli import reading  # noqa: E402
from langgraph.checkpoint.cli.backend import open_backend  # noqa: E402
from langgraph.checkpoint.postgres import PostgresSaver  # noqa: E402
from langgraph.checkpoint.sqlite import SqliteSaver  # noqa: E402

from testsupport.postgres_server import ThrowawayPostgres  # noqa: E402

COMMAND = [sys.executable, "-m", "langgraph.checkpoint.cli"]
TEMPLATE_THREAD = "template"
CHECKPOINTS_PER_THREAD = 10
BATCH_THREADS = 10_000


def progress(text: str) -> None:
    sys.stderr.write(f"\r{text:<80}")
    sys.stderr.flush()


def write_template(saver: Any) -> None:
    """One thread as an agent leaves it: a conversation growing step by step."""
    config = {"configurable": {"thread_id": TEMPLATE_THREAD, "checkpoint_ns": ""}}
    messages: list[Any] = []
    for step in range(CHECKPOINTS_PER_THREAD):
        maker = HumanMessage if step % 2 == 0 else AIMessage
        messages.append(maker(content=f"message {step}: " + "lorem ipsum " * 12, id=f"m{step}"))
        checkpoint = empty_checkpoint()
        checkpoint["id"] = str(uuid6(clock_seq=step))
        checkpoint["channel_values"] = {"messages": list(messages), "step_note": f"step {step}"}
        checkpoint["channel_versions"] = {"messages": f"{step + 1:032}.0", "step_note": "1"}
        versions = dict(checkpoint["channel_versions"])
        metadata = {"step": step, "source": "loop", "user": "bench"}
        config = saver.put(config, checkpoint, metadata, versions)
        saver.put_writes(config, [("messages", [messages[-1]])], f"task-{step}")


def sqlite_database(path: Path, threads: int) -> str:
    with SqliteSaver.from_conn_string(str(path)) as saver:
        write_template(saver)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    for start in range(0, threads, BATCH_THREADS):
        count = min(BATCH_THREADS, threads - start)
        numbers = "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        bounds = (start, start + count - 1)
        conn.execute(
            numbers + "INSERT INTO checkpoints SELECT printf('thread-%06d', n.i), checkpoint_ns, "
            "checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
            "FROM n, checkpoints c WHERE c.thread_id = 'template'",
            bounds,
        )
        conn.execute(
            numbers + "INSERT INTO writes SELECT printf('thread-%06d', n.i), checkpoint_ns, "
            "checkpoint_id, task_id, task_path, idx, channel, type, value "
            "FROM n, writes w WHERE w.thread_id = 'template'",
            bounds,
        )
        conn.commit()
        progress(f"sqlite: {start + count:,}/{threads:,} threads")
    conn.execute("DELETE FROM checkpoints WHERE thread_id = 'template'")
    conn.execute("DELETE FROM writes WHERE thread_id = 'template'")
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return f"sqlite:///{path}"


def postgres_database(uri: str, threads: int) -> str:
    import psycopg

    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        write_template(saver)
    tables = {
        "checkpoints": "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
        "metadata",
        "checkpoint_blobs": "checkpoint_ns, channel, version, type, blob",
        "checkpoint_writes": "checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
        "type, blob",
    }
    with psycopg.connect(uri, autocommit=True) as conn:
        for start in range(0, threads, BATCH_THREADS):
            count = min(BATCH_THREADS, threads - start)
            with conn.transaction():
                for table, columns in tables.items():
                    conn.execute(
                        f"INSERT INTO {table} (thread_id, {columns}) "
                        f"SELECT 'thread-' || lpad(i::text, 6, '0'), {columns} "
                        f"FROM generate_series(%s::int, %s::int) i, {table} "
                        "WHERE thread_id = 'template'",
                        (start, start + count - 1),
                    )
            progress(f"postgres: {start + count:,}/{threads:,} threads")
        for table in tables:
            conn.execute(f"DELETE FROM {table} WHERE thread_id = 'template'")
        progress("postgres: VACUUM ANALYZE (as autovacuum would after a bulk load)")
        conn.execute("VACUUM ANALYZE")
    return uri


def time_threads(url: str) -> dict[str, float]:
    """`threads` (default: 100 most recent) in this process, and the command end to end."""
    backend = open_backend(url)
    try:
        began = time.perf_counter()
        rows = reading.threads(backend, sort="activity", limit=100, metadata_filter={})
        in_process = time.perf_counter() - began
        counted = backend.thread_rows()
    finally:
        backend.close()
    assert len(rows) == 100
    began = time.perf_counter()
    subprocess.run([*COMMAND, "threads", "--db", url], check=True, capture_output=True)
    command = time.perf_counter() - began
    return {
        "threads": len(counted),
        "checkpoints": sum(row.checkpoints for row in counted),
        "query_s": in_process,
        "command_s": command,
    }


def time_copy(source: str, destination: str, threads: int) -> dict[str, Any]:
    ids: list[str] = []
    for index in range(threads):
        ids += ["--thread", f"thread-{index:06d}"]
    out = subprocess.run(
        [*COMMAND, "copy", source, destination, "--json", "--no-progress", *ids],
        check=True,
        capture_output=True,
        text=True,
    )
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--copy-threads", type=int, default=200)
    args = parser.parse_args(argv)
    total = args.threads * CHECKPOINTS_PER_THREAD
    print(f"cli: threads on {args.threads:,} threads / {total:,} checkpoints; copy throughput")
    with tempfile.TemporaryDirectory() as tmp, ThrowawayPostgres() as server:
        began = time.monotonic()
        sqlite_url = sqlite_database(Path(tmp) / "big.db", args.threads)
        postgres_url = postgres_database(server.new_database("cli_bench"), args.threads)
        progress(f"built both databases in {time.monotonic() - began:.0f} s")
        sys.stderr.write("\n")
        rows = []
        for name, url in (("sqlite", sqlite_url), ("postgres", postgres_url)):
            figures = time_threads(url)
            assert figures["checkpoints"] == total, figures
            verdict = "ok" if figures["query_s"] < 1 else "OVER 1 s"
            rows.append(
                f"  threads/{name:<9} {figures['query_s'] * 1000:7.0f} ms query, "
                f"{figures['command_s'] * 1000:6.0f} ms whole command  ({verdict})"
            )
        copies = {
            "sqlite->sqlite": (sqlite_url, f"sqlite:///{Path(tmp) / 'copy.db'}"),
            "sqlite->postgres": (sqlite_url, server.new_database("cli_copy")),
            "postgres->sqlite": (postgres_url, f"sqlite:///{Path(tmp) / 'copy2.db'}"),
        }
        for name, (source, destination) in copies.items():
            report = time_copy(source, destination, args.copy_threads)
            assert report["ok"], report
            rows.append(
                f"  copy/{name:<17} {report['checkpoints_per_second']:7.0f} checkpoints/s "
                f"({report['copied_checkpoints']} checkpoints)"
            )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
