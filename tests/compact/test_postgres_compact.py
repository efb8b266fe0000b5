"""Compact storage in the Postgres savers (issue 16): delta blobs read back
exactly, the trigger refuses a delta on a deleted base, every operation keeps
chains whole, any saver reads a compact database."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base.compact import (
    DELTA_TYPE,
    STEPS_PER_ANCHOR,
    BrokenChainError,
    decode_record,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.errors import NotSetUpError
from langgraph.checkpoint.postgres import PostgresSaver, _plans
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.convert import compact_database, expand_database
from langgraph.checkpoint.postgres.shallow import ShallowPostgresSaver
from langgraph.graph import START, MessagesState, StateGraph


@pytest.fixture(scope="module")
def uri(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    return postgres_uri


@pytest.fixture
def saver(uri):
    with PostgresSaver.from_conn_string(uri, compact=True) as compact_saver:
        yield compact_saver


def chain_lengths(uri: str, thread_id: str, channel: str = "messages") -> list[int]:
    """Links behind each stored version of `channel` (0: stored whole), oldest first."""
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "SELECT type, blob FROM checkpoint_blobs WHERE thread_id = %s AND channel = %s "
            "ORDER BY version",
            (thread_id, channel),
        ).fetchall()
    return [len(decode_record(blob).chain) if type_ == DELTA_TYPE else 0 for type_, blob in rows]


def test_compact_savers_pass_the_conformance_suite(uri):
    @checkpointer_test(name="PostgresSaver(compact)")
    async def sync_compact():
        with PostgresSaver.from_conn_string(uri, compact=True) as compact_saver:
            yield compact_saver

    @checkpointer_test(name="AsyncPostgresSaver(compact)")
    async def async_compact():
        async with AsyncPostgresSaver.from_conn_string(uri, compact=True) as compact_saver:
            yield compact_saver

    import asyncio

    for factory in (sync_compact, async_compact):
        report = asyncio.run(validate(factory))
        assert report.passed_all(), report.to_json()


def test_the_shallow_savers_refuse_compact_mode(uri):
    with pytest.raises(ValueError, match="no compact mode"):
        with ShallowPostgresSaver.from_conn_string(uri, compact=True):
            pass


def test_compact_reads_need_setup_and_say_so(postgres_server, new_thread, messages):
    """A compact get_tuple reads delta chains with a function setup() creates;
    on a database without it (set up by another package, say) the error says
    to call setup(), and a plain saver still reads."""
    uri = postgres_server.new_database("nofunction")
    thread = new_thread()
    with PostgresSaver.from_conn_string(uri, compact=True) as compact_saver:
        compact_saver.setup()
        for n in range(1, 4):
            thread.put(compact_saver, {"messages": messages(n)})
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP FUNCTION lgc_delta_chain_v1(bytea) CASCADE")
    with PostgresSaver.from_conn_string(uri, compact=True) as compact_saver:
        with pytest.raises(NotSetUpError, match=r"lgc_delta_chain_v1.*setup\(\)"):
            compact_saver.get_tuple(thread.config())
        compact_saver.setup()
        thread.check(compact_saver)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("DROP FUNCTION lgc_delta_chain_v1(bytea) CASCADE")
    with PostgresSaver.from_conn_string(uri) as plain:
        thread.check(plain)


def _chat_graph(checkpointer):
    def agent(state: MessagesState):
        return {"messages": [AIMessage(content=f"reply {len(state['messages'])} " * 20)]}

    builder = StateGraph(MessagesState)
    builder.add_node(agent)
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=checkpointer)


def test_a_graph_reads_the_same_plain_and_compact(uri, new_thread):
    histories = {}
    for compact in (False, True):
        thread_id = new_thread().thread_id
        with PostgresSaver.from_conn_string(uri, compact=compact) as graph_saver:
            graph = _chat_graph(graph_saver)
            thread = {"configurable": {"thread_id": thread_id}}
            for turn in range(25):
                graph.invoke(
                    {"messages": [HumanMessage(content=f"q{turn}", id=f"h{turn}")]}, thread
                )
            histories[compact] = [
                [(m.type, m.content) for m in snapshot.values["messages"]]
                for snapshot in graph.get_state_history(thread)
            ]
        assert (max(chain_lengths(uri, thread_id)) > 0) is compact
    assert histories[True] == histories[False]


async def test_the_async_saver_writes_and_reads_deltas(uri, new_thread):
    thread_id = new_thread().thread_id
    async with AsyncPostgresSaver.from_conn_string(uri, compact=True) as async_saver:
        graph = _chat_graph(async_saver)
        thread = {"configurable": {"thread_id": thread_id}}
        for turn in range(5):
            await graph.ainvoke({"messages": [HumanMessage(content=f"q{turn}")]}, thread)
        state = await graph.aget_state(thread)
        assert len(state.values["messages"]) == 10
    assert max(chain_lengths(uri, thread_id)) > 0


def test_deltas_mutations_and_snapshots(saver, uri, new_thread, messages):
    thread = new_thread()
    value = messages(2)
    thread.put(saver, {"messages": value})
    thread.put(saver, {"messages": messages(3)})
    changed = messages(4)
    changed[0]["content"] = "edited"  # a changed item: stored whole
    thread.put(saver, {"messages": changed})
    for n in range(5, 5 + STEPS_PER_ANCHOR + 3):
        thread.put(saver, {"messages": [*changed, *messages(n)[4:]]})
    lengths = chain_lengths(uri, thread.thread_id)
    # the full value, its steps, then an anchor on it (one link) and steps on that
    assert lengths == [0, 1, 0, *range(1, STEPS_PER_ANCHOR + 1), 1, 2, 3]
    thread.check(saver)


def test_a_fork_and_two_savers_on_one_thread(uri, new_thread, messages):
    thread = new_thread()
    with (
        PostgresSaver.from_conn_string(uri, compact=True) as first,
        PostgresSaver.from_conn_string(uri, compact=True) as second,
    ):
        ids = [
            thread.put(first if n % 2 else second, {"messages": messages(n)}) for n in range(1, 9)
        ]
        thread.put(first, {"messages": [*messages(2), {"id": "fork"}]}, parent=ids[1])
        thread.put(second, {"messages": messages(9)}, parent=ids[-1])
        thread.check(first)
        thread.check(second)
    with PostgresSaver.from_conn_string(uri) as plain:
        thread.check(plain)


def statements_of_latest_read(latest_read, uri: str, thread, saver) -> tuple[list[str], dict]:
    with psycopg.connect(uri) as conn, conn.cursor(binary=True) as cur:
        return latest_read(
            _plans.get_tuple_plan, saver, thread, lambda sql, p: cur.execute(sql, p).fetchall()
        )


def test_the_writer_reads_its_latest_values_without_their_chains(
    uri, new_thread, messages, latest_read
):
    """The process that stored a delta holds the value whole: reading the
    latest checkpoint is one statement without the chain's links. A saver
    that holds another version (another saver wrote since) reads the chain
    in a second statement, one that holds nothing in the first."""
    thread = new_thread()
    with (
        PostgresSaver.from_conn_string(uri, compact=True) as writer,
        PostgresSaver.from_conn_string(uri, compact=True) as other,
    ):
        for n in range(1, 6):
            thread.put(writer, {"messages": messages(n)})
        statements, values = statements_of_latest_read(latest_read, uri, thread, writer)
        assert values == thread.expected[max(thread.expected)]
        assert len(statements) == 1 and "lgc_delta_chain_v1" not in statements[0]

        statements, values = statements_of_latest_read(latest_read, uri, thread, other)
        assert values == thread.expected[max(thread.expected)]
        assert len(statements) == 1 and "lgc_delta_chain_v1" in statements[0]

        thread.put(other, {"messages": messages(6)})  # whole: other's cache missed
        thread.put(other, {"messages": messages(7)})  # a delta the writer does not hold
        assert chain_lengths(uri, thread.thread_id)[-1] == 1
        statements, values = statements_of_latest_read(latest_read, uri, thread, writer)
        assert values == thread.expected[max(thread.expected)]
        assert len(statements) == 2 and "checkpoint_blobs" in statements[1]
        thread.check(writer)
        thread.check(other)


def test_a_delta_on_a_deleted_base_is_refused_and_stored_whole(uri, new_thread, messages):
    thread = new_thread()
    with PostgresSaver.from_conn_string(uri, compact=True) as writer:
        for n in range(1, 4):
            thread.put(writer, {"messages": messages(n)})
        with PostgresSaver.from_conn_string(uri) as other:
            other.delete_thread(thread.thread_id)
        again = new_thread()
        again.thread_id = thread.thread_id
        again.put(writer, {"messages": messages(4)})  # the writer's cache is stale
        again.put(writer, {"messages": messages(5)})
        assert chain_lengths(uri, thread.thread_id) == [0, 1]
        again.check(writer)
    with psycopg.connect(uri, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="delta base missing"):
            conn.execute(
                "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, "
                "blob) VALUES (%s, '', 'messages', 'v9', %s, %s)",
                (thread.thread_id, DELTA_TYPE, bytes.fromhex("9291a6") + b"nobody" + b"\x90"),
            )


def test_a_missing_link_raises(saver, uri, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}) for n in range(1, 4)]
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM checkpoint_blobs WHERE thread_id = %s AND version = "
            "(SELECT min(version) FROM checkpoint_blobs WHERE thread_id = %s)",
            (thread.thread_id, thread.thread_id),
        )
    with PostgresSaver.from_conn_string(uri, compact=True) as reader:  # holds no value
        with pytest.raises(BrokenChainError, match="missing"):
            reader.get_tuple(thread.config(ids[2]))


def test_prune_keep_latest_and_delete(saver, uri, new_thread, messages):
    thread = new_thread()
    for n in range(1, 10):
        last = thread.put(saver, {"messages": messages(n)})
    saver.prune([thread.thread_id], strategy="keep_latest")
    assert chain_lengths(uri, thread.thread_id) == [0]  # the latest, rewritten whole
    thread.check(saver, [last])
    thread.put(saver, {"messages": messages(10)})
    thread.check(saver, [last, thread.last["configurable"]["checkpoint_id"]])
    saver.prune([thread.thread_id], strategy="delete")
    assert chain_lengths(uri, thread.thread_id) == []


def test_prune_keep_last_keeps_the_chains_of_what_stays(saver, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}) for n in range(1, 12)]
    saver.prune([thread.thread_id], strategy="keep_last", keep=3)
    thread.check(saver, ids[-3:])  # their chains ran through checkpoints now gone
    assert len(list(saver.list(thread.config()))) == 3


def test_delete_for_runs_keeps_the_other_runs_readable(saver, runs_deleted_one_by_one):
    runs_deleted_one_by_one(saver)


def test_copy_thread_copies_whole_chains(saver, new_thread, messages):
    source = new_thread()
    for n in range(1, 8):
        source.put(saver, {"messages": messages(n)})
    target = new_thread()
    saver.copy_thread(source.thread_id, target.thread_id)
    saver.delete_thread(source.thread_id)
    target.expected = dict(source.expected)
    target.check(saver)


def test_delta_channel_history_reads_compact_blobs(saver, new_thread, messages):
    thread = new_thread()
    for n in range(1, 5):
        thread.put(saver, {"messages": messages(n)})
    history = saver.get_delta_channel_history(config=thread.last, channels=["messages"])
    assert history["messages"]["seed"] == messages(3)


@pytest.fixture
def converting(postgres_server):
    """A new database set up: how to open a compact saver on it, and how to
    run `compact_database` on it."""
    uri = postgres_server.new_database("converting")
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()

    def convert() -> int:
        with psycopg.connect(uri, autocommit=True) as conn:
            return compact_database(conn)

    return (lambda: PostgresSaver.from_conn_string(uri, compact=True)), convert


@pytest.mark.parametrize("remove", ["", "prune", "copy", "a", "b"])
def test_a_saver_writing_on_across_a_conversion_reads_back_exactly(
    converting, across_a_conversion, remove
):
    """Read back, and after a prune, a copy or a run's deletion."""
    across_a_conversion(*converting, remove)


