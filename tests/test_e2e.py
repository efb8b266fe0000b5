"""The published langgraph, unchanged, on every saver of the family."""

from __future__ import annotations

import operator
import pathlib
from typing import Annotated

import langgraph.checkpoint.base as checkpoint_base
import pytest
from langchain_core.messages import AIMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_installed_base_package_is_this_repository():
    source = pathlib.Path(checkpoint_base.__file__).resolve()
    assert REPO in source.parents, (
        f"langgraph.checkpoint.base is loaded from {source}, not this repository"
    )


# -- a small agent: a model-like node, a tool-like node, a loop ------------------------


def agent_graph(checkpointer):
    def model(state: MessagesState):
        last = state["messages"][-1]
        if last.type == "tool":
            return {"messages": [AIMessage(content=f"done: {last.content}")]}
        call = {
            "name": "double",
            "args": {"x": len(state["messages"])},
            "id": f"c{len(state['messages'])}",
        }
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    def tool(state: MessagesState):
        call = state["messages"][-1].tool_calls[0]
        return {
            "messages": [
                {"role": "tool", "content": str(call["args"]["x"] * 2), "tool_call_id": call["id"]}
            ]
        }

    def route(state: MessagesState):
        return "tool" if state["messages"][-1].tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node(model)
    builder.add_node(tool)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tool", END])
    builder.add_edge("tool", "model")
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_invoke_and_stream_remember_the_thread(sync_saver, thread, durability):
    graph = agent_graph(sync_saver)
    first = graph.invoke({"messages": [("user", "hi")]}, thread, durability=durability)
    assert first["messages"][-1].content == "done: 2"
    chunks = list(graph.stream({"messages": [("user", "again")]}, thread, durability=durability))
    assert [next(iter(c)) for c in chunks] == ["model", "tool", "model"]
    state = graph.get_state(thread)
    assert len(state.values["messages"]) == 8  # both turns remembered
    history = list(graph.get_state_history(thread))
    assert len(history) >= (2 if durability == "exit" else 8)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_ainvoke_and_astream(async_saver, thread, durability):
    graph = agent_graph(async_saver)
    result = await graph.ainvoke({"messages": [("user", "hi")]}, thread, durability=durability)
    assert result["messages"][-1].content == "done: 2"
    chunks = [
        c
        async for c in graph.astream(
            {"messages": [("user", "more")]}, thread, durability=durability
        )
    ]
    assert len(chunks) == 3
    assert len((await graph.aget_state(thread)).values["messages"]) == 8


# -- interrupts, Command, Send, subgraphs ------------------------------------------------


class Fan(TypedDict):
    topic: str
    answers: Annotated[list[str], operator.add]


def parallel_interrupts_graph(checkpointer):
    def ask_a(state: Fan):
        return {"answers": [f"a:{interrupt('question a')}"]}

    def ask_b(state: Fan):
        return {"answers": [f"b:{interrupt('question b')}"]}

    builder = StateGraph(Fan)
    builder.add_node("ask_a", ask_a)
    builder.add_node("ask_b", ask_b)
    builder.add_edge(START, "ask_a")
    builder.add_edge(START, "ask_b")
    return builder.compile(checkpointer=checkpointer)


def test_parallel_interrupts_resume_together(sync_saver, thread):
    graph = parallel_interrupts_graph(sync_saver)
    paused = graph.invoke({"topic": "t", "answers": []}, thread)
    interrupts = paused["__interrupt__"]
    assert sorted(i.value for i in interrupts) == ["question a", "question b"]
    resumed = graph.invoke(
        Command(resume={i.id: i.value.split()[-1].upper() for i in interrupts}), thread
    )
    assert sorted(resumed["answers"]) == ["a:A", "b:B"]
    assert graph.get_state(thread).next == ()


async def test_parallel_interrupts_async(async_saver, thread):
    graph = parallel_interrupts_graph(async_saver)
    paused = await graph.ainvoke({"topic": "t", "answers": []}, thread)
    resume = {i.id: "ok" for i in paused["__interrupt__"]}
    assert sorted((await graph.ainvoke(Command(resume=resume), thread))["answers"]) == [
        "a:ok",
        "b:ok",
    ]


def test_command_goto_and_send_fan_out_with_subgraph_checkpoints(sync_saver, thread):
    class Inner(TypedDict):
        answers: Annotated[list[str], operator.add]

    inner = StateGraph(Inner)
    inner.add_node("work", lambda s: {"answers": [f"{s['answers'][-1]}!"]})
    inner.add_edge(START, "work")

    def start(state: Fan):
        return Command(goto=[Send("worker", {"answers": [p]}) for p in state["topic"].split()])

    def finish(state: Fan):
        return {"answers": [interrupt("check")]}

    builder = StateGraph(Fan)
    builder.add_node("start", start)
    builder.add_node("worker", inner.compile())
    builder.add_node("finish", finish)
    builder.add_edge(START, "start")
    builder.add_edge("worker", "finish")
    graph = builder.compile(checkpointer=sync_saver)
    graph.invoke({"topic": "x y z", "answers": []}, thread)
    state = graph.get_state(thread, subgraphs=True)
    assert state.next == ("finish",)
    assert sorted(state.values["answers"]) == ["x", "x!", "y", "y!", "z", "z!"]
    namespaces = {
        item.config["configurable"]["checkpoint_ns"]
        for item in sync_saver.list(
            {"configurable": {"thread_id": thread["configurable"]["thread_id"]}}
        )
    }
    assert len([ns for ns in namespaces if ns.startswith("worker:")]) == 3
    final = graph.invoke(Command(resume="checked"), thread)
    assert final["answers"][-1] == "checked"


