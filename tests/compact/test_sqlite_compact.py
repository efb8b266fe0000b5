"""Compact storage in the SQLite savers (issue 16): deltas read back exactly,
chains stay whole through every operation, any saver reads a compact file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base.compact import (
    COMPACT_ROW_TYPE,
    FULL_EVERY,
    MAX_CHAIN,
    BrokenChainError,
    decode_record,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.errors import SerializationError
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.sqlite import SqliteSaver, _plans
from langgraph.checkpoint.sqlite._plans import unpack_compact_row
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.checkpoint.sqlite.convert import compact_database, expand_database
from langgraph.checkpoint.sqlite.convert import main as convert_main
from langgraph.graph import START, MessagesState, StateGraph


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "compact.db")


@pytest.fixture
def saver(db: str) -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(db, compact=True) as compact_saver:
        yield compact_saver


def row_types(db: str, thread_id: str) -> list[str]:
    """The `type` of each checkpoint row of the thread, oldest first."""
    with closing(sqlite3.connect(db)) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT type FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
                (thread_id,),
            )
        ]


def rewrite_rows(
    db: str, thread_id: str, rewrite: Callable[[str, bytes], tuple[str, bytes]]
) -> None:
    """Store each checkpoint row of the thread as `rewrite(type, blob)` returns
    it (a `(type, blob)` pair): rows as an earlier version wrote them."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT checkpoint_id, type, checkpoint FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        ).fetchall()
        for checkpoint_id, type_, blob in rows:
            conn.execute(
                "UPDATE checkpoints SET type = ?, checkpoint = ? WHERE checkpoint_id = ?",
                (*rewrite(type_, blob), checkpoint_id),
            )
        conn.commit()


