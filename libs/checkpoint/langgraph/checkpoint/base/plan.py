"""Sans-I/O plans: saver logic written once, run by a sync or an async driver.

A plan is a generator that yields SQL steps and receives each step's result.
The SQL savers keep all their queries and row decoding in plans; their sync
and async classes differ only in the `execute` function they pass to `drive`
or `adrive` (the approach psycopg 3 takes for its protocol).

Typing: a generator has one send type for all its `yield`s, so it cannot say
that a `Query` receives rows and an `Execute` nothing. `Plan` declares the send
type as `Rows` (the list `fetchall()` returns), so `rows = yield Query(...)` is
a list a checker follows, rather than `Any`. The value an `Execute` or
`ExecuteMany` step receives is unspecified (drivers send None) and plans do not
use it. The row type itself stays `Any`: each driver picks its own row shape
(tuples for sqlite3 and psycopg's `tuple_row`), and plans index rows by position.
A typed step per result (`rows = yield from query(...)`) would be exact, but it
would change how every plan is written, for a check the tests already make.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Query:
    """Run a statement and send back all its rows.

    `each`, if given, is work on each row that a driver streaming the rows
    does as each arrives, overlapping the transfer of the next ones, and
    sends back the rows it returned (the Postgres savers' list pages decode
    their blobs so). A driver that fetches all rows at once ignores it: the
    plan must read either kind of row alike."""

    sql: str
    params: Sequence[Any] | dict[str, Any] = ()
    each: Callable[[Any], Any] | None = None


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
Rows = list[Any]
"""What a `Query` step sends back into its plan: all the rows it returned."""
Plan = Generator[Step, Rows, T]


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


def held_entries(checkpoints: Sequence[Any]) -> int:
    """The top-level entries of the list and dict channel values of
    `checkpoints` (`CheckpointTuple`s): a measure of how many objects a page of
    decoded checkpoints keeps alive, which is what the cyclic garbage
    collector walks while they are held (strings and bytes it does not)."""
    return sum(
        len(value)
        for item in checkpoints
        for value in item.checkpoint["channel_values"].values()
        if isinstance(value, (list, dict))
    )


def grown_within(size: int, count: int, held: int, bound: int) -> int:
    """`size`, lowered (to 1 at least) so that `size` items like the last
    `count`, which held `held` (entries, bytes) together, hold at most
    `bound`: how far a list's next page may grow."""
    if count and held:
        return max(1, min(size, bound * count // held))
    return size
