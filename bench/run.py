"""`make bench`: throughput of every saver; `make bench COMPARE=1` puts the
reference packages beside ours, run on the same workload in the same session.

The reference packages live in a throwaway virtual environment outside the
repository (~/.cache/langgraph-family-bench/refvenv), created on first use.
Each measurement runs in a fresh subprocess; with --compare, ours and the
reference alternate, and each figure is the best of --rounds runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testsupport.postgres_server import ThrowawayPostgres, pgvector_postgres  # noqa: E402

WORKLOAD = REPO / "bench" / "workload.py"
REFVENV = Path(
    os.environ.get(
        "LANGGRAPH_BENCH_REFVENV", Path.home() / ".cache" / "langgraph-family-bench" / "refvenv"
    )
)
REFERENCE = [
    "langgraph==1.2.22",
    "langgraph-checkpoint==4.3.2",
    "langgraph-checkpoint-sqlite==3.1.2",
    "langgraph-checkpoint-postgres==3.2.0",
    "psycopg[binary,pool]",
]
SAVERS = [
    "serde",
    "memory",
    "sqlite",
    "async_sqlite",
    "postgres",
    "async_postgres",
    "store_memory",
    "store_sqlite",
    "store_postgres",
    "vector_memory",
    "vector_sqlite",
    "vector_postgres",
]
METRICS = [
    "serde round trips/s (120 msgs)",
    "put+put_writes/s",
    "get_tuple/s",
    "list rows/s",
    "e2e turns/s",
    "bytes stored",
    "store put/s",
    "store get/s",
    "store search/s",
    "store semantic put/s",
    "store semantic search/s",
    "semantic results/search (of 10)",
]


class Servers:
    """The throwaway PostgreSQL servers, each started when first asked for:
    Debian's for the savers and stores, the pgvector one for semantic search
    (the reference store needs pgvector for it)."""

    def __init__(self) -> None:
        self._started: dict[str, ThrowawayPostgres] = {}

    def __getitem__(self, name: str) -> ThrowawayPostgres:
        if name not in self._started:
            server = pgvector_postgres() if name == "pgvector" else ThrowawayPostgres()
            self._started[name] = server.__enter__()
        return self._started[name]

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._started.values():
            server.stop()


def progress(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def reference_python() -> str:
    python = REFVENV / "bin" / "python"
    if not python.exists():
        progress(f"creating the reference venv in {REFVENV} (once) ...\n")
        venv.create(REFVENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *REFERENCE], check=True)
    return str(python)


def measure(python: str, saver: str, servers: Servers) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        command = [python, str(WORKLOAD), "--saver", saver, "--dir", directory]
        if "postgres" in saver:
            server = servers["pgvector" if saver.startswith("vector_") else "postgres"]
            command += ["--uri", server.new_database("bench")]
        out = subprocess.run(command, capture_output=True, text=True, cwd=directory)
        if out.returncode != 0:
            raise RuntimeError(f"{saver} failed under {python}:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def best(runs: list[dict]) -> dict:
    merged: dict = {}
    for run in runs:
        for metric, value in run.items():
            better = min if metric == "bytes stored" else max
            merged[metric] = better(merged.get(metric, value), value)
    return merged


def fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    if metric == "bytes stored":
        return f"{value / 1024:,.0f} KiB"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", action="store_true", help="also run the reference packages")
    parser.add_argument("--rounds", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument("--savers", default=",".join(SAVERS))
    args = parser.parse_args()
    savers = args.savers.split(",")
    sides = {"ours": sys.executable}
    if args.compare:
        sides["reference"] = reference_python()
    results: dict[str, dict[str, dict]] = {side: {} for side in sides}
    with Servers() as servers:
        for saver in savers:
            runs: dict[str, list] = {side: [] for side in sides}
            for round_ in range(args.rounds):
                for side, python in sides.items():  # alternate sides within a round
                    progress(f"\r{saver:<15} round {round_ + 1}/{args.rounds} {side:<10}")
                    runs[side].append(measure(python, saver, servers))
            for side in sides:
                results[side][saver] = best(runs[side])
            progress("\n")
    print_table(results, savers, args.compare)


def print_table(results: dict, savers: list[str], compare: bool) -> None:
    header = f"{'saver':<15} {'metric':<31} {'ours':>14}"
    if compare:
        header += f" {'reference':>14} {'ours/ref':>9}"
    print(header)
    print("-" * len(header))
    for saver in savers:
        ours = results["ours"][saver]
        for metric in METRICS:
            if metric not in ours:
                continue
            line = f"{saver:<15} {metric:<31} {fmt(metric, ours[metric]):>14}"
            if compare:
                ref = results["reference"][saver].get(metric)
                ratio = "-"
                if ref:
                    ratio = f"{(ref / ours[metric] if metric == 'bytes stored' else ours[metric] / ref):.2f}x"
                line += f" {fmt(metric, ref):>14} {ratio:>9}"
            print(line)
    if compare:
        print(
            "\nours/ref > 1 means ours is better (for bytes stored: reference bytes / our bytes)."
        )


if __name__ == "__main__":
    main()
