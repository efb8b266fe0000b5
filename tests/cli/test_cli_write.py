"""The write commands of `langgraph-checkpoint` (prune, sweep, compact, expand),
run as a subprocess on real SQLite files and a throwaway Postgres."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.base.retention import id_floor_minutes_ago
from langgraph.checkpoint.cli.copying import comparable
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver

REPO = Path(__file__).resolve().parents[2]
SQLITE_FIXTURES = REPO / "libs" / "checkpoint-sqlite" / "tests" / "fixtures"
POSTGRES_FIXTURES = REPO / "libs" / "checkpoint-postgres" / "tests" / "fixtures"
COMMAND = [sys.executable, "-m", "langgraph.checkpoint.cli"]
STEPS = 4
OLD = ("old-1", "old-2")  # last written ten hours ago
FRESH = "fresh"  # written just now


def cli(
    *args: str, expect: int = 0, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=120, stdin=stdin
    )
    assert out.returncode == expect, (out.returncode, out.stdout, out.stderr)
    return out


def cli_json(*args: str) -> Any:
    return json.loads(cli(*args, "--json").stdout)


@contextmanager
def saver_for(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    if url.startswith("sqlite:///"):
        with SqliteSaver.from_conn_string(url.removeprefix("sqlite:///")) as sqlite_saver:
            yield sqlite_saver
    else:
        with PostgresSaver.from_conn_string(url) as postgres_saver:
            postgres_saver.setup()
            yield postgres_saver


def fill(saver: BaseCheckpointSaver[Any], thread_id: str, *, minutes_ago: float | None) -> None:
    """`STEPS` checkpoints of a growing message list, each with a pending write."""
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    messages: list[str] = []
    version = None
    for step in range(STEPS):
        checkpoint = empty_checkpoint()
        if minutes_ago is None:
            checkpoint["id"] = str(uuid6(clock_seq=step))
        else:  # a UUIDv6 of that moment: the id carries the time the sweep reads
            checkpoint["id"] = id_floor_minutes_ago(minutes_ago - step)
        messages = [*messages, f"message {step} of {thread_id} " * 10]
        version = saver.get_next_version(version, None)
        checkpoint["channel_values"] = {"messages": messages}
        checkpoint["channel_versions"] = {"messages": version}
        config = saver.put(
            config, checkpoint, {"step": step, "source": "loop"}, {"messages": version}
        )
        saver.put_writes(config, [("messages", f"pending {step}")], f"task-{step}")


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database holding two old threads and a fresh one."""
    if request.param == "sqlite":
        location = f"sqlite:///{tmp_path / 'write.db'}"
    else:
        location = request.getfixturevalue("postgres_server").new_database("cli")
    with saver_for(location) as saver:
        for thread_id in OLD:
            fill(saver, thread_id, minutes_ago=600)
        fill(saver, FRESH, minutes_ago=None)
    return location


