"""Savers for the end-to-end tests: each test gets a fresh one on fresh storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

# `_compact`: the same saver with compact storage (compact=True).
SYNC_SAVERS = [
    "memory",
    "sqlite",
    "postgres",
    "memory_compact",
    "sqlite_compact",
    "postgres_compact",
]
ASYNC_SAVERS = [
    "memory",
    "async_sqlite",
    "async_postgres",
    "memory_compact",
    "async_sqlite_compact",
    "async_postgres_compact",
]


@pytest.fixture(scope="module")
def e2e_postgres_uri(postgres_uri):
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    return postgres_uri


@pytest.fixture(params=SYNC_SAVERS)
def sync_saver(request, tmp_path) -> Iterator:
    kind, compact = request.param.removesuffix("_compact"), request.param.endswith("_compact")
    if kind == "memory":
        yield InMemorySaver(compact=compact)
    elif kind == "sqlite":
        with SqliteSaver.from_conn_string(str(tmp_path / "e2e.db"), compact=compact) as saver:
            yield saver
    else:
        uri = request.getfixturevalue("e2e_postgres_uri")
        with PostgresSaver.from_conn_string(uri, compact=compact) as saver:
            yield saver


@pytest.fixture(params=ASYNC_SAVERS)
async def async_saver(request, tmp_path) -> AsyncIterator:
    kind, compact = request.param.removesuffix("_compact"), request.param.endswith("_compact")
    if kind == "memory":
        yield InMemorySaver(compact=compact)
    elif kind == "async_sqlite":
        path = str(tmp_path / "e2e.db")
        async with AsyncSqliteSaver.from_conn_string(path, compact=compact) as saver:
            yield saver
    else:
        uri = request.getfixturevalue("e2e_postgres_uri")
        async with AsyncPostgresSaver.from_conn_string(uri, compact=compact) as saver:
            yield saver


@pytest.fixture
def thread(request) -> dict:
    """A config with a thread id unique to the test (savers may share a database)."""
    return {"configurable": {"thread_id": request.node.nodeid}}
