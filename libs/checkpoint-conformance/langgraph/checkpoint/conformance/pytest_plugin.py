"""Pytest entry point: `pytest --checkpointer module:factory` runs the suite as tests.

Each (case, sync/async) pair becomes its own test item, e.g.
`conformance[list::filter_on_metadata-async]`, with a fresh saver from the
factory. Without the option this plugin adds nothing. For use inside your own
test modules, `conformance_ids()` and `run_conformance_case()` give the same
cases to `pytest.mark.parametrize`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from langgraph.checkpoint.conformance.api import supported_apis
from langgraph.checkpoint.conformance.cases import CASES, ConformanceError
from langgraph.checkpoint.conformance.runner import (
    CheckpointerTest,
    SaverFactory,
    as_checkpointer_test,
    implements,
    run_case,
)

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

MODES = ("async", "sync")


def conformance_ids() -> list[str]:
    """Ids of every (case, mode) pair: `capability::case-mode`."""
    return [f"{case.id}-{mode}" for case in CASES for mode in MODES]


async def run_conformance_case(factory: CheckpointerTest | SaverFactory, case_id: str) -> None:
    """Run one case on a fresh saver; raises on failure, skips what does not apply.

    A skip means the saver does not offer that side (sync or async) or does not
    implement that extended capability; failures raise `ConformanceError`.
    """
    test = as_checkpointer_test(factory)
    name, _, mode = case_id.rpartition("-")
    case = next(c for c in CASES if c.id == name)
    async with test.saver() as saver:
        if case.capability in test.skip_capabilities:
            pytest.skip(f"{case.capability.value} skipped for {test.name}")
        if not implements(saver, case.capability):
            pytest.skip(f"{test.name} does not implement {case.capability.value}")
        api = next((a for a in await supported_apis(saver) if a.mode == mode), None)
        if api is None:
            pytest.skip(f"{test.name} has no working {mode} methods")
        error = await run_case(api, case)
    if error is not None:
        raise ConformanceError(error)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("checkpointer conformance")
    group.addoption(
        "--checkpointer",
        action="append",
        default=[],
        metavar="MODULE:FACTORY",
        help="run the checkpointer conformance suite against this saver factory",
    )


class ConformanceItem(pytest.Item):
    def __init__(self, *, factory: Any, case_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factory = factory
        self.case_id = case_id

    def runtest(self) -> None:
        asyncio.run(run_conformance_case(self.factory, self.case_id))

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, ConformanceError):
            return f"{self.case_id}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return "conformance", 0, f"conformance[{self.case_id}]"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list
) -> None:
    specs = config.getoption("--checkpointer", default=[])
    if not specs:
        return
    from langgraph.checkpoint.conformance.__main__ import load_factory

    for spec in specs:
        factory = as_checkpointer_test(load_factory(spec))
        items.extend(_items(session, factory))


def _items(session: pytest.Session, factory: CheckpointerTest) -> Iterator[ConformanceItem]:
    for case_id in conformance_ids():
        yield ConformanceItem.from_parent(
            session, name=f"conformance[{factory.name}:{case_id}]", factory=factory, case_id=case_id
        )
