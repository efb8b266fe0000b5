"""One step of the scale benchmark, through the public API only, so that the
same file runs on this family and on the reference packages (bench/scale.py
drives it, and fills the databases between steps).

    python bench/scale_workload.py --saver sqlite|postgres --db PATH_OR_URI ACTION [...]

Actions (each prints one JSON object on its last stdout line):
  setup                     create the tables; report the durability the saver runs at
  template --per-thread N   write thread `fill-000000`: N checkpoints, one pending write each;
                            bench/scale.py copies its rows to make the other threads
  measure --threads T --round R
                            put PROBE_STEPS checkpoints into a new thread, then get_tuple and
                            list(limit=10) on READS random threads among the T filled ones
                            (get_tuple twice: the second time their pages are cached;
                            then of READS others after WARM_READS more),
                            and get_tuple READS times on the new thread
  long-write --count N      write thread `long` of N checkpoints
  long-read --count N       time to the first item and to the whole list of thread `long`
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from contextlib import contextmanager

from workload import (
    check_sqlite,
    checkpoint_at,
    human,
    postgres_durability,
    progress,
    sqlite_options,
    thread_config,
)

PROBE_STEPS = 100
READS = 100
# Reads of other threads before the warm-process pass: enough to fill our
# savers' 32 MiB SQLite page cache (about 4 pages a thread), after which a
# long-running process reads into memory it already has; a fresh process
# first takes a page fault for each new page of its growing cache.
WARM_READS = 3000


def fill_thread_id(i: int) -> str:
    return f"fill-{i:06d}"


def small_state_plan(seed: int, steps: int) -> list[tuple[list, object]]:
    """Per step: one message (250 characters) and a pending write (another):
    small checkpoints, so that a million of them take about 2 GB."""
    return [
        ([human(seed + 2 * step, step)], human(seed + 2 * step + 1, step + 1))
        for step in range(steps)
    ]


@contextmanager
def open_saver(kind: str, db: str, synchronous: str | None):
    if kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        with SqliteSaver.from_conn_string(db, **sqlite_options(SqliteSaver, synchronous)) as saver:
            saver.setup()
            yield saver
    elif kind == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(db) as saver:
            saver.setup()
            yield saver
    else:
        raise SystemExit(f"unknown saver {kind!r} (sqlite or postgres)")


def durability(kind: str, saver, db: str, synchronous: str | None) -> dict:
    if kind == "sqlite":
        return check_sqlite(saver.conn.execute("PRAGMA synchronous").fetchone()[0], synchronous)
    return postgres_durability(db)


def write_thread(saver, thread_id: str, plan: list, with_writes: bool = True) -> float:
    """Seconds to put the plan's checkpoints (and pending writes) one by one."""
    config = thread_config(thread_id)
    versions: dict = {}
    start = time.perf_counter()
    for step, (messages, pending) in enumerate(plan):
        checkpoint, new_versions = checkpoint_at(saver, step, messages, versions)
        versions = checkpoint["channel_versions"]
        config = saver.put(config, checkpoint, {"source": "loop", "step": step}, new_versions)
        if with_writes:
            saver.put_writes(config, [("messages", [pending])], f"task-{step}")
        if (step + 1) % 1000 == 0:
            progress(f"{thread_id}: {step + 1:,}/{len(plan):,} checkpoints")
    return time.perf_counter() - start


def pick_threads(rng: random.Random, threads: int, count: int, taken: set[int]) -> list[str]:
    """`count` random filled threads this process has not read (any, once too
    few are left); they join `taken`."""
    left = [i for i in range(threads) if i not in taken]
    if len(left) >= count:
        chosen = rng.sample(left, count)
    else:
        chosen = [rng.randrange(threads) for _ in range(count)]
    taken.update(chosen)
    return [fill_thread_id(i) for i in chosen]


