"""The `langgraph-checkpoint` command, run as a subprocess on real databases."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite import _plans as sqlite_plans

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo.py"
COMMAND = [sys.executable, "-m", "langgraph.checkpoint.cli"]


def cli(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == expect, (out.returncode, out.stdout, out.stderr)
    return out


def cli_json(*args: str) -> Any:
    return json.loads(cli(*args, "--json").stdout)


def load_demo() -> Any:
    spec = importlib.util.spec_from_file_location("checkpoint_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's own SQLite database: one thread, an interrupt, a fork."""
    workdir = tmp_path_factory.mktemp("demo")
    subprocess.run([sys.executable, str(DEMO)], cwd=workdir, check=True, capture_output=True)
    return workdir / "demo-data" / "demo.sqlite"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state_history(saver: Any) -> list[tuple[Any, ...]]:
    graph = load_demo().build_graph(saver)
    return [
        (s.values, s.next, s.config, s.metadata, s.created_at, s.parent_config, s.tasks)
        for s in graph.get_state_history({"configurable": {"thread_id": "demo-user-1"}})
    ]


# -- read commands -------------------------------------------------------------------


def test_threads_lists_the_demo_thread(demo_db: Path) -> None:
    url = f"sqlite:///{demo_db}"
    (row,) = cli_json("threads", "--db", url)
    assert row["thread_id"] == "demo-user-1"
    assert row["checkpoints"] == 16 and row["namespaces"] == 1
    assert row["bytes"] > 0 and row["interrupted"] is False
    assert row["last_activity"].startswith("20")
    text = cli("threads", "--db", url).stdout
    assert text.splitlines()[0].split()[:2] == ["THREAD", "CHECKPOINTS"]
    assert cli_json("threads", "--db", url, "--filter", "source=update")[0]["thread_id"]
    assert cli_json("threads", "--db", url, "--filter", "source=nothing") == []
    assert len(cli_json("threads", "--db", url, "--sort", "bytes", "--limit", "1")) == 1


def test_history_shows_steps_and_the_fork(demo_db: Path) -> None:
    url = f"sqlite:///{demo_db}"
    items = cli_json("history", "--db", url, "demo-user-1")
    assert len(items) == 16
    ids = [item["checkpoint_id"] for item in items]
    assert ids == sorted(ids, reverse=True)  # newest first
    waiting = [item for item in items if item["interrupted"]]
    assert len(waiting) == 1 and waiting[0]["next"] == ["approve"]
    assert len(waiting[0]["children"]) == 2  # the original run and the fork
    assert {item["branch"] for item in items} == {0, 1}
    assert items[-1]["source"] == "input" and items[-1]["parent_checkpoint_id"] is None
    text = cli("history", "--db", url, "demo-user-1").stdout
    assert f"fork 1: from {waiting[0]['checkpoint_id']}" in text
    assert "no thread 'nope'" in cli("history", "--db", url, "nope", expect=1).stderr


def test_show_renders_the_conversation(demo_db: Path) -> None:
    url = f"sqlite:///{demo_db}"
    text = cli("show", "--db", url, "demo-user-1").stdout
    assert "human: Hello, my name is Ada" in text
    assert "ai: -> calls multiply(a=6, b=8)" in text
    assert "tool[call-1]: 48" in text
    waiting = next(i for i in cli_json("history", "--db", url, "demo-user-1") if i["interrupted"])
    data = cli_json("show", "--db", url, "demo-user-1", waiting["checkpoint_id"][:13])
    assert data["checkpoint_id"] == waiting["checkpoint_id"]
    assert data["channels"]["messages"][-1]["tool_calls"][0]["args"] == {"a": 6, "b": 7}
    interrupt = next(w for w in data["writes"] if w["channel"] == "__interrupt__")
    assert interrupt["value"][0]["__type__"] == "Interrupt"
    assert (
        "Run multiply(6, 7)? yes/no"
        in cli("show", "--db", url, "demo-user-1", waiting["checkpoint_id"]).stdout
    )


