"""PostgresSaver / AsyncPostgresSaver on a real server: compatibility,
concurrency, recovery, errors. The contract itself is covered by the
conformance suite (libs/checkpoint-conformance)."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.postgres import PostgresSaver, _plans
from langgraph.checkpoint.postgres._conn import Effect
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.types import Command
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from testsupport.compat_graph import build_compat_graph, view_history

FIXTURES = Path(__file__).parent / "fixtures"


def restore(server, dump: str) -> str:
    return server.restore(FIXTURES / dump)


def put_one(saver, thread_id, value, parent=None, metadata=None):
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"v": value}
    checkpoint["channel_versions"] = {"v": version}
    config = parent or {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return saver.put(config, checkpoint, metadata or {"step": 0}, {"v": version})


@pytest.fixture(scope="module")
def ready_uri(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    return postgres_uri


# -- compatibility ---------------------------------------------------------------


def test_reference_dump_reads_back_exactly_and_resumes(postgres_server):
    uri = restore(postgres_server, "upstream-postgres.sql")
    expected = json.loads((FIXTURES / "upstream-postgres.expected.json").read_text())
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()  # recognises the reference's migrations: nothing to do
        graph = build_compat_graph(saver)
        for thread_id, view in expected.items():
            assert view_history(saver, thread_id) == view["history"]
            state = graph.get_state({"configurable": {"thread_id": thread_id}})
            assert list(state.next) == view["next"]
            assert {k: repr(v) for k, v in state.values.items()} == view["values"]
        result = graph.invoke(
            Command(resume="yes"), {"configurable": {"thread_id": "visible-thread-1"}}
        )
    assert result["approved"] is True and result["messages"][-1].content == "looked up"
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT max(v) FROM checkpoint_migrations").fetchone() == (9,)


async def test_reference_dump_resumes_with_async_saver(postgres_server):
    uri = restore(postgres_server, "upstream-postgres.sql")
    async with AsyncPostgresSaver.from_conn_string(uri) as saver:
        graph = build_compat_graph(saver)
        config = {"configurable": {"thread_id": "visible-thread-1"}}
        result = await graph.ainvoke(Command(resume="no"), config)
    assert result["approved"] is False


def test_reference_reads_what_we_write(postgres_server):
    """`ours.sql` is a dump of a database our saver wrote; the json is what the
    reference read from it (see fixtures/make_ours_fixture.py)."""
    uri = restore(postgres_server, "ours.sql")
    seen_by_reference = json.loads((FIXTURES / "ours.read-by-reference.json").read_text())
    with PostgresSaver.from_conn_string(uri) as saver:
        for thread_id, view in seen_by_reference.items():
            assert view_history(saver, thread_id) == view["history"]


def test_setup_from_two_processes_at_once(postgres_server):
    uri = postgres_server.new_database("setup")
    script = textwrap.dedent(
        f"""
        from langgraph.checkpoint.postgres import PostgresSaver
        with PostgresSaver.from_conn_string({uri!r}) as saver:
            saver.setup()
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    with psycopg.connect(uri) as conn:
        versions = [
            row[0] for row in conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v")
        ]
    assert versions == list(range(len(_plans.MIGRATIONS)))


# -- connections as users open them --------------------------------------------------


def test_plain_connection_without_autocommit_or_tuple_rows(ready_uri):
    with psycopg.connect(ready_uri, row_factory=dict_row) as conn:  # autocommit off
        saver = PostgresSaver(conn)
        config = put_one(saver, "plain", 1)
        saver.put_writes(config, [("v", 2)], "t")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(ready_uri) as other:  # committed, visible elsewhere
        assert PostgresSaver(other).get_tuple(config).pending_writes == [("t", "v", 2)]


def test_setup_on_a_non_autocommit_connection(postgres_server):
    uri = postgres_server.new_database("manual")
    with psycopg.connect(uri) as conn:
        saver = PostgresSaver(conn)
        saver.setup()
        assert conn.autocommit is False
        put_one(saver, "t", 1)


def _blob_compression(uri: str) -> dict[str, str]:
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
            "WHERE attname = 'blob' AND attrelid = ANY(%s::regclass[])",
            (list(_plans.BLOB_COLUMNS),),
        ).fetchall()
    return dict(rows)


