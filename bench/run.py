"""`make bench`: what each saver and store of this family costs on the
workloads of bench/README.md; `--compare` (`make bench COMPARE=1`) puts the
reference packages beside ours, on the same workload in the same session.

The reference packages live in a throwaway virtual environment outside the
repository (~/.cache/langgraph-family-bench/refvenv), created on first use,
with our versions of what both sides share (langgraph, langchain-core, ...),
so that only the checkpointers differ.
Each measurement runs in a fresh subprocess; ours and the reference
alternate within each round; each figure is the best of --rounds runs, with
the spread between rounds beside it. `--scale` runs the scale section
instead (bench/scale.py: 0, 100k and 1M checkpoints; takes a while).
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testsupport.postgres_server import PgvectorPostgres, ThrowawayPostgres  # noqa: E402

WORKLOAD = REPO / "bench" / "workload.py"
REFVENV = Path(
    os.environ.get(
        "LANGGRAPH_BENCH_REFVENV", Path.home() / ".cache" / "langgraph-family-bench" / "refvenv"
    )
)
REFERENCE = [
    "langgraph-checkpoint==4.3.2",
    "langgraph-checkpoint-sqlite==3.1.2",
    "langgraph-checkpoint-postgres==3.2.0",
    "psycopg[binary,pool]",
]
# Installed in the reference venv at the versions ours has.
SHARED = [
    "langgraph",
    "langchain-core",
    "ormsgpack",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
    "aiosqlite",
    "sqlite-vec",
]

SAVERS = ["memory", "sqlite", "async_sqlite", "postgres", "async_postgres"]
SQLITE_SAVERS = ["sqlite", "async_sqlite"]
POSTGRES_SAVERS = ["postgres", "async_postgres"]

SECTIONS = {
    "agent": "Agent-sized messages: 10 threads x 60 steps, 2 messages per step (120 at the end), "
    "1 pending write per step. Postgres fsync on; SQLite at each saver's default.",
    "agent-full": "The same, SQLite at synchronous=FULL on both sides "
    "(the reference's default, SQLite's own; ours defaults to NORMAL in WAL mode).",
    "agent-fsync-off": "The same, Postgres with fsync, synchronous_commit and full_page_writes "
    "off. NOT durable: for comparison with the rows above only.",
    "long": "One long thread: 250 steps of agent-sized messages (500 at the end).",
    "small": "Small messages (the earlier workload): 10 threads x 60 steps, 1 message of "
    "100-200 characters per step.",
    "e2e": "End to end: a MessagesState agent graph on one thread, 200 turns; persistence "
    "= turn time with the saver minus turn time without a checkpointer (interleaved).",
    "serde": "Serializer: dumps+loads of a 120-message conversation.",
    "stores": "Stores: 2,000 items put and read back, 500 filtered searches (limit=10).",
    "vectors": "Semantic search: 1,000 embedded items, 200 queries (limit=10).",
}


@dataclass(frozen=True)
class Case:
    section: str
    saver: str
    workload: str = "agent"
    server: str | None = None  # "durable", "fast" (fsync off) or "pgvector" (durable)
    synchronous: str | None = None
    default: bool = True  # in a run without --only / --all

    @property
    def name(self) -> str:
        return f"{self.section}/{self.saver}"


def pg(saver: str) -> str | None:
    return "durable" if "postgres" in saver else None


CASES = [
    *(Case("agent", s, server=pg(s)) for s in SAVERS),
    *(Case("agent-full", s, synchronous="FULL") for s in SQLITE_SAVERS),
    *(Case("agent-fsync-off", s, server="fast") for s in POSTGRES_SAVERS),
    # The async savers run the same SQL plans as their sync twins; their long
    # thread and end-to-end rows are left to --all, to keep `make bench` short.
    *(Case("long", s, "long", pg(s), default="async" not in s) for s in SAVERS),
    *(Case("small", s, "small", pg(s)) for s in SAVERS),
    *(Case("e2e", s, "e2e", pg(s), default="async" not in s) for s in SAVERS),
    Case("serde", "serde"),
    *(Case("stores", f"store_{b}", server=pg(b)) for b in ("memory", "sqlite", "postgres")),
    Case("vectors", "vector_memory"),
    Case("vectors", "vector_sqlite"),
    Case("vectors", "vector_postgres", server="pgvector"),
]

# Units of figures where less is better; every other number is a rate.
LOWER_IS_BETTER = {"bytes", "ms", "ms/turn"}


def lower_is_better(metric: str) -> bool:
    return not LOWER_IS_BETTER.isdisjoint(metric.replace(",", " ").split())


class Servers:
    """The throwaway PostgreSQL servers, each started when first asked for:
    Debian's with fsync on (as production runs) and with fsync off, and the
    pgvector one for semantic search (the reference store needs pgvector)."""

    def __init__(self) -> None:
        self._started: dict[str, ThrowawayPostgres] = {}

    def __getitem__(self, name: str) -> ThrowawayPostgres:
        if name not in self._started:
            progress(f"\rstarting the {name} PostgreSQL server ...")
            if name == "pgvector":
                server: ThrowawayPostgres = PgvectorPostgres(durable=True)
            else:
                server = ThrowawayPostgres(durable=name == "durable")
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
    """The reference venv's python, with the same versions as ours of what
    both sides share (langgraph, langchain-core, ...), so that only the
    checkpointers differ."""
    python = REFVENV / "bin" / "python"
    ours = {d.name.lower().replace("_", "-"): d.version for d in importlib.metadata.distributions()}
    wanted = REFERENCE + [f"{name}=={ours[name]}" for name in SHARED if name in ours]
    if not python.exists():
        progress(f"creating the reference venv in {REFVENV} (once) ...\n")
        venv.create(REFVENV, with_pip=True)
    listing = (
        "import importlib.metadata as m, json; print(json.dumps("
        "{d.name.lower().replace('_', '-'): d.version for d in m.distributions()}))"
    )
    out = subprocess.run([str(python), "-c", listing], capture_output=True, text=True, check=True)
    theirs = json.loads(out.stdout)
    stale = [
        spec
        for spec in wanted
        if "==" in spec and theirs.get(spec.split("==")[0]) != spec.split("==")[1]
    ]
    if stale:
        progress(f"reference venv: installing {' '.join(stale)}\n")
        # All at once: pip keeps the reference versions, or fails saying why.
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
    return str(python)


def run_workload(command: list[str], cwd: str, status: str) -> dict:
    """Run one workload process; its `progress:` lines update the status
    line, its last stdout line is the JSON result."""
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    tail: collections.deque[str] = collections.deque(maxlen=40)
    for line in proc.stderr:
        if line.startswith("progress: "):
            progress(f"\r{status} {line[len('progress: ') :].strip():<40}")
        else:
            tail.append(line)
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{''.join(tail)[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def drop_database(server: ThrowawayPostgres, uri: str) -> None:
    import psycopg

    name = uri.rsplit("/", 1)[1]
    with psycopg.connect(server.admin_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(python: str, case: Case, servers: Servers, status: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="lg-bench-") as directory:
        command = [python, str(WORKLOAD), "--saver", case.saver, "--workload", case.workload]
        command += ["--dir", directory]
        if case.synchronous:
            command += ["--synchronous", case.synchronous]
        if case.server is None:
            return run_workload(command, directory, status)
        server = servers[case.server]
        uri = server.new_database("bench")
        try:
            return run_workload([*command, "--uri", uri], directory, status)
        finally:
            drop_database(server, uri)


def summarize(runs: list[dict]) -> dict[str, tuple]:
    """Per metric: (best, spread between rounds as a fraction of the best, every run)."""
    out: dict[str, tuple] = {}
    for metric in runs[0]:
        values = [run[metric] for run in runs]
        if isinstance(values[0], str):
            out[metric] = (" / ".join(sorted(set(values))), None, values)
            continue
        best = min(values) if lower_is_better(metric) else max(values)
        spread = (max(values) - min(values)) / abs(best) if best and len(values) > 1 else None
        out[metric] = (best, spread, values)
    return out


def filesystem_of(path: str) -> str:
    """The file system type of the mount holding `path` (Linux), or '?'."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                _, point, fstype, *_ = line.split()
                inside = path == point or path.startswith(point.rstrip("/") + "/")
                if inside and len(point) > len(best):
                    best, kind = point, fstype
    except OSError:
        pass
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare", action="store_true", help="also run the reference packages")
    parser.add_argument("--rounds", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument(
        "--only",
        help="comma-separated sections, savers or section/saver names, e.g. "
        "agent,e2e/sqlite,store_postgres (sections: " + ", ".join(SECTIONS) + ")",
    )
    parser.add_argument(
        "--all", action="store_true", help="also the async savers' long-thread and e2e rows"
    )
    parser.add_argument("--scale", action="store_true", help="run the scale section instead")
    parser.add_argument(
        "--cli", action="store_true", help="run the langgraph-checkpoint section (bench/cli.py)"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="run the growth section instead (bench/growth.py: one thread, plain vs compact)",
    )
    parser.add_argument(
        "--retention",
        action="store_true",
        help="run the retention section instead (bench/retention.py: TTL sweep throughput)",
    )
    args, rest = parser.parse_known_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.scale:
        import scale

        scale.main(rest, compare=args.compare, rounds=args.rounds)
        return
    if args.cli:
        import cli

        cli.main(rest)
        return
    if args.growth:
        import growth

        growth.main(rest, compare=args.compare, rounds=args.rounds)
        return
    if args.retention:
        import retention

        retention.main(rest, rounds=args.rounds)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    cases = CASES if args.all else [c for c in CASES if c.default]
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in CASES if wanted & {c.section, c.saver, c.name}]
        if not cases:
            parser.error(f"--only {args.only}: no such section or saver")
    sides = {"ours": sys.executable}
    if args.compare:
        sides["reference"] = reference_python()
    tmp = tempfile.gettempdir()
    fs = filesystem_of(tmp)
    print(f"data in {tmp} ({fs}); best of {args.rounds} rounds, sides alternating")
    if fs == "tmpfs":
        print("note: fsync costs nothing on tmpfs; set TMPDIR to a disk for durable figures")
    results: dict[str, dict[str, dict]] = {side: {} for side in sides}
    began = time.monotonic()
    failed: dict[str, str] = {}
    with Servers() as servers:
        for index, case in enumerate(cases):
            case_began = time.monotonic()
            try:
                runs = measure_case(
                    case, sides, servers, args.rounds, f"[{index + 1}/{len(cases)}]"
                )
            except RuntimeError as exc:  # one broken case should not cost the whole run
                failed[case.name] = str(exc)
                progress(f"\r{case.name}: FAILED{'':<90}\n")
                continue
            for side in sides:
                results[side][case.name] = summarize(runs[side])
            progress(f"\r{case.name}: {time.monotonic() - case_began:.0f} s{'':<90}\n")
    done = [c for c in cases if c.name not in failed]
    print_tables(results, done, args.compare)
    print(f"\n{len(done)} cases in {(time.monotonic() - began) / 60:.1f} min")
    if failed:
        for name, error in failed.items():
            progress(f"\n{name} failed: {error}\n")
        sys.exit(f"{len(failed)} case(s) failed: {', '.join(failed)}")