def test_diff_names_the_edited_message(demo_db: Path) -> None:
    url = f"sqlite:///{demo_db}"
    items = cli_json("history", "--db", url, "demo-user-1")
    waiting = next(item for item in items if item["interrupted"])
    edited = next(item for item in items if item["source"] == "update")
    data = cli_json(
        "diff", "--db", url, "demo-user-1", waiting["checkpoint_id"], edited["checkpoint_id"]
    )
    change = data["changed"]["messages"]
    assert change["change"] == "messages"
    assert len(change["edited"]) == 1 and not change["added"] and not change["removed"]
    assert change["edited"][0]["tool_calls"][0]["args"] == {"a": 6, "b": 8}
    latest = items[0]
    added = cli_json(
        "diff", "--db", url, "demo-user-1", edited["checkpoint_id"], latest["checkpoint_id"]
    )["changed"]["messages"]["added"]
    assert [m["type"] for m in added] == ["tool", "ai"]
    assert (
        "1 edited"
        in cli(
            "diff", "--db", url, "demo-user-1", waiting["checkpoint_id"], edited["checkpoint_id"]
        ).stdout
    )


def test_stats(demo_db: Path) -> None:
    data = cli_json("stats", "--db", f"sqlite:///{demo_db}")
    assert data["threads"] == 1 and data["checkpoints"] == 16 and data["writes"] > 0
    assert data["largest_threads"] == [{"thread_id": "demo-user-1", "bytes": data["bytes"]}]
    assert "messages" in data["bytes_by_channel"]
    assert sum(data["checkpoints_per_day"].values()) == 16


def test_read_commands_never_write(tmp_path: Path, demo_db: Path) -> None:
    # A database in the reference's layout: the saver's setup would add its
    # deletion guard and switch to WAL; a read command must do neither.
    path = tmp_path / "reference.db"
    with SqliteSaver.from_conn_string(str(tmp_path / "scratch.db")) as saver:
        saver.put(
            {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}},
            empty_checkpoint(),
            {"step": 1, "source": "loop"},
            {},
        )
    conn = sqlite3.connect(path)
    for statement in sqlite_plans.CREATE_TABLES:
        conn.execute(statement)
    conn.execute(f"ATTACH '{tmp_path / 'scratch.db'}' AS scratch")
    conn.execute("INSERT INTO checkpoints SELECT * FROM scratch.checkpoints")
    conn.commit()
    conn.close()
    before = digest(path)
    url = f"sqlite:///{path}"
    assert cli_json("threads", "--db", url)[0]["thread_id"] == "t1"
    assert cli_json("history", "--db", url, "t1")[0]["step"] == 1
    cli("show", "--db", url, "t1")
    cli("stats", "--db", url)
    assert digest(path) == before
    tables = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "checkpoint_tombstones" not in tables


def test_read_commands_on_postgres_run_read_only(postgres_server: Any) -> None:
    uri = postgres_server.new_database("cli")
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        saver.put(
            {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}},
            empty_checkpoint(),
            {"step": 1, "source": "loop"},
            {},
        )
    assert cli_json("threads", "--db", uri)[0]["checkpoints"] == 1
    # The session the read commands use refuses writes.
    out = subprocess.run(
        [sys.executable, "-c", READ_ONLY_PROBE, uri], capture_output=True, text=True, timeout=60
    )
    assert "ReadOnlySqlTransaction" in out.stdout, out.stderr


READ_ONLY_PROBE = """
import sys
from langgraph.checkpoint.cli.backend import open_backend
backend = open_backend(sys.argv[1])
try:
    backend.conn.execute("CREATE TABLE x (y int)")
except Exception as exc:
    print(type(exc).__name__)
"""


# -- errors -------------------------------------------------------------------------


def test_errors_are_one_line_with_exit_code_1(tmp_path: Path, postgres_server: Any) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE unrelated (x)").connection.commit()
    odd = tmp_path / "odd.db"
    conn = sqlite3.connect(odd)
    conn.execute("CREATE TABLE checkpoints (thread_id, payload)")
    conn.execute("CREATE TABLE writes (thread_id)")
    conn.commit()
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("hello, not a database " * 100)
    cases = {
        "mysql://localhost/x": "no backend for mysql://",
        "nonsense": "not a database URL",
        f"sqlite:///{tmp_path / 'missing.db'}": "no such database file",
        f"sqlite:///{other}": "missing table 'checkpoints'",
        f"sqlite:///{odd}": "unknown layout",
        f"sqlite:///{not_sqlite}": "not a SQLite database",
        postgres_server.new_database("cli"): "missing table 'checkpoints'",
        "postgresql://nobody@127.0.0.1:1/none": "cannot connect to PostgreSQL",
        "no_such_module:factory": "cannot load saver factory",
    }
    for url, message in cases.items():
        out = cli("threads", "--db", url, expect=1)
        assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_usage_errors_exit_2() -> None:
    cli("threads", "--sort", "size", expect=2)
    cli("frobnicate", expect=2)
    cli(expect=2)


