"""Results of a conformance run: per capability, what passed, failed or was skipped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class Capability(str, Enum):
    """A group of saver methods the suite checks together."""

    PUT = "put"
    PUT_WRITES = "put_writes"
    GET_TUPLE = "get_tuple"
    LIST = "list"
    DELETE_THREAD = "delete_thread"
    DELETE_FOR_RUNS = "delete_for_runs"
    COPY_THREAD = "copy_thread"
    PRUNE = "prune"
    DELTA_CHANNEL_HISTORY = "delta_channel_history"


BASE_CAPABILITIES = frozenset(
    {
        Capability.PUT,
        Capability.PUT_WRITES,
        Capability.GET_TUPLE,
        Capability.LIST,
        Capability.DELETE_THREAD,
    }
)
"""Every saver must pass these."""

EXTENDED_CAPABILITIES = frozenset(
    {
        Capability.DELETE_FOR_RUNS,
        Capability.COPY_THREAD,
        Capability.PRUNE,
        Capability.DELTA_CHANNEL_HISTORY,
    }
)
"""Optional: reported as not implemented when the saver does not override them."""


@dataclass
class CapabilityResult:
    """Outcome of one capability's tests."""

    detected: bool = False
    passed: bool | None = None
    tests_passed: int = 0
    tests_failed: int = 0
    tests_skipped: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class CapabilityReport:
    """Outcome of a whole run, keyed by capability value."""

    checkpointer_name: str
    results: dict[str, CapabilityResult] = field(default_factory=dict)

    def passed_all_base(self) -> bool:
        """Whether every base capability was detected and passed."""
        return all(
            (r := self.results.get(c.value)) is not None and r.detected and r.passed is True
            for c in BASE_CAPABILITIES
        )

    def passed_all(self) -> bool:
        """Base passed, and no detected extended capability failed."""
        return self.passed_all_base() and all(r.passed is not False for r in self.results.values())

    def conformance_level(self) -> str:
        """`"none"`, `"base"`, `"partial"` (some extended) or `"full"`."""
        if not self.passed_all_base():
            return "none"
        extended = [self.results.get(c.value) for c in EXTENDED_CAPABILITIES]
        if all(r is not None and r.detected and r.passed for r in extended):
            return "full"
        if any(r is not None and r.detected and r.passed for r in extended):
            return "partial"
        return "base"

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form (what `--json` prints)."""
        return {
            "checkpointer": self.checkpointer_name,
            "conformance_level": self.conformance_level(),
            "passed_all_base": self.passed_all_base(),
            "passed_all": self.passed_all(),
            "capabilities": {
                name: {
                    "detected": r.detected,
                    "status": _status(r),
                    "passed": r.tests_passed,
                    "failed": r.tests_failed,
                    "skipped": r.tests_skipped,
                    "failures": list(r.failures),
                }
                for name, r in self.results.items()
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def print_report(self) -> None:
        """Human-readable summary on stdout."""
        print(f"Checkpointer conformance: {self.checkpointer_name}")
        for capability in Capability:
            result = self.results.get(capability.value)
            if result is None:
                continue
            kind = "base" if capability in BASE_CAPABILITIES else "extended"
            counts = f"{result.tests_passed} passed, {result.tests_failed} failed"
            if result.tests_skipped:
                counts += f", {result.tests_skipped} skipped"
            print(f"  {_status(result):<16} {capability.value:<22} ({kind}) {counts}")
            for failure in result.failures:
                print(f"      - {failure}")
        print(f"  level: {self.conformance_level()}")


def _status(result: CapabilityResult) -> str:
    if not result.detected:
        return "not implemented"
    if result.passed is None:
        return "skipped"
    return "passed" if result.passed else "FAILED"


class OnTestResult(Protocol):
    def __call__(self, capability: str, test: str, passed: bool, error: str | None) -> None: ...


class ProgressCallbacks:
    """Hooks called while a run progresses (e.g. to print dots)."""

    def __init__(
        self,
        *,
        on_capability_start: Callable[[str, bool], None] | None = None,
        on_test_result: OnTestResult | None = None,
        on_capability_end: Callable[[str], None] | None = None,
    ) -> None:
        self.on_capability_start = on_capability_start
        self.on_test_result = on_test_result
        self.on_capability_end = on_capability_end

    @classmethod
    def default(cls) -> ProgressCallbacks:
        """One line per capability with a dot per passing test, F per failure."""

        def start(capability: str, detected: bool) -> None:
            sys.stderr.write(f"{capability:<22} " + ("" if detected else "not implemented\n"))
            sys.stderr.flush()

        def result(capability: str, test: str, passed: bool, error: str | None) -> None:
            sys.stderr.write("." if passed else "F")
            sys.stderr.flush()

        def end(capability: str) -> None:
            sys.stderr.write("\n")

        return cls(on_capability_start=start, on_test_result=result, on_capability_end=end)

    @classmethod
    def quiet(cls) -> ProgressCallbacks:
        """No output."""
        return cls()

    @classmethod
    def verbose(cls) -> ProgressCallbacks:
        """One line per test."""

        def start(capability: str, detected: bool) -> None:
            sys.stderr.write(f"[{capability}]{'' if detected else ' not implemented'}\n")

        def result(capability: str, test: str, passed: bool, error: str | None) -> None:
            sys.stderr.write(
                f"  {'PASS' if passed else 'FAIL'} {test}{': ' + error if error else ''}\n"
            )

        return cls(on_capability_start=start, on_test_result=result)
