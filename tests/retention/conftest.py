"""Savers with a `ttl` option for the retention tests, behind one async face."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

KINDS = ["memory", "sqlite", "async_sqlite", "postgres", "async_postgres"]


class Saver:
    """A saver and how to call it: `await s.call("sweep_ttl")` runs `sweep_ttl`
    on a sync saver and `asweep_ttl` on an async one."""

    def __init__(self, saver: Any, is_async: bool, make: Any) -> None:
        self.saver = saver
        self.is_async = is_async
        self.make = make  # (ttl) -> async context manager of another saver on the same storage

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            result = getattr(self.saver, "a" + name)(*args, **kwargs)
            if inspect.isasyncgen(result):
                return [item async for item in result]
            return await result
        result = getattr(self.saver, name)(*args, **kwargs)
        return list(result) if inspect.isgenerator(result) else result

    async def invoke(self, graph: Any, value: Any, config: dict) -> Any:
        if self.is_async:
            return await graph.ainvoke(value, config)
        return graph.invoke(value, config)


def _opener(kind: str, location: str):
    def make(ttl: Any):
        if kind == "sqlite":
            return _sync(SqliteSaver.from_conn_string(location, ttl=ttl))
        if kind == "async_sqlite":
            return AsyncSqliteSaver.from_conn_string(location, ttl=ttl)
        if kind == "postgres":
            return _sync(PostgresSaver.from_conn_string(location, ttl=ttl))
        return AsyncPostgresSaver.from_conn_string(location, ttl=ttl)

    return make


class _sync:
    """A sync context manager used with `async with`."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def __aenter__(self) -> Any:
        return self.manager.__enter__()

    async def __aexit__(self, *exc: Any) -> None:
        self.manager.__exit__(*exc)


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def location(kind, tmp_path, request) -> str:
    if kind in ("postgres", "async_postgres"):
        uri = request.getfixturevalue("postgres_server").new_database()
        with PostgresSaver.from_conn_string(uri) as saver:
            saver.setup()
        return uri
    return str(tmp_path / "retention.db")


@pytest.fixture
def open_saver(kind, location):
    """`async with open_saver(ttl) as s:` a `Saver` of this kind (memory: one
    shared saver, whose ttl option is replaced)."""
    shared: list[InMemorySaver] = []

    class _Open:
        def __init__(self, ttl: Any = None) -> None:
            self.ttl = ttl

        async def __aenter__(self) -> Saver:
            if kind == "memory":
                if not shared:
                    shared.append(InMemorySaver(ttl=self.ttl))
                saver = shared[0]
                saver.ttl = InMemorySaver(ttl=self.ttl).ttl
                return Saver(saver, False, _Open)
            self.manager = _opener(kind, location)(self.ttl)
            saver = await self.manager.__aenter__()
            return Saver(saver, kind.startswith("async"), _Open)

        async def __aexit__(self, *exc: Any) -> None:
            if kind != "memory":
                await self.manager.__aexit__(*exc)

    return _Open


@pytest.fixture
async def saver(open_saver) -> AsyncIterator[Saver]:
    async with open_saver({"default_ttl": 0.02}) as s:  # test_retention.TTL
        yield s
