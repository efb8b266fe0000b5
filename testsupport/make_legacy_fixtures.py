"""Checkpoints in the old format (v1, pending sends beside the channels) and
what the current reference packages read from them.

Before checkpoint format v4, a `Send` did not live in a channel: LangGraph
0.2 kept the step's sends in the checkpoint's `pending_sends` list. SQLite
stored that list inside the serialized checkpoint; Postgres stored `[]` there
and kept the sends as the parent checkpoint's `__pregel_tasks` writes. Current
readers move them into the `__pregel_tasks` channel (the Postgres saver does
it while reading, LangGraph does it for a checkpoint that still carries
`pending_sends`). The files made here hold three threads of one fan-out graph
written by langgraph 0.2.76 (langgraph-checkpoint 2.0.16, -sqlite 2.0.6,
-postgres 2.0.15):

* `interrupted`: stopped before the `work` nodes (`interrupt_before`), so the
  latest checkpoint carries three pending sends;
* `failed`: one `work` task raised; the latest checkpoint carries the sends and
  the writes of the two tasks that succeeded plus the error;
* `finished`: ran to the end; a checkpoint in the middle of its history
  carries the sends.

Making them takes two throwaway venvs outside the repository, each with pytest
and psycopg[binary]:

    python3 -m venv /tmp/old && /tmp/old/bin/pip install pytest 'psycopg[binary]' \\
        langgraph==0.2.76 langgraph-checkpoint==2.0.16 \\
        langgraph-checkpoint-sqlite==2.0.6 langgraph-checkpoint-postgres==2.0.15
    python3 -m venv /tmp/cur && /tmp/cur/bin/pip install pytest 'psycopg[binary]' \\
        langgraph==1.2.22 langgraph-checkpoint==4.3.2 \\
        langgraph-checkpoint-sqlite==3.1.2 langgraph-checkpoint-postgres==3.2.0
    /tmp/old/bin/python testsupport/make_legacy_fixtures.py write
    /tmp/cur/bin/python testsupport/make_legacy_fixtures.py read

`write` makes `legacy-sends.db` (SQLite tests' fixtures) and `legacy-sends.sql`
(a plain pg_dump, Postgres tests' fixtures); `read` records beside each one
`legacy-sends.expected.json`: per thread, what `list()` returns (channel
values, versions, pending writes, any `pending_sends` left in the checkpoint),
what `get_state` shows, and the final state after resuming on the current
LangGraph. The tests build the same views with our savers (`describe_tuples`,
`resume`) and compare.
"""

from __future__ import annotations

import json
import operator
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, Any

from typing_extensions import TypedDict

ROOT = Path(__file__).resolve().parents[1]
SQLITE_DB = ROOT / "libs/checkpoint-sqlite/tests/fixtures/legacy-sends.db"
POSTGRES_DUMP = ROOT / "libs/checkpoint-postgres/tests/fixtures/legacy-sends.sql"
THREADS = ("interrupted", "failed", "finished")
# Threads whose run stopped before the end, so resuming finishes them.
RESUMABLE = ("interrupted", "failed")


class State(TypedDict):
    topic: str
    results: Annotated[list[str], operator.add]
    summary: str


class _Fail:
    # Set only while `write` runs the `failed` thread.
    part: int | None = None


def _plan(state: State) -> dict:
    return {"topic": state["topic"].upper()}


def _fan_out(state: State) -> list:
    from langgraph.types import Send

    return [Send("work", {"topic": state["topic"], "part": i}) for i in range(3)]


def _work(arg: dict) -> dict:
    if arg["part"] == _Fail.part:
        raise RuntimeError(f"part {arg['part']} failed")
    return {"results": [f"{arg['topic']}-{arg['part']}"]}


def _summarize(state: State) -> dict:
    return {"summary": ",".join(sorted(state["results"]))}


