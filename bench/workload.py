"""One benchmark run, through the public API only, so that the very same file
runs on this family and on the reference packages (in their own venv).

    python bench/workload.py --saver sqlite --workload agent --dir /tmp/x [--uri postgresql://...]

Prints one JSON object on its last line of stdout: figure by metric name.
Progress goes to stderr as `progress: ...` lines. The workloads are described
in bench/README.md; in short:

* agent: THREADS threads × STEPS steps; each step a checkpoint whose message
  list grew by two agent-sized messages (human ~250 chars + AI ~600 with a
  tool call, or a tool result of 4-8 KB + AI answer ~600), plus one pending
  write; then get_tuple of each thread's latest, then list of every thread.
* long: one thread of LONG_STEPS such steps (2 × LONG_STEPS messages at the end).
* small: the earlier workload, one message of ~100 characters per step.
* e2e: a MessagesState graph (agent, tools) on one thread for E2E_TURNS turns,
  each turn timed with the saver and, interleaved, without a checkpointer.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

THREADS = 10
STEPS = 60
GET_REPS = 10
LONG_STEPS = 250
E2E_TURNS = 200
E2E_WINDOW = 25  # the first figure: mean per-turn cost over turns 1..E2E_WINDOW


def progress(text: str) -> None:
    sys.stderr.write(f"progress: {text}\n")
    sys.stderr.flush()


# -- messages ------------------------------------------------------------------------------

VOCAB = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "at",
    "by",
    "this",
    "from",
    "or",
    "an",
    "are",
    "not",
    "have",
    "which",
    "but",
    "has",
    "its",
    "were",
    "can",
    "more",
    "one",
    "all",
    "their",
    "also",
    "been",
    "other",
    "into",
    "than",
    "only",
    "new",
    "some",
    "search",
    "result",
    "query",
    "user",
    "order",
    "account",
    "invoice",
    "shipping",
    "refund",
    "status",
    "delivery",
    "customer",
    "product",
    "price",
    "update",
    "request",
    "response",
    "error",
    "timeout",
    "retry",
    "database",
    "index",
    "record",
    "field",
    "value",
    "number",
    "date",
    "time",
    "report",
    "summary",
    "details",
    "analysis",
    "option",
    "setting",
    "service",
    "network",
]


def prose(seed: int, chars: int) -> str:
    """Deterministic text of `chars` characters, with the entropy of words
    (PostgreSQL compresses large values: repeated text would flatter it)."""
    rng = random.Random(seed)
    words = rng.choices(VOCAB, k=chars // 4 + 8)
    return " ".join(words)[:chars]


def human(seed: int, turn: int) -> HumanMessage:
    return HumanMessage(content=prose(seed, 250), id=f"h{turn}")


def ai_call(seed: int, turn: int) -> AIMessage:
    call = {
        "name": "search_orders",
        "args": {"query": prose(seed + 1, 80), "limit": 20, "include_history": True},
        "id": f"call_{turn}",
    }
    return AIMessage(content=prose(seed, 480), tool_calls=[call], id=f"c{turn}")


def tool_result(seed: int, turn: int) -> ToolMessage:
    size = 4000 + (turn * 1327) % 4001  # 4 to 8 KB
    return ToolMessage(content=prose(seed, size), tool_call_id=f"call_{turn}", id=f"t{turn}")


def ai_answer(seed: int, turn: int) -> AIMessage:
    return AIMessage(content=prose(seed, 600), id=f"a{turn}")


def agent_messages(thread: int, count: int) -> list:
    """`count` messages of an agent conversation, two per step: a human
    question and an AI tool call, then the tool's result and the AI answer."""
    out: list = []
    for i in range(count):
        turn, kind, seed = i // 4, i % 4, thread * 1_000_003 + i * 7
        out.append((human, ai_call, tool_result, ai_answer)[kind](seed, turn))
    return out


def small_message(i: int):
    if i % 3 == 0:
        return HumanMessage(content=f"question {i}: " + "words " * 20, id=f"h{i}")
    if i % 3 == 1:
        call = {"name": "search", "args": {"q": f"query {i}", "k": 3}, "id": f"call{i}"}
        return AIMessage(content=f"thinking about {i}", tool_calls=[call], id=f"a{i}")
    return ToolMessage(content="result " * 30, tool_call_id=f"call{i - 1}", id=f"t{i}")