def test_custom_saver_by_import_path(tmp_path: Path) -> None:
    factory = tmp_path / "my_savers.py"
    factory.write_text(
        "from langgraph.checkpoint.memory import InMemorySaver\n"
        "from langgraph.checkpoint.base import empty_checkpoint\n"
        "def make():\n"
        "    saver = InMemorySaver()\n"
        "    cfg = {'configurable': {'thread_id': 'mem', 'checkpoint_ns': ''}}\n"
        "    saver.put(cfg, empty_checkpoint(), {'step': 0, 'source': 'input'}, {})\n"
        "    return saver\n"
    )
    out = subprocess.run(
        [*COMMAND, "threads", "--db", "my_savers:make", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["thread_id"] == "mem"


# -- copy --------------------------------------------------------------------------


def test_copy_sqlite_to_postgres_and_back(
    demo_db: Path, tmp_path: Path, postgres_server: Any
) -> None:
    uri = postgres_server.new_database("cli")
    back = tmp_path / "back.db"
    first = cli_json("copy", f"sqlite:///{demo_db}", uri)
    assert first["ok"] and first["copied_checkpoints"] == 16 and first["copied_writes"] > 0
    again = cli_json("copy", f"sqlite:///{demo_db}", uri)
    assert again["copied_checkpoints"] == 0 and again["skipped_checkpoints"] == 16
    assert cli_json("copy", uri, f"sqlite:///{back}", "--thread", "demo-user-1")["ok"]

    with SqliteSaver.from_conn_string(str(demo_db)) as saver:
        original = state_history(saver)
    with PostgresSaver.from_conn_string(uri) as saver:
        assert state_history(saver) == original
    with SqliteSaver.from_conn_string(str(back)) as saver:
        assert state_history(saver) == original
    assert len(original) == 16
    # Task paths (which order pending writes on reading) are not in the savers'
    # `list`; copy reads them from the source and writes the same rows.
    paths = _task_paths_sqlite(demo_db)
    assert any(path for *_, path in paths)
    assert _task_paths_postgres(uri) == paths == _task_paths_sqlite(back)
    assert cli_json("history", "--db", uri, "demo-user-1") == cli_json(
        "history", "--db", f"sqlite:///{demo_db}", "demo-user-1"
    )


# Per task, not per row: `put_writes` numbers a task's writes afresh (the
# source may have gaps in `idx`; the order, which is what reads back, is kept).
_TASK_PATHS = (
    "SELECT DISTINCT thread_id, checkpoint_ns, checkpoint_id, task_id, task_path FROM {} "
    "ORDER BY thread_id, checkpoint_ns, checkpoint_id, task_id"
)


def _task_paths_sqlite(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return [tuple(row) for row in conn.execute(_TASK_PATHS.format("writes"))]


def _task_paths_postgres(uri: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return [tuple(row) for row in conn.execute(_TASK_PATHS.format("checkpoint_writes"))]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_copy_resumes(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    with SqliteSaver.from_conn_string(str(source)) as saver:
        for thread in range(300):
            config = {"configurable": {"thread_id": f"t{thread:03}", "checkpoint_ns": ""}}
            for step in range(4):
                checkpoint = empty_checkpoint()
                checkpoint["id"] = str(uuid6(clock_seq=step))
                checkpoint["channel_values"] = {"count": step}
                checkpoint["channel_versions"] = {"count": str(step + 1)}
                config = saver.put(config, checkpoint, {"step": step, "source": "loop"}, {})
                saver.put_writes(config, [("count", step + 1)], f"task-{step}")
    destination = tmp_path / "destination.db"
    process = subprocess.Popen(
        [*COMMAND, "copy", f"sqlite:///{source}", f"sqlite:///{destination}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell runs background jobs with SIGINT ignored, and the child would
        # inherit that (Python then installs no KeyboardInterrupt handler): the
        # copy ran to the end when `make test` was started with `&`.
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if destination.exists() and _count(destination) >= 100:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    done = _count(destination)
    assert 100 <= done < 1200
    resumed = cli_json("copy", f"sqlite:///{source}", f"sqlite:///{destination}")
    assert resumed["ok"]
    assert resumed["skipped_checkpoints"] >= done - 1  # the last one may lack its writes
    assert resumed["copied_checkpoints"] + resumed["skipped_checkpoints"] == 1200
    assert _count(destination) == 1200
    assert sqlite3.connect(destination).execute("SELECT count(*) FROM writes").fetchone() == (1200,)


def _count(path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0
