"""A process SIGKILLed in the middle of a run resumes from its last checkpoint."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver

GRAPH = textwrap.dedent(
    """
    import operator, sys, time
    from typing import Annotated
    from typing_extensions import TypedDict
    from langgraph.graph import START, StateGraph

    class State(TypedDict):
        done: Annotated[list[int], operator.add]

    def build(saver, slow):
        def step(state):
            n = len(state["done"])
            print(n, flush=True)
            if slow:
                time.sleep(0.2)
            return {"done": [n]}

        builder = StateGraph(State)
        builder.add_node("step", step)
        builder.add_edge(START, "step")
        builder.add_conditional_edges("step", lambda s: "step" if len(s["done"]) < 30 else "__end__")
        return builder.compile(checkpointer=saver)
    """
)

RUNNER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    from crash_graph import build
    kind, target = sys.argv[1], sys.argv[2]
    if kind == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver as Saver
    else:
        from langgraph.checkpoint.postgres import PostgresSaver as Saver
    with Saver.from_conn_string(target) as saver:
        build(saver, slow=True).invoke({"done": []}, {"configurable": {"thread_id": "crash"}, "recursion_limit": 100})
    """
)


def run_and_kill(kind: str, target: str, graph_dir: str) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, kind, target, graph_dir], stdout=subprocess.PIPE, text=True
    )
    seen = -1
    deadline = time.monotonic() + 60
    while seen < 8 and time.monotonic() < deadline:
        seen = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return seen


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_killed_run_resumes_from_last_checkpoint(kind, tmp_path, request):
    if kind == "sqlite":
        target = str(tmp_path / "crash.db")
        saver_cm = SqliteSaver.from_conn_string(target)
    else:
        target = request.getfixturevalue("postgres_server").new_database("crash")
        with PostgresSaver.from_conn_string(target) as saver:
            saver.setup()
        saver_cm = PostgresSaver.from_conn_string(target)
    (tmp_path / "crash_graph.py").write_text(GRAPH)
    reached = run_and_kill(kind, target, str(tmp_path))
    spec = importlib.util.spec_from_file_location("crash_graph", tmp_path / "crash_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["crash_graph"] = module
    spec.loader.exec_module(module)
    config = {"configurable": {"thread_id": "crash"}, "recursion_limit": 100}
    with saver_cm as saver:
        graph = module.build(saver, slow=False)
        state = graph.get_state(config)
        saved = len(state.values["done"])
        assert saved >= reached - 1  # at most the step in flight is lost
        assert state.values["done"] == list(range(saved))
        final = graph.invoke(None, config)
    assert final["done"] == list(range(30))
