"""Pytest plugin that runs the published langgraph's own test suite on our savers.

`scripts/upstream-tests.sh` extracts `tests/` from the sdist of the installed
langgraph and runs it with `-p testsupport.upstream`. That suite's conftest
expects a PostgreSQL at localhost:5442 and a Redis at localhost:6379; this
plugin points it at throwaway servers instead, started once by the controlling
process (handed to pytest-xdist workers through `workerinput`) and stopped at
the end. `POSTGRES_URI` / `REDIS_URL` select servers you run, as elsewhere.

Postgres isolation: the suite creates a database per test (about 0.1 s of
server CPU each, over a thousand times). Here each test gets a schema instead:
`DEFAULT_POSTGRES_URI` ends in `options=-csearch_path=`, so the suite's
`DEFAULT_POSTGRES_URI + name` connects with `search_path=name`, and its admin
connections turn `CREATE/DROP DATABASE name` into `CREATE/DROP SCHEMA name`.
Everything else (savers, stores, pools, pipelines) runs exactly as upstream
wrote it.

`DESELECTED` lists the only tests left out, each with why: every one fails
the same way on the reference packages too.
"""

from __future__ import annotations

import importlib
import os
import re
import types
from typing import Any

import psycopg
import pytest
import redis

from testsupport.postgres_server import ThrowawayPostgres
from testsupport.redis_server import ThrowawayRedis

_WALL_CLOCK = (
    "asserts wall-clock windows (chunks must arrive within 0.1 s slots of a sleeping "
    "node): on 2 busy cores it fails on the reference packages too, whatever the saver"
)
# Test id, or `file::function` for every parametrization -> why it is not run.
DESELECTED: dict[str, str] = {
    "tests/test_pregel.py::test_stream_subgraphs_during_execution": _WALL_CLOCK,
    "tests/test_pregel_async.py::test_stream_subgraphs_during_execution": _WALL_CLOCK,
    "tests/test_pregel.py::test_stream_buffering_single_node": _WALL_CLOCK,
    "tests/test_pregel_async.py::test_stream_buffering_single_node": _WALL_CLOCK,
    "tests/test_pregel_async.py::test_imp_nested": (
        "expects tasks sleeping 0 and 10 ms to finish in that order: under CPU "
        "contention they swap, on the reference packages too"
    ),
}

_SERVERS_KEY = "lg_upstream_servers"
_servers = pytest.StashKey[dict[str, str]]()
_ADMIN_DDL = re.compile(r"\s*(CREATE|DROP) DATABASE (\w+)\s*")


def schema_ddl(query: str) -> str:
    """The schema statement standing in for the suite's per-test database one."""
    match = _ADMIN_DDL.fullmatch(query)
    if match is None:
        raise AssertionError(
            f"the upstream fixtures sent {query!r} on an admin connection; "
            "testsupport/upstream.py only knows CREATE/DROP DATABASE <name>"
        )
    verb, name = match.groups()
    return f"CREATE SCHEMA {name}" if verb == "CREATE" else f"DROP SCHEMA {name} CASCADE"


class SchemaAdminConnection(psycopg.Connection):
    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return super().execute(schema_ddl(query), *args, **kwargs)


class AsyncSchemaAdminConnection(psycopg.AsyncConnection):
    async def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().execute(schema_ddl(query), *args, **kwargs)


def search_path_prefix(uri: str) -> str:
    """`uri` with a trailing `options=-csearch_path=`, ready for a schema name."""
    return f"{uri}{'&' if '?' in uri else '?'}options=-csearch_path%3D"


def redis_module_for(url: str) -> types.SimpleNamespace:
    """What the suite's conftest calls `redis`: its `Redis(host=..., port=...)`
    hard-codes localhost:6379, so connect to `url` whatever it asks for."""

    def connect(*, host: str, port: int, **kwargs: Any) -> redis.Redis:
        return redis.Redis.from_url(url, **kwargs)

    return types.SimpleNamespace(Redis=connect)


def _suite_module(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise pytest.UsageError(
            f"testsupport.upstream is for langgraph's own test suite (no module {name}): "
            "run it through scripts/upstream-tests.sh"
        ) from exc


def _point_suite_at(servers: dict[str, str]) -> None:
    prefix = search_path_prefix(servers["postgres"])
    for name in ("tests.conftest_checkpointer", "tests.conftest_store"):
        module = _suite_module(name)
        module.DEFAULT_POSTGRES_URI = prefix
        module.Connection = SchemaAdminConnection
        module.AsyncConnection = AsyncSchemaAdminConnection
    _suite_module("tests.conftest").redis = redis_module_for(servers["redis"])


def _compact_by_default() -> None:
    """`UPSTREAM_COMPACT=1`: every SQL saver the suite makes stores compactly
    (the suite never passes `compact`; the shallow savers have no compact mode)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.postgres.shallow import ShallowPut
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    for cls in (SqliteSaver, AsyncSqliteSaver, PostgresSaver, AsyncPostgresSaver):
        original = cls.__init__

        def compact_init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            kwargs["compact"] = not isinstance(self, ShallowPut)
            _original(self, *args, **kwargs)

        cls.__init__ = compact_init  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("UPSTREAM_COMPACT") == "1":
        _compact_by_default()
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        servers = workerinput[_SERVERS_KEY]
    else:
        postgres = ThrowawayPostgres()
        postgres.__enter__()
        config.add_cleanup(postgres.stop)
        cache = ThrowawayRedis()
        config.add_cleanup(cache.__exit__)
        cache.__enter__()
        servers = {"postgres": postgres.uri_for("postgres"), "redis": cache.url}
    config.stash[_servers] = servers
    _point_suite_at(servers)


def pytest_report_header(config: pytest.Config) -> str:
    servers = config.stash[_servers]
    compact = " (SQL savers in compact mode)" if os.environ.get("UPSTREAM_COMPACT") == "1" else ""
    return (
        f"upstream suite on PostgreSQL {servers['postgres']} and Redis {servers['redis']}{compact}"
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's servers to each worker."""
    node.workerinput[_SERVERS_KEY] = node.config.stash[_servers]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        function_id = item.nodeid.partition("[")[0]
        (dropped if item.nodeid in DESELECTED or function_id in DESELECTED else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
