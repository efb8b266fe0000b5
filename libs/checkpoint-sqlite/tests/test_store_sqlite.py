"""SqliteStore specifics not covered by the cross-store suite: the background
TTL sweeper really deletes rows from the file, and stops when asked."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

from testsupport.reference_store import reference_embed, replay_searches

TTL = {"default_ttl": None, "refresh_on_read": False}
FAST_SWEEP = 0.3 / 60  # minutes


def rows(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM store").fetchone()[0]


def test_thread_sweeper_deletes_expired_rows(tmp_path):
    path = str(tmp_path / "sweep.db")
    with SqliteStore.from_conn_string(path, ttl=TTL) as store:
        store.setup()
        store.put(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        store.put(("s",), "kept", {"v": 2})
        store.start_ttl_sweeper(sweep_interval_minutes=FAST_SWEEP)
        deadline = time.monotonic() + 5
        while rows(path) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.stop_ttl_sweeper(timeout=5)
        assert rows(path) == 1
        assert store.get(("s",), "kept").value == {"v": 2}


def test_a_failed_sweep_does_not_stop_the_sweeper(tmp_path, caplog):
    path = str(tmp_path / "flaky.db")
    with SqliteStore.from_conn_string(path, ttl=TTL) as store:
        store.setup()
        store.put(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        sweep, calls = store.sweep_ttl, []

        def fails_once() -> int:
            calls.append(1)
            if len(calls) == 1:
                raise sqlite3.OperationalError("database is locked")
            return sweep()

        store.sweep_ttl = fails_once  # what the sweeper runs
        store.start_ttl_sweeper(sweep_interval_minutes=FAST_SWEEP)
        deadline = time.monotonic() + 5
        while rows(path) != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.stop_ttl_sweeper(timeout=5)
    assert rows(path) == 0 and len(calls) >= 2
    assert "TTL sweep failed" in caplog.text


async def test_task_sweeper_deletes_expired_rows(tmp_path):
    path = str(tmp_path / "asweep.db")
    async with AsyncSqliteStore.from_conn_string(path, ttl=TTL) as store:
        await store.setup()
        await store.aput(("s",), "short", {"v": 1}, ttl=0.2 / 60)
        await store.aput(("s",), "kept", {"v": 2})
        await store.start_ttl_sweeper(sweep_interval_minutes=FAST_SWEEP)
        deadline = time.monotonic() + 5
        while rows(path) != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await store.stop_ttl_sweeper(timeout=5)
        assert rows(path) == 1


def letter_counts(texts):
    return [[float(t.count(c)) for c in "abcz"] for t in texts]


VEC_INDEX = {"dims": 4, "embed": letter_counts, "fields": ["text"]}
DOCS = {"abc": "aabbc", "zed": "zzz zz a", "cab": "cab cab"}


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / (
        sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5
    )


@pytest.fixture
def loadable_extensions() -> None:
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        pytest.fail(
            "this Python's sqlite3 cannot load extensions, so the sqlite-vec path cannot be "
            "tested: build .venv from one that can (make test picks Debian's python3 when "
            "present; or set PYTHON=...)"
        )


class NoExtensions(sqlite3.Connection):
    """A connection of a sqlite3 build that refuses extension loading."""

    def enable_load_extension(self, enabled: bool) -> None:
        raise sqlite3.OperationalError("not authorized")


def expected_ranking(query: str) -> list[tuple[str, float]]:
    [q] = letter_counts([query])
    scores = {key: cosine(q, letter_counts([text])[0]) for key, text in DOCS.items()}
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def ranking(store, query: str) -> list[tuple[str, float]]:
    return [(r.key, r.score) for r in store.search(("docs",), query=query)]


def test_sqlite_vec_computes_the_similarity_in_sql(tmp_path, loadable_extensions):
    with SqliteStore.from_conn_string(str(tmp_path / "vec.db"), index=VEC_INDEX) as store:
        store.setup()
        for key, text in DOCS.items():
            store.put(("docs",), key, {"text": text})
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        got = ranking(store, "zz a")
        store.conn.set_trace_callback(None)
        assert any("vec_distance_cosine" in s for s in statements)
        want = expected_ranking("zz a")
        assert [k for k, _ in got] == [k for k, _ in want]
        for (_, score), (_, expected) in zip(got, want):
            assert abs(score - expected) < 1e-6


async def test_async_store_loads_sqlite_vec(tmp_path, loadable_extensions):
    path = str(tmp_path / "avec.db")
    async with AsyncSqliteStore.from_conn_string(path, index=VEC_INDEX) as store:
        await store.setup()
        async with store.conn.execute("SELECT vec_version()") as cur:
            assert (await cur.fetchone())[0].startswith("v")
        for key, text in DOCS.items():
            await store.aput(("docs",), key, {"text": text})
        got = [(r.key, r.score) for r in await store.asearch(("docs",), query="abc")]
    want = expected_ranking("abc")
    assert [k for k, _ in got] == [k for k, _ in want]
    assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(got, want))


def test_without_extension_loading_search_ranks_in_python(tmp_path, caplog):
    path = str(tmp_path / "novec.db")
    conn = sqlite3.connect(
        path, factory=NoExtensions, check_same_thread=False, isolation_level=None
    )
    try:
        store = SqliteStore(conn, index=VEC_INDEX)
        store.setup()
        assert "could not load sqlite-vec" in caplog.text
        for key, text in DOCS.items():
            store.put(("docs",), key, {"text": text})
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        got = ranking(store, "zz a")
        conn.set_trace_callback(None)
        assert not any("vec_distance_cosine" in s for s in statements)
    finally:
        conn.close()
    want = expected_ranking("zz a")
    assert [k for k, _ in got] == [k for k, _ in want]
    assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(got, want))
    # A file written without the extension is read with it, same answers.
    with SqliteStore.from_conn_string(path, index=VEC_INDEX) as store:
        again = ranking(store, "zz a")
    assert [k for k, _ in again] == [k for k, _ in got]
    assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(again, got))


def test_store_without_index_does_not_load_extensions(tmp_path):
    conn = sqlite3.connect(
        str(tmp_path / "plain.db"), factory=NoExtensions, check_same_thread=False
    )
    try:
        store = SqliteStore(conn)
        store.put(("a",), "k", {"v": 1})
        assert store.get(("a",), "k").value == {"v": 1}
    finally:
        conn.close()


@pytest.mark.parametrize("extensions", ["sqlite-vec", "none"])
def test_reference_vector_store_reads_back_with_its_scores(tmp_path, extensions):
    import json
    import shutil
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    expected = json.loads((fixtures / "upstream-store-vectors.expected.json").read_text())
    path = tmp_path / "ref.db"
    shutil.copy(fixtures / "upstream-store-vectors.db", path)
    factory = NoExtensions if extensions == "none" else sqlite3.Connection
    conn = sqlite3.connect(path, factory=factory, check_same_thread=False, isolation_level=None)
    index = {"dims": 4, "embed": reference_embed, "fields": ["text", "meta.title"]}
    try:
        store = SqliteStore(conn, index=index)
        store.setup()
        replay_searches(store, expected)
        for item in expected["items"]:
            assert store.get(tuple(item["namespace"]), item["key"]).value == item["value"]
    finally:
        conn.close()


def test_connection_in_default_transaction_mode_commits_every_call(tmp_path):
    path = str(tmp_path / "legacy.db")
    conn = sqlite3.connect(path, check_same_thread=False)  # implicit transactions
    try:
        store = SqliteStore(conn, ttl={"default_ttl": 5, "refresh_on_read": True})
        store.put(("a",), "k", {"v": 1})
        assert store.get(("a",), "k").value == {"v": 1}  # refreshes the TTL: a write
        assert [i.key for i in store.search(("a",))] == ["k"]
        assert not conn.in_transaction
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM store").fetchone() == (1,)
    finally:
        conn.close()


def test_reference_read_our_vector_store_as_we_do(tmp_path):
    """`ours-store-vectors.db` was written by SqliteStore; the json holds what
    the reference's SqliteStore found in it (testsupport/make_store_fixtures.py)."""
    import json
    import shutil
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    seen_by_reference = json.loads(
        (fixtures / "ours-store-vectors.read-by-reference.json").read_text()
    )
    path = tmp_path / "ours.db"
    shutil.copy(fixtures / "ours-store-vectors.db", path)
    index = {"dims": 4, "embed": reference_embed, "fields": ["text", "meta.title"]}
    with SqliteStore.from_conn_string(str(path), index=index) as store:
        replay_searches(store, seen_by_reference)