def timed_gets(saver, configs: list[dict]) -> float:
    start = time.perf_counter()
    for config in configs:
        if saver.get_tuple(config) is None:
            raise AssertionError(f"get_tuple: no checkpoint in thread {config}")
    return time.perf_counter() - start


def measure(saver, threads: int, round_: int) -> dict:
    probe = f"probe-{threads}-{round_}"
    put_s = write_thread(saver, probe, small_state_plan(round_, PROBE_STEPS))
    rng = random.Random(round_)
    taken: set[int] = set()

    def configs_of(count: int) -> list[dict]:
        ids = pick_threads(rng, threads, count, taken) if threads else [probe] * count
        return [{"configurable": {"thread_id": t, "checkpoint_ns": ""}} for t in ids]

    configs = configs_of(READS)
    get_s = timed_gets(saver, configs)
    # The same threads again: the pages the first pass read are now cached,
    # so this is the statements' cost at this size without a cache miss's.
    again_s = timed_gets(saver, configs)
    start = time.perf_counter()
    for config in configs:
        if not list(saver.list(config, limit=10)):
            raise AssertionError(f"list: no checkpoint in thread {config}")
    list_s = time.perf_counter() - start
    # Threads not read yet, by a process that has read many others: what a
    # long-running server pays for a thread it has not seen (the first pass
    # above also pays for the fresh process's cache growing).
    timed_gets(saver, configs_of(WARM_READS))
    warm_s = timed_gets(saver, configs_of(READS))
    # The thread just written, read again and again: its pages are in the
    # caches, so this is the cost of the statements and the index descent
    # alone; the random threads above add a cache miss per page touched.
    hot_s = timed_gets(saver, [{"configurable": {"thread_id": probe, "checkpoint_ns": ""}}] * READS)
    saver.delete_thread(probe)  # the database keeps the size it is measured at
    return {
        "put+put_writes/s": PROBE_STEPS / put_s,
        "get_tuple/s": READS / get_s,
        "get_tuple/s, the same threads again": READS / again_s,
        "get_tuple/s, new threads, warm process": READS / warm_s,
        "get_tuple/s, one hot thread": READS / hot_s,
        "list(limit=10)/s": READS / list_s,
    }


def long_read(saver, count: int) -> dict:
    config = thread_config("long")
    start = time.perf_counter()
    items = iter(saver.list(config))
    next(items)
    first_s = time.perf_counter() - start
    rows = 1 + sum(1 for _ in items)
    all_s = time.perf_counter() - start
    if rows != count:
        raise AssertionError(f"list of thread `long`: {rows} rows, expected {count}")
    start = time.perf_counter()
    page = list(saver.list(config, limit=10))
    page_s = time.perf_counter() - start
    if len(page) != 10:
        raise AssertionError(f"list(limit=10) of thread `long`: {len(page)} rows")
    return {
        "list: first item ms": first_s * 1000,
        "list: all rows ms": all_s * 1000,
        "list(limit=10) ms": page_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saver", required=True)
    parser.add_argument("--db", required=True, help="SQLite path or PostgreSQL URI")
    parser.add_argument(
        "action", choices=["setup", "template", "measure", "long-write", "long-read"]
    )
    parser.add_argument("--per-thread", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--round", type=int, default=0)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--synchronous", help="SQLite PRAGMA synchronous asked of the saver")
    args = parser.parse_args()
    with open_saver(args.saver, args.db, args.synchronous) as saver:
        if args.action == "setup":
            result: dict = durability(args.saver, saver, args.db, args.synchronous)
        elif args.action == "template":
            plan = small_state_plan(0, args.per_thread)
            result = {"seconds": write_thread(saver, fill_thread_id(0), plan)}
        elif args.action == "measure":
            result = measure(saver, args.threads, args.round)
        elif args.action == "long-write":
            plan = small_state_plan(10**6, args.count)
            result = {"put/s": args.count / write_thread(saver, "long", plan, with_writes=False)}
        else:
            result = long_read(saver, args.count)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
