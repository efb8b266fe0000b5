"""Serializer round trip, ours beside the reference, in one run.

Each interpreter given by --python runs the same workload in a fresh
subprocess: dumps_typed + loads_typed of a 120-message LangChain conversation
(human, AI with tool calls, tool results). The interpreters alternate, and
each figure is the best of --rounds runs, so both see the same machine load.

    python bench/serde_bench.py --python .venv/bin/python --python /tmp/refvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKLOAD = """
import json, time
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

def message(i):
    if i % 3 == 0:
        return HumanMessage(content=f"question {i} " * 5, id=f"h{i}")
    if i % 3 == 1:
        call = {"name": "search", "args": {"query": f"q{i}", "k": 3}, "id": f"call{i}"}
        return AIMessage(content=f"thinking about {i}", tool_calls=[call], id=f"a{i}")
    return ToolMessage(content=f"result {i} " * 10, tool_call_id=f"call{i - 1}", id=f"t{i}")

serde = JsonPlusSerializer()
value = {"messages": [message(i) for i in range(120)]}
assert serde.loads_typed(serde.dumps_typed(value)) == value
loops = 200
start = time.perf_counter()
for _ in range(loops):
    serde.loads_typed(serde.dumps_typed(value))
print(json.dumps(loops / (time.perf_counter() - start)))
"""


def round_trips_per_second(python: str) -> float:
    out = subprocess.run([python, "-c", WORKLOAD], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="interpreter to measure (repeatable)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    best = dict.fromkeys(pythons, 0.0)
    for _ in range(args.rounds):
        for python in pythons:
            best[python] = max(best[python], round_trips_per_second(python))
    first = best[pythons[0]]
    for python, rate in best.items():
        print(f"{python:40} {rate:10,.0f} round trips/s  {first / rate:5.2f}x (first / this)")
    print(json.dumps(best))


if __name__ == "__main__":
    main()