def build_legacy_graph(checkpointer: Any, *, interrupt: bool = False) -> Any:
    """The graph that wrote the fixtures; runs on langgraph 0.2 and 1.x alike."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    builder.add_node("plan", _plan)
    builder.add_node("work", _work)
    builder.add_node("summarize", _summarize)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", _fan_out, ["work"])
    builder.add_edge("work", "summarize")
    builder.add_edge("summarize", END)
    return builder.compile(
        checkpointer=checkpointer, interrupt_before=["work"] if interrupt else None
    )


def thread_config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def plain(value: Any) -> Any:
    """A JSON view of stored values: Sends and exceptions by their fields."""
    if hasattr(value, "node") and hasattr(value, "arg"):
        return {"send": value.node, "arg": plain(value.arg)}
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def describe_tuples(tuples: list) -> list[dict]:
    """What a `list()` page shows, newest first, in JSON form."""
    out = []
    for t in tuples:
        view = {
            "checkpoint_id": t.checkpoint["id"],
            "v": t.checkpoint["v"],
            "channel_values": plain(t.checkpoint["channel_values"]),
            "channel_versions": dict(t.checkpoint["channel_versions"]),
            "pending_writes": plain([list(w) for w in t.pending_writes or []]),
            "parent_checkpoint_id": (
                t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None
            ),
        }
        if "pending_sends" in t.checkpoint:
            view["pending_sends"] = plain(t.checkpoint["pending_sends"])
        out.append(view)
    return out


def describe_state(state: Any) -> dict:
    """What a `StateSnapshot` shows of the pending sends: the tasks they make."""
    return {
        "values": plain(state.values),
        "next": list(state.next),
        "tasks": [{"name": t.name, "error": t.error is not None} for t in state.tasks],
    }


def resume(graph: Any, thread_id: str) -> dict:
    """Finish a stopped thread; returns the final state's values."""
    return plain(graph.invoke(None, thread_config(thread_id)))


def record(saver: Any, resumed: dict[str, dict]) -> dict:
    graph = build_legacy_graph(saver)
    threads = {}
    for thread_id in THREADS:
        config = thread_config(thread_id)
        threads[thread_id] = {
            "list": describe_tuples(list(saver.list(config))),
            "get_tuple": describe_tuples([saver.get_tuple(config)]),
            "state": describe_state(graph.get_state(config)),
        }
        if thread_id in resumed:
            threads[thread_id]["resumed"] = resumed[thread_id]
    return {
        "written_by": "langgraph 0.2.76, langgraph-checkpoint 2.0.16, -sqlite 2.0.6, -postgres 2.0.15",
        "read_by": "langgraph 1.2.22, langgraph-checkpoint 4.3.2, -sqlite 3.1.2, -postgres 3.2.0",
        "threads": threads,
    }


def _run_threads(saver: Any) -> None:
    build_legacy_graph(saver, interrupt=True).invoke({"topic": "a"}, thread_config("interrupted"))
    _Fail.part = 1
    try:
        build_legacy_graph(saver).invoke({"topic": "b"}, thread_config("failed"))
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failing part did not fail")
    finally:
        _Fail.part = None
    build_legacy_graph(saver).invoke({"topic": "c"}, thread_config("finished"))


def write() -> None:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    from testsupport.postgres_server import ThrowawayPostgres

    SQLITE_DB.unlink(missing_ok=True)
    conn = sqlite3.connect(SQLITE_DB, check_same_thread=False)
    try:
        _run_threads(SqliteSaver(conn))
        conn.commit()
    finally:
        conn.close()
    with ThrowawayPostgres() as server:
        uri = server.new_database("legacy_sends")
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()
            _run_threads(saver)
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", uri],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    POSTGRES_DUMP.write_text(dump)


def observe(fresh: Callable[[], AbstractContextManager], *, prune: bool) -> dict:
    """Everything `read` records, each run on a new copy of the fixture from
    `fresh()` (a context manager yielding a saver): the reads, each stopped
    thread resumed, and with `prune`, the `interrupted` thread after
    `prune(keep_latest)` and resumed from there."""
    resumed = {}
    for thread_id in RESUMABLE:
        with fresh() as saver:
            resumed[thread_id] = resume(build_legacy_graph(saver), thread_id)
    with fresh() as saver:
        seen = record(saver, resumed)
    if prune:
        with fresh() as saver:
            saver.prune(["interrupted"])
            seen["interrupted_after_prune"] = {
                "list": describe_tuples(list(saver.list(thread_config("interrupted")))),
                "resumed": resume(build_legacy_graph(saver), "interrupted"),
            }
    return seen


@contextmanager
def sqlite_copy(saver_class: Any) -> Iterator[Any]:
    """A saver of `saver_class` on a copy of the SQLite fixture."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / SQLITE_DB.name
        shutil.copy(SQLITE_DB, path)
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            yield saver_class(conn)
        finally:
            conn.close()


def expected_path(fixture: Path) -> Path:
    return fixture.with_name("legacy-sends.expected.json")


def read() -> None:
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    from testsupport.postgres_server import ThrowawayPostgres

    # The reference SqliteSaver has no prune.
    seen = observe(lambda: sqlite_copy(SqliteSaver), prune=False)
    expected_path(SQLITE_DB).write_text(json.dumps(seen, indent=1) + "\n")
    with ThrowawayPostgres() as server:
        seen = observe(
            lambda: PostgresSaver.from_conn_string(server.restore(POSTGRES_DUMP)), prune=True
        )
    expected_path(POSTGRES_DUMP).write_text(json.dumps(seen, indent=1) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    {"write": write, "read": read}[sys.argv[1]]()