# -- time travel --------------------------------------------------------------------------


class Counter(TypedDict):
    log: Annotated[list[str], operator.add]


def counter_graph(checkpointer):
    builder = StateGraph(Counter)
    builder.add_node("one", lambda s: {"log": ["one"]})
    builder.add_node("two", lambda s: {"log": ["two"]})
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    return builder.compile(checkpointer=checkpointer)


def test_time_travel_replay_update_and_fork(sync_saver, thread):
    graph = counter_graph(sync_saver)
    graph.invoke({"log": ["start"]}, thread)
    history = list(graph.get_state_history(thread))
    assert [h.next for h in history][:3] == [(), ("two",), ("one",)]
    before_two = history[1]
    replayed = graph.invoke(None, before_two.config)
    assert replayed["log"] == ["start", "one", "two"]
    forked = graph.update_state(before_two.config, {"log": ["edited"]}, as_node="one")
    result = graph.invoke(None, forked)
    assert result["log"] == ["start", "one", "edited", "two"]
    assert graph.get_state(thread).values["log"] == ["start", "one", "edited", "two"]
    # the original branch is still there
    assert graph.get_state(before_two.config).values["log"] == ["start", "one"]


async def test_time_travel_async(async_saver, thread):
    graph = counter_graph(async_saver)
    await graph.ainvoke({"log": ["s"]}, thread)
    history = [h async for h in graph.aget_state_history(thread)]
    fork = await graph.aupdate_state(history[1].config, {"log": ["x"]}, as_node="one")
    assert (await graph.ainvoke(None, fork))["log"] == ["s", "one", "x", "two"]


# -- failures -----------------------------------------------------------------------------


def test_failed_node_is_recorded_and_run_resumes_after_fix(sync_saver, thread):
    broken = {"on": True}
    runs = []

    def flaky(state: Counter):
        runs.append("flaky")
        if broken["on"]:
            raise RuntimeError("tool is down")
        return {"log": ["flaky"]}

    builder = StateGraph(Counter)
    builder.add_node("steady", lambda s: {"log": ["steady"]})
    builder.add_node("flaky", flaky)
    builder.add_edge(START, "steady")
    builder.add_edge("steady", "flaky")
    graph = builder.compile(checkpointer=sync_saver)
    with pytest.raises(RuntimeError, match="tool is down"):
        graph.invoke({"log": []}, thread)
    latest = sync_saver.get_tuple(thread)
    assert any(channel == "__error__" for _, channel, _ in latest.pending_writes)
    assert graph.get_state(thread).next == ("flaky",)
    broken["on"] = False
    assert graph.invoke(None, thread)["log"] == ["steady", "flaky"]
    assert runs == ["flaky", "flaky"]  # steady did not run again


# -- store and cache alongside a checkpointer -------------------------------------------------


def test_store_and_node_cache_with_checkpointer(sync_saver, thread):
    from langgraph.cache.memory import InMemoryCache
    from langgraph.store.memory import InMemoryStore
    from langgraph.types import CachePolicy

    calls = []

    def expensive(state: Counter, *, store):
        calls.append(1)
        store.put(("seen",), "count", {"n": len(calls)})
        return {"log": ["computed"]}

    builder = StateGraph(Counter)
    builder.add_node("expensive", expensive, cache_policy=CachePolicy(key_func=lambda s: "same"))
    builder.add_edge(START, "expensive")
    store = InMemoryStore()
    graph = builder.compile(checkpointer=sync_saver, store=store, cache=InMemoryCache())
    graph.invoke({"log": []}, thread)
    graph.invoke({"log": []}, thread)
    assert len(calls) == 1
    assert store.get(("seen",), "count").value == {"n": 1}
    assert graph.get_state(thread).values["log"] == ["computed", "computed"]


# -- delta channels (beta) --------------------------------------------------------------------


def append_all(state: list, writes: list) -> list:
    return [
        *state,
        *[w for batch in writes for w in (batch if isinstance(batch, list) else [batch])],
    ]


class Log(TypedDict):
    items: Annotated[list, DeltaChannel(append_all, snapshot_frequency=4)]


def test_delta_channel_state_survives_many_steps_and_prune(sync_saver, thread):
    builder = StateGraph(Log)
    builder.add_node("add", lambda s: {"items": [len(s["items"])]})
    builder.add_edge(START, "add")
    graph = builder.compile(checkpointer=sync_saver)
    for _ in range(10):
        graph.invoke({"items": []}, thread)
    expected = graph.get_state(thread).values["items"]
    assert len(expected) == 10
    sync_saver.prune([thread["configurable"]["thread_id"]], strategy="keep_latest")
    assert graph.get_state(thread).values["items"] == expected
    graph.invoke({"items": []}, thread)
    assert len(graph.get_state(thread).values["items"]) == 11
