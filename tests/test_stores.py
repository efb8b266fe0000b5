"""Every store of the family behaves the same: SQLite and Postgres, sync and
async, and the in-memory reference point."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import Counter

import psycopg
import pytest
from langgraph.graph import START, StateGraph
from langgraph.store.base import BaseStore, InvalidNamespaceError, PutOp, compile_filter
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres import AsyncPostgresStore, PostgresStore
from langgraph.store.sqlite import AsyncSqliteStore, SqliteStore

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letters(texts):
    return [[float(Counter(t.lower())[c]) for c in ALPHABET] for t in texts]


INDEX = {"dims": 26, "embed": letters, "fields": ["text"]}
TTL = {"default_ttl": None, "refresh_on_read": True}
STORES = ["memory", "sqlite", "async_sqlite", "postgres", "async_postgres"]


@pytest.fixture(params=STORES)
async def store(request, tmp_path):
    kind = request.param
    if kind == "memory":
        yield InMemoryStore(index=INDEX, ttl=TTL)
    elif kind == "sqlite":
        with SqliteStore.from_conn_string(str(tmp_path / "store.db"), index=INDEX, ttl=TTL) as s:
            s.setup()
            yield s
    elif kind == "async_sqlite":
        async with AsyncSqliteStore.from_conn_string(
            str(tmp_path / "store.db"), index=INDEX, ttl=TTL
        ) as s:
            await s.setup()
            yield s
    else:
        uri = request.getfixturevalue("postgres_server").new_database("store")
        if kind == "postgres":
            with PostgresStore.from_conn_string(uri, index=INDEX, ttl=TTL) as s:
                s.setup()
                yield s
        else:
            async with AsyncPostgresStore.from_conn_string(uri, index=INDEX, ttl=TTL) as s:
                await s.setup()
                yield s


async def test_put_get_update_delete(store: BaseStore):
    await store.aput(("users", "u1"), "prefs", {"theme": "dark", "nested": {"n": 1}})
    item = await store.aget(("users", "u1"), "prefs")
    assert item.value == {"theme": "dark", "nested": {"n": 1}} and item.namespace == ("users", "u1")
    await store.aput(("users", "u1"), "prefs", {"theme": "light"})
    updated = await store.aget(("users", "u1"), "prefs")
    assert updated.value == {"theme": "light"}
    assert updated.created_at == item.created_at and updated.updated_at >= item.updated_at
    await store.adelete(("users", "u1"), "prefs")
    assert await store.aget(("users", "u1"), "prefs") is None


async def test_filters_operators_and_paging(store: BaseStore):
    for i in range(6):
        await store.aput(
            ("docs", "even" if i % 2 == 0 else "odd"),
            f"d{i}",
            {"n": i, "meta": {"tag": f"t{i % 3}"}},
        )
    assert {i.key for i in await store.asearch(("docs",), filter={"n": {"$gte": 4}})} == {
        "d4",
        "d5",
    }
    assert {i.key for i in await store.asearch(("docs",), filter={"n": {"$gt": 0, "$lt": 3}})} == {
        "d1",
        "d2",
    }
    assert {
        i.key
        for i in await store.asearch(("docs",), filter={"n": {"$ne": 1}, "meta": {"tag": "t1"}})
    } == {"d4"}
    assert {i.key for i in await store.asearch(("docs", "odd"), filter={"n": {"$lte": 3}})} == {
        "d1",
        "d3",
    }
    first = await store.asearch(("docs",), limit=4)
    rest = await store.asearch(("docs",), limit=4, offset=4)
    assert len(first) == 4 and len(rest) == 2 and not {i.key for i in first} & {i.key for i in rest}


async def test_hostile_filter_keys_are_data(store: BaseStore):
    key = "x') OR 1=1; DROP TABLE store; --"
    await store.aput(("h",), "a", {key: 1})
    await store.aput(("h",), "b", {"x": 1})
    assert [i.key for i in await store.asearch(("h",), filter={key: 1})] == ["a"]
    assert await store.asearch(("h",), filter={"' OR '1'='1": 1}) == []
    assert len(await store.asearch(("h",))) == 2


# -- filters pushed down to SQL: the SQL stores must find exactly what compile_filter keeps --

# Values where a SQL pre-filter could easily drop rows that Python keeps.
TRICKY_VALUES = {
    "num-str-15": {"v": "15"},
    "num-str-padded": {"v": " 20 "},
    "num-str-5": {"v": "5"},
    "num-str-exp": {"v": "1e1"},
    "int-7": {"v": 7},
    "int-1": {"v": 1},
    "float-1": {"v": 1.0},
    "int-0": {"v": 0},
    "neg-zero": {"v": -0.0},
    "true": {"v": True},
    "false": {"v": False},
    "null": {"v": None},
    "missing": {"w": 1},
    "empty-str": {"v": ""},
    "word": {"v": "abc"},
    "list": {"v": [1, 2]},
    "list-text": {"v": "[1, 2]"},
    "list-text-compact": {"v": "[1,2]"},
    "dict": {"v": {"a": 1}},
    "dict-text": {"v": '{"a": 1}'},
    "big": {"v": 2**53 + 1},
    "huge": {"v": 2**70},
    "float-sum": {"v": 0.1 + 0.2},
    "tenth": {"v": 0.1},
    "unicode": {"v": "漢字 é 🔑"},
    "escapes": {"v": 'tab\t "quoted" back\\slash\nnew / <&>'},
    "one-str": {"v": "1"},
    "true-str": {"v": "true"},
    "null-str": {"v": "null"},
}

TRICKY_FILTERS = [
    {"v": {"$gte": 10}},
    {"v": {"$gt": 10}},
    {"v": {"$lt": 10}},
    {"v": {"$lte": 10}},
    {"v": {"$gt": 0, "$lt": 2}},
    {"v": {"$gte": 1.0, "$lte": 1}},
    {"v": {"$gte": True}},
    {"v": {"$lt": False}},
    {"v": {"$gte": -0.0}},
    {"v": {"$lt": float("inf")}},
    {"v": {"$gt": float("nan")}},
    {"v": {"$gte": 2**70}},
    {"v": {"$gte": "5"}},
    {"v": {"$lt": "abc"}},
    {"v": 1},
    {"v": 1.0},
    {"v": True},
    {"v": {"$eq": 1}},
    {"v": 0},
    {"v": 0.0},
    {"v": False},
    {"v": None},
    {"v": {"$eq": None}},
    {"v": {"$ne": None}},
    {"v": {"$ne": 1}},
    {"w": None},
    {"v": "[1, 2]"},
    {"v": "[1,2]"},
    {"v": '{"a": 1}'},
    {"v": [1, 2]},
    {"v": {"a": 1}},
    {"v": "abc"},
    {"v": ""},
    {"v": 2**53 + 1},
    {"v": 2**53},
    {"v": 2**70},
    {"v": float(2**70)},
    {"v": 0.30000000000000004},
    {"v": 0.1},
    {"v": "漢字 é 🔑"},
    {"v": 'tab\t "quoted" back\\slash\nnew / <&>'},
    {"v": "1"},
    {"v": "true"},
    {"v": "null"},
    {"v": 1, "w": None},
    {"v": {"$gte": 0}, "w": 1},
]


def stored(value):
    """What a SQL store reads back: the value through JSON."""
    return json.loads(json.dumps(value))


async def assert_search_is_filter(store, namespace, items, filters):
    for filter in filters:
        matches = compile_filter(filter)
        expected = {key for key, value in items.items() if matches(stored(value))}
        found = await store.asearch(namespace, filter=filter, limit=100)
        assert {i.key for i in found} == expected, filter


async def test_filters_find_exactly_what_python_keeps(store: BaseStore):
    await store.abatch([PutOp(("tricky",), k, v) for k, v in TRICKY_VALUES.items()])
    # a few spelled out
    gte10 = await store.asearch(("tricky",), filter={"v": {"$gte": 10}}, limit=100)
    assert {i.key for i in gte10} == {"num-str-15", "num-str-padded", "num-str-exp", "big", "huge"}
    ones = await store.asearch(("tricky",), filter={"v": 1}, limit=100)
    assert {i.key for i in ones} == {"int-1", "float-1", "true"}
    nones = await store.asearch(("tricky",), filter={"v": None}, limit=100)
    assert {i.key for i in nones} == {"null", "missing"}
    text = await store.asearch(("tricky",), filter={"v": "[1, 2]"}, limit=100)
    assert {i.key for i in text} == {"list-text"}
    await assert_search_is_filter(store, ("tricky",), TRICKY_VALUES, TRICKY_FILTERS)


FILTER_KEYS = [
    'a"b',
    "a.b",
    "x[0]",
    "$.y",
    "$eq",
    "k'); DROP TABLE store; --",
    "a/b",
    "back\\slash",
    "",
    "sp ace",
    "%_",
    "1",
    "true",
    "null",
    "1e3",
    "é",
    "clé 🔑",
    "漢字",
    "a\nb",
    "<&>",
]


async def test_filter_keys_with_punctuation_unicode_and_dots(store: BaseStore):
    items = {f"key{i}": {key: 1, "label": key} for i, key in enumerate(FILTER_KEYS)}
    items["nested"] = {"a": {"b": 1}}  # reached by the dotted key "a.b"
    items["nested-other"] = {"a": {"b": 2}, "a.b": "x"}  # the literal key wins
    # json.dumps writes these keys twice; what is read back keeps the last
    items["int-key"] = {1: "int", "1": "str"}
    items["none-key"] = {None: "none", "null": "str"}
    items["unicode-value"] = {"é": "漢字", "clé 🔑": 5}
    await store.abatch([PutOp(("keys",), k, v) for k, v in items.items()])
    filters = [{key: 1} for key in FILTER_KEYS]
    filters += [{key: {"$gte": 1}} for key in FILTER_KEYS]
    filters += [{key: key} for key in FILTER_KEYS] + [{"label": key} for key in FILTER_KEYS]
    filters += [{"1": "str"}, {"1": "int"}, {"null": "str"}, {"null": None}]
    filters += [{"é": "漢字"}, {"clé 🔑": {"$gt": 4}}, {"a.b": "x"}, {"a.b": 2}]
    await assert_search_is_filter(store, ("keys",), items, filters)
    assert {i.key for i in await store.asearch(("keys",), filter={"a.b": 1})} == {
        "key1",
        "nested",
    }


async def test_values_sqlite_json_cannot_read_are_still_searched(store: BaseStore):
    if isinstance(store, (PostgresStore, AsyncPostgresStore)):
        # jsonb has no NaN: the put is refused, naming it, and nothing is stored
        with pytest.raises(psycopg.DataError, match="NaN"):
            await store.aput(("nan",), "nan", {"v": float("nan"), "tag": "x"})
        assert await store.asearch(("nan",)) == []
        return
    await store.aput(("nan",), "nan", {"v": float("nan"), "tag": "x", "n": 3})
    await store.aput(("nan",), "inf", {"v": float("inf"), "tag": "x", "n": 4})
    await store.aput(("nan",), "plain", {"v": 1, "tag": "y", "n": 5})
    assert {i.key for i in await store.asearch(("nan",), filter={"tag": "x"})} == {"nan", "inf"}
    assert {i.key for i in await store.asearch(("nan",), filter={"n": {"$gte": 4}})} == {
        "inf",
        "plain",
    }
    assert {i.key for i in await store.asearch(("nan",), filter={"v": {"$gt": 0}})} == {
        "inf",
        "plain",
    }


async def test_paging_when_most_rows_fail_the_python_check(store: BaseStore):
    # Every item passes what SQL can check ("kind"); only one in seven passes
    # the nested condition, which Python checks.
    await store.abatch(
        [
            PutOp(("pages",), f"k{i:02}", {"kind": "doc", "n": i, "meta": {"ok": i % 7 == 0}})
            for i in range(60)
        ]
    )
    wanted = {f"k{i:02}" for i in range(0, 60, 7)}
    filter = {"kind": "doc", "meta": {"ok": True}}
    pages = [
        [i.key for i in await store.asearch(("pages",), filter=filter, limit=2, offset=offset)]
        for offset in range(0, 12, 2)
    ]
    assert [len(page) for page in pages] == [2, 2, 2, 2, 1, 0]
    assert {key for page in pages for key in page} == wanted
    assert len(await store.asearch(("pages",), filter=filter, limit=100)) == 9
    assert len(await store.asearch(("pages",), filter=filter, limit=3, offset=7)) == 2
    # the same with a numeric condition SQL sees and a $ne it does not
    ne = {"n": {"$gte": 10, "$ne": 11}, "meta": {"ok": True}}
    assert {i.key for i in await store.asearch(("pages",), filter=ne, limit=3, offset=3)} <= wanted
    assert len(await store.asearch(("pages",), filter=ne, limit=3, offset=3)) == 3
    unfiltered = [await store.asearch(("pages",), limit=25, offset=o) for o in (0, 25, 50)]
    assert [len(page) for page in unfiltered] == [25, 25, 10]
    assert len({i.key for page in unfiltered for i in page}) == 60


async def test_expired_rows_in_the_first_batch(store: BaseStore):
    await store.abatch([PutOp(("exp",), f"live{i}", {"kind": "a", "n": i}) for i in range(4)])
    # newer than the live items, so SQL returns them first (newest first)
    await store.abatch(
        [PutOp(("exp",), f"gone{i}", {"kind": "a", "n": i}, ttl=0.4 / 60) for i in range(6)]
    )
    await asyncio.sleep(0.7)
    live = {f"live{i}" for i in range(4)}
    page = await store.asearch(("exp",), filter={"kind": "a"}, limit=3)
    assert len(page) == 3 and {i.key for i in page} <= live
    assert {i.key for i in await store.asearch(("exp",), limit=3, offset=1)} <= live
    assert {i.key for i in await store.asearch(("exp",), filter={"kind": "a"})} == live
    assert {i.key for i in await store.asearch(("exp",), filter={"n": {"$lt": 2}})} == {
        "live0",
        "live1",
    }


class CountingCursor(sqlite3.Cursor):
    def fetchall(self):
        rows = super().fetchall()
        self.connection.rows_read += len(rows)
        return rows


class CountingConnection(sqlite3.Connection):
    """Counts the rows the store reads from SQLite."""

    rows_read = 0

    def cursor(self, factory=CountingCursor):
        return super().cursor(factory)


def test_sqlite_search_reads_about_a_page_not_the_namespace(tmp_path):
    conn = sqlite3.connect(
        tmp_path / "count.db",
        factory=CountingConnection,
        check_same_thread=False,
        isolation_level=None,
    )
    try:
        store = SqliteStore(conn)
        store.setup()
        store.batch(
            [
                PutOp(("big",), f"k{i}", {"kind": "rare" if i % 100 == 0 else "common", "n": i})
                for i in range(1000)
            ]
            + [PutOp(("bigger",), f"k{i}", {"kind": "rare", "n": i}) for i in range(1000)]
        )
        conn.rows_read = 0
        found = store.search(("big",), filter={"kind": "rare", "n": {"$gte": 500}}, limit=10)
        assert {i.key for i in found} == {"k500", "k600", "k700", "k800", "k900"}
        assert conn.rows_read < 50  # not the namespace's 1,000 rows
        conn.rows_read = 0
        assert len(store.search(("big",), limit=5, offset=5)) == 5
        assert conn.rows_read < 50
        conn.rows_read = 0
        assert len(store.search(("big",), filter={"kind": "common"}, limit=10)) == 10
        assert conn.rows_read < 50
    finally:
        conn.close()


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16le"])
def test_sqlite_values_stored_as_blobs_are_filtered(tmp_path, encoding):
    """The reference SqliteStore writes values as BLOBs (orjson bytes, UTF-8
    whatever the database's text encoding)."""
    with SqliteStore.from_conn_string(str(tmp_path / "blob.db")) as store:
        store.conn.execute(f"PRAGMA encoding = '{encoding}'")
        store.setup()
        store.batch([PutOp(("b",), k, v) for k, v in TRICKY_VALUES.items()])
        store.conn.executemany(
            "UPDATE store SET value = ? WHERE key = ?",
            [(json.dumps(v, ensure_ascii=False).encode(), k) for k, v in TRICKY_VALUES.items()],
        )
        assert store.conn.execute("SELECT DISTINCT typeof(value) FROM store").fetchall() == [
            ("blob",)
        ]
        for filter in TRICKY_FILTERS:
            matches = compile_filter(filter)
            expected = {k for k, v in TRICKY_VALUES.items() if matches(stored(v))}
            assert {i.key for i in store.search(("b",), filter=filter, limit=100)} == expected


async def test_semantic_search_ranking(store: BaseStore):
    await store.aput(("notes",), "zebra", {"text": "zzzz zebra"})
    await store.aput(("notes",), "apple", {"text": "apple pie apple"})
    await store.aput(("notes",), "skip", {"text": "zzzz"}, index=False)
    results = await store.asearch(("notes",), query="zz")
    assert results[0].key == "zebra" and results[0].score > 0.5
    assert {r.key for r in results} == {"zebra", "apple", "skip"}
    assert next(r for r in results if r.key == "skip").score is None
    [query], [zebra] = letters(["zz"]), letters(["zzzz zebra"])
    expected = sum(a * b for a, b in zip(query, zebra)) / (
        sum(a * a for a in query) ** 0.5 * sum(b * b for b in zebra) ** 0.5
    )
    assert results[0].score == pytest.approx(expected, abs=1e-5)


WORDS = [
    "apple",
    "banana",
    "cherry",
    "dates",
    "elderberry",
    "fig",
    "grape",
    "honeydew",
    "kiwi",
    "lemon",
    "mango",
    "nectarine",
    "orange",
    "papaya",
    "quince",
    "raspberry",
    "strawberry",
    "tangerine",
    "ugli",
    "vanilla",
    "watermelon",
    "yam",
    "zucchini",
]


async def test_ranked_pages_match_the_in_memory_store(store: BaseStore):
    expected = InMemoryStore(index=INDEX)
    for target in (store, expected):
        for i, word in enumerate(WORDS):
            await target.aput(
                ("fruit", f"g{i % 3}"),
                word,
                {"text": f"{word} {word[::2]}", "n": i},
                index=False if i % 7 == 0 else None,
            )
    cases = [
        ("zz", None, 0, 10),
        ("berry", {"n": {"$gte": 5}}, 0, 3),
        ("berry", {"n": {"$gte": 5}}, 3, 3),
        ("melon", {"n": {"$lt": 20}}, 2, 5),
        ("an", None, 0, 30),
    ]
    for query, filter, offset, limit in cases:
        for namespace in [("fruit",), ("fruit", "g1")]:
            got = await store.asearch(
                namespace, query=query, filter=filter, offset=offset, limit=limit
            )
            want = await expected.asearch(
                namespace, query=query, filter=filter, offset=offset, limit=limit
            )
            case = (query, filter, offset, limit, namespace)
            # The same scores in the same order, the same item wherever its
            # score is not tied (ties may be broken either way); then the
            # unscored ones (items put with index=False).
            got_scored = [(r.score, r.key) for r in got if r.score is not None]
            want_scored = [(r.score, r.key) for r in want if r.score is not None]
            assert [s for s, _ in got_scored] == pytest.approx(
                [s for s, _ in want_scored], abs=1e-5
            ), case
            all_scores = [r.score for r in await expected.asearch(("fruit",), query=query)]
            for (score, key), (_, want_key) in zip(got_scored, want_scored):
                if sum(abs(score - other) < 1e-5 for other in all_scores if other) == 1:
                    assert key == want_key, case
            assert {r.key for r in got if r.score is None} == {
                r.key for r in want if r.score is None
            }, case


async def test_every_element_of_a_list_field_is_embedded(store: BaseStore):
    await store.aput(("tags",), "t", {"tags": ["apple", "zzz zebra"]}, index=["tags[*]"])
    await store.aput(("tags",), "t2", {"tags": ["kiwi"]}, index=["tags[*]"])
    await store.aput(("tags",), "t", {"tags": ["apple", "zzz zebra"]}, index=["tags[*]"])
    [best] = await store.asearch(("tags",), query="zz", limit=1)
    [query], [zebra] = letters(["zz"]), letters(["zzz zebra"])
    expected = sum(a * b for a, b in zip(query, zebra)) / (
        sum(a * a for a in query) ** 0.5 * sum(b * b for b in zebra) ** 0.5
    )
    assert best.key == "t" and best.score == pytest.approx(expected, abs=1e-5)
    [best] = await store.asearch(("tags",), query="apple", limit=1)
    assert best.key == "t" and best.score == pytest.approx(1.0, abs=1e-5)  # the first element


async def test_list_namespaces(store: BaseStore):
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x", "c"), ("z", "c")]:
        await store.aput(ns, "k", {"v": 1})
    assert await store.alist_namespaces(prefix=("a",)) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "x", "c"),
    ]
    assert await store.alist_namespaces(suffix=("c",)) == [
        ("a", "b", "c"),
        ("a", "x", "c"),
        ("z", "c"),
    ]
    assert await store.alist_namespaces(prefix=("a", "*", "c")) == [
        ("a", "b", "c"),
        ("a", "x", "c"),
    ]
    assert await store.alist_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z", "c")]
    assert await store.alist_namespaces(limit=1, offset=1) == [("a", "b", "d")]


