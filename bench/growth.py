"""`bench/run.py --growth [--compare]`: how one conversation's storage grows
(issue 16). One thread, 200 turns of a MessagesState graph (agent -> tool ->
agent, 4 messages a turn of 100-400 characters), on SqliteSaver and
PostgresSaver (fsync on), plain and compact (`compact=True`); at 25, 50, 100
and 200 turns: bytes on disk, ms per turn (mean since the previous mark) and
`get_state` ms (the median of 25 reads). `--compare` runs the reference
packages (plain only: they have no compact mode) on the same workload.

Run as a script (`growth.py --saver sqlite --dir D [--uri U] [--compact]`), it
is the workload itself, in the python of the side being measured; it prints
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

TURNS = 200
MARKS = (25, 50, 100, 200)
GET_STATE_READS = 25  # the median is kept: a best of 5 could not rank plain and compact


# -- the workload (runs in the measured side's python) ---------------------------------------


def _vocabulary(size: int = 5000) -> tuple[list[str], list[float]]:
    """Made-up words with Zipf-like frequencies, so text compresses about as
    much as prose does (zlib about 2.5x, Postgres's pglz less). A handful of
    repeated words compressed 8x, which made the reference's TOASTed Postgres
    rows look four times smaller than real conversations make them."""
    rng = random.Random(7)
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(size)]
    return words, [1 / (rank + 1) ** 1.07 for rank in range(size)]


VOCABULARY, FREQUENCIES = _vocabulary()


def text(rng: random.Random, turn: int, kind: str) -> str:
    length = rng.randint(100, 400)
    words = [f"{kind}{turn}"]
    while len(" ".join(words)) < length:
        words += rng.choices(VOCABULARY, FREQUENCIES, k=8)
    return " ".join(words)[:length]


def growth_graph(checkpointer, rng: random.Random):
    """agent calls a tool on each human message, then answers its result."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    def agent(state):
        last = state["messages"][-1]
        turn = int(last.id.split("-")[1])
        if isinstance(last, HumanMessage):
            call = {"name": "lookup", "args": {"q": text(rng, turn, "q")}, "id": f"call-{turn}"}
            return {"messages": [AIMessage(content="", tool_calls=[call], id=f"ai-{turn}-call")]}
        return {"messages": [AIMessage(content=text(rng, turn, "answer"), id=f"ai-{turn}-answer")]}

    def tool(state):
        call = state["messages"][-1].tool_calls[0]
        turn = int(call["id"].split("-")[1])
        return {
            "messages": [
                ToolMessage(
                    content=text(rng, turn, "result"), tool_call_id=call["id"], id=f"t-{turn}"
                )
            ]
        }

    def route(state):
        return (
            "tool"
            if isinstance(state["messages"][-1], AIMessage) and (state["messages"][-1].tool_calls)
            else END
        )

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tool", tool)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tool", END])
    builder.add_edge("tool", "agent")
    return builder.compile(checkpointer=checkpointer)


def sqlite_bytes(path: str) -> int:
    """The file's size once the WAL is folded in (what stays on disk)."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size = (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA page_size").fetchone()[0],
        )
    return pages * size


def postgres_bytes(uri: str) -> int:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relkind = 'r' AND c.relname LIKE 'checkpoint%%'"
        ).fetchone()
    return int(row[0])


def run_workload(saver, measure_bytes) -> dict:
    from langchain_core.messages import HumanMessage

    rng = random.Random(16)
    graph = growth_graph(saver, rng)
    config = {"configurable": {"thread_id": "growth"}}
    figures: dict[str, float] = {}
    turn_times: list[float] = []
    for turn in range(1, TURNS + 1):
        human = HumanMessage(content=text(rng, turn, "human"), id=f"h-{turn}")
        start = time.perf_counter()
        graph.invoke({"messages": [human]}, config)
        turn_times.append(time.perf_counter() - start)
        if turn in MARKS:
            previous = MARKS[MARKS.index(turn) - 1] if turn != MARKS[0] else 0
            figures[f"ms/turn {previous + 1}-{turn}"] = (
                statistics.mean(turn_times[previous:]) * 1000
            )
            reads = []
            for _ in range(GET_STATE_READS):
                start = time.perf_counter()
                state = graph.get_state(config)
                reads.append(time.perf_counter() - start)
            assert len(state.values["messages"]) == 4 * turn, len(state.values["messages"])
            figures[f"get_state ms at {turn}"] = statistics.median(reads) * 1000
            figures[f"bytes at {turn}"] = measure_bytes()
            print(f"progress: turn {turn}/{TURNS}", file=sys.stderr, flush=True)
    return figures


def workload_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saver", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--uri")
    parser.add_argument("--compact", action="store_true")
    args = parser.parse_args(argv)
    options = {"compact": True} if args.compact else {}
    if args.saver == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = str(Path(args.dir) / "growth.db")
        with SqliteSaver.from_conn_string(path, **options) as saver:
            figures = run_workload(saver, lambda: sqlite_bytes(path))
    else:
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(args.uri, **options) as saver:
            saver.setup()
            figures = run_workload(saver, lambda: postgres_bytes(args.uri))
    print(json.dumps(figures))


# -- the section (runs in our python, from bench/run.py) ---------------------------------------


def main(argv: list[str], *, compare: bool, rounds: int) -> None:
    import run as bench

    parser = argparse.ArgumentParser(prog="bench/run.py --growth", description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    python = {"ours": sys.executable}
    if compare:
        python["reference"] = bench.reference_python()
    rows = []
    with bench.Servers() as servers:
        for backend in args.backends.split(","):
            variants = [("ours", False), ("ours", True)]
            variants += [("reference", False)] if compare else []
            runs: dict[tuple[str, bool], list[dict]] = {variant: [] for variant in variants}
            for round_ in range(rounds):
                for side, compact in variants:  # alternate within a round
                    label = f"{side}{' compact' if compact else ''}"
                    status = f"growth/{backend} {label:<13} round {round_ + 1}/{rounds}"
                    runs[(side, compact)].append(
                        _measure(bench, servers, python[side], backend, compact, status)
                    )
            summaries = {variant: bench.summarize(results) for variant, results in runs.items()}
            reference = summaries.get(("reference", False), {})
            for (side, compact), summary in summaries.items():
                if side == "ours":
                    name = f"{backend} {'compact' if compact else 'plain'}"
                    rows += [(name, m, summary[m], reference.get(m)) for m in summary]
            bench.progress(f"\rgrowth/{backend}: done{'':<80}\n")
    bench.print_section(
        "growth: one thread, 200 turns of agent -> tool -> agent (4 messages a turn of "
        "100-400 characters); Postgres fsync on",
        rows,
        compare,
    )
    bench.print_legend()


def _measure(bench, servers, python: str, backend: str, compact: bool, status: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="lg-growth-") as directory:
        command = [python, __file__, "--saver", backend, "--dir", directory]
        if compact:
            command.append("--compact")
        if backend == "sqlite":
            return bench.run_workload(command, directory, status)
        server = servers["durable"]
        uri = server.new_database("growth")
        try:
            return bench.run_workload([*command, "--uri", uri], directory, status)
        finally:
            bench.drop_database(server, uri)


if __name__ == "__main__":
    workload_main(sys.argv[1:])
