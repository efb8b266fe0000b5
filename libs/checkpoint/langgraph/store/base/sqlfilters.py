"""Search filters as SQL pre-filters: a superset of the rows `compile_filter` keeps.

`compile_filter` (in `filters`) defines what a search filter means, and the SQL
stores still run it on every row they read. This module only narrows what
they read: it picks the parts of a filter that can be translated safely into
SQL conditions keeping every row the filter keeps, and possibly more. Filter
keys and operands never become SQL text: they are bound as parameters, and so
are the JSON paths built from keys.

`clauses` walks a filter and yields simple clauses; what it cannot translate
exactly is left out (which only widens the pre-filter):

- keys containing a dot ("literal key first, then nested path" needs both
  lookups), a double quote, or a NUL character, or that are not valid text;
- nested-dict conditions, list or dict operands, `$ne`;
- ordering against a string (text or numeric-string comparison, as Python does);
- integers outside 64 bits, NaN and infinities.

Numbers are compared with a margin of a billionth of the operand (the SQL side
may parse a stored number to a float a unit in the last place away from the
one Python reads): render them between `bounds(operand)`, so that a number
clause can keep neighbours of the operand, never drop the operand itself.

Each backend renders the clauses for its database (`Dialect.filter_terms` in
`sqlplans`, overridden in the backend packages) and may decline any of them;
`where` joins what was rendered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Clause", "Rendered", "Term", "bounds", "clauses", "where"]

_INT64 = (-(2**63), 2**63 - 1)
_MARGIN = 1e-9
_TINY = 1e-300
_ORDERING = {"$gt": "gt", "$gte": "ge", "$lt": "lt", "$lte": "le"}


@dataclass(frozen=True)
class Clause:
    """`key <op> operand` on a top-level field of the stored document.

    `op` is "eq" (operand: str, float or None; booleans arrive as 1.0 / 0.0,
    since Python's `True == 1`), or "gt", "ge", "lt", "le" (operand: float).
    """

    key: str
    op: str
    operand: str | float | None


def _text(value: str) -> bool:
    """A str SQL can take as it is: encodable and without NUL."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _number(value: Any) -> float | None:
    """The operand as a finite float, if it is exactly a bool, an int64 or a float."""
    kind = type(value)
    if kind is bool:
        return float(value)
    if kind is int:
        return float(value) if _INT64[0] <= value <= _INT64[1] else None
    if kind is float:
        return value if math.isfinite(value) else None
    return None


def _equal(key: str, operand: Any) -> Iterator[Clause]:
    if operand is None:
        yield Clause(key, "eq", None)
    elif type(operand) is str:
        if _text(operand):
            yield Clause(key, "eq", operand)
    else:
        number = _number(operand)
        if number is not None:
            yield Clause(key, "eq", number)


def clauses(filter: Mapping[str, Any] | None) -> Iterator[Clause]:
    """The translatable clauses of a filter that `compile_filter` accepted."""
    for key, condition in (filter or {}).items():
        if not isinstance(key, str) or "." in key or '"' in key or not _text(key):
            continue
        if not isinstance(condition, Mapping):
            yield from _equal(key, condition)
            continue
        if not any(isinstance(name, str) and name.startswith("$") for name in condition):
            continue  # conditions on a nested dict
        for operator, operand in condition.items():
            if operator == "$eq":
                yield from _equal(key, operand)
            elif operator in _ORDERING:
                number = _number(operand)
                if number is not None:
                    yield Clause(key, _ORDERING[operator], number)


Term = tuple[str, list[Any]]
"""A SQL condition with `?` marks, and its parameters."""
Rendered = tuple[list[Term], list[Term]]
"""One clause rendered as terms to AND: cheap tests first, then the others."""


def bounds(number: float) -> tuple[float, float]:
    """The range a number clause on `number` compares with (see the margin above)."""
    margin = abs(number) * _MARGIN + _TINY
    return number - margin, number + margin


def where(
    render: Callable[[Clause], Rendered | None], filter: Mapping[str, Any] | None
) -> tuple[str, list[Any]]:
    """A condition (with `?` marks) keeping at least the rows `filter` keeps, and
    its parameters; `("", [])` when nothing could be translated.

    `render` turns one clause into SQL for a database, or returns None for a
    clause that database cannot test exactly."""
    first: list[Term] = []
    then: list[Term] = []
    for clause in clauses(filter):
        rendered = render(clause)
        if rendered is not None:
            first += rendered[0]
            then += rendered[1]
    terms = first + then  # the cheap tests first: SQL stops at the first false one
    return " AND ".join(sql for sql, _ in terms), [p for _, params in terms for p in params]