def thread_plan(workload: str, thread: int, steps: int) -> list[tuple[list, object]]:
    """Per step: the message list of its checkpoint and the pending write
    (the next message). Built before any timing starts."""
    per_step = 1 if workload == "small" else 2
    if workload == "small":
        messages = [small_message(i) for i in range(steps + 1)]
    else:
        messages = agent_messages(thread, steps * per_step + 1)
    return [
        (messages[: (step + 1) * per_step], messages[(step + 1) * per_step])
        for step in range(steps)
    ]


def checkpoint_at(saver, step: int, messages: list, versions: dict) -> tuple[dict, dict]:
    from langgraph.checkpoint.base import uuid6

    versions = dict(versions)
    versions["messages"] = saver.get_next_version(versions.get("messages"), None)
    checkpoint = {
        "v": 2,
        "id": str(uuid6(clock_seq=step)),
        "ts": datetime.now(timezone.utc).isoformat(),
        "channel_values": {"messages": messages, "step": step},
        "channel_versions": versions | {"step": versions["messages"]},
        "versions_seen": {"agent": {"messages": versions["messages"]}},
        "updated_channels": ["messages", "step"],
    }
    return checkpoint, {"messages": versions["messages"], "step": versions["messages"]}


def thread_config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


# -- checkpoints through the saver API -------------------------------------------------------


def put_thread_sync(saver, thread_id: str, plan: list) -> None:
    config = thread_config(thread_id)
    versions: dict = {}
    for step, (messages, pending) in enumerate(plan):
        checkpoint, new_versions = checkpoint_at(saver, step, messages, versions)
        versions = checkpoint["channel_versions"]
        config = saver.put(
            config, checkpoint, {"source": "loop", "step": step, "user": "u"}, new_versions
        )
        saver.put_writes(config, [("messages", [pending])], f"task-{step}")


async def put_thread_async(saver, thread_id: str, plan: list) -> None:
    config = thread_config(thread_id)
    versions: dict = {}
    for step, (messages, pending) in enumerate(plan):
        checkpoint, new_versions = checkpoint_at(saver, step, messages, versions)
        versions = checkpoint["channel_versions"]
        config = await saver.aput(
            config, checkpoint, {"source": "loop", "step": step, "user": "u"}, new_versions
        )
        await saver.aput_writes(config, [("messages", [pending])], f"task-{step}")


def expect_rows(what: str, got: int, expected: int) -> None:
    # A saver that returns fewer rows would look faster: fail instead.
    if got != expected:
        raise AssertionError(f"{what}: {got} rows, expected {expected}")


def measure_threads_sync(saver, workload: str) -> dict:
    plans = {f"bench-{t}": thread_plan(workload, t, STEPS) for t in range(THREADS)}
    gc.collect()
    with ThreadPoolExecutor(THREADS) as pool:
        start = time.perf_counter()
        list(pool.map(lambda item: put_thread_sync(saver, *item), plans.items()))
        put_s = time.perf_counter() - start
    configs = [thread_config(t) for t in plans]
    gc.collect()
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda c: [saver.get_tuple(c) for _ in range(GET_REPS)], configs))
    get_s = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    rows = sum(len(list(saver.list(c))) for c in configs)
    list_s = time.perf_counter() - start
    expect_rows("list", rows, THREADS * STEPS)
    return {
        "put+put_writes/s": THREADS * STEPS / put_s,
        "get_tuple/s": THREADS * GET_REPS / get_s,
        "list rows/s": rows / list_s,
    }


async def measure_threads_async(saver, workload: str) -> dict:
    plans = {f"bench-{t}": thread_plan(workload, t, STEPS) for t in range(THREADS)}
    gc.collect()
    start = time.perf_counter()
    await asyncio.gather(*(put_thread_async(saver, *item) for item in plans.items()))
    put_s = time.perf_counter() - start
    configs = [thread_config(t) for t in plans]

    async def gets(config):
        for _ in range(GET_REPS):
            await saver.aget_tuple(config)

    gc.collect()
    start = time.perf_counter()
    await asyncio.gather(*(gets(c) for c in configs))
    get_s = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    rows = 0
    for config in configs:
        rows += len([item async for item in saver.alist(config)])
    list_s = time.perf_counter() - start
    expect_rows("list", rows, THREADS * STEPS)
    return {
        "put+put_writes/s": THREADS * STEPS / put_s,
        "get_tuple/s": THREADS * GET_REPS / get_s,
        "list rows/s": rows / list_s,
    }