def test_a_thread_two_savers_wrote_in_turn_converts(converting, converted_after_a_restart):
    converted_after_a_restart(*converting)


def _reads_as_in_plain_mode(postgres_server, name: str, scenario) -> None:
    """`scenario` run on a new database by compact savers, then by plain ones,
    reads alike."""
    uri = postgres_server.new_database(name)
    with PostgresSaver.from_conn_string(uri) as saver:
        saver.setup()

    def open_saver(compact: bool) -> Any:
        return PostgresSaver.from_conn_string(uri, compact=compact)

    assert scenario(open_saver, True) == scenario(open_saver, False)


def test_a_put_again_reads_as_in_plain_mode(postgres_server, put_again):
    """A stored blob is never replaced (the reference's rule too), so deltas
    on it read on as put."""
    _reads_as_in_plain_mode(postgres_server, "again", put_again)


def test_a_copy_over_shared_ids_reads_as_in_plain_mode(postgres_server, copied_over):
    """The copy never replaces a blob, so the target's deltas read on as put."""
    _reads_as_in_plain_mode(postgres_server, "copied", copied_over)


def test_reads_racing_another_savers_deletions_read_what_is_left(
    uri, saver, reads_racing_deletions
):
    with (
        PostgresSaver.from_conn_string(uri, compact=True) as reader,
        PostgresSaver.from_conn_string(uri, compact=True) as other,
    ):
        reads_racing_deletions(saver, reader, other)


