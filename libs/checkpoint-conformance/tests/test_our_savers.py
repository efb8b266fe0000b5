"""Every saver in this repository passes every conformance case, base and extended."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.pytest_plugin import conformance_ids, run_conformance_case
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


@pytest.fixture(scope="module")
def factories(tmp_path_factory, postgres_uri):
    """Saver factories; the Postgres ones share one database (cases use fresh threads)."""
    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()

    @checkpointer_test(name="InMemorySaver")
    async def memory():
        yield InMemorySaver()

    @checkpointer_test(name="SqliteSaver")
    async def sqlite():
        with SqliteSaver.from_conn_string(str(tmp_path_factory.mktemp("s") / "c.db")) as saver:
            yield saver

    @checkpointer_test(name="AsyncSqliteSaver")
    async def async_sqlite():
        path = str(tmp_path_factory.mktemp("a") / "c.db")
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            yield saver

    @checkpointer_test(name="PostgresSaver")
    async def postgres():
        with PostgresSaver.from_conn_string(postgres_uri) as saver:
            yield saver

    @checkpointer_test(name="AsyncPostgresSaver")
    async def async_postgres():
        async with AsyncPostgresSaver.from_conn_string(postgres_uri) as saver:
            yield saver

    return {
        "memory": memory,
        "sqlite": sqlite,
        "async_sqlite": async_sqlite,
        "postgres": postgres,
        "async_postgres": async_postgres,
    }


# Which side (sync/async) each saver offers; the other side must be skipped,
# everything else must pass.
OFFERS = {
    "memory": {"sync", "async"},
    "sqlite": {"sync"},
    "async_sqlite": {"sync", "async"},
    "postgres": {"sync"},
    "async_postgres": {"sync", "async"},
}


@pytest.mark.parametrize("saver", list(OFFERS))
@pytest.mark.parametrize("case_id", conformance_ids())
async def test_conformance(factories, saver, case_id):
    mode = case_id.rpartition("-")[2]
    if mode not in OFFERS[saver]:
        with pytest.raises(pytest.skip.Exception):
            await run_conformance_case(factories[saver], case_id)
        return
    await run_conformance_case(factories[saver], case_id)


@pytest.mark.parametrize("saver", list(OFFERS))
async def test_report_is_full_conformance(factories, saver):
    report = await validate(factories[saver])
    assert report.passed_all(), report.to_json()
    assert report.conformance_level() == "full"


async def test_postgres_savers_in_pipeline_mode_pass_everything(postgres_uri):
    """Pipeline mode delivers results late: every plan must still read its own."""

    @checkpointer_test(name="PostgresSaver(pipeline)")
    async def pipelined():
        with PostgresSaver.from_conn_string(postgres_uri, pipeline=True) as saver:
            yield saver

    @checkpointer_test(name="AsyncPostgresSaver(pipeline)")
    async def async_pipelined():
        async with AsyncPostgresSaver.from_conn_string(postgres_uri, pipeline=True) as saver:
            yield saver

    with PostgresSaver.from_conn_string(postgres_uri) as saver:
        saver.setup()
    for factory in (pipelined, async_pipelined):
        report = await validate(factory)
        assert report.passed_all(), report.to_json()