def test_first_call_without_setup_already_scores_in_sql(tmp_path, loadable_extensions):
    path = str(tmp_path / "first.db")
    with SqliteStore.from_conn_string(path, index=VEC_INDEX) as store:
        for key, text in DOCS.items():
            store.put(("docs",), key, {"text": text})
    with SqliteStore.from_conn_string(path, index=VEC_INDEX) as store:
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        assert [k for k, _ in ranking(store, "abc")] == [k for k, _ in expected_ranking("abc")]
        assert any("vec_distance_cosine" in s for s in statements)


def test_store_setup_on_a_fresh_file_being_written_waits_for_the_lock(fresh_file_being_written):
    with SqliteStore.from_conn_string(fresh_file_being_written) as store:
        store.setup()
        store.put(("n",), "k", {"v": 1})
        assert store.get(("n",), "k").value == {"v": 1}


async def test_async_store_setup_on_a_fresh_file_being_written_waits_for_the_lock(
    fresh_file_being_written,
):
    async with AsyncSqliteStore.from_conn_string(fresh_file_being_written) as store:
        await store.setup()
        await store.aput(("n",), "k", {"v": 1})
        assert (await store.aget(("n",), "k")).value == {"v": 1}


def test_sqlite_dialect_prefilters_only_keys_it_reads_as_python_does():
    from langgraph.store.sqlite._dialect import SQLITE

    # keys SQLite would look up differently from Python: left to Python
    for key in ["1", "1e3", "null", "true", "a/b", "a\\b", "é", "tab\there"]:
        assert SQLITE.prefilter({key: "x"}) == ("", []), key
    sql, params = SQLITE.prefilter({"kind": "rare", "n": {"$gte": 5}})
    assert sql.startswith("CASE typeof(value) WHEN 'blob' THEN instr(value, ?)")
    assert params[:2] == [b'"rare"', '"rare"']
    assert '$."n"' in params


