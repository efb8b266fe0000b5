"""A LangGraph agent whose memory lives in a checkpointer.

    python examples/demo.py                      # SQLite file in ./demo-data (default)
    python examples/demo.py --backend memory     # in-process only
    python examples/demo.py --backend postgres --uri postgresql://...

No LLM and no network: the "model" is a few deterministic rules, so every run
prints the same story. What it shows:

1. memory across calls on one thread_id;
2. an `interrupt` asking a human to approve a tool call; the process EXITS
   while waiting, and a NEW process resumes it with `Command(resume=...)`;
3. the thread's history (`get_state_history`);
4. time travel: fork from an earlier checkpoint with `update_state`, run the fork;
5. the `langgraph-checkpoint` command's `threads` and `history` on the file.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

DATA_DIR = Path("demo-data")
THREAD = {"configurable": {"thread_id": "demo-user-1"}}


# -- the agent ---------------------------------------------------------------------


def model(state: MessagesState) -> dict:
    """Stands in for an LLM: answers, remembers names, or asks for a tool."""
    last = state["messages"][-1]
    if isinstance(last, ToolMessage):
        return {"messages": [AIMessage(content=f"The answer is {last.content}.")]}
    text = last.content.lower()
    if match := re.search(r"my name is (\w+)", text):
        return {"messages": [AIMessage(content=f"Nice to meet you, {match[1].title()}!")]}
    if "what is my name" in text:
        for message in state["messages"]:
            if message.type == "human" and (
                match := re.search(r"my name is (\w+)", message.content.lower())
            ):
                return {"messages": [AIMessage(content=f"Your name is {match[1].title()}.")]}
        return {"messages": [AIMessage(content="You have not told me yet.")]}
    if match := re.search(r"multiply (\d+) by (\d+)", text):
        call = {
            "name": "multiply",
            "args": {"a": int(match[1]), "b": int(match[2])},
            "id": "call-1",
        }
        return {"messages": [AIMessage(content="", tool_calls=[call])]}
    return {"messages": [AIMessage(content="I can remember names and multiply numbers.")]}


def approve(state: MessagesState) -> Command:
    """Pauses the graph until a human answers; the checkpointer keeps it waiting."""
    call = state["messages"][-1].tool_calls[0]
    answer = interrupt(f"Run {call['name']}({call['args']['a']}, {call['args']['b']})? yes/no")
    if answer == "yes":
        return Command(goto="tool")
    refusal = ToolMessage(content="refused by the user", tool_call_id=call["id"])
    return Command(goto="model", update={"messages": [refusal]})


def tool(state: MessagesState) -> dict:
    call = state["messages"][-1].tool_calls[0]
    result = call["args"]["a"] * call["args"]["b"]
    return {"messages": [ToolMessage(content=str(result), tool_call_id=call["id"])]}


def route(state: MessagesState) -> str:
    return "approve" if state["messages"][-1].tool_calls else END


def build_graph(checkpointer):
    builder = StateGraph(MessagesState)
    builder.add_node(model)
    builder.add_node(approve)
    builder.add_node(tool)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["approve", END])
    builder.add_edge("tool", "model")
    return builder.compile(checkpointer=checkpointer)


# -- choosing a backend is one import ------------------------------------------------


@contextmanager
def open_checkpointer(backend: str, uri: str | None, fresh: bool):
    if backend == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        DATA_DIR.mkdir(exist_ok=True)
        path = DATA_DIR / "demo.sqlite"
        if fresh:
            for leftover in DATA_DIR.glob("demo.sqlite*"):
                leftover.unlink()
        with SqliteSaver.from_conn_string(str(path)) as saver:
            yield saver
    elif backend == "postgres":
        from langgraph.checkpoint.postgres import PostgresSaver

        if not uri:
            raise SystemExit("--backend postgres needs --uri postgresql://user@host:port/dbname")
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()
            if fresh:
                saver.delete_thread(THREAD["configurable"]["thread_id"])
            yield saver
    else:
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()


# -- the story ---------------------------------------------------------------------------


def say(graph, text: str) -> dict:
    print(f"\n  user > {text}")
    result = graph.invoke({"messages": [("user", text)]}, THREAD)
    if "__interrupt__" in result:
        print(f"  (paused) graph asks: {result['__interrupt__'][0].value}")
    else:
        print(f"  agent> {result['messages'][-1].content}")
    return result


def part_one(graph) -> None:
    print("1. Memory across calls on one thread")
    say(graph, "Hello, my name is Ada")
    say(graph, "What is my name?")
    print("\n2. A tool call that needs approval")
    say(graph, "Please multiply 6 by 7")
    print(f"  waiting at: {graph.get_state(THREAD).next}")


def part_two(graph) -> None:
    state = graph.get_state(THREAD)
    print(
        f"  found the thread waiting at {state.next}, with {len(state.values['messages'])} messages"
    )
    print("  human answers: yes")
    result = graph.invoke(Command(resume="yes"), THREAD)
    print(f"  agent> {result['messages'][-1].content}")

    print("\n3. History of the thread (newest first)")
    history = list(graph.get_state_history(THREAD))
    for snapshot in history:
        last = snapshot.values["messages"][-1] if snapshot.values.get("messages") else None
        summary = (
            f"{last.type}: {last.content or last.tool_calls[0]['name'] + ' call'}" if last else "-"
        )
        print(
            f"  step {snapshot.metadata['step']:>2}  next={list(snapshot.next)!s:<12} last={summary}"
        )

    print("\n4. Time travel: fork from the checkpoint that waited for approval")
    waiting = next(s for s in history if s.next == ("approve",))
    proposed = waiting.values["messages"][-1]
    changed = AIMessage(
        id=proposed.id,  # same id: replaces the proposed call instead of appending
        content="",
        tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 8}, "id": "call-1"}],
    )
    fork = graph.update_state(waiting.config, {"messages": [changed]}, as_node="model")
    result = graph.invoke(Command(resume="yes"), fork)
    print(f"  fork   > {result['messages'][-1].content}  (edited the call to multiply 6 by 8)")
    original = graph.get_state(waiting.config)
    print(
        f"  the original branch is untouched: its pending call is still {original.values['messages'][-1].tool_calls[0]['args']}"
    )
    print(f"  the thread now has {len(list(graph.get_state_history(THREAD)))} checkpoints")


def part_three(url: str) -> None:
    """The operator's view of the same database, from the command line."""
    command = [sys.executable, "-m", "langgraph.checkpoint.cli"]
    print("\n5. The database from the command line (read-only)")
    for args in (["threads"], ["history", THREAD["configurable"]["thread_id"]]):
        print(f"\n  $ langgraph-checkpoint {' '.join(args)} --db {url}")
        out = subprocess.run([*command, *args, "--db", url], check=True, capture_output=True)
        print("\n".join(f"  {line}" for line in out.stdout.decode().splitlines()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "memory", "postgres"], default="sqlite")
    parser.add_argument("--uri", help="PostgreSQL URI for --backend postgres")
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.resume:  # the second process
        with open_checkpointer(args.backend, args.uri, fresh=False) as saver:
            print(
                f"\n--- a new process (pid {os.getpid()}) reopens the {args.backend} checkpointer ---"
            )
            part_two(build_graph(saver))
        return

    print(f"LangGraph agent persisted with the {args.backend} checkpointer\n")
    with open_checkpointer(args.backend, args.uri, fresh=True) as saver:
        graph = build_graph(saver)
        part_one(graph)
        if args.backend == "memory":
            print("\n--- InMemorySaver cannot outlive its process: resuming in this one ---")
            part_two(graph)
            return
    print(f"\n--- this process (pid {os.getpid()}) exits now, the run paused at the interrupt ---")
    command = [sys.executable, __file__, "--resume", "--backend", args.backend]
    if args.uri:
        command += ["--uri", args.uri]
    subprocess.run(command, check=True)
    part_three(args.uri or f"sqlite:///{DATA_DIR / 'demo.sqlite'}")


if __name__ == "__main__":
    main()
