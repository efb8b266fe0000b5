"""Compact storage in InMemorySaver: deltas read back exactly, chains stay
whole through every operation (the same hazards as the SQL savers')."""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base.compact import (
    DELTA_TYPE,
    MAX_CHAIN,
    DeltaCache,
    decode_record,
    encode_list,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import START, MessagesState, StateGraph


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver(compact=True)


def chain_lengths(saver: InMemorySaver, thread_id: str, channel: str = "messages") -> list[int]:
    """Links behind each stored value of `channel` (0: whole), oldest version first."""
    blobs = sorted(
        (version, blob)
        for (thread, _, name, version), blob in saver.blobs.items()
        if thread == thread_id and name == channel
    )
    return [len(decode_record(b[1]).chain) if b[0] == DELTA_TYPE else 0 for _, b in blobs]


async def test_the_compact_saver_passes_the_conformance_suite():
    @checkpointer_test(name="InMemorySaver(compact)")
    async def compact_memory():
        yield InMemorySaver(compact=True)

    report = await validate(compact_memory)
    assert report.passed_all(), report.to_json()


def test_a_graph_reads_the_same_plain_and_compact():
    def agent(state: MessagesState):
        return {"messages": [AIMessage(content=f"reply {len(state['messages'])} " * 20)]}

    states = {}
    for compact in (False, True):
        builder = StateGraph(MessagesState)
        builder.add_node(agent)
        builder.add_edge(START, "agent")
        memory = InMemorySaver(compact=compact)
        graph = builder.compile(checkpointer=memory)
        thread = {"configurable": {"thread_id": "chat"}}
        for turn in range(30):
            graph.invoke({"messages": [HumanMessage(content=f"q{turn}", id=f"h{turn}")]}, thread)
        states[compact] = [
            [(m.type, m.content) for m in snapshot.values["messages"]]
            for snapshot in graph.get_state_history(thread)
        ]
        assert (max(chain_lengths(memory, "chat")) > 0) is compact
    assert states[True] == states[False]


def test_deltas_mutations_and_the_bound(saver, new_thread, messages):
    thread = new_thread()
    for n in range(1, 6):
        thread.put(saver, {"messages": messages(n)})
    assert chain_lengths(saver, thread.thread_id) == [0, 1, 2, 3, 4]
    value = messages(6)
    thread.put(saver, {"messages": value})
    value[1]["content"] = "edited in place"  # the same list object, another content
    value.append({"role": "ai", "id": "new", "content": "after the edit"})
    thread.put(saver, {"messages": value})
    assert chain_lengths(saver, thread.thread_id)[-1] == 0  # stored whole
    for n in range(8, 8 + 2 * MAX_CHAIN):
        thread.put(saver, {"messages": [*value, *messages(n)[7:]]})
    assert max(chain_lengths(saver, thread.thread_id)) <= MAX_CHAIN
    thread.check(saver)


def test_a_fork_and_namespaces(saver, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}) for n in range(1, 6)]
    forked = [*messages(2), {"role": "ai", "id": "fork", "content": "another way"}]
    thread.put(saver, {"messages": forked}, parent=ids[1])
    thread.put(saver, {"messages": messages(6)}, parent=ids[-1])
    inner = new_thread("child:1")
    inner.thread_id = thread.thread_id
    for n in range(1, 5):
        inner.put(saver, {"messages": messages(n + 2)})
    thread.check(saver)
    inner.check(saver)


def test_prune_keeps_what_the_kept_need(saver, new_thread, messages):
    thread = new_thread()
    for n in range(1, 10):
        last = thread.put(saver, {"messages": messages(n)})
    saver.prune([thread.thread_id], strategy="keep_latest")
    thread.check(saver, [last])
    assert len(list(saver.list(thread.config()))) == 1
    thread.put(saver, {"messages": messages(10)})  # extends the kept value again
    thread.check(saver, [last, thread.last["configurable"]["checkpoint_id"]])
    saver.prune([thread.thread_id], strategy="keep_last", keep=1)
    thread.check(saver, [thread.last["configurable"]["checkpoint_id"]])