def chain_lengths(db: str, thread_id: str, channel: str) -> list[int]:
    """Links behind each row's record of `channel` (0: stored whole), oldest first."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
            (thread_id,),
        ).fetchall()
    lengths = []
    for type_, blob in rows:
        records = unpack_compact_row(blob)[1] if type_ == COMPACT_ROW_TYPE else {}
        lengths.append(len(decode_record(records[channel]).chain) if channel in records else 0)
    return lengths


# -- the savers' contract, in compact mode ------------------------------------------


async def test_compact_savers_pass_the_conformance_suite(tmp_path_factory):
    @checkpointer_test(name="SqliteSaver(compact)")
    async def sync_compact():
        path = str(tmp_path_factory.mktemp("s") / "c.db")
        with SqliteSaver.from_conn_string(path, compact=True) as compact_saver:
            yield compact_saver

    @checkpointer_test(name="AsyncSqliteSaver(compact)")
    async def async_compact():
        path = str(tmp_path_factory.mktemp("a") / "c.db")
        async with AsyncSqliteSaver.from_conn_string(path, compact=True) as compact_saver:
            yield compact_saver

    for factory in (sync_compact, async_compact):
        report = await validate(factory)
        assert report.passed_all(), report.to_json()


def _chat_graph(checkpointer):
    def agent(state: MessagesState):
        return {"messages": [AIMessage(content=f"reply {len(state['messages'])} " * 20)]}

    builder = StateGraph(MessagesState)
    builder.add_node(agent)
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer)


def test_a_graph_on_a_compact_file_reads_as_on_a_plain_one(tmp_path):
    states = {}
    for compact in (False, True):
        path = str(tmp_path / f"{compact}.db")
        with SqliteSaver.from_conn_string(path, compact=compact) as graph_saver:
            graph = _chat_graph(graph_saver)
            thread = {"configurable": {"thread_id": "chat"}}
            for turn in range(30):
                graph.invoke(
                    {"messages": [HumanMessage(content=f"q{turn}", id=f"h{turn}")]}, thread
                )
            history = list(graph.get_state_history(thread))
            states[compact] = [
                [(m.type, m.content) for m in snapshot.values["messages"]] for snapshot in history
            ]
        types = row_types(path, "chat")
        assert (COMPACT_ROW_TYPE in types) is compact
    assert states[True] == states[False]
    assert len(states[True][0]) == 60


async def test_the_async_saver_writes_and_reads_compact_rows(db):
    async with AsyncSqliteSaver.from_conn_string(db, compact=True) as async_saver:
        graph = _chat_graph(async_saver)
        thread = {"configurable": {"thread_id": "chat"}}
        for turn in range(5):
            await graph.ainvoke({"messages": [HumanMessage(content=f"q{turn}")]}, thread)
        state = await graph.aget_state(thread)
        assert len(state.values["messages"]) == 10
        assert len([s async for s in graph.aget_state_history(thread)]) == 15
    assert COMPACT_ROW_TYPE in row_types(db, "chat")


# -- what is stored as a delta, and what whole ----------------------------------------


def test_a_growing_list_is_stored_as_deltas(saver, db, new_thread, messages):
    thread = new_thread()
    for n in range(1, 6):
        thread.put(saver, {"messages": messages(n), "step": n})
    assert row_types(db, thread.thread_id)[0] != COMPACT_ROW_TYPE  # no base yet: whole
    assert chain_lengths(db, thread.thread_id, "messages") == [0, 1, 2, 3, 4]
    thread.check(saver)


def test_a_message_mutated_in_place_reads_back_as_it_was(saver, db, new_thread, messages):
    thread = new_thread()
    value = messages(3)
    thread.put(saver, {"messages": value})
    value[1]["content"] = "edited in place"  # the same object, different content
    value.append({"role": "ai", "id": "m3", "content": "new"})
    thread.put(saver, {"messages": value})
    value.append({"role": "ai", "id": "m4", "content": "newer"})
    thread.put(saver, {"messages": value})
    assert chain_lengths(db, thread.thread_id, "messages") == [0, 0, 1]
    thread.check(saver)


def test_shorter_replaced_or_other_values_are_stored_whole(saver, db, new_thread, messages):
    thread = new_thread()
    thread.put(saver, {"messages": messages(4)})
    thread.put(saver, {"messages": messages(3)})  # removed at the end
    thread.put(saver, {"messages": [messages(4)[0], *messages(4)[2:]]})  # removed in the middle
    thread.put(saver, {"messages": "not a list"})
    thread.put(saver, {"messages": []})
    thread.put(saver, {"messages": messages(2)})  # after an empty list: no item to extend
    assert row_types(db, thread.thread_id).count(COMPACT_ROW_TYPE) == 0
    thread.check(saver)


def test_a_chain_never_grows_beyond_its_bound(saver, db, new_thread, messages):
    thread = new_thread()
    turns = 2 * FULL_EVERY + 5
    for n in range(1, turns + 1):
        thread.put(saver, {"messages": messages(n)})
    lengths = chain_lengths(db, thread.thread_id, "messages")
    assert max(lengths) == MAX_CHAIN
    assert lengths.count(0) == 3  # the first, then a full value every FULL_EVERY
    assert [n for n, length in enumerate(lengths) if length == 0] == [0, FULL_EVERY, 2 * FULL_EVERY]
    thread.check(saver)


def test_rows_compressed_by_an_earlier_version_read_back(saver, db, new_thread, messages):
    """Before two-tier chains, compact rows stored their base zlib-compressed
    (a full value too: as a compact row without records). Such files still read."""
    thread = new_thread()
    for n in range(1, 6):
        thread.put(saver, {"messages": messages(n)})

    def compressed(type_: str, blob: bytes) -> tuple[str, bytes]:
        if type_ == COMPACT_ROW_TYPE:
            (base_type, base_bytes), records = unpack_compact_row(blob)
        else:
            (base_type, base_bytes), records = (type_, blob), {}
        old = ormsgpack.packb([base_type, zlib.compress(base_bytes), records, "zlib"])
        return COMPACT_ROW_TYPE, old

    rewrite_rows(db, thread.thread_id, compressed)
    assert set(row_types(db, thread.thread_id)) == {COMPACT_ROW_TYPE}
    with (
        SqliteSaver.from_conn_string(db) as plain,
        SqliteSaver.from_conn_string(db, compact=True) as compact,
    ):
        thread.check(plain)
        thread.check(compact)
        thread.put(saver, {"messages": messages(6)})  # a step on an old row
        thread.check(plain)


@pytest.mark.parametrize("layout", ["item by item", "without digest"])
def test_records_of_earlier_layouts_read_back(saver, db, new_thread, messages, layout):
    """Records used to hold their items one by one ([chain, [[type, bytes],
    ...]]) rather than as one run of bytes, and then no digest ([chain, count,
    payload]); files with them still read, the writer's too (it holds no
    value a record without a digest stands for)."""
    thread = new_thread()
    for n in range(1, 6):
        thread.put(saver, {"messages": messages(n)})

    def earlier(type_: str, blob: bytes) -> tuple[str, bytes]:
        if type_ != COMPACT_ROW_TYPE:
            return type_, blob
        base, records = unpack_compact_row(blob)
        for channel, raw in records.items():
            chain, count, payload, _ = ormsgpack.unpackb(raw)
            items = saver.serde.loads_typed(("msgpack", bytes([0x90 | count]) + payload))
            records[channel] = ormsgpack.packb(
                [chain, [list(saver.serde.dumps_typed(item)) for item in items]]
                if layout == "item by item"
                else [chain, count, payload]
            )
        return type_, ormsgpack.packb([*base, records, ""])

    assert COMPACT_ROW_TYPE in row_types(db, thread.thread_id)
    rewrite_rows(db, thread.thread_id, earlier)
    with SqliteSaver.from_conn_string(db) as plain:
        thread.check(plain)
    thread.check(saver)
    thread.put(saver, {"messages": messages(6)})  # a step on an old record
    thread.check(saver)


def test_a_record_whose_items_do_not_match_its_count_fails_loudly(saver, db, new_thread, messages):
    thread = new_thread()
    for n in range(1, 4):
        thread.put(saver, {"messages": messages(n)})
    with closing(sqlite3.connect(db)) as conn:
        checkpoint_id, blob = conn.execute(
            "SELECT checkpoint_id, checkpoint FROM checkpoints WHERE thread_id = ? "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread.thread_id,),
        ).fetchone()
        base, records = unpack_compact_row(blob)
        chain, count, payload, digest = ormsgpack.unpackb(records["messages"])
        records["messages"] = ormsgpack.packb([chain, count + 1, payload, digest])
        conn.execute(
            "UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = ?",
            (ormsgpack.packb([*base, records, ""]), checkpoint_id),
        )
        conn.commit()
    with SqliteSaver.from_conn_string(db, compact=True) as reader:  # holds no value
        with pytest.raises(SerializationError, match="malformed delta record"):
            reader.get_tuple(thread.config())


def test_a_fork_from_an_old_checkpoint_reads_back_exactly(saver, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}) for n in range(1, 6)]
    # A fork: the child of the 2nd checkpoint, with a different history after it.
    forked = [*messages(2), {"role": "ai", "id": "fork", "content": "another way"}]
    fork_id = thread.put(saver, {"messages": forked}, parent=ids[1])
    thread.put(saver, {"messages": [*forked, {"role": "user", "id": "f2", "content": "on"}]})
    # Back on the main line: it extends what was stored last (the fork) no more.
    thread.put(saver, {"messages": messages(6)}, parent=ids[-1])
    thread.check(saver)
    assert (
        saver.get_tuple(thread.config(fork_id)).parent_config["configurable"]["checkpoint_id"]
        == ids[1]
    )


def test_several_channels_and_namespaces_keep_their_own_chains(saver, new_thread, messages):
    outer, inner = new_thread(), new_thread("child:1")
    inner.thread_id = outer.thread_id
    for n in range(1, 8):
        outer.put(saver, {"messages": messages(n), "log": list(range(n)), "tag": n})
        inner.put(saver, {"messages": messages(n + 3)})
    outer.check(saver)
    inner.check(saver)


# -- several processes, and a saver that does not compact ---------------------------


def test_two_savers_appending_to_one_thread_read_back_exactly(db, new_thread, messages):
    thread = new_thread()
    with (
        SqliteSaver.from_conn_string(db, compact=True) as first,
        SqliteSaver.from_conn_string(db, compact=True) as second,
    ):
        for n in range(1, 21):
            thread.put(first if n % 3 else second, {"messages": messages(n)})
        thread.check(first)
        thread.check(second)


def statements_of_latest_read(latest_read, db: str, thread, saver) -> tuple[list[str], dict]:
    with closing(sqlite3.connect(db)) as conn:
        return latest_read(
            _plans.get_tuple_plan, saver, thread, lambda sql, p: conn.execute(sql, p).fetchall()
        )


def test_the_writer_reads_its_latest_values_without_their_chains(
    db, new_thread, messages, latest_read
):
    """The process that stored a delta holds the value whole: reading the
    latest checkpoint does not read the rows of its chain; a saver that holds
    another version (another saver wrote since), or nothing, reads them."""
    thread = new_thread()
    with (
        SqliteSaver.from_conn_string(db, compact=True) as writer,
        SqliteSaver.from_conn_string(db, compact=True) as other,
    ):
        for n in range(1, 6):
            thread.put(writer, {"messages": messages(n)})
        latest = thread.expected[max(thread.expected)]
        statements, values = statements_of_latest_read(latest_read, db, thread, writer)
        assert values == latest and len(statements) == 2
        statements, values = statements_of_latest_read(latest_read, db, thread, other)
        assert values == latest and len(statements) == 3

        thread.put(other, {"messages": messages(6)})  # whole: other's cache missed
        thread.put(other, {"messages": messages(7)})  # a delta the writer does not hold
        assert chain_lengths(db, thread.thread_id, "messages")[-1] == 1
        statements, values = statements_of_latest_read(latest_read, db, thread, writer)
        assert values == thread.expected[max(thread.expected)] and len(statements) == 3
        thread.check(writer)
        thread.check(other)


def test_a_compact_file_reads_the_same_with_a_plain_saver(saver, db, new_thread, messages):
    thread = new_thread()
    for n in range(1, 12):
        thread.put(saver, {"messages": messages(n)})
    with SqliteSaver.from_conn_string(db) as plain:
        thread.check(plain)
        # and a plain saver writing on: its rows are plain, everything still reads
        thread.put(plain, {"messages": messages(12)})
        thread.put(saver, {"messages": messages(13)})
        thread.check(plain)
    thread.check(saver)


def test_a_base_deleted_by_another_saver_is_never_referenced(db, new_thread, messages):
    thread = new_thread()
    with SqliteSaver.from_conn_string(db, compact=True) as writer:
        for n in range(1, 4):
            thread.put(writer, {"messages": messages(n)})
        with SqliteSaver.from_conn_string(db) as other:
            other.delete_thread(thread.thread_id)
        fresh = new_thread()
        fresh.thread_id = thread.thread_id
        # The writer's cache still points at the deleted rows: the put stores whole.
        fresh.put(writer, {"messages": messages(4)})
        fresh.put(writer, {"messages": messages(5)})
        assert chain_lengths(db, thread.thread_id, "messages") == [0, 1]
        fresh.check(writer)


def test_a_value_stored_whole_in_place_of_a_delta_starts_a_new_chain(db, new_thread, messages):
    """A put whose links were deleted under it is stored whole; the cache entry
    then stands for a full value, so the steps and anchors after it still
    form chains that read back (a stale tier position made an anchor with no
    link at all)."""
    thread = new_thread()
    with SqliteSaver.from_conn_string(db, compact=True) as writer:
        for n in range(1, 7):
            thread.put(writer, {"messages": messages(n)})
        with SqliteSaver.from_conn_string(db) as other:
            other.delete_thread(thread.thread_id)
        fresh = new_thread()
        fresh.thread_id = thread.thread_id
        for n in range(7, 7 + MAX_CHAIN + 3):
            fresh.put(writer, {"messages": messages(n)})
        lengths = chain_lengths(db, thread.thread_id, "messages")
        assert lengths[:2] == [0, 1] and 0 not in lengths[1:]
        fresh.check(writer)


def test_a_missing_link_raises_rather_than_reading_short(saver, db, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}) for n in range(1, 4)]
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (ids[0],))
    with SqliteSaver.from_conn_string(db, compact=True) as reader:  # holds no value
        with pytest.raises(BrokenChainError, match="missing"):
            reader.get_tuple(thread.config(ids[2]))
        with pytest.raises(BrokenChainError):
            list(reader.list(thread.config()))


# -- every operation keeps chains whole ----------------------------------------------


def test_prune_keep_latest_leaves_the_latest_readable(saver, db, new_thread, messages):
    thread = new_thread()
    for n in range(1, 10):
        last = thread.put(saver, {"messages": messages(n)})
    saver.prune([thread.thread_id], strategy="keep_latest")
    assert row_types(db, thread.thread_id) != [COMPACT_ROW_TYPE]  # rewritten whole
    thread.check(saver, [last])
    assert len(list(saver.list(thread.config()))) == 1
    # and the saver extends the pruned value again
    thread.put(saver, {"messages": messages(10)})
    thread.check(saver, [last, thread.last["configurable"]["checkpoint_id"]])


def test_prune_delete_and_delete_thread_then_a_new_history(saver, db, new_thread, messages):
    for remove in ("prune", "delete_thread"):
        thread = new_thread()
        for n in range(1, 5):
            thread.put(saver, {"messages": messages(n)})
        if remove == "prune":
            saver.prune([thread.thread_id], strategy="delete")
        else:
            saver.delete_thread(thread.thread_id)
        assert row_types(db, thread.thread_id) == []
        again = new_thread()
        again.thread_id = thread.thread_id
        again.put(saver, {"messages": messages(5)})
        again.put(saver, {"messages": messages(6)})
        again.check(saver)


def test_delete_for_runs_rewrites_the_checkpoints_that_extended_a_deleted_run(
    saver, runs_deleted_one_by_one
):
    runs_deleted_one_by_one(saver)


def test_copy_thread_copies_whole_chains(saver, new_thread, messages):
    source = new_thread()
    for n in range(1, 8):
        source.put(saver, {"messages": messages(n)})
    target = new_thread()
    saver.copy_thread(source.thread_id, target.thread_id)
    target.expected = dict(source.expected)
    target.check(saver)
    saver.delete_thread(source.thread_id)
    target.check(saver)
    # the copy grows as a delta on what was copied (the cache was cleared for it)
    target.last = target.config(list(source.expected)[-1])
    target.checkpoint = source.checkpoint
    target.put(saver, {"messages": messages(8)})
    target.check(saver)


# -- converting a database both ways -----------------------------------------------------


def test_compact_then_expand_a_plain_database(db, new_thread, messages):
    threads = [new_thread(), new_thread(), new_thread("child:1")]
    threads[2].thread_id = threads[1].thread_id
    with SqliteSaver.from_conn_string(db) as plain:
        for n in range(1, 15):
            for thread in threads:
                thread.put(plain, {"messages": messages(n), "step": n})
    seen: list[tuple[int, int]] = []
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        rewritten = compact_database(
            conn, progress=lambda done, total, _: seen.append((done, total))
        )
        assert rewritten == 3 * 13  # all but the first of each namespace
        assert seen == [(1, 2), (2, 2)]
        assert compact_database(conn) == 0  # idempotent
    assert chain_lengths(db, threads[0].thread_id, "messages") == list(range(14))
    with SqliteSaver.from_conn_string(db) as reader:
        for thread in threads:
            thread.check(reader)
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        assert expand_database(conn) == 3 * 13
        assert expand_database(conn) == 0
    assert COMPACT_ROW_TYPE not in row_types(db, threads[0].thread_id)
    with SqliteSaver.from_conn_string(db) as reader:
        for thread in threads:
            thread.check(reader)


@pytest.fixture
def converting(db):
    """How to open a compact saver on `db`, and how to run `compact_database` on it."""

    def convert() -> int:
        with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
            return compact_database(conn)

    return (lambda: SqliteSaver.from_conn_string(db, compact=True)), convert


@pytest.mark.parametrize("remove", ["", "prune", "copy", "a", "b"])
def test_a_saver_writing_on_across_a_conversion_reads_back_exactly(
    converting, across_a_conversion, remove
):
    """Read back, and after a prune, a copy or a run's deletion (whose
    rewrites walk each value's own links, not only those its record lists)."""
    across_a_conversion(*converting, remove)


