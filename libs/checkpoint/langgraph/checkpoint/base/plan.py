"""Sans-I/O plans: saver logic written once, run by a sync or an async driver.

A plan is a generator that yields SQL steps and receives each step's result.
The SQL savers keep all their queries and row decoding in plans; their sync
and async classes differ only in the `execute` function they pass to `drive`
or `adrive` (the approach psycopg 3 takes for its protocol).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """Run a statement and send back all its rows."""

    sql: str
    params: Sequence[Any] | dict[str, Any] = ()


@dataclass(frozen=True, slots=True)
class Execute:
    """Run a statement; nothing is sent back."""

    sql: str
    params: Sequence[Any] | dict[str, Any] = ()


@dataclass(frozen=True, slots=True)
class ExecuteMany:
    """Run a statement once per parameter row."""

    sql: str
    rows: Sequence[Sequence[Any]]


Step = Query | Execute | ExecuteMany
Plan = Generator[Step, Any, T]


def drive(plan: Plan[T], execute: Callable[[Step], Any]) -> T:
    """Run a plan to completion with a blocking `execute`."""
    try:
        step = next(plan)
        while True:
            step = plan.send(execute(step))
    except StopIteration as done:
        return done.value


async def adrive(plan: Plan[T], execute: Callable[[Step], Awaitable[Any]]) -> T:
    """Run a plan to completion with an async `execute`."""
    try:
        step = next(plan)
        while True:
            step = plan.send(await execute(step))
    except StopIteration as done:
        return done.value
