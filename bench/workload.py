"""One benchmark run, through the public API only, so that the very same file
runs on this family and on the reference packages (in their own venv).

    python bench/workload.py --saver sqlite --dir /tmp/x [--uri postgresql://...]

Prints one JSON object: operations per second and bytes stored.
Workload: THREADS conversation threads × STEPS steps, each step a checkpoint
whose message list grew by one LangChain message, plus one pending write.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

THREADS = 10
STEPS = 60


def message(i: int):
    if i % 3 == 0:
        return HumanMessage(content=f"question {i}: " + "words " * 20, id=f"h{i}")
    if i % 3 == 1:
        call = {"name": "search", "args": {"q": f"query {i}", "k": 3}, "id": f"call{i}"}
        return AIMessage(content=f"thinking about {i}", tool_calls=[call], id=f"a{i}")
    return ToolMessage(content="result " * 30, tool_call_id=f"call{i - 1}", id=f"t{i}")


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


# -- sync savers -------------------------------------------------------------------------


def run_thread_sync(saver, thread: int) -> None:
    config = {"configurable": {"thread_id": f"bench-{thread}", "checkpoint_ns": ""}}
    messages: list = []
    versions: dict = {}
    for step in range(STEPS):
        messages = [*messages, message(step)]
        checkpoint, new_versions = checkpoint_at(saver, step, messages, versions)
        versions = checkpoint["channel_versions"]
        config = saver.put(
            config, checkpoint, {"source": "loop", "step": step, "user": "u"}, new_versions
        )
        saver.put_writes(config, [("messages", [message(step + 1)])], f"task-{step}")


def measure_sync(saver) -> dict:
    with ThreadPoolExecutor(THREADS) as pool:
        start = time.perf_counter()
        list(pool.map(lambda t: run_thread_sync(saver, t), range(THREADS)))
        put_s = time.perf_counter() - start
    latest = [
        {"configurable": {"thread_id": f"bench-{t}", "checkpoint_ns": ""}} for t in range(THREADS)
    ]
    reps = 20
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda c: [saver.get_tuple(c) for _ in range(reps)], latest))
    get_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = sum(len(list(saver.list(c))) for c in latest)
    list_s = time.perf_counter() - start
    return {
        "put+put_writes/s": THREADS * STEPS / put_s,
        "get_tuple/s": THREADS * reps / get_s,
        "list rows/s": rows / list_s,
    }


# -- async savers --------------------------------------------------------------------------


async def run_thread_async(saver, thread: int) -> None:
    config = {"configurable": {"thread_id": f"bench-{thread}", "checkpoint_ns": ""}}
    messages: list = []
    versions: dict = {}
    for step in range(STEPS):
        messages = [*messages, message(step)]
        checkpoint, new_versions = checkpoint_at(saver, step, messages, versions)
        versions = checkpoint["channel_versions"]
        config = await saver.aput(
            config, checkpoint, {"source": "loop", "step": step, "user": "u"}, new_versions
        )
        await saver.aput_writes(config, [("messages", [message(step + 1)])], f"task-{step}")


async def measure_async(saver) -> dict:
    start = time.perf_counter()
    await asyncio.gather(*(run_thread_async(saver, t) for t in range(THREADS)))
    put_s = time.perf_counter() - start
    latest = [
        {"configurable": {"thread_id": f"bench-{t}", "checkpoint_ns": ""}} for t in range(THREADS)
    ]
    reps = 20

    async def gets(config):
        for _ in range(reps):
            await saver.aget_tuple(config)

    start = time.perf_counter()
    await asyncio.gather(*(gets(c) for c in latest))
    get_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = 0
    for config in latest:
        rows += len([item async for item in saver.alist(config)])
    list_s = time.perf_counter() - start
    return {
        "put+put_writes/s": THREADS * STEPS / put_s,
        "get_tuple/s": THREADS * reps / get_s,
        "list rows/s": rows / list_s,
    }


# -- end to end: a 3-node graph over a growing message list ------------------------------------

TURNS = 15


def agent_graph(saver):
    from langgraph.graph import START, MessagesState, StateGraph

    builder = StateGraph(MessagesState)
    builder.add_node("plan", lambda s: {"messages": [message(len(s["messages"]) * 3 + 1)]})
    builder.add_node("act", lambda s: {"messages": [message(len(s["messages"]) * 3 + 2)]})
    builder.add_node("answer", lambda s: {"messages": [AIMessage(content="done " * 10)]})
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", "answer")
    return builder.compile(checkpointer=saver)


def measure_graph_sync(saver) -> float:
    graph = agent_graph(saver)

    def turns(thread: int) -> None:
        config = {"configurable": {"thread_id": f"graph-{thread}"}}
        for turn in range(TURNS):
            graph.invoke({"messages": [HumanMessage(content=f"turn {turn}")]}, config)

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(turns, range(THREADS)))
    return THREADS * TURNS / (time.perf_counter() - start)


async def measure_graph_async(saver) -> float:
    graph = agent_graph(saver)

    async def turns(thread: int) -> None:
        config = {"configurable": {"thread_id": f"graph-{thread}"}}
        for turn in range(TURNS):
            await graph.ainvoke({"messages": [HumanMessage(content=f"turn {turn}")]}, config)

    start = time.perf_counter()
    await asyncio.gather(*(turns(t) for t in range(THREADS)))
    return THREADS * TURNS / (time.perf_counter() - start)


# -- serializer -------------------------------------------------------------------------------


def measure_serde() -> dict:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    conversation = [message(i) for i in range(120)]
    rounds = 60
    start = time.perf_counter()
    for _ in range(rounds):
        serde.loads_typed(serde.dumps_typed(conversation))
    return {"serde round trips/s (120 msgs)": rounds / (time.perf_counter() - start)}


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
    gc.collect()  # each phase starts from the same heap, on both sides
    start = time.perf_counter()
    for namespace, key, _ in items:
        store.get(namespace, key)
    get_s = time.perf_counter() - start
    searches = store_searches()
    gc.collect()  # each phase starts from the same heap, on both sides
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
    gc.collect()  # each phase starts from the same heap, on both sides
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
    gc.collect()  # each phase starts from the same heap, on both sides
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


# -- sizes --------------------------------------------------------------------------------------


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
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchone()
    return int(size)


def run(kind: str, directory: str, uri: str | None) -> dict:
    result: dict = {}
    if kind == "serde":
        return measure_serde()
    if kind == "store_memory":
        from langgraph.store.memory import InMemoryStore

        return measure_store(InMemoryStore())
    if kind == "store_sqlite":
        from langgraph.store.sqlite import SqliteStore

        with SqliteStore.from_conn_string(os.path.join(directory, "store.db")) as store:
            store.setup()
            return measure_store(store)
    if kind == "store_postgres":
        from langgraph.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(uri) as store:
            store.setup()
            return measure_store(store)
    if kind == "vector_memory":
        from langgraph.store.memory import InMemoryStore

        return measure_vector_store(InMemoryStore(index=VECTOR_INDEX))
    if kind == "vector_sqlite":
        from langgraph.store.sqlite import SqliteStore

        path = os.path.join(directory, "vectors.db")
        with SqliteStore.from_conn_string(path, index=VECTOR_INDEX) as store:
            store.setup()
            return measure_vector_store(store)
    if kind == "vector_postgres":
        from langgraph.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(uri, index=VECTOR_INDEX) as store:
            store.setup()
            return measure_vector_store(store)
    if kind == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        saver = InMemorySaver()
        result = measure_sync(saver)
        result["e2e turns/s"] = measure_graph_sync(InMemorySaver())
    elif kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        path = os.path.join(directory, "bench.db")
        with SqliteSaver.from_conn_string(path) as saver:
            saver.setup()
            result = measure_sync(saver)
            result["bytes stored"] = sqlite_bytes(path)
        with SqliteSaver.from_conn_string(os.path.join(directory, "graph.db")) as saver:
            result["e2e turns/s"] = measure_graph_sync(saver)
    elif kind == "async_sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async def main() -> dict:
            path = os.path.join(directory, "abench.db")
            async with AsyncSqliteSaver.from_conn_string(path) as saver:
                await saver.setup()
                out = await measure_async(saver)
            out["bytes stored"] = sqlite_bytes(path)
            async with AsyncSqliteSaver.from_conn_string(
                os.path.join(directory, "agraph.db")
            ) as saver:
                out["e2e turns/s"] = await measure_graph_async(saver)
            return out

        result = asyncio.run(main())
    elif kind == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        # The reference saver needs dict rows; ours takes any row factory.
        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        with ConnectionPool(uri, min_size=THREADS, max_size=THREADS, kwargs=kwargs) as pool:
            saver = PostgresSaver(pool)
            saver.setup()
            result = measure_sync(saver)
            result["e2e turns/s"] = measure_graph_sync(saver)
        result["bytes stored"] = postgres_bytes(uri)
    elif kind == "async_postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        async def main() -> dict:
            kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
            async with AsyncConnectionPool(
                uri, min_size=THREADS, max_size=THREADS, kwargs=kwargs, open=False
            ) as pool:
                saver = AsyncPostgresSaver(pool)
                await saver.setup()
                out = await measure_async(saver)
                out["e2e turns/s"] = await measure_graph_async(saver)
            return out

        result = asyncio.run(main())
        result["bytes stored"] = postgres_bytes(uri)
    else:
        raise SystemExit(f"unknown saver {kind!r}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--saver", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--uri")
    args = parser.parse_args()
    print(json.dumps(run(args.saver, args.dir, args.uri)))
    sys.stdout.flush()