async def test_prefix_search_does_not_match_label_prefixes(store: BaseStore):
    await store.aput(("team",), "k", {"v": 1})
    await store.aput(("teammates",), "k", {"v": 2})
    await store.aput(("team", "sub"), "k", {"v": 3})
    assert sorted(i.value["v"] for i in await store.asearch(("team",))) == [1, 3]


async def test_ttl_expiry_refresh_and_sweep(store: BaseStore):
    ttl = 1.2  # seconds
    clock = time.monotonic

    async def until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - clock()))

    await store.aput(("t",), "forever", {"v": 2})
    # A stalled machine can miss the window in which only a refreshed item is
    # still alive; then the scenario runs again on a new item.
    for attempt in range(1, 4):
        key = f"short-{attempt}"
        await store.aput(("t",), key, {"v": 1}, ttl=ttl / 60)
        put_done = clock()  # the put's expiry is before put_done + ttl
        await until(put_done + 0.7)
        refresh_started = clock()  # the refreshed expiry is after refresh_started + ttl
        assert await store.aget(("t",), key) is not None  # refreshes
        refresh_done = clock()
        # Past the put's own expiry, before the refreshed one: alive only if refreshed.
        await until(put_done + ttl + 0.1)
        alive = await store.aget(("t",), key, refresh_ttl=False) is not None
        if clock() < refresh_started + ttl:
            assert alive
            break
    else:
        pytest.fail("the machine stalled through the refresh window three times")
    await until(refresh_done + ttl + 0.1)
    assert await store.aget(("t",), key) is None
    sweep = getattr(store, "sweep_ttl", None)
    if sweep is not None:
        swept = sweep()
        swept = await swept if asyncio.iscoroutine(swept) else swept
        assert swept == attempt
    assert [i.key for i in await store.asearch(("t",))] == ["forever"]