def test_a_thread_two_savers_wrote_in_turn_converts(converting, converted_after_a_restart):
    converted_after_a_restart(*converting)


def test_a_put_again_reads_as_in_plain_mode(db, put_again):
    """A row put again is replaced, as plain mode replaces it, and the values
    stored as deltas on it are rewritten whole first (they read on as put)."""

    def open_saver(compact: bool) -> Any:
        return SqliteSaver.from_conn_string(db, compact=compact)

    assert put_again(open_saver, True) == put_again(open_saver, False)


def test_a_copy_over_shared_ids_reads_as_in_plain_mode(db, copied_over):
    """Rows the copy replaces are replaced as in plain mode, and the values
    stored as deltas on them are rewritten whole first."""

    def open_saver(compact: bool) -> Any:
        return SqliteSaver.from_conn_string(db, compact=compact)

    assert copied_over(open_saver, True) == copied_over(open_saver, False)


def test_reads_racing_another_savers_deletions_read_what_is_left(db, saver, reads_racing_deletions):
    with (
        SqliteSaver.from_conn_string(db, compact=True) as reader,
        SqliteSaver.from_conn_string(db, compact=True) as other,
    ):
        reader.setup()  # its first statements are the reads', not the setup's
        reads_racing_deletions(saver, reader, other)