def test_setup_compresses_blobs_with_lz4_unless_someone_chose(postgres_server):
    uri = postgres_server.new_database("lz4")
    value = [f"item {i} " * 400 for i in range(40)]  # about 150 KB: TOASTed
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        config = put_one(saver, "t", value)
        saver.put_writes(config, [("w", value)], "task")
        assert saver.get_tuple(config).checkpoint["channel_values"]["v"] == value
    assert _blob_compression(uri) == {"checkpoint_blobs": "l", "checkpoint_writes": "l"}
    with psycopg.connect(uri) as conn:
        stored = conn.execute(
            "SELECT pg_column_compression(blob) FROM checkpoint_blobs UNION ALL "
            "SELECT pg_column_compression(blob) FROM checkpoint_writes"
        ).fetchall()
        assert stored == [("lz4",), ("lz4",)]
        # A DBA's choice, pglz here, survives later setups.
        conn.execute("ALTER TABLE checkpoint_blobs ALTER COLUMN blob SET COMPRESSION pglz")
        conn.commit()
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        assert saver.get_tuple(config).checkpoint["channel_values"]["v"] == value
    assert _blob_compression(uri) == {"checkpoint_blobs": "p", "checkpoint_writes": "l"}


def _indexes(uri: str) -> set[str]:
    with psycopg.connect(uri) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        return {name for (name,) in rows}


def test_setup_does_not_wait_long_for_the_locks_its_changes_need(postgres_server):
    uri = postgres_server.new_database("lz4busy")
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
    assert not _indexes(uri) & set(_plans.REDUNDANT_INDEXES)
    with psycopg.connect(uri, autocommit=True) as conn:
        for table in _plans.BLOB_COLUMNS:
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN blob SET COMPRESSION DEFAULT")
        for name in _plans.REDUNDANT_INDEXES:  # as the reference's migrations leave them
            conn.execute(f"CREATE INDEX {name} ON {name.removesuffix('_thread_id_idx')}(thread_id)")
    with psycopg.connect(uri) as reader:
        reader.execute("SELECT count(*) FROM checkpoint_blobs")  # holds a lock until rollback
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()  # gives both up after SETUP_LOCK_TIMEOUT instead of waiting on
            config = put_one(saver, "t", [1, 2, 3])
        assert _blob_compression(uri) == {"checkpoint_blobs": "", "checkpoint_writes": ""}
        assert set(_plans.REDUNDANT_INDEXES) <= _indexes(uri)
        reader.rollback()
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
        assert saver.get_tuple(config).checkpoint["channel_values"]["v"] == [1, 2, 3]
    assert _blob_compression(uri) == {"checkpoint_blobs": "l", "checkpoint_writes": "l"}
    assert not _indexes(uri) & set(_plans.REDUNDANT_INDEXES)


# -- errors ------------------------------------------------------------------------------


def test_clear_errors(postgres_server, ready_uri):
    fresh = postgres_server.new_database("nosetup")
    with PostgresSaver.from_conn_string(fresh) as saver:
        with pytest.raises(RuntimeError, match=r"setup\(\)"):
            saver.get_tuple({"configurable": {"thread_id": "t"}})
    with PostgresSaver.from_conn_string(ready_uri) as saver:
        with pytest.raises(ValueError, match="thread_id"):
            saver.put({"configurable": {}}, empty_checkpoint(), {}, {})
        with pytest.raises(NotImplementedError, match="AsyncPostgresSaver"):
            asyncio.run(saver.aget_tuple({"configurable": {"thread_id": "t"}}))
    with pytest.raises(RuntimeError, match="closed"):
        saver.get_tuple({"configurable": {"thread_id": "t"}})


async def test_async_saver_sync_methods(ready_uri):
    async with AsyncPostgresSaver.from_conn_string(ready_uri) as saver:
        config = await asyncio.to_thread(put_one, saver, "from-thread", 3)
        assert (await saver.aget_tuple(config)).checkpoint["channel_values"] == {"v": 3}
        with pytest.raises(asyncio.InvalidStateError):
            saver.get_tuple(config)


def test_filter_keys_never_reach_sql_text():
    key = "x') OR 1=1; DROP TABLE checkpoints; --"
    step = next(_plans.ListPages(PostgresSaver.serde, None, {key: 1}, None, None).next_plan())
    assert "DROP" not in step.sql
    assert any(key in json.dumps(getattr(p, "obj", None)) for p in step.params)


# -- concurrency and recovery --------------------------------------------------------------