async def test_namespace_validation(store: BaseStore):
    for bad in [(), ("a.b",), ("langgraph",), ("",)]:
        with pytest.raises(InvalidNamespaceError):
            await store.aput(bad, "k", {"v": 1})


async def test_sync_methods_from_a_thread(store: BaseStore):
    await asyncio.to_thread(store.put, ("sync",), "k", {"v": 1})
    item = await asyncio.to_thread(store.get, ("sync",), "k")
    assert item.value == {"v": 1}


def test_graph_uses_sqlite_and_postgres_stores(tmp_path, postgres_server):
    def build(store):
        def count(state: dict, *, store: BaseStore) -> dict:
            seen = store.get(("visits",), "ann")
            n = (seen.value["n"] if seen else 0) + 1
            store.put(("visits",), "ann", {"n": n})
            return {"n": n}

        builder = StateGraph(dict)
        builder.add_node("count", count)
        builder.add_edge(START, "count")
        return builder.compile(store=store)

    with SqliteStore.from_conn_string(str(tmp_path / "g.db")) as sqlite_store:
        graph = build(sqlite_store)
        graph.invoke({"n": 0})
        assert graph.invoke({"n": 0}) == {"n": 2}
    with PostgresStore.from_conn_string(postgres_server.new_database("gstore")) as pg_store:
        graph = build(pg_store)
        graph.invoke({"n": 0})
        assert graph.invoke({"n": 0}) == {"n": 2}


def test_pgvector_requested_without_extension_is_a_clear_error(postgres_server):
    index = {**INDEX, "ann_index_config": {"kind": "hnsw"}}
    with PostgresStore.from_conn_string(postgres_server.new_database("vec"), index=index) as s:
        with pytest.raises(RuntimeError, match="vector' extension"):
            s.setup()