def test_a_compact_saver_continues_a_compacted_database(db, new_thread, messages):
    thread = new_thread()
    with SqliteSaver.from_conn_string(db) as plain:
        for n in range(1, 6):
            thread.put(plain, {"messages": messages(n)})
    with closing(sqlite3.connect(db, check_same_thread=False)) as conn:
        compact_database(conn)
    with SqliteSaver.from_conn_string(db, compact=True) as compact_saver:
        thread.put(compact_saver, {"messages": messages(6)})
        thread.check(compact_saver)


def test_the_command_line_converts_with_a_progress_bar(db, new_thread, messages, capsys):
    thread = new_thread()
    with SqliteSaver.from_conn_string(db) as plain:
        for n in range(1, 4):
            thread.put(plain, {"messages": messages(n)})
    convert_main(["compact", db])
    out = capsys.readouterr()
    assert "2 rows rewritten" in out.out and "1/1 threads" in out.err
    convert_main(["expand", db])
    assert "2 rows rewritten" in capsys.readouterr().out


_APPENDER = """
import sys
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver

path, thread_id, name, turns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with SqliteSaver.from_conn_string(path, compact=True) as saver:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    checkpoint = empty_checkpoint()
    for n in range(1, turns + 1):
        checkpoint = create_checkpoint(checkpoint, None, n)
        value = [{"writer": name, "n": i, "text": name * 200} for i in range(n)]
        checkpoint["channel_values"] = {"messages": value}
        config = saver.put(config, checkpoint, {"writer": name, "n": n}, {})
"""


def test_two_processes_appending_to_one_thread(db, new_thread):
    thread = new_thread()
    with SqliteSaver.from_conn_string(db) as setup_saver:
        setup_saver.setup()
    turns = 40
    writers = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, db, thread.thread_id, name, str(turns)])
        for name in ("a", "b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    assert max(chain_lengths(db, thread.thread_id, "messages")) > 1
    with SqliteSaver.from_conn_string(db) as reader:
        listed = list(reader.list(thread.config()))
    assert len(listed) == 2 * turns
    for item in listed:
        name, n = item.metadata["writer"], item.metadata["n"]
        expected = [{"writer": name, "n": i, "text": name * 200} for i in range(n)]
        assert item.checkpoint["channel_values"]["messages"] == expected


def test_a_serializer_other_than_msgpack_stores_everything_whole(db, new_thread, messages):
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
    thread = new_thread()
    with SqliteSaver.from_conn_string(db, compact=True) as saver:
        saver.serde = serde
        for n in range(1, 5):
            thread.put(saver, {"messages": messages(n)})
        thread.check(saver)
    assert chain_lengths(db, thread.thread_id, "messages") == [0, 0, 0, 0]