def test_delete_for_runs_and_delete_thread(saver, new_thread, messages, runs_deleted_one_by_one):
    runs_deleted_one_by_one(saver)
    thread = new_thread()
    for n in range(1, 5):
        thread.put(saver, {"messages": messages(n)})
    saver.delete_thread(thread.thread_id)
    again = new_thread()
    again.thread_id = thread.thread_id
    again.put(saver, {"messages": messages(5)})
    again.put(saver, {"messages": messages(6)})
    again.check(saver)
    assert chain_lengths(saver, thread.thread_id) == [0, 1]


def test_a_base_deleted_under_the_cache_is_never_referenced(saver, new_thread, messages):
    thread = new_thread()
    ids = [thread.put(saver, {"messages": messages(n)}, run_id="a") for n in range(1, 4)]
    thread.put(saver, {"messages": messages(4)}, run_id="b")
    # The saver's cache now points at the run "b" value, which goes away: the
    # next put, which extends it, must be stored whole.
    saver.delete_for_runs(["b"])
    latest = thread.put(saver, {"messages": messages(5)}, parent=ids[-1])
    assert chain_lengths(saver, thread.thread_id) == [0, 1, 2, 0]
    thread.check(saver, [*ids, latest])
    # A new chain starts at that whole value, steps and anchors alike.
    later = [thread.put(saver, {"messages": messages(n)}) for n in range(6, 6 + MAX_CHAIN + 3)]
    assert 0 not in chain_lengths(saver, thread.thread_id)[4:]
    thread.check(saver, [*ids, latest, *later])


def test_copy_thread_copies_whole_chains(saver, new_thread, messages):
    source = new_thread()
    for n in range(1, 8):
        source.put(saver, {"messages": messages(n)})
    target = new_thread()
    saver.copy_thread(source.thread_id, target.thread_id)
    target.expected = dict(source.expected)
    saver.delete_thread(source.thread_id)
    target.check(saver)


# -- the cache every compact saver keeps -----------------------------------------------


def test_a_put_again_reads_as_in_plain_mode(put_again):
    savers: dict[bool, InMemorySaver] = {}

    def open_saver(compact: bool) -> Any:
        return nullcontext(savers.setdefault(compact, InMemorySaver(compact=compact)))

    assert put_again(open_saver, True) == put_again(open_saver, False)


def test_a_copy_over_shared_ids_reads_as_in_plain_mode(copied_over):
    savers: dict[bool, InMemorySaver] = {}

    def open_saver(compact: bool) -> Any:
        return nullcontext(savers.setdefault(compact, InMemorySaver(compact=compact)))

    assert copied_over(open_saver, True) == copied_over(open_saver, False)


def test_held_values_stay_within_their_budget_and_deltas_go_on():
    """Beyond `value_bytes` the values of the threads least recently written
    are dropped, not what the next delta needs; a record whose digest differs,
    or that has none, is never served a held value."""
    serde = JsonPlusSerializer()
    cache = DeltaCache(value_bytes=1500)
    values = {t: [f"{t} message {i}" * 20 for i in range(5)] for t in ("a", "b", "c")}
    for thread_id, value in values.items():
        encoded = encode_list(serde, value[:4], None)
        cache.remember(thread_id, "", {"messages": encoded.stored_at("v1")})
        encoded = encode_list(serde, value, cache.get(thread_id, "", "messages"))
        assert encoded.record is not None
        cache.remember(thread_id, "", {"messages": encoded.stored_at("v2")})
        held = cache.held_value(thread_id, "", "messages", encoded.record)
        assert held is not None and serde.loads_typed(held) == value
        assert len(held[1]) < 1500 < 2 * len(held[1])  # room for one thread at a time
    assert [cache.holds_values(t, "") for t in values] == [False, False, True]
    again = encode_list(serde, [*values["a"], "more"], cache.get("a", "", "messages"))
    assert again.record is not None  # the entry of "a" outlived its value
    longer = encode_list(serde, [*values["c"], "more"], cache.get("c", "", "messages")).record
    assert longer is not None
    assert cache.held_value("c", "", "messages", longer) is None  # another digest
    held = cache.held_value("c", "", "messages", dataclasses.replace(longer, digest=b""))
    assert held is None  # a record of an earlier layout
    cache.forget("c")
    assert not cache.holds_values("c", "")
