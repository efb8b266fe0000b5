"""Connection faults under the Postgres savers, on real servers.

Backends terminated in the middle of a call (on a pool, on a connection the
saver opened, on a connection the user passed), killed while their COMMIT is
in flight, a server restarted under a write loop, and PgBouncer in transaction
mode in front of concurrent clients. Every test keeps a ledger: each call
that returned normally must be readable afterwards exactly as written, and
each call that did not must have raised a connection error (counted). The
writing scenarios run with compact storage too, read back by a new plain
saver as well (the writer's cache could hide a bad delta).

The async savers are driven through their sync methods from other threads
(their event loop runs in a thread of its own), so the same scenarios run on
both; the PgBouncer test also runs real asyncio tasks.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.compact import DELTA_TYPE
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres._plans import ListPages
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from testsupport.loop_thread import on_loop_thread
from testsupport.pgbouncer_server import ThrowawayPgBouncer
from testsupport.postgres_server import ThrowawayPostgres

CALL_TIMEOUT = 60  # seconds: a hung call fails the test instead of hanging it
KINDS = ["pool", "conn", "pipe", "async-pool", "async-conn", "async-pipe"]
# The same savers with compact storage: each put's growing "log" is a delta
# on the writer's previous one, checked by the server under the thread's lock.
WRITING_KINDS = KINDS + [f"{kind}-compact" for kind in KINDS]


# -- savers of every kind, usable from plain threads ---------------------------------


@asynccontextmanager
async def async_pool_saver(uri: str, compact: bool = False, **pool_options):
    async with AsyncConnectionPool(uri, open=False, **pool_options) as pool:
        yield AsyncPostgresSaver(pool, compact=compact)


@contextmanager
def saver_of_kind(kind: str, uri: str, **connect) -> Iterator[Any]:
    """`pool`/`async-pool`: a pool of one connection, so a terminated backend
    is the one the next call gets; `conn`/`async-conn`: from_conn_string's own
    connection; `pipe`/`async-pipe`: the same in pipeline mode; `-compact`
    after any of them: with compact=True. `connect` goes to psycopg (e.g.
    prepare_threshold)."""
    compact = kind.endswith("-compact")
    kind = kind.removesuffix("-compact")
    pool_options = {
        "min_size": 1,
        "max_size": 1,
        "timeout": 10,
        "kwargs": {"autocommit": True, **connect},
    }
    if kind == "pool":
        with ConnectionPool(uri, **pool_options) as pool:
            yield PostgresSaver(pool, compact=compact)
    elif kind in ("conn", "pipe"):
        pipeline = kind == "pipe"
        with PostgresSaver.from_conn_string(
            uri, pipeline=pipeline, compact=compact, **connect
        ) as saver:
            yield saver
    elif kind == "async-pool":
        with on_loop_thread(lambda: async_pool_saver(uri, compact, **pool_options)) as saver:
            yield saver
    else:
        pipeline = kind == "async-pipe"
        with on_loop_thread(
            lambda: AsyncPostgresSaver.from_conn_string(
                uri, pipeline=pipeline, compact=compact, **connect
            )
        ) as saver:
            yield saver


# -- the ledger --------------------------------------------------------------------


def values_of(value: int) -> dict[str, Any]:
    """A checkpoint's values at step `value`: its "log" extends the one of
    every smaller step (a compact saver stores it as a delta)."""
    log = [f"entry {i}: " + "text " * 40 for i in range(value + 1)]
    return {"v": value, "blob": f"payload-{value}".encode(), "log": log}


def checkpoint_of(saver, value: int):
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = values_of(value)
    checkpoint["channel_versions"] = dict.fromkeys(checkpoint["channel_values"], version)
    return checkpoint, dict(checkpoint["channel_versions"])


CONNECTION_ERRORS = (psycopg.OperationalError, RuntimeError)


@dataclass
class Ledger:
    """What the savers acknowledged, and the calls that raised."""

    checkpoints: dict[str, tuple[dict, int]] = field(default_factory=dict)
    writes: dict[str, list] = field(default_factory=dict)
    failures: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, saver, thread_id: str, value: int, parent: dict | None = None) -> dict | None:
        base = parent or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        checkpoint, versions = checkpoint_of(saver, value)
        try:
            config = saver.put(base, checkpoint, {"step": value, "writer": thread_id}, versions)
        except CONNECTION_ERRORS as exc:
            self.failed(exc)
            return None
        with self.lock:
            self.checkpoints[config["configurable"]["checkpoint_id"]] = (config, value)
        return config

    def put_writes(self, saver, config: dict, value: int) -> bool:
        writes = [("v", value), ("note", f"w{value}")]
        try:
            saver.put_writes(config, writes, "task-1")
        except CONNECTION_ERRORS as exc:
            self.failed(exc)
            return False
        with self.lock:
            self.writes[config["configurable"]["checkpoint_id"]] = [
                ("task-1", channel, v) for channel, v in writes
            ]
        return True

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.failures.append(exc)

    def assert_all_readable(self, saver, uri: str | None = None) -> None:
        """Every acknowledged checkpoint reads back exactly, with its writes,
        by `saver` and (given its database's `uri`) by a new plain saver,
        which reads every delta from the database, not from a cache."""
        if uri is not None:
            with PostgresSaver.from_conn_string(uri) as fresh:
                self.assert_all_readable(fresh)
        assert self.checkpoints, "nothing was acknowledged: the test exercised nothing"
        for checkpoint_id, (config, value) in self.checkpoints.items():
            stored = saver.get_tuple(config)
            assert stored is not None, f"acknowledged checkpoint {checkpoint_id} is gone"
            assert stored.checkpoint["channel_values"] == values_of(value)
            assert stored.metadata["step"] == value
            expected_writes = self.writes.get(checkpoint_id, [])
            for write in expected_writes:
                assert write in stored.pending_writes, f"acknowledged write {write} is gone"


# -- killing a backend in the middle of a call ----------------------------------------


def terminate_waiting(admin_uri: str, app_name: str) -> int:
    """Terminate the backends of `app_name` as soon as one waits for a lock."""
    deadline = time.monotonic() + CALL_TIMEOUT
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        while time.monotonic() < deadline:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND wait_event_type = 'Lock'",
                (app_name,),
            ).fetchone()[0]
            if killed:
                return killed
            time.sleep(0.02)
    raise AssertionError(f"no backend of {app_name} ever waited for the lock")


def terminate_idle(admin_uri: str, app_name: str) -> int:
    """Terminate the backends of `app_name` and wait until they are gone (up to
    10 s): without the wait, a backend could still be exiting when the next
    call starts, and that call then meets two faults (its connection, and the
    one its retry got), which it rightly reports as a failure."""
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        return admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
            "FROM pg_stat_activity WHERE application_name = %s",
            (app_name,),
        ).fetchone()[0]


def killed_during(admin_uri: str, uri: str, app_name: str, lock_sql: str, call: Callable):
    """Run `call` while a lock it needs is held, terminate its backend once it
    waits, release the lock, and return what the call returned (or raise)."""
    with psycopg.connect(uri, autocommit=True) as holder, ThreadPoolExecutor(1) as pool:
        holder.execute("BEGIN")
        holder.execute(lock_sql)
        future = pool.submit(call)
        try:
            assert terminate_waiting(admin_uri, app_name) >= 1
        finally:
            holder.execute("ROLLBACK")
        return future.result(CALL_TIMEOUT)


def with_app_name(uri: str, app_name: str) -> str:
    return f"{uri}?application_name={app_name}"


@pytest.fixture(scope="module")
def ready_uri(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    return postgres_uri


@pytest.fixture
def victim(ready_uri):
    """A conninfo whose backends the test can find and terminate."""
    app_name = f"victim-{uuid.uuid4().hex[:8]}"
    return app_name, with_app_name(ready_uri, app_name), ready_uri


@pytest.mark.parametrize("kind", WRITING_KINDS)
def test_idle_backend_terminated_between_calls(kind, postgres_server, victim, monkeypatch):
    """The next call finds its connection dead: it runs again on a new one,
    never returns having done nothing."""
    # every list page of more than one row streamed, however small its rows
    monkeypatch.setattr(ListPages, "STREAM_FROM_BYTES", 0)
    app_name, uri, plain_uri = victim
    ledger = Ledger()
    thread_id = f"idle-{kind}-{app_name}"
    with saver_of_kind(kind, uri) as saver:
        config = ledger.put(saver, thread_id, 0)
        for step in range(1, 4):
            assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
            config = ledger.put(saver, thread_id, step, config)
            assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
            assert ledger.put_writes(saver, config, step)
            assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
            assert saver.get_tuple(config).checkpoint["channel_values"]["v"] == step
            assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
            history = list(saver.list({"configurable": {"thread_id": thread_id}}))
            assert [h.metadata["step"] for h in history] == list(range(step, -1, -1))
            assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
            page = list(saver.list({"configurable": {"thread_id": thread_id}}, limit=2))
            assert [h.metadata["step"] for h in page] == [step, step - 1]  # a streamed page
        assert ledger.failures == []
        ledger.assert_all_readable(saver, plain_uri)
        assert_deltas_stored(kind, plain_uri, thread_id)
        assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
        saver.delete_thread(thread_id)  # not committed when it broke: runs again
        assert list(saver.list({"configurable": {"thread_id": thread_id}})) == []


@pytest.mark.parametrize("kind", WRITING_KINDS)
def test_backend_terminated_in_the_middle_of_each_call(kind, postgres_server, victim):
    """Killed while waiting for a lock, before anything could commit: every
    call is run again from its start on a new connection and does its work."""
    app_name, uri, plain_uri = victim
    admin = postgres_server.admin_uri
    ledger = Ledger()
    thread_id = f"mid-{kind}-{app_name}"
    with saver_of_kind(kind, uri) as saver:
        first = ledger.put(saver, thread_id, 0)

        def locked(table: str, call: Callable):
            return killed_during(
                admin, plain_uri, app_name, f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", call
            )

        second = locked("checkpoints", lambda: ledger.put(saver, thread_id, 1, first))
        assert second is not None
        assert locked("checkpoint_writes", lambda: ledger.put_writes(saver, second, 1))
        got = locked("checkpoints", lambda: saver.get_tuple(second))
        assert got is not None and got.checkpoint["channel_values"]["v"] == 1
        listed = locked(
            "checkpoints", lambda: list(saver.list({"configurable": {"thread_id": thread_id}}))
        )
        assert [c.metadata["step"] for c in listed] == [1, 0]
        assert ledger.failures == []
        ledger.assert_all_readable(saver, plain_uri)

        # Halfway: the checkpoints are deleted, the blobs wait for the lock.
        locked("checkpoint_blobs", lambda: saver.delete_thread(thread_id))
        assert rows_of(plain_uri, thread_id) == dict.fromkeys(
            ("checkpoints", "checkpoint_blobs", "checkpoint_writes"), 0
        ), "delete_thread returned but left rows behind"


# -- killed while the COMMIT is in flight ----------------------------------------------

GATE_KEY = 4242

GATE_SQL = f"""
CREATE FUNCTION fault_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock_shared({GATE_KEY}); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER fault_gate AFTER INSERT OR UPDATE OR DELETE ON checkpoints
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_gate();
"""


@pytest.fixture
def gated(postgres_server):
    """A database whose commits touching `checkpoints` wait at COMMIT while the
    gate (an advisory lock) is held: killed there, the client cannot know
    whether its transaction committed."""
    uri = postgres_server.new_database("gated")
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(GATE_SQL)
    app_name = f"gated-{uuid.uuid4().hex[:8]}"
    return uri, app_name, with_app_name(uri, app_name)


def killed_at_commit(admin_uri: str, uri: str, app_name: str, call: Callable):
    return killed_during(
        admin_uri, uri, app_name, f"SELECT pg_advisory_xact_lock({GATE_KEY})", call
    )


def assert_deltas_stored(kind: str, uri: str, thread_id: str) -> None:
    """A compact saver stored some of the thread's values as deltas (else the
    test did not exercise compact storage), a plain one none."""
    with psycopg.connect(uri) as conn:
        deltas = conn.execute(
            "SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %s AND type = %s",
            (thread_id, DELTA_TYPE),
        ).fetchone()[0]
    assert (deltas > 0) == kind.endswith("-compact"), f"{deltas} delta blobs"


def rows_of(uri: str, thread_id: str) -> dict[str, int]:
    with psycopg.connect(uri) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM {table} WHERE thread_id = %s", (thread_id,)
            ).fetchone()[0]
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        }


@pytest.mark.parametrize("kind", WRITING_KINDS)
def test_killed_at_commit_upserts_run_again_deletes_raise(kind, postgres_server, gated):
    """A put is an upsert: running it twice leaves what running it once does,
    so it is retried. delete_thread is not (a second run would also delete
    what others wrote in between), so it raises: and the database shows it
    either deleted everything or nothing."""
    plain_uri, app_name, uri = gated
    admin = postgres_server.admin_uri
    ledger = Ledger()
    thread_id = f"commit-{kind}-{app_name}"
    with saver_of_kind(kind, uri) as saver:
        config = killed_at_commit(
            admin, plain_uri, app_name, lambda: ledger.put(saver, thread_id, 0)
        )
        assert config is not None and ledger.failures == []
        assert ledger.put_writes(saver, config, 0)
        config = killed_at_commit(  # compact: a delta, its chain checked again by the retry
            admin, plain_uri, app_name, lambda: ledger.put(saver, thread_id, 1, config)
        )
        assert config is not None and ledger.failures == []
        ledger.assert_all_readable(saver, plain_uri)
        assert_deltas_stored(kind, plain_uri, thread_id)
        before = rows_of(plain_uri, thread_id)

        with pytest.raises(CONNECTION_ERRORS):
            killed_at_commit(admin, plain_uri, app_name, lambda: saver.delete_thread(thread_id))
        assert rows_of(plain_uri, thread_id) in (before, dict.fromkeys(before, 0))
        saver.delete_thread(thread_id)  # the next call works
        assert rows_of(plain_uri, thread_id) == dict.fromkeys(before, 0)


def test_shallow_put_retried_before_commit_raises_at_commit(postgres_server, gated):
    plain_uri, app_name, uri = gated
    admin = postgres_server.admin_uri
    thread_id = f"shallow-{app_name}"
    with ShallowPostgresSaver.from_conn_string(uri) as saver:
        checkpoint, versions = checkpoint_of(saver, 1)
        base = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        first = killed_during(
            admin,
            plain_uri,
            app_name,
            "LOCK TABLE checkpoint_blobs IN ACCESS EXCLUSIVE MODE",
            lambda: saver.put(base, checkpoint, {"step": 1}, versions),
        )
        assert saver.get_tuple(first).checkpoint["channel_values"]["v"] == 1
        checkpoint, versions = checkpoint_of(saver, 2)
        with pytest.raises(CONNECTION_ERRORS):
            killed_at_commit(
                admin, plain_uri, app_name, lambda: saver.put(first, checkpoint, {}, versions)
            )
        latest = saver.get_tuple(base)  # one or the other, whole
        assert latest.checkpoint["channel_values"]["v"] in (1, 2)
        assert len(list(saver.list(base))) == 1


# -- a connection the user passed stays theirs -----------------------------------------


def test_users_connection_is_not_replaced(postgres_server, victim):
    app_name, uri, _ = victim
    with psycopg.connect(uri, autocommit=True) as conn:
        saver = PostgresSaver(conn)
        ledger = Ledger()
        config = ledger.put(saver, f"user-{app_name}", 0)
        assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
        for _ in range(2):
            with pytest.raises(RuntimeError, match="connection you passed") as raised:
                saver.get_tuple(config)
            assert isinstance(raised.value.__cause__, psycopg.OperationalError)
        assert saver.conn is conn and conn.broken
    with PostgresSaver.from_conn_string(uri) as fresh:
        ledger.assert_all_readable(fresh)


async def test_users_async_connection_is_not_replaced(postgres_server, victim):
    app_name, uri, _ = victim
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        saver = AsyncPostgresSaver(conn)
        assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
        for _ in range(2):
            with pytest.raises(RuntimeError, match="connection you passed"):
                await saver.aget_tuple({"configurable": {"thread_id": "t"}})
        assert saver.conn is conn and conn.broken


def test_callers_open_transaction_is_never_continued_elsewhere(postgres_server, victim):
    """A transaction opened on the saver's own connection dies with it: the
    next call must raise (its earlier statements are gone), not carry on,
    on a new connection, as if the transaction were still there."""
    app_name, uri, _ = victim
    ledger = Ledger()
    thread_id = f"txn-{app_name}"
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.conn.execute("BEGIN")
        in_transaction = ledger.put(saver, thread_id, 0)
        assert terminate_idle(postgres_server.admin_uri, app_name) >= 1
        assert ledger.put(saver, thread_id, 1, in_transaction) is None
        assert len(ledger.failures) == 1
        # The next call runs on a new connection; the transaction's put is gone with it.
        assert saver.get_tuple(in_transaction) is None
        assert ledger.put(saver, thread_id, 2) is not None


# -- a server restart under a write loop --------------------------------------------------


@pytest.fixture(scope="module")
def restartable():
    """A server of this module's own: restarting the shared one would break
    the connections of every other test. Always a cluster we start (never
    POSTGRES_URI's server), since the test restarts it."""
    with ThrowawayPostgres(env_var="LG_RESTARTABLE_POSTGRES_URI") as server:
        uri = server.new_database("restart")
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()
        yield server, uri


RESTARTS = 2
CALLS_AFTER_RESTART = 10


@pytest.mark.parametrize("kind", WRITING_KINDS)
def test_restart_during_a_write_loop(kind, restartable):
    server, uri = restartable
    ledger = Ledger()
    restarted = threading.Event()
    after_restart: list[bool] = []  # outcome of each call begun after the last restart
    thread_id = f"loop-{kind}-{uuid.uuid4().hex[:8]}"
    with saver_of_kind(kind, uri) as saver:

        def write_loop():
            # Bounded by time, not by rounds: on a machine where writes are fast and
            # restarts slow, a round budget ran out before the last restart ended.
            config = None
            deadline = time.monotonic() + CALL_TIMEOUT * 2
            round_ = 0
            while time.monotonic() < deadline:
                round_ += 1
                begun_after = restarted.is_set()
                new = ledger.put(saver, thread_id, round_, config)
                ok = new is not None and ledger.put_writes(saver, new, round_)
                config = new or config
                if begun_after:
                    after_restart.append(ok)
                    if len(after_restart) >= CALLS_AFTER_RESTART:
                        return
                if not ok:
                    time.sleep(0.01)  # the server is down: do not spin
            raise AssertionError(f"{len(after_restart)} calls ran after the last restart")

        with ThreadPoolExecutor(1) as pool:
            writer = pool.submit(write_loop)
            for _ in range(RESTARTS):
                acknowledged = len(ledger.checkpoints)
                while len(ledger.checkpoints) < acknowledged + 5 and not writer.done():
                    time.sleep(0.01)
                server.restart()
            restarted.set()
            writer.result(CALL_TIMEOUT * 3)
        print(
            f"{kind}: {len(ledger.checkpoints)} checkpoints acknowledged, "
            f"{len(ledger.failures)} calls raised"
        )
        assert after_restart == [True] * CALLS_AFTER_RESTART, "the saver did not recover"
        ledger.assert_all_readable(saver, uri)
        assert_deltas_stored(kind, uri, thread_id)


# -- PgBouncer in transaction mode --------------------------------------------------------


@pytest.fixture(scope="module")
def bouncer(postgres_server):
    with ThrowawayPgBouncer(postgres_server, pool_size=2) as running:
        yield running


CLIENTS = 4
ROUNDS = 8


def test_pgbouncer_transaction_mode_concurrent_clients(bouncer, ready_uri):
    """Threads and asyncio tasks, more of them than PgBouncer has server
    connections: with prepare_threshold=None no call fails, and every one
    reads back (through the bouncer and directly)."""
    dbname = ready_uri.rsplit("/", 1)[1]
    uri = bouncer.uri_for(dbname)
    ledger = Ledger()

    def client(saver, name):
        config = None
        for round_ in range(ROUNDS):
            config = ledger.put(saver, name, round_, config) or config
            if config is not None:
                ledger.put_writes(saver, config, round_)
                saver.get_tuple(config)

    def own_connection(n):
        with PostgresSaver.from_conn_string(uri, prepare_threshold=None) as saver:
            client(saver, f"bouncer-conn-{n}")

    async def async_clients():
        async with AsyncPostgresSaver.from_conn_string(uri, prepare_threshold=None) as one:
            async with async_pool_saver(
                uri,
                min_size=1,
                max_size=3,
                kwargs={"autocommit": True, "prepare_threshold": None},
            ) as pooled:
                # The async savers' sync methods, from threads, next to real tasks.
                await asyncio.gather(
                    *(
                        asyncio.to_thread(client, s, f"bouncer-{k}-{n}")
                        for n in range(2)
                        for k, s in (("aconn", one), ("apool", pooled))
                    ),
                    *(task_client(pooled, f"bouncer-task-{n}") for n in range(CLIENTS)),
                )

    async def task_client(saver, name):
        config = None
        for round_ in range(ROUNDS):
            checkpoint, versions = checkpoint_of(saver, round_)
            base = config or {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
            config = await saver.aput(base, checkpoint, {"step": round_}, versions)
            writes = [("v", round_), ("note", f"w{round_}")]
            await saver.aput_writes(config, writes, "task-1")
            with ledger.lock:
                checkpoint_id = config["configurable"]["checkpoint_id"]
                ledger.checkpoints[checkpoint_id] = (config, round_)
                ledger.writes[checkpoint_id] = [("task-1", c, v) for c, v in writes]
            stored = await saver.aget_tuple(config)
            assert stored.checkpoint["channel_values"]["v"] == round_
            assert len(stored.pending_writes) == 2

    with (
        ConnectionPool(
            uri, min_size=1, max_size=3, kwargs={"autocommit": True, "prepare_threshold": None}
        ) as pool,
        ThreadPoolExecutor(2 * CLIENTS + 1) as threads,
    ):
        pooled = PostgresSaver(pool)
        jobs = [threads.submit(own_connection, n) for n in range(CLIENTS)]
        jobs += [threads.submit(client, pooled, f"bouncer-pool-{n}") for n in range(CLIENTS)]
        jobs.append(threads.submit(asyncio.run, async_clients()))
        for job in jobs:
            job.result(CALL_TIMEOUT * 2)
        ledger.assert_all_readable(pooled)
    assert ledger.failures == []
    assert len(ledger.checkpoints) == (2 * CLIENTS + 4 + CLIENTS) * ROUNDS
    with PostgresSaver.from_conn_string(ready_uri) as direct:
        ledger.assert_all_readable(direct)