def measure_case(case: Case, sides: dict, servers: Servers, rounds: int, count: str) -> dict:
    runs: dict[str, list] = {side: [] for side in sides}
    for round_ in range(rounds):
        for side, python in sides.items():  # alternate sides within a round
            status = f"{count} {case.name:<28} round {round_ + 1}/{rounds} {side:<9}"
            progress(f"\r{status}{'':<40}")
            runs[side].append(measure(python, case, servers, status))
    return runs


def fmt(metric: str, value) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if metric == "bytes stored":
        return f"{value / 1024:,.0f} KiB"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def ratio(metric: str, ours: float, ref: float) -> float | None:
    """ours/ref as 'how many times better ours is'."""
    if lower_is_better(metric):
        return ref / ours if ours > 0 and ref > 0 else None
    return ours / ref if ref else None


def print_tables(results: dict, cases: list[Case], compare: bool) -> None:
    for section in dict.fromkeys(c.section for c in cases):
        rows = []
        for case in (c for c in cases if c.section == section):
            theirs = results["reference"][case.name] if compare else {}
            for metric, summary in results["ours"][case.name].items():
                rows.append((case.saver, metric, summary, theirs.get(metric)))
        print_section(f"{section}: {SECTIONS[section]}", rows, compare)
    print_legend()


