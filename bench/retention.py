"""`bench/run.py --retention`: the TTL sweep (issue 17) on SqliteSaver and
PostgresSaver (fsync on): 100,000 checkpoints over 5,000 expired threads
(20 each, with a pending write apiece), swept with strategy "delete" while
another connection keeps putting checkpoints to a live thread.

Figures: checkpoints deleted per second, the longest single batch (one write
transaction) of the sweep, and the longest a concurrent `put` waited (target:
under 100 ms). The reference has no TTL, so there is nothing to compare.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

THREADS, PER_THREAD = 5_000, 20
TTL = {"default_ttl": 0.01}  # minutes: the filled threads are expired a second later


def fill(saver: Any) -> None:
    """One thread put checkpoint by checkpoint, then copied to the others."""
    from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

    config = {"configurable": {"thread_id": "t00000", "checkpoint_ns": ""}}
    checkpoint = empty_checkpoint()
    for step in range(PER_THREAD):
        checkpoint = create_checkpoint(checkpoint, None, step)
        checkpoint["channel_values"] = {"messages": [f"message {i}" for i in range(step + 1)]}
        config = saver.put(config, checkpoint, {"step": step}, {"messages": str(step + 1)})
        saver.put_writes(config, [("messages", f"reply {step}")], f"task{step}")
    for t in range(1, THREADS):
        saver.copy_thread("t00000", f"t{t:05}")


def sweep_beside_a_writer(make_saver: Any) -> dict[str, float]:
    from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

    waits: list[float] = []
    stop = threading.Event()

    def keep_putting() -> None:
        with make_saver() as writer:
            config = {"configurable": {"thread_id": "live", "checkpoint_ns": ""}}
            checkpoint = empty_checkpoint()
            step = 0
            while not stop.is_set():
                checkpoint = create_checkpoint(checkpoint, None, step)
                started = time.perf_counter()
                config = writer.put(config, checkpoint, {"step": step}, {})
                waits.append(time.perf_counter() - started)
                step += 1
                time.sleep(0.002)

    with make_saver() as saver:
        writer = threading.Thread(target=keep_putting)
        writer.start()
        time.sleep(0.2)
        started = time.perf_counter()
        report = saver.sweep_ttl()
        elapsed = time.perf_counter() - started
        stop.set()
        writer.join()
    assert report.checkpoints_deleted == THREADS * PER_THREAD, report
    return {
        "checkpoints deleted/s": report.checkpoints_deleted / elapsed,
        "sweep ms": elapsed * 1000,
        "longest batch ms": report.longest_batch_seconds * 1000,
        "batches": report.batches,
        "longest concurrent put ms": max(waits) * 1000,
    }


def measure(backend: str, servers: Any, bench: Any, status: str) -> dict[str, float]:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    with tempfile.TemporaryDirectory() as directory:
        if backend == "sqlite":
            path = str(Path(directory) / "retention.db")

            def make_saver():
                return SqliteSaver.from_conn_string(path, ttl=TTL)
        else:
            server = servers["durable"]
            uri = server.new_database()
            with PostgresSaver.from_conn_string(uri) as saver:
                saver.setup()

            def make_saver():
                return PostgresSaver.from_conn_string(uri, ttl=TTL)

        bench.progress(f"\r{status}: filling {THREADS * PER_THREAD:,} checkpoints ...{'':<20}")
        with make_saver() as saver:
            fill(saver)
        time.sleep(1)
        bench.progress(f"\r{status}: sweeping ...{'':<40}")
        figures = sweep_beside_a_writer(make_saver)
        if backend != "sqlite":
            bench.drop_database(server, uri)
        return figures


def main(argv: list[str], *, rounds: int) -> None:
    import run as bench

    parser = argparse.ArgumentParser(prog="bench/run.py --retention", description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    rows = []
    with bench.Servers() as servers:
        for backend in args.backends.split(","):
            runs = [
                measure(backend, servers, bench, f"retention/{backend} round {r + 1}/{rounds}")
                for r in range(rounds)
            ]
            summary = bench.summarize(runs)
            rows += [(backend, metric, summary[metric], None) for metric in summary]
            bench.progress(f"\rretention/{backend}: done{'':<60}\n")
    bench.print_section(
        f"retention: sweep of {THREADS * PER_THREAD:,} checkpoints over {THREADS:,} threads",
        rows,
        False,
    )
