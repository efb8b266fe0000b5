"""The graph that wrote the reference compat databases, rebuilt from what they hold.

`plan` answers with a tool call and fans out three `Send`s to the `worker`
subgraph, the workers feed `review`, which waits at an `interrupt` for
approval. Node and channel names match the stored data, so threads written by
the reference packages continue on it.
"""

from __future__ import annotations

import operator
from datetime import datetime, timezone
from typing import Annotated, Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict


class State(TypedDict):
    messages: Annotated[list, add_messages]
    notes: Annotated[list[str], operator.add]
    approved: bool
    when: datetime


class WorkerState(TypedDict):
    notes: Annotated[list[str], operator.add]


def _worker(state: WorkerState) -> dict:
    return {"notes": [f"{state['notes'][-1]}:done"]}


def _plan(state: State) -> dict:
    call = {"name": "lookup", "args": {"q": "visible", "n": 1}, "id": "call1"}
    return {
        "messages": [AIMessage(content="plan 1 (visible)", tool_calls=[call])],
        "when": datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc),
    }


def _fan_out(state: State) -> list[Send]:
    return [Send("worker", {"notes": [f"part-{i}"]}) for i in range(3)]


def _review(state: State) -> dict:
    answer = interrupt({"question": "approve?", "notes": state["notes"]})
    return {
        "approved": answer == "yes",
        "messages": [ToolMessage(content="looked up", tool_call_id="call1")],
    }


def build_compat_graph(checkpointer: Any) -> Any:
    worker = StateGraph(WorkerState)
    worker.add_node("worker", _worker)
    worker.add_edge(START, "worker")
    builder = StateGraph(State)
    builder.add_node("plan", _plan)
    builder.add_node("worker", worker.compile())
    builder.add_node("review", _review)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", _fan_out, ["worker"])
    builder.add_edge("worker", "review")
    return builder.compile(checkpointer=checkpointer)


def view_history(saver: Any, thread_id: str) -> list[dict]:
    """A thread as the compat `.expected.json` files describe it."""
    out = []
    for item in saver.list({"configurable": {"thread_id": thread_id}}):
        out.append(
            {
                "config": dict(item.config["configurable"]),
                "parent": dict(item.parent_config["configurable"]) if item.parent_config else None,
                "metadata": item.metadata,
                "channel_values": {
                    k: repr(v) for k, v in item.checkpoint["channel_values"].items()
                },
                "channel_versions": item.checkpoint["channel_versions"],
                "pending_writes": [[t, c, repr(v)] for t, c, v in item.pending_writes],
            }
        )
    return out