def long_thread_figures(put_s, get_s, page_s, first_s, all_s) -> dict:
    return {
        "put+put_writes/s": LONG_STEPS / put_s,
        "get_tuple/s": GET_REPS / get_s,
        "list(limit=10)/s": GET_REPS / page_s,
        "list: first item ms": first_s * 1000,
        "list: all rows/s": LONG_STEPS / all_s,
    }


def measure_long_sync(saver) -> dict:
    plan = thread_plan("agent", 0, LONG_STEPS)
    config = thread_config("long")
    gc.collect()
    start = time.perf_counter()
    put_thread_sync(saver, "long", plan)
    put_s = time.perf_counter() - start
    progress(f"long thread written ({put_s:.1f} s)")
    gc.collect()
    start = time.perf_counter()
    for _ in range(GET_REPS):
        saver.get_tuple(config)
    get_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(GET_REPS):
        expect_rows("list(limit=10)", len(list(saver.list(config, limit=10))), 10)
    page_s = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    items = iter(saver.list(config))
    next(items)
    first_s = time.perf_counter() - start
    rows = 1 + sum(1 for _ in items)
    all_s = time.perf_counter() - start
    expect_rows("list", rows, LONG_STEPS)
    return long_thread_figures(put_s, get_s, page_s, first_s, all_s)


async def measure_long_async(saver) -> dict:
    plan = thread_plan("agent", 0, LONG_STEPS)
    config = thread_config("long")
    gc.collect()
    start = time.perf_counter()
    await put_thread_async(saver, "long", plan)
    put_s = time.perf_counter() - start
    progress(f"long thread written ({put_s:.1f} s)")
    gc.collect()
    start = time.perf_counter()
    for _ in range(GET_REPS):
        await saver.aget_tuple(config)
    get_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(GET_REPS):
        expect_rows("list(limit=10)", len([i async for i in saver.alist(config, limit=10)]), 10)
    page_s = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    items = saver.alist(config).__aiter__()
    await items.__anext__()
    first_s = time.perf_counter() - start
    rows = 1
    async for _ in items:  # counted, not kept: as the sync rows do
        rows += 1
    all_s = time.perf_counter() - start
    expect_rows("list", rows, LONG_STEPS)
    return long_thread_figures(put_s, get_s, page_s, first_s, all_s)


# -- end to end: the cost of persistence per turn of a real graph ------------------------------


def e2e_graph(checkpointer):
    """An agent on MessagesState: `agent` answers, or on one turn in four
    first calls a tool; `tools` returns a 4-8 KB result. The messages are made
    before any timing, so that both runs of a turn do the same graph work."""
    from langgraph.graph import END, START, MessagesState, StateGraph

    turns = E2E_TURNS
    calls = [ai_call(7 * t, t) for t in range(turns)]
    results = [tool_result(7 * t + 2, t) for t in range(turns)]
    answers = [ai_answer(7 * t + 3, t) for t in range(turns)]

    def agent(state):
        last = state["messages"][-1]
        turn = int(last.id[1:])
        if isinstance(last, HumanMessage) and turn % 4 == 0:
            return {"messages": [calls[turn]]}
        return {"messages": [answers[turn]]}

    def tools(state):
        return {"messages": [results[int(state["messages"][-1].id[1:])]]}

    def route(state):
        return "tools" if getattr(state["messages"][-1], "tool_calls", None) else END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


def e2e_figures(with_saver: list[float], without: list[float]) -> dict:
    def mean_ms(times: list[float], n: int) -> float:
        return sum(times[:n]) / n * 1000

    w = E2E_WINDOW
    return {
        f"persistence ms/turn, turns 1-{w}": mean_ms(with_saver, w) - mean_ms(without, w),
        f"persistence ms/turn, turns 1-{E2E_TURNS}": (
            mean_ms(with_saver, E2E_TURNS) - mean_ms(without, E2E_TURNS)
        ),
        f"turn ms without saver, 1-{E2E_TURNS}": mean_ms(without, E2E_TURNS),
    }