def test_a_put_with_vectors_is_one_transaction(tmp_path):
    """SQLite writes an item and its vectors in separate statements."""
    with SqliteStore.from_conn_string(str(tmp_path / "tx.db"), index=VEC_INDEX) as store:
        store.setup()
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        store.put(("docs",), "abc", {"text": "aabbc"})
        writes = [s.split()[0] for s in statements if not s.startswith("SELECT")]
        assert writes[0].startswith("BEGIN") and writes[-1] == "COMMIT"
        assert sum(s.startswith("INSERT INTO store_vectors") for s in statements) == 1


def _tagged(document: bytes) -> dict:
    import json

    return {"decoded_by": "deserializer", **json.loads(document)}


async def test_deserializer_reads_every_stored_document(tmp_path):
    """`deserializer=` (a reference keyword) is given each stored JSON document."""
    with sqlite3.connect(tmp_path / "d.db", check_same_thread=False) as conn:
        store = SqliteStore(conn, deserializer=_tagged)
        store.put(("docs",), "a", {"v": 1, "text": "é"})
        assert store.get(("docs",), "a").value == {
            "decoded_by": "deserializer",
            "v": 1,
            "text": "é",
        }
        assert [i.value["decoded_by"] for i in store.search(("docs",))] == ["deserializer"]
        assert SqliteStore(conn).get(("docs",), "a").value == {"v": 1, "text": "é"}
    async with AsyncSqliteStore.from_conn_string(str(tmp_path / "d.db")) as plain:
        assert (await plain.aget(("docs",), "a")).value == {"v": 1, "text": "é"}
    with pytest.raises(ValueError, match="deserializer must be a callable"):
        SqliteStore(sqlite3.connect(":memory:"), deserializer="json")