def test_copy_thread_inserts_each_delta_after_the_deltas_its_chain_lists():
    """Ranks by dependency, not by the chain's length (a conversion beside a
    running saver re-lays a base with a longer chain than the delta on it);
    chains naming blobs of no delta are no constraint; a cycle is refused."""
    chains = [
        ("", "messages", "v29", ["v28", "v11"]),
        ("", "messages", "v28", [f"v{n}" for n in range(27, 16, -1)]),
        *[("", "messages", f"v{n}", [f"v{n - 1}"]) for n in range(17, 28)],
        ("", "other", "v28", ["v1"]),
    ]
    ranks = {
        (ns, channel, version): rank for ns, channel, version, rank in _plans._insert_ranks(chains)
    }
    for ns, channel, version, chain in chains:
        for link in chain:
            if (ns, channel, link) in ranks:
                assert ranks[(ns, channel, link)] < ranks[(ns, channel, version)]
    assert ranks[("", "messages", "v17")] == ranks[("", "other", "v28")] == 1
    assert ranks[("", "messages", "v29")] == 13
    with pytest.raises(BrokenChainError, match="cycle"):
        _plans._insert_ranks([("", "m", "a", ["b"]), ("", "m", "b", ["a"])])


def test_compact_then_expand_a_plain_database(postgres_server, new_thread, messages):
    uri = postgres_server.new_database("convert")  # conversion covers every thread
    threads = [new_thread(), new_thread("child:1")]
    threads[1].thread_id = threads[0].thread_id
    with PostgresSaver.from_conn_string(uri) as plain:
        plain.setup()
        for n in range(1, 12):
            for thread in threads:
                thread.put(plain, {"messages": messages(n), "step": n})
    thread_id = threads[0].thread_id
    assert chain_lengths(uri, thread_id) == [0] * 22
    seen = []
    with psycopg.connect(uri, autocommit=True) as conn:
        assert compact_database(conn, progress=lambda *args: seen.append(args[:2])) == 2 * 10
        assert seen == [(1, 1)]
        assert compact_database(conn) == 0  # idempotent
    assert sorted(chain_lengths(uri, thread_id)) == sorted(list(range(11)) * 2)
    with PostgresSaver.from_conn_string(uri) as reader:
        for thread in threads:
            thread.check(reader)
    with psycopg.connect(uri, autocommit=True) as conn:
        assert expand_database(conn) == 2 * 10
        assert expand_database(conn) == 0
    assert chain_lengths(uri, thread_id) == [0] * 22
    with PostgresSaver.from_conn_string(uri, compact=True) as reader:
        for thread in threads:
            thread.check(reader)