def measure_e2e_sync(saver) -> dict:
    plain, persisted = e2e_graph(None), e2e_graph(saver)
    humans = [human(7 * t + 5, t) for t in range(E2E_TURNS)]
    config = {"configurable": {"thread_id": "e2e"}}
    history: list = []
    without, with_saver = [], []
    gc.collect()
    for turn in range(E2E_TURNS):  # interleaved, so that drift hits both alike
        start = time.perf_counter()
        history = plain.invoke({"messages": [*history, humans[turn]]})["messages"]
        without.append(time.perf_counter() - start)
        start = time.perf_counter()
        state = persisted.invoke({"messages": [humans[turn]]}, config)
        with_saver.append(time.perf_counter() - start)
        if (turn + 1) % 25 == 0:
            progress(f"e2e turn {turn + 1}/{E2E_TURNS}")
    expect_rows("e2e messages", len(state["messages"]), len(history))
    return e2e_figures(with_saver, without)


async def measure_e2e_async(saver) -> dict:
    plain, persisted = e2e_graph(None), e2e_graph(saver)
    humans = [human(7 * t + 5, t) for t in range(E2E_TURNS)]
    config = {"configurable": {"thread_id": "e2e"}}
    history: list = []
    without, with_saver = [], []
    gc.collect()
    for turn in range(E2E_TURNS):
        start = time.perf_counter()
        history = (await plain.ainvoke({"messages": [*history, humans[turn]]}))["messages"]
        without.append(time.perf_counter() - start)
        start = time.perf_counter()
        state = await persisted.ainvoke({"messages": [humans[turn]]}, config)
        with_saver.append(time.perf_counter() - start)
        if (turn + 1) % 25 == 0:
            progress(f"e2e turn {turn + 1}/{E2E_TURNS}")
    expect_rows("e2e messages", len(state["messages"]), len(history))
    return e2e_figures(with_saver, without)


# -- serializer -------------------------------------------------------------------------------


def measure_serde() -> dict:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    out = {}
    for label, conversation, rounds in (
        ("small", [small_message(i) for i in range(120)], 60),
        ("agent", agent_messages(0, 120), 20),
    ):
        start = time.perf_counter()
        for _ in range(rounds):
            serde.loads_typed(serde.dumps_typed(conversation))
        out[f"serde round trips/s (120 {label} msgs)"] = rounds / (time.perf_counter() - start)
    return out


# -- stores -----------------------------------------------------------------------------------

STORE_ITEMS = 2_000
STORE_NAMESPACES = 20  # ("users", "u0") .. ("users", "u19"), 100 items each
STORE_SEARCHES = 500


