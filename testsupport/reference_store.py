"""What the store tests share about the reference's vector fixtures
(`upstream-store-vectors.*`): the embedding they were written with, and a
replay of the searches the reference recorded."""

from __future__ import annotations

import pytest


def reference_embed(texts: list[str]) -> list[list[float]]:
    """The deterministic 4-dimensional embedding of the fixtures (see their JSON)."""
    out = []
    for text in texts:
        sums = [sum(ord(c) for i, c in enumerate(text) if i % 4 == k) for k in range(4)]
        out.append([float(s % 11 - 5) for s in sums])
    return out


def replay_searches(store, expected: dict) -> None:
    """Run the reference's recorded searches on `store`; same keys, same scores."""
    for search in expected["searches"]:
        call = search["call"]
        got = store.search(
            tuple(call["namespace_prefix"]),
            query=call.get("query"),
            filter=call.get("filter"),
            limit=call.get("limit", 10),
            offset=call.get("offset", 0),
        )
        if not call.get("query"):
            assert {r.key for r in got} == {r["key"] for r in search["results"]}, call
            continue
        # The reference leaves items without vectors out of a query search;
        # ours lists them last, unscored, as InMemoryStore does.
        scored = [(r.key, r.score) for r in got if r.score is not None]
        want = [(r["key"], r["score"]) for r in search["results"]]
        assert [k for k, _ in scored] == [k for k, _ in want], call
        assert [s for _, s in scored] == pytest.approx([s for _, s in want], abs=1e-5), call
