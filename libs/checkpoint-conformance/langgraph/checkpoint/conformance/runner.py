"""Running the cases against a saver factory and collecting a report."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance.api import Api, supported_apis
from langgraph.checkpoint.conformance.cases import CASES, Case
from langgraph.checkpoint.conformance.report import (
    EXTENDED_CAPABILITIES,
    Capability,
    CapabilityReport,
    CapabilityResult,
    ProgressCallbacks,
)

SaverFactory = Callable[[], AsyncIterator[BaseCheckpointSaver]]

# Which saver methods make up each extended capability (sync or async twin).
_EXTENDED_METHODS = {
    Capability.DELETE_FOR_RUNS: ("delete_for_runs", "adelete_for_runs"),
    Capability.COPY_THREAD: ("copy_thread", "acopy_thread"),
    Capability.PRUNE: ("prune", "aprune"),
    Capability.DELTA_CHANNEL_HISTORY: ("get_delta_channel_history", "aget_delta_channel_history"),
}


@dataclass
class CheckpointerTest:
    """A saver factory registered with `@checkpointer_test`."""

    factory: SaverFactory
    name: str
    skip_capabilities: frozenset[Capability] = field(default_factory=frozenset)
    lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None

    def __call__(self) -> AsyncIterator[BaseCheckpointSaver]:
        return self.factory()

    @asynccontextmanager
    async def saver(self) -> AsyncIterator[BaseCheckpointSaver]:
        """A fresh saver from the factory; its cleanup runs on exit."""
        generator = self.factory()
        saver = await generator.__anext__()
        try:
            yield saver
        finally:
            with suppress(StopAsyncIteration):
                await generator.__anext__()


def checkpointer_test(
    name: str | None = None,
    *,
    skip_capabilities: Iterable[Capability | str] = (),
    lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
) -> Callable[[SaverFactory], CheckpointerTest]:
    """Register an async generator that yields a fresh saver (cleanup after `yield`).

    `lifespan`, if given, is an async context manager factory entered once
    around the whole run (to start a server, say).
    """

    def wrap(factory: SaverFactory) -> CheckpointerTest:
        return CheckpointerTest(
            factory=factory,
            name=name or factory.__name__,
            skip_capabilities=frozenset(Capability(c) for c in skip_capabilities),
            lifespan=lifespan,
        )

    return wrap


def implements(saver: BaseCheckpointSaver, capability: Capability) -> bool:
    """Whether the saver's class overrides the base methods of a capability."""
    if capability not in EXTENDED_CAPABILITIES:
        return True
    return any(
        getattr(type(saver), method) is not getattr(BaseCheckpointSaver, method)
        for method in _EXTENDED_METHODS[capability]
    )


def as_checkpointer_test(target: CheckpointerTest | SaverFactory) -> CheckpointerTest:
    if isinstance(target, CheckpointerTest):
        return target
    return checkpointer_test()(target)


async def run_case(api: Api, case: Case) -> str | None:
    """None when the case passes, else the failure message."""
    try:
        await case.run(api)
    except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
        detail = str(exc) or type(exc).__name__
        if not isinstance(exc, AssertionError):
            detail = f"{type(exc).__name__}: {detail} ({traceback.extract_tb(exc.__traceback__)[-1].name})"
        return detail
    return None


async def validate(
    factory: CheckpointerTest | SaverFactory,
    capabilities: Iterable[Capability | str] | None = None,
    progress: ProgressCallbacks | None = None,
) -> CapabilityReport:
    """Run the suite against a saver factory; returns the report (never raises on failures)."""
    test = as_checkpointer_test(factory)
    progress = progress or ProgressCallbacks.quiet()
    wanted = [Capability(c) for c in capabilities] if capabilities else list(Capability)
    report = CapabilityReport(checkpointer_name=test.name)
    lifespan = test.lifespan() if test.lifespan else _nothing()
    async with lifespan:
        for capability in wanted:
            result = report.results[capability.value] = CapabilityResult()
            cases = [c for c in CASES if c.capability is capability]
            async with test.saver() as saver:
                result.detected = implements(saver, capability)
                if progress.on_capability_start:
                    progress.on_capability_start(capability.value, result.detected)
                if not result.detected or capability in test.skip_capabilities:
                    result.tests_skipped = len(cases)
                    continue
                apis = await supported_apis(saver)
                if not apis:
                    result.tests_failed = 1
                    result.failures.append("neither the sync nor the async get_tuple works")
                for case in cases:
                    for api in apis:
                        label = f"{case.name}[{api.mode}]"
                        error = await run_case(api, case)
                        if error is None:
                            result.tests_passed += 1
                        else:
                            result.tests_failed += 1
                            result.failures.append(f"{label}: {error}")
                        if progress.on_test_result:
                            progress.on_test_result(capability.value, label, error is None, error)
            result.passed = result.tests_failed == 0
            if progress.on_capability_end:
                progress.on_capability_end(capability.value)
    return report


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield None