def test_fifty_threads_on_a_pool(ready_uri):
    with ConnectionPool(ready_uri, min_size=4, max_size=20, open=True) as pool:
        saver = PostgresSaver(pool)

        def worker(n):
            config = None
            for i in range(10):
                config = put_one(saver, f"pool-{n}", i, parent=config)
                saver.put_writes(config, [("v", i)], "task")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        for n in range(50):
            history = list(saver.list({"configurable": {"thread_id": f"pool-{n}"}}))
            assert len(history) == 10 and history[0].pending_writes == [("task", "v", 9)]


async def test_two_hundred_tasks_and_writers_sharing_a_thread(ready_uri):
    async with AsyncConnectionPool(ready_uri, min_size=4, max_size=40, open=False) as pool:
        saver = AsyncPostgresSaver(pool)

        async def worker(name, count):
            config = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
            for i in range(count):
                version = saver.get_next_version(None, None)
                checkpoint = empty_checkpoint()
                checkpoint["channel_values"] = {"v": i}
                checkpoint["channel_versions"] = {"v": version}
                config = await saver.aput(config, checkpoint, {"step": i}, {"v": version})

        await asyncio.wait_for(
            asyncio.gather(
                *(worker(f"task-{n}", 3) for n in range(200)),
                *(worker("shared", 10) for _ in range(5)),
            ),
            timeout=120,
        )
        for n in range(200):
            assert (
                len([c async for c in saver.alist({"configurable": {"thread_id": f"task-{n}"}})])
                == 3
            )
        assert len([c async for c in saver.alist({"configurable": {"thread_id": "shared"}})]) == 50


def test_pool_recovers_after_server_restart(postgres_server, ready_uri):
    with ConnectionPool(ready_uri, min_size=2, max_size=4, open=True) as pool:
        saver = PostgresSaver(pool)
        before = put_one(saver, "restart", 1)
        postgres_server.restart()
        after = put_one(saver, "restart", 2, parent=before)  # retried on a fresh connection
        history = list(saver.list({"configurable": {"thread_id": "restart"}}))
        assert [h.checkpoint["channel_values"]["v"] for h in history] == [2, 1]
        assert (
            saver.get_tuple(after).parent_config["configurable"]["checkpoint_id"]
            == before["configurable"]["checkpoint_id"]
        )


def test_reference_store_database_migrates_and_reads(postgres_server):
    from langgraph.store.postgres import PostgresStore

    uri = restore(postgres_server, "upstream-store.sql")
    with PostgresStore.from_conn_string(uri) as store:
        store.setup()
        assert store.get(("users", "u1"), "prefs").value == {
            "theme": "dark",
            "langs": ["en", "fr"],
            "n": 3,
        }
        # The reference wrote u2's item with a 600-minute TTL on 2026-11-22: its
        # stored expires_at is in the past, so it reads as gone until swept.
        assert [i.key for i in store.search(("users",), filter={"n": {"$lt": 5}})] == ["prefs"]
        assert store.search(("users",), filter={"n": {"$gt": 5}}) == []
        assert store.get(("users", "u2"), "prefs") is None
        assert store.list_namespaces() == [("users", "u1"), ("users", "u2")]
        assert store.sweep_ttl() == 1
        assert store.list_namespaces() == [("users", "u1")]
    with psycopg.connect(uri) as conn:
        assert conn.execute("SELECT max(v) FROM store_migrations").fetchone() == (4,)


def test_shallow_savers_keep_only_the_latest(ready_uri):
    from langgraph.checkpoint.postgres.shallow import (
        AsyncShallowPostgresSaver,
        ShallowPostgresSaver,
    )

    with ShallowPostgresSaver.from_conn_string(ready_uri) as saver:
        first = put_one(saver, "shallow", 1)
        saver.put_writes(first, [("v", "w")], "t")
        second = put_one(saver, "shallow", 2, parent=first)
        history = list(saver.list({"configurable": {"thread_id": "shallow"}}))
        assert [h.checkpoint["channel_values"]["v"] for h in history] == [2]
        assert saver.get_tuple(first) is None
        assert saver.get_tuple(second).pending_writes == []

    async def run_async():
        async with AsyncShallowPostgresSaver.from_conn_string(ready_uri) as saver:
            config = await asyncio.to_thread(put_one, saver, "ashallow", 1)
            await asyncio.to_thread(put_one, saver, "ashallow", 2, config)
            return [c async for c in saver.alist({"configurable": {"thread_id": "ashallow"}})]

    assert len(asyncio.run(run_async())) == 1


# -- from_conn_string options, pipeline mode --------------------------------------------------

SAVER_CLASSES = [
    "PostgresSaver",
    "ShallowPostgresSaver",
    "AsyncPostgresSaver",
    "AsyncShallowPostgresSaver",
]