def letters(texts):
    return [[float(t.count(c)) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts]


def store_item(i: int) -> tuple[tuple[str, str], str, dict]:
    value = {
        "text": f"note number {i} about topic {i % 7}",
        "n": 10_000 + i,  # five digits: the reference PostgresStore orders numbers as text
        "topic": f"t{i % 7}",
        "tag": f"g{i % 50}",
    }
    return ("users", f"u{i % STORE_NAMESPACES}"), f"k{i}", value


def store_searches() -> list[tuple[tuple[str, ...], dict, int]]:
    """Selective searches with limit=10, and how many items each must return.

    Three in four look in one user's namespace (100 items) for one topic and
    a minimum `n` (7 to 11 matches); one in four looks across every user
    for a tag that 40 of the 2,000 items carry."""
    items = [store_item(i) for i in range(STORE_ITEMS)]
    searches = []
    for j in range(STORE_SEARCHES):
        if j % 4 == 3:
            tag = f"g{j % 50}"
            prefix: tuple[str, ...] = ("users",)
            filter: dict = {"tag": tag}
            hits = sum(value["tag"] == tag for _, _, value in items)
        else:
            user, topic, least = f"u{j % STORE_NAMESPACES}", f"t{j % 7}", 10_500 + j
            prefix = ("users", user)
            filter = {"topic": topic, "n": {"$gte": least}}
            hits = sum(
                ns[1] == user and value["topic"] == topic and value["n"] >= least
                for ns, _, value in items
            )
        searches.append((prefix, filter, min(hits, 10)))
    return searches


def measure_store(store) -> dict:
    items = [store_item(i) for i in range(STORE_ITEMS)]
    gc.collect()  # each phase starts from the same heap, on both sides
    start = time.perf_counter()
    for namespace, key, value in items:
        store.put(namespace, key, value)
    put_s = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    for namespace, key, _ in items:
        store.get(namespace, key)
    get_s = time.perf_counter() - start
    searches = store_searches()
    gc.collect()
    start = time.perf_counter()
    results = [store.search(prefix, filter=filter, limit=10) for prefix, filter, _ in searches]
    search_s = time.perf_counter() - start
    for (prefix, filter, expected), found in zip(searches, results):
        if len(found) != expected:
            raise AssertionError(f"search {prefix} {filter}: {len(found)} items, not {expected}")
    return {
        "store put/s": STORE_ITEMS / put_s,
        "store get/s": STORE_ITEMS / get_s,
        "store search/s": len(searches) / search_s,
    }


VECTOR_ITEMS = 1_000
VECTOR_SEARCHES = 200
VECTOR_INDEX = {"dims": 26, "embed": letters, "fields": ["text"]}
WORDS = ["apple", "river", "stone", "cloud", "maple", "ember", "frost", "honey", "quartz", "violet"]


def vector_item(i: int) -> tuple[tuple[str, str], str, dict]:
    text = f"{WORDS[i % 10]} {WORDS[i * 7 % 10]} {WORDS[i * 3 % 10][: i % 5 + 1]} {i}"
    return ("docs", f"d{i % 10}"), f"v{i}", {"text": text, "n": 10_000 + i}


def measure_vector_store(store) -> dict:
    """Semantic search: puts that embed one field, then queries ranked by
    cosine similarity, half in one namespace (100 items), half across all,
    a quarter with a filter; limit=10."""
    items = [vector_item(i) for i in range(VECTOR_ITEMS)]
    gc.collect()
    start = time.perf_counter()
    for namespace, key, value in items:
        store.put(namespace, key, value)
    put_s = time.perf_counter() - start
    searches = []
    for j in range(VECTOR_SEARCHES):
        prefix = ("docs", f"d{j % 10}") if j % 2 else ("docs",)
        query = f"{WORDS[j % 10]} {WORDS[(j + 3) % 10]}"
        filter = {"n": {"$gte": 10_400}} if j % 4 == 1 else None
        searches.append((prefix, query, filter))
    gc.collect()
    start = time.perf_counter()
    results = [store.search(p, query=q, filter=f, limit=10) for p, q, f in searches]
    search_s = time.perf_counter() - start
    # Every search has at least 10 matches: an approximate index that misses
    # some (filtering after the index scan) shows here, not as an error.
    scored = sum(1 for found in results for r in found if r.score is not None)
    return {
        "store semantic put/s": VECTOR_ITEMS / put_s,
        "store semantic search/s": len(searches) / search_s,
        "semantic results/search (of 10)": scored / len(searches),
    }


# -- savers, durability and sizes -------------------------------------------------------------

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def sqlite_options(cls, synchronous: str | None) -> dict:
    """`synchronous=` for a saver that takes it (ours); the reference has no
    such parameter and runs at SQLite's default, which `check_sqlite` reads."""
    if synchronous and "synchronous" in inspect.signature(cls.from_conn_string).parameters:
        return {"synchronous": synchronous}
    return {}


def check_sqlite(level: int, wanted: str | None) -> dict:
    name = SYNCHRONOUS.get(level, str(level))
    if wanted and name != wanted.upper():
        raise SystemExit(f"asked for PRAGMA synchronous={wanted}, the saver runs at {name}")
    return {"sqlite synchronous": name}


def postgres_durability(uri: str) -> dict:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        fsync = conn.execute("SHOW fsync").fetchone()[0]
        commit = conn.execute("SHOW synchronous_commit").fetchone()[0]
    return {"postgres fsync, synchronous_commit": f"{fsync}, {commit}"}


def sqlite_bytes(path: str) -> int:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def postgres_bytes(uri: str) -> int:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("VACUUM FULL")  # compare live data, not dead tuples left by the run
        (size,) = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()
    return int(size)


def pool_kwargs() -> dict:
    from psycopg.rows import dict_row

    # As `from_conn_string` connects; the reference saver needs dict rows.
    return {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


@contextmanager
def sync_saver(kind: str, path: str, uri: str | None, synchronous: str | None):
    """The saver and the durability it runs at."""
    if kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver(), {}
    elif kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        with SqliteSaver.from_conn_string(path, **sqlite_options(SqliteSaver, synchronous)) as s:
            s.setup()
            level = s.conn.execute("PRAGMA synchronous").fetchone()[0]
            yield s, check_sqlite(level, synchronous)
    elif kind == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg_pool import ConnectionPool

        with ConnectionPool(uri, min_size=THREADS, max_size=THREADS, kwargs=pool_kwargs()) as pool:
            saver = PostgresSaver(pool)
            saver.setup()
            yield saver, postgres_durability(uri)
    else:
        raise SystemExit(f"unknown sync saver {kind!r}")


@asynccontextmanager
async def async_saver(kind: str, path: str, uri: str | None, synchronous: str | None):
    if kind == "async_sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        options = sqlite_options(AsyncSqliteSaver, synchronous)
        async with AsyncSqliteSaver.from_conn_string(path, **options) as s:
            await s.setup()
            level = (await (await s.conn.execute("PRAGMA synchronous")).fetchone())[0]
            yield s, check_sqlite(level, synchronous)
    elif kind == "async_postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg_pool import AsyncConnectionPool

        async with AsyncConnectionPool(
            uri, min_size=THREADS, max_size=THREADS, kwargs=pool_kwargs(), open=False
        ) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver, postgres_durability(uri)
    else:
        raise SystemExit(f"unknown async saver {kind!r}")


SYNC_MEASURES = {
    "agent": lambda s: measure_threads_sync(s, "agent"),
    "small": lambda s: measure_threads_sync(s, "small"),
    "long": measure_long_sync,
    "e2e": measure_e2e_sync,
}
ASYNC_MEASURES = {
    "agent": lambda s: measure_threads_async(s, "agent"),
    "small": lambda s: measure_threads_async(s, "small"),
    "long": measure_long_async,
    "e2e": measure_e2e_async,
}


def run_saver(kind: str, workload: str, directory: str, uri, synchronous) -> dict:
    path = os.path.join(directory, f"{workload}.db")
    if kind.startswith("async_"):

        async def main() -> dict:
            async with async_saver(kind, path, uri, synchronous) as (saver, durability):
                return durability | await ASYNC_MEASURES[workload](saver)

        result = asyncio.run(main())
    else:
        with sync_saver(kind, path, uri, synchronous) as (saver, durability):
            result = durability | SYNC_MEASURES[workload](saver)
    if workload in ("agent", "small"):
        if "sqlite" in kind:
            result["bytes stored"] = sqlite_bytes(path)
        elif "postgres" in kind:
            result["bytes stored"] = postgres_bytes(uri)
    return result


def run_store(kind: str, directory: str, uri: str | None) -> dict:
    vector = kind.startswith("vector_")
    options = {"index": VECTOR_INDEX} if vector else {}
    measure = measure_vector_store if vector else measure_store
    if kind.endswith("_memory"):
        from langgraph.store.memory import InMemoryStore

        return measure(InMemoryStore(**options))
    if kind.endswith("_sqlite"):
        from langgraph.store.sqlite import SqliteStore

        path = os.path.join(directory, "store.db")
        with SqliteStore.from_conn_string(path, **options) as store:
            store.setup()
            return measure(store)
    if kind.endswith("_postgres"):
        from langgraph.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(uri, **options) as store:
            store.setup()
            return measure(store)
    raise SystemExit(f"unknown store {kind!r}")


def run(kind: str, workload: str, directory: str, uri: str | None, synchronous) -> dict:
    if kind == "serde":
        return measure_serde()
    if kind.startswith(("store_", "vector_")):
        return run_store(kind, directory, uri)
    return run_saver(kind, workload, directory, uri, synchronous)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--saver", required=True)
    parser.add_argument("--workload", default="agent", choices=sorted(SYNC_MEASURES))
    parser.add_argument("--dir", required=True)
    parser.add_argument("--uri")
    parser.add_argument("--synchronous", help="SQLite PRAGMA synchronous asked of the saver")
    args = parser.parse_args()
    print(json.dumps(run(args.saver, args.workload, args.dir, args.uri, args.synchronous)))
    sys.stdout.flush()