def print_section(title: str, rows: list[tuple], compare: bool) -> None:
    """rows: (saver, metric, our summary, the reference's summary or None)."""
    header = f"{'saver':<15} {'metric':<50} {'ours':>12} {'spread':>6}"
    if compare:
        header += f" {'reference':>12} {'spread':>6} {'ours/ref':>8} {'by round':>11}"
    print(f"\n## {title}\n")
    print(header)
    print("-" * len(header))
    for saver, metric, (best, spread, values), theirs in rows:
        line = f"{saver:<15} {metric:<50} {fmt(metric, best):>12} {pct(spread):>6}"
        if compare:
            ref_best, ref_spread, ref_values = theirs or (None, None, [])
            line += f" {fmt(metric, ref_best):>12} {pct(ref_spread):>6}"
            if not isinstance(best, str) and ref_best is not None:
                by_round = [ratio(metric, o, r) for o, r in zip(values, ref_values)]
                line += f" {times(ratio(metric, best, ref_best)):>8} {span(by_round):>11}"
        print(line.rstrip())


def print_legend() -> None:
    print(
        "\nspread: (max - min) / best over the rounds. ours/ref: best against best, > 1 means "
        "ours is better\n(faster, or for ms and bytes: less). by round: the ratio of each "
        "round's pair of runs, min-max."
    )


def pct(spread: float | None) -> str:
    return "-" if spread is None else f"{spread * 100:.0f}%"


def times(value: float | None) -> str:
    return "-" if value is None else f"{number(value)}x"


def span(values: list) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    return f"{number(min(known))}-{number(max(known))}"


def number(ratio: float) -> str:
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"


if __name__ == "__main__":
    main()