def saver_class(name):
    from langgraph.checkpoint.postgres import shallow

    return {
        "PostgresSaver": PostgresSaver,
        "AsyncPostgresSaver": AsyncPostgresSaver,
        "ShallowPostgresSaver": shallow.ShallowPostgresSaver,
        "AsyncShallowPostgresSaver": shallow.AsyncShallowPostgresSaver,
    }[name]


async def open_saver(cls, uri, **options):
    """The saver and its connection's prepare_threshold, from either kind of from_conn_string."""
    manager = cls.from_conn_string(uri, **options)
    if hasattr(manager, "__aenter__"):
        async with manager as saver:
            return saver.conn.prepare_threshold
    with manager as saver:
        return saver.conn.prepare_threshold


@pytest.mark.parametrize("name", SAVER_CLASSES)
async def test_from_conn_string_prepare_threshold(name, ready_uri):
    cls = saver_class(name)
    parameter = inspect.signature(cls.from_conn_string).parameters["prepare_threshold"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default == 0
    assert await open_saver(cls, ready_uri) == 0  # the reference's setting
    assert await open_saver(cls, ready_uri, prepare_threshold=None) is None
    assert await open_saver(cls, ready_uri, prepare_threshold=5) == 5
    for bad in (-1, "0", 1.5, True):
        with pytest.raises(ValueError, match="prepare_threshold"):
            await open_saver(cls, ready_uri, prepare_threshold=bad)


def test_pipelined_calls_are_confirmed_before_they_return(postgres_server, ready_uri):
    """In pipeline mode a statement is only sent until the pipeline syncs: a put
    must not return before the server has run it, nor a read leave its
    implicit transaction (and its locks) open."""
    with PostgresSaver.from_conn_string(
        postgres_server.new_database("nosetup"), pipeline=True
    ) as s:
        with pytest.raises(RuntimeError, match=r"setup\(\)"):
            put_one(s, "t", 1)
    with PostgresSaver.from_conn_string(ready_uri, pipeline=True) as saver:
        config = put_one(saver, "pipelined", 1)
        saver.put_writes(config, [("v", 2)], "task")
        with psycopg.connect(ready_uri) as other:
            assert PostgresSaver(other).get_tuple(config).pending_writes == [("task", "v", 2)]
        assert saver.get_tuple(config) is not None
        assert saver.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


async def test_async_pipelined_calls_are_confirmed_before_they_return(postgres_server, ready_uri):
    uri = postgres_server.new_database("nosetup")
    async with AsyncPostgresSaver.from_conn_string(uri, pipeline=True) as saver:
        with pytest.raises(RuntimeError, match=r"setup\(\)"):
            await asyncio.to_thread(put_one, saver, "t", 1)
    async with AsyncPostgresSaver.from_conn_string(ready_uri, pipeline=True) as saver:
        config = await asyncio.to_thread(put_one, saver, "apipelined", 1)
        async with await psycopg.AsyncConnection.connect(ready_uri) as other:
            assert await AsyncPostgresSaver(other).aget_tuple(config) is not None
        assert await saver.aget_tuple(config) is not None
        assert saver.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# -- scale ---------------------------------------------------------------------------


def _rows_read(conn, query) -> int:
    """How many rows of the saver's tables the server read to run `query`."""
    explained = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql, query.params)
    (plan,) = explained.fetchone()[0]
    tables = {"checkpoints", "checkpoint_blobs", "checkpoint_writes"}

    def rows(node) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
        read = own if node.get("Relation Name") in tables else 0
        return read + sum(rows(child) for child in node.get("Plans", ()))

    return rows(plan["Plan"])


