"""The checkpointer contract as a test suite you can run against any saver.

    from langgraph.checkpoint.conformance import checkpointer_test, validate

    @checkpointer_test(name="MySaver")
    async def my_saver():
        yield MySaver(...)

    report = await validate(my_saver)
    report.print_report()

Or run it under pytest: `pytest --checkpointer mypackage.module:my_saver`.
"""

from langgraph.checkpoint.conformance.report import (
    BASE_CAPABILITIES,
    EXTENDED_CAPABILITIES,
    Capability,
    CapabilityReport,
    CapabilityResult,
    ProgressCallbacks,
)
from langgraph.checkpoint.conformance.runner import CheckpointerTest, checkpointer_test, validate

__all__ = [
    "BASE_CAPABILITIES",
    "EXTENDED_CAPABILITIES",
    "Capability",
    "CapabilityReport",
    "CapabilityResult",
    "CheckpointerTest",
    "ProgressCallbacks",
    "checkpointer_test",
    "validate",
]
