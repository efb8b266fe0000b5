"""`bench/run.py --scale [--compare]`: what get_tuple, list(limit=10) and put
cost as a database grows (0, 100k and 1M checkpoints, 20 per thread, so 1M
is 50,000 threads), and the time to the first item and to the whole list of
a 10,000-checkpoint thread, on SqliteSaver and PostgresSaver.

Each side (ours, the reference) gets its own database, made by its own
`setup()`. Its saver writes one template thread through the API
(bench/scale_workload.py); this script then copies the template's rows under
new thread ids with one `INSERT ... SELECT` per table and batch, in the
database itself, so that a million checkpoints take minutes, not hours. The
copy is generic (every table with a `thread_id` column, every other column as
the saver wrote it), so it makes the same rows for both sides. The
10,000-checkpoint thread is written through the API, after the fill.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import run as bench

SCALE_WORKLOAD = Path(__file__).resolve().parent / "scale_workload.py"
TEMPLATE = "fill-000000"  # scale_workload.fill_thread_id(0)


def step(python: str, saver: str, db: str, action: str, status: str, *extra: str) -> dict:
    command = [python, str(SCALE_WORKLOAD), "--saver", saver, "--db", db, action, *extra]
    return bench.run_workload(command, str(SCALE_WORKLOAD.parent), status)


# -- filling ---------------------------------------------------------------------------------


class Filler:
    """Copies the template thread's rows to threads fill-START .. fill-STOP-1."""

    def __init__(self, backend: str, db: str) -> None:
        self.backend = backend
        self.db = db

    def tables(self, conn) -> dict[str, list[str]]:
        if self.backend == "sqlite":
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            columns = {n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}
        else:
            columns = {}
            for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            ):
                columns.setdefault(table, []).append(column)
        return {t: cols for t, cols in columns.items() if "thread_id" in cols}

    def copy_statement(self, table: str, columns: list[str]) -> str:
        """INSERT ... SELECT of the template's rows once per thread number in
        [low, high); parameters: low, high, the template's thread id."""
        if self.backend == "sqlite":
            prefix = (
                "WITH RECURSIVE g(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM g WHERE i + 1 < ?) "
            )
            thread, source, marker = "printf('fill-%06d', g.i)", "g", "?"
        else:
            prefix = ""
            thread, marker = "'fill-' || lpad(g.i::text, 6, '0')", "%s"
            source = "generate_series(%s, %s - 1) AS g(i)"
        values = ", ".join(thread if c == "thread_id" else f't."{c}"' for c in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        return (
            f'{prefix}INSERT INTO "{table}" ({names}) SELECT {values} '
            f'FROM {source}, "{table}" t WHERE t.thread_id = {marker}'
        )

    def connect(self):
        """A connection in autocommit mode: each INSERT is its own transaction."""
        if self.backend == "sqlite":
            return closing(sqlite3.connect(self.db, isolation_level=None))
        import psycopg

        return psycopg.connect(self.db, autocommit=True)

    def size(self, conn) -> int:
        if self.backend == "sqlite":
            return sum(
                p.stat().st_size for p in Path(self.db).parent.glob(Path(self.db).name + "*")
            )
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def count(self, conn) -> int:
        return conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]

    def fill(self, start: int, stop: int, batch: int, label: str, stores_left: int) -> None:
        """Fill threads [start, stop), showing progress and the final count."""
        if stop > 10**6:
            raise SystemExit("at most 999,999 threads (their ids are fill-000000 .. fill-999999)")
        with self.connect() as conn:
            tables = self.tables(conn)
            if "checkpoints" not in tables:
                raise SystemExit(f"{label}: no checkpoints table after setup(): {sorted(tables)}")
            statements = {t: self.copy_statement(t, cols) for t, cols in tables.items()}
            began, size_before = time.monotonic(), self.size(conn)
            for low in range(start, stop, batch):
                high = min(low + batch, stop)
                for statement in statements.values():
                    conn.execute(statement, (low, high, TEMPLATE))
                if low == start:  # after the first batch: will the rest fit?
                    self.check_space(conn, size_before, high - start, stop - start, stores_left)
                bench.progress(
                    f"\r{label}: filled {high:,}/{stop:,} threads "
                    f"({time.monotonic() - began:.0f} s, {self.size(conn) / 2**20:,.0f} MiB)   "
                )
            if self.backend == "sqlite":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:  # autovacuum would have, in a database that grew over months
                for table in tables:
                    conn.execute(f'VACUUM ANALYZE "{table}"')
                # and checkpoints written its pages out: without this the reads
                # measured next write back the pages the fill and VACUUM dirtied
                # (evicting each from the shared buffers) and meet a checkpoint
                conn.execute("CHECKPOINT")
            total, size = self.count(conn), self.size(conn)
        bench.progress(f"\r{label}: {total:,} checkpoints, {size / 2**20:,.0f} MiB{'':<50}\n")

    def read_through(self, label: str) -> None:
        """Read the whole database into the OS's page cache. This machine's
        kernel pages out file pages left untouched for a minute (DAMON), so
        without it the side filled first would start its reads with less of
        its database in memory than the other (measured: 1.2 of ours' 1.6 GB
        resident against all of the reference's, first reads at 0.8x)."""
        began = time.monotonic()
        if self.backend == "sqlite":
            for path in sorted(Path(self.db).parent.glob(Path(self.db).name + "*")):
                with open(path, "rb", buffering=0) as file:
                    while file.read(1 << 20):
                        pass
        else:
            import psycopg

            with self.connect() as conn:
                try:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                except psycopg.Error as exc:  # a server of the caller's (POSTGRES_URI)
                    bench.progress(f"\r{label}: not read through, no pg_prewarm ({exc})\n")
                    return
                relations = conn.execute(
                    "SELECT c.oid::regclass::text FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'i', 't') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                ).fetchall()
                for (relation,) in relations:
                    conn.execute("SELECT pg_prewarm(%s::regclass, 'read')", (relation,))
        bench.progress(f"\r{label}: read through ({time.monotonic() - began:.1f} s){'':<30}")

    def check_space(self, conn, before: int, done: int, todo: int, stores_left: int) -> None:
        per_thread = max(self.size(conn) - before, 1) / done
        needed = per_thread * (todo - done) * stores_left
        free = shutil.disk_usage(tempfile.gettempdir()).free
        if needed > free * 0.9:
            raise SystemExit(
                f"not enough disk space under {tempfile.gettempdir()}: the fill needs about "
                f"{needed / 2**30:.1f} GiB more, {free / 2**30:.1f} GiB are free. Set TMPDIR "
                "to a larger disk or pass smaller --sizes."
            )


# -- the run ---------------------------------------------------------------------------------


class Backend:
    """One backend's databases (one per side) and the figures measured on them."""

    def __init__(self, backend: str, sides: dict[str, str], servers, tmp: str, args) -> None:
        self.backend, self.sides, self.rounds = backend, sides, args.rounds
        # Asked of both sides: the reference has no parameter for it, and its
        # setup step fails unless SQLite's default is what was asked.
        sync = args.synchronous if backend == "sqlite" else None
        self.options = ("--synchronous", sync) if sync else ()
        self.dbs = {
            side: str(Path(tmp) / f"{backend}-{side}.db")
            if backend == "sqlite"
            else servers["durable"].new_database(f"scale_{side}")
            for side in sides
        }
        self.figures: dict[str, dict[str, list]] = {side: {} for side in sides}

    def each_side(self, action: str, *extra: str, label: str):
        for side, python in self.sides.items():
            status = f"{self.backend:<8} {label:<34} {side:<9}"
            bench.progress(f"\r{status}{'':<40}")
            command = (*extra, *self.options)
            if action == "measure":
                Filler(self.backend, self.dbs[side]).read_through(status)
            yield side, step(python, self.backend, self.dbs[side], action, status, *command)

    def record(self, action: str, *extra: str, label: str, prefix: str, suffix: str = "") -> None:
        for round_ in range(self.rounds):
            status = f"{label}, round {round_ + 1}/{self.rounds}"
            more = (*extra, "--round", str(round_)) if action == "measure" else extra
            for side, figures in self.each_side(action, *more, label=status):
                for metric, value in figures.items():
                    self.figures[side].setdefault(f"{prefix}{metric}{suffix}", []).append(value)

    def run(self, sizes: list[int], per_thread: int, long: int, batch: int) -> None:
        for side, figures in self.each_side("setup", label="setup"):
            for metric, value in figures.items():
                self.figures[side][metric] = [value]
        threads = 0
        for size in sizes:
            target = size // per_thread
            if target and not threads:
                extra = ("--per-thread", str(per_thread))
                list(self.each_side("template", *extra, label="template thread"))
                threads = 1
            if target > threads:
                for n, side in enumerate(self.sides):
                    filler = Filler(self.backend, self.dbs[side])
                    filler.fill(
                        threads, target, batch, f"{self.backend}/{side}", len(self.sides) - n
                    )
                threads = target
            label = f"{size:,} checkpoints"
            self.record(
                "measure", "--threads", str(threads), label=label, prefix="", suffix=f" @ {size:,}"
            )
        if long:
            label = f"{long:,}-checkpoint thread"
            for side, figures in self.each_side("long-write", "--count", str(long), label=label):
                self.figures[side][f"{label}: put/s (written once)"] = [figures["put/s"]]
            self.record("long-read", "--count", str(long), label=label, prefix=f"{label}: ")

    def drop(self, servers) -> None:
        """Free the disk before the next backend fills its databases."""
        for db in self.dbs.values():
            if self.backend == "sqlite":
                for path in Path(db).parent.glob(Path(db).name + "*"):
                    path.unlink()
            else:
                bench.drop_database(servers["durable"], db)

    def summary(self, side: str, metric: str) -> tuple:
        """(best, spread, every run) of a side's metric, as `bench.summarize` gives it."""
        runs = self.figures[side][metric]
        return bench.summarize([{metric: v} for v in runs])[metric]

    def rows(self, compare: bool) -> list[tuple]:
        return [
            (
                self.backend,
                m,
                self.summary("ours", m),
                self.summary("reference", m) if compare else None,
            )
            for m in self.figures["ours"]
        ]

    def changes(self, sizes: list[int], compare: bool) -> list[tuple]:
        """Per rate measured at every size: how it moved from the smallest
        size to the largest, best against best, for each side."""
        first, last = f" @ {sizes[0]:,}", f" @ {sizes[-1]:,}"

        def change(side: str, base: str) -> float:
            start, end = (self.summary(side, base + at)[0] for at in (first, last))
            return end / start - 1

        return [
            (
                self.backend,
                base,
                change("ours", base),
                change("reference", base) if compare else None,
            )
            for base in (m[: -len(first)] for m in self.figures["ours"] if m.endswith(first))
        ]


# The bar a rate must meet to be called flat: within this of its figure on the smallest database.
FLAT_WITHIN = 0.30


def print_changes(sizes: list[int], changes: list[tuple], compare: bool) -> None:
    print(
        f"\n## scale: each rate at {sizes[-1]:,} checkpoints against {sizes[0]:,}, best against "
        f"best (flat: within ±{FLAT_WITHIN:.0%})\n"
    )
    header = f"{'saver':<15} {'metric':<50} {'ours':>8} {'flat':>5}"
    if compare:
        header += f" {'reference':>10}"
    print(header)
    print("-" * len(header))
    for saver, metric, ours, theirs in changes:
        flat = "yes" if abs(ours) <= FLAT_WITHIN else "no"
        line = f"{saver:<15} {metric:<50} {ours:>+8.0%} {flat:>5}"
        if compare:
            line += f" {theirs:>+10.0%}"
        print(line)


def main(argv: list[str], *, compare: bool, rounds: int) -> None:
    parser = argparse.ArgumentParser(prog="bench/run.py --scale", description=__doc__)
    parser.add_argument(
        "--sizes", default="0,100000,1000000", help="checkpoints in the database, ascending"
    )
    parser.add_argument("--per-thread", type=int, default=20, help="checkpoints per filled thread")
    parser.add_argument(
        "--long", type=int, default=10_000, help="checkpoints in the long thread (0: none)"
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--batch", type=int, default=2_500, help="threads per INSERT")
    parser.add_argument(
        "--synchronous",
        help="SQLite PRAGMA synchronous: FULL runs ours at the reference's default; "
        "without it, each saver runs at its own default",
    )
    args = parser.parse_args(argv)
    args.rounds = rounds
    sizes = [int(s) for s in args.sizes.split(",")]
    if sizes != sorted(sizes):
        parser.error("--sizes must be ascending: the database grows from one size to the next")
    if args.per_thread < 1 or any(size % args.per_thread for size in sizes):
        parser.error(f"--sizes must be multiples of --per-thread ({args.per_thread})")
    backends = args.backends.split(",")
    if set(backends) - {"sqlite", "postgres"}:
        parser.error("--backends: sqlite and/or postgres")
    sides = {"ours": sys.executable}
    if compare:
        sides["reference"] = bench.reference_python()
    print(
        f"scale: sizes {', '.join(f'{s:,}' for s in sizes)} checkpoints ({args.per_thread} per "
        f"thread), long thread {args.long:,}; best of {rounds} rounds, sides alternating; "
        f"data in {tempfile.gettempdir()} ({bench.filesystem_of(tempfile.gettempdir())})"
    )
    began = time.monotonic()
    rows, changes = [], []
    with bench.Servers() as servers, tempfile.TemporaryDirectory(prefix="lg-scale-") as tmp:
        for backend in backends:
            run = Backend(backend, sides, servers, tmp, args)
            run.run(sizes, args.per_thread, args.long, args.batch)
            rows += run.rows(compare)
            if len(sizes) > 1:
                changes += run.changes(sizes, compare)
            run.drop(servers)
            minutes = (time.monotonic() - began) / 60
            bench.progress(f"\r{backend}: done ({minutes:.1f} min){'':<60}\n")
    bench.print_section(
        "scale: SqliteSaver and PostgresSaver (fsync on) as the database grows", rows, compare
    )
    bench.print_legend()
    if changes:
        print_changes(sizes, changes, compare)
    print(f"\nscale run: {(time.monotonic() - began) / 60:.1f} min")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    known, rest = parser.parse_known_args()
    main(rest, compare=known.compare, rounds=known.rounds)