def snapshot(url: str) -> dict[str, list[str]]:
    """The schema and every row of every table, so that a dry run can be shown
    to change nothing (not even a setup's migrations)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            schema = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            tables = [name for kind, name, _ in schema if kind == "table"]
            rows = {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
            return {"schema": sorted(map(repr, schema)), **rows}
        finally:
            conn.close()
    with psycopg.connect(url) as pg:
        tables = [
            name
            for (name,) in pg.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        ]
        rows = {t: sorted(map(repr, pg.execute(f"SELECT * FROM {t}"))) for t in tables}
        triggers = pg.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        functions = pg.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
        ).fetchall()
        return {"triggers": sorted(map(repr, triggers + functions)), **rows}


def counts(url: str) -> dict[str, int]:
    return {row["thread_id"]: row["checkpoints"] for row in cli_json("threads", "--db", url)}


def state(url: str) -> list[Any]:
    """Every checkpoint of every thread as the saver reads it back."""
    with saver_for(url) as saver:
        return [comparable(item) for item in saver.list(None)]


# -- prune ---------------------------------------------------------------------------


def test_prune_each_strategy(url: str) -> None:
    before = snapshot(url)
    rehearsed = cli_json("prune", "--db", url, "old-1", "--dry-run")
    assert rehearsed["dry_run"] and rehearsed["strategy"] == "keep_latest"
    assert rehearsed["checkpoints_deleted"] == STEPS - 1
    assert rehearsed["threads"] == [
        {"thread_id": "old-1", "checkpoints_before": STEPS, "checkpoints_after": 1}
    ]
    assert "dry run: nothing was changed" in cli("prune", "--db", url, "old-1", "--dry-run").stdout
    assert snapshot(url) == before

    pruned = cli_json("prune", "--db", url, "old-1", "--yes")
    assert not pruned["dry_run"]
    assert {k: v for k, v in pruned.items() if k != "dry_run"} == {
        k: v for k, v in rehearsed.items() if k != "dry_run"
    }
    kept_last = cli_json(
        "prune", "--db", url, "old-2", "--strategy", "keep_last", "--keep", "2", "--yes"
    )
    assert kept_last["checkpoints_deleted"] == STEPS - 2 and kept_last["threads_trimmed"] == 1
    deleted = cli_json("prune", "--db", url, FRESH, "--strategy", "delete", "--yes")
    assert deleted["threads_deleted"] == 1 and deleted["checkpoints_deleted"] == STEPS
    assert counts(url) == {"old-1": 1, "old-2": 2}
    latest = cli_json("show", "--db", url, "old-1")
    assert len(latest["channels"]["messages"]) == STEPS  # the latest state is intact

    out = cli("prune", "--db", url, "nope", "--yes", expect=1)
    assert "no thread 'nope'" in out.stderr


def test_prune_usage_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'any.db'}"
    assert (
        "needs --keep" in cli("prune", "--db", url, "t", "--strategy", "keep_last", expect=2).stderr
    )
    assert "--keep goes with" in cli("prune", "--db", url, "t", "--keep", "2", expect=2).stderr
    cli("prune", "--db", url, "t", "--strategy", "keep_last", "--keep", "0", expect=2)
    cli("prune", "--db", url, expect=2)  # no thread
    cli("sweep", "--db", url, "--ttl", "-5", expect=2)
    assert not (tmp_path / "any.db").exists()  # refused before anything was opened


# -- sweep ---------------------------------------------------------------------------


def test_sweep_dry_run_lists_the_threads_then_sweeps(url: str) -> None:
    before = snapshot(url)
    trimmed = cli_json(
        "sweep", "--db", url, "--ttl", "60", "--strategy", "keep_latest", "--dry-run"
    )
    assert trimmed["threads_trimmed"] == 2 and trimmed["threads_deleted"] == 0
    assert [t["checkpoints_after"] for t in trimmed["threads"]] == [1, 1]
    rehearsed = cli_json("sweep", "--db", url, "--ttl", "60", "--dry-run")
    assert rehearsed["dry_run"] and rehearsed["threads_deleted"] == 2
    assert rehearsed["checkpoints_deleted"] == 2 * STEPS
    assert [t["thread_id"] for t in rehearsed["threads"]] == list(OLD)
    text = cli("sweep", "--db", url, "--ttl", "60", "--dry-run").stdout
    assert "old-1" in text and "old-2" in text and FRESH not in text
    assert snapshot(url) == before

    swept = cli_json("sweep", "--db", url, "--ttl", "60", "--yes")
    assert swept["threads_deleted"] == 2 and swept["threads"] == rehearsed["threads"]
    assert counts(url) == {FRESH: STEPS}
    assert cli_json("sweep", "--db", url, "--ttl", "60", "--yes")["checkpoints_deleted"] == 0
    trimmed_last = cli_json("sweep", "--db", url, "--keep-last", "3", "--yes")
    assert trimmed_last["threads_trimmed"] == 1 and counts(url) == {FRESH: 3}


# -- compact / expand ----------------------------------------------------------------


def test_compact_and_expand(url: str) -> None:
    original = state(url)
    before = snapshot(url)
    rehearsed = cli_json("compact", "--db", url, "--dry-run", "--no-progress")
    assert rehearsed["dry_run"] and rehearsed["rows_rewritten"] > 0
    assert snapshot(url) == before

    out = cli("compact", "--db", url, "--yes", "--json")
    assert "compact [" in out.stderr and "3/3 threads" in out.stderr  # progress
    assert json.loads(out.stdout)["rows_rewritten"] == rehearsed["rows_rewritten"]
    assert snapshot(url) != before
    assert state(url) == original
    assert cli_json("compact", "--db", url, "--yes", "--no-progress")["rows_rewritten"] == 0

    expanded = cli_json("expand", "--db", url, "--yes", "--no-progress")
    assert expanded["rows_rewritten"] > 0
    assert state(url) == original
    assert "rows rewritten" in cli("expand", "--db", url, "--yes", "--no-progress").stdout


# -- confirmation --------------------------------------------------------------------


def test_without_yes_a_non_terminal_stdin_is_refused(url: str) -> None:
    before = snapshot(url)
    for command in (
        ["prune", "old-1"],
        ["sweep", "--ttl", "60"],
        ["compact"],
        ["expand"],
    ):
        out = cli(*command, "--db", url, expect=2)
        assert "pass --yes" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert snapshot(url) == before


def run_on_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as stdin, answering its prompt."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [*COMMAND, *args],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(controller, answer.encode() + b"\n")
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    return process.returncode, stderr


def test_a_terminal_is_asked_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'asked.db'}"
    with saver_for(url) as saver:
        fill(saver, "old-1", minutes_ago=600)
    before = snapshot(url)
    code, stderr = run_on_terminal(["prune", "--db", url, "old-1"], "n")
    assert code == 1 and "Prune 1 thread(s)" in stderr and "not confirmed" in stderr
    assert snapshot(url) == before
    code, stderr = run_on_terminal(["prune", "--db", url, "old-1"], "y")
    assert code == 0, stderr
    assert counts(url) == {"old-1": 1}


def test_dry_runs_leave_a_reference_database_as_it_was(
    tmp_path: Path, postgres_server: Any
) -> None:
    # Never set up by our savers: a real run would migrate it first, a dry run
    # rehearses that too and keeps nothing.
    reference_file = tmp_path / "upstream.db"
    reference_file.write_bytes((SQLITE_FIXTURES / "upstream-sqlite.db").read_bytes())
    urls = [
        f"sqlite:///{reference_file}",
        postgres_server.restore(POSTGRES_FIXTURES / "upstream-postgres.sql"),
    ]
    for url in urls:
        before = snapshot(url)
        thread_id = cli_json("threads", "--db", url)[0]["thread_id"]
        assert cli_json("prune", "--db", url, thread_id, "--dry-run")["dry_run"]
        assert cli_json("sweep", "--db", url, "--keep-last", "1", "--dry-run")["dry_run"]
        assert cli_json("compact", "--db", url, "--dry-run", "--no-progress")["rows_rewritten"] > 0
        assert snapshot(url) == before, url


def test_dry_run_of_a_custom_saver_is_refused(tmp_path: Path) -> None:
    out = cli("prune", "--db", "my_savers:make", "t", "--dry-run", expect=1)
    assert "needs a sqlite:// or postgresql:// database" in out.stderr