def test_list_pages_of_a_long_thread_read_only_their_rows(postgres_server):
    """A thread that grew after the last ANALYZE: the planner believes it has
    the average thread's few rows, and sorted every checkpoint of the thread
    for each page of 8 or more. A page walks the primary key instead and
    reads about its own rows, blobs and writes included."""
    uri = postgres_server.new_database()
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()
    with psycopg.connect(uri, autocommit=True) as conn:

        def thread_rows(prefix: str, per_thread: int, count: int) -> None:
            thread = f"%s || (n / {per_thread})"
            checkpoint = (
                "jsonb_build_object('v', 4, 'id', 'x', 'channel_versions', "
                "jsonb_build_object('m', n::text))"
            )
            rows = f"FROM generate_series(0, {count - 1}) n"
            conn.execute(
                "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint,"
                f" metadata) SELECT {thread}, '', lpad(n::text, 8, '0'), {checkpoint}, '{{}}' {rows}",
                (prefix,),
            )
            conn.execute(
                "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type,"
                f" blob) SELECT {thread}, '', 'm', n::text, 'msgpack', '\\x90' {rows}",
                (prefix,),
            )
            conn.execute(
                "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id,"
                f" idx, channel, type, blob) SELECT {thread}, '', lpad(n::text, 8, '0'), 't', 0,"
                f" 'm', 'msgpack', '\\x90' {rows}",
                (prefix,),
            )

        thread_rows("small-", 10, 20_000)  # 2,000 threads of 10
        conn.execute("ANALYZE")
        thread_rows("long", 10**9, 3_000)  # then one of 3,000 ("long0")
        config = {"configurable": {"thread_id": "long0", "checkpoint_ns": ""}}
        before = {"configurable": {**config["configurable"], "checkpoint_id": "00001500"}}
        for bound, limit in ((None, 64), (before, 16)):
            page = next(
                _plans.ListPages(PostgresSaver.serde, config, None, bound, limit).next_plan()
            )
            assert _rows_read(conn, page) <= 5 * limit
            rows = conn.execute(page.sql, page.params).fetchall()
            checkpoints = sorted(
                (r for r in rows if r[0] == _plans.PART_CHECKPOINT), key=lambda r: r[4]
            )
            top = 2_999 if bound is None else 1_499
            assert [r[3] for r in checkpoints] == [f"{n:08d}" for n in range(top, top - limit, -1)]
            for part in (_plans.PART_BLOB, _plans.PART_WRITE):
                assert sum(r[0] == part for r in rows) == limit


def test_list_streams_a_page_only_when_its_blobs_are_expected_to_be_large(ready_uri):
    """Streaming a page overlaps decoding with transfer but its statement is
    not prepared: a page is streamed when the last page listed says its rows
    will hold `STREAM_FROM_BYTES` of blobs or more (or nothing was listed
    yet), and either way lists the same tuples. (Values in lists: a string
    alone is stored in the checkpoint row, not as a blob.)"""
    small = {"configurable": {"thread_id": "stream-small", "checkpoint_ns": ""}}
    large = {"configurable": {"thread_id": "stream-large", "checkpoint_ns": ""}}
    blob_size = _plans.ListPages.STREAM_FROM_BYTES // 4
    with PostgresSaver.from_conn_string(ready_uri) as saver:
        for config, payload in ((small, "s"), (large, "x" * blob_size)):
            parent = None
            for step in range(10):
                parent = put_one(
                    saver, config["configurable"]["thread_id"], [payload + str(step)], parent
                )

        def streamed(config) -> bool:
            pages = _plans.ListPages(
                saver.serde, config, None, None, 10, listed=saver._listed_bytes
            )
            return next(pages.next_plan()).each is not None

        def listed(config) -> list:
            return [t.checkpoint["channel_values"]["v"] for t in saver.list(config, limit=10)]

        assert streamed(small)  # nothing listed yet
        assert listed(small) == [[f"s{step}"] for step in range(9, -1, -1)]
        assert not streamed(small) and not streamed(large)  # the last page's rows were small
        assert listed(large) == [["x" * blob_size + str(step)] for step in range(9, -1, -1)]
        assert streamed(large) and streamed(small)
        assert listed(small) == [[f"s{step}"] for step in range(9, -1, -1)]  # streamed
        assert not streamed(small)


def test_list_pages_of_large_checkpoints_stay_small(ready_uri):
    """A thread's pages grow while the values decoded at once stay under
    `HELD_ENTRIES`: checkpoints holding longer lists come a page each, small
    ones in pages of 1, 8, then up to the cap."""
    entries = _plans.ListPages.HELD_ENTRIES
    with PostgresSaver.from_conn_string(ready_uri) as saver:
        for thread_id, value in (("held-large", list(range(entries + 1))), ("held-small", [1])):
            parent = None
            for _ in range(80):
                parent = put_one(saver, thread_id, value, parent)

        def page_sizes(thread_id):
            config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            pages = _plans.ListPages(saver.serde, config, None, None, None)
            sizes = []
            while not pages.done:
                sizes.append(len(saver._run(pages.next_plan, Effect.READ, transaction=False)))
            return [size for size in sizes if size]  # the last read may find none left

        assert page_sizes("held-large") == [1] * 80
        assert page_sizes("held-small") == [1, 8, 64, 7]
