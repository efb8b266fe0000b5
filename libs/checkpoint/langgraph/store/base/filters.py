"""Search filters, compiled once per search into a predicate on stored values.

A filter maps keys to conditions. A key names a field of the stored dict (a
dotted key reaches into nested dicts when no field has that literal name). A
condition is one of:

- a plain value: the field must equal it (a missing field counts as None);
- a dict of operators, `{"$gte": 3, "$lt": 9}` (`$eq $ne $gt $gte $lt $lte`):
  ordering operators compare numbers and numeric strings as numbers, other
  strings as text, and never match anything else (missing fields, None,
  lists, a word against a number);
- any other dict: conditions on the fields of a nested dict, which may hold
  more fields than the filter names.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from langgraph.checkpoint.errors import InvalidFilterError

__all__ = ["check_filter", "compile_filter", "matches_filter"]

Predicate = Callable[[Any], bool]

_MISSING = object()


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal_to(operand: Any) -> Predicate:
    return lambda actual: (None if actual is _MISSING else actual) == operand


def _not_equal_to(operand: Any) -> Predicate:
    return lambda actual: (None if actual is _MISSING else actual) != operand


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Any], Predicate]:
    def make(operand: Any) -> Predicate:
        operand_number = _as_number(operand)
        operand_is_text = isinstance(operand, str)

        def test(actual: Any) -> bool:
            if operand_number is not None:
                actual_number = _as_number(actual)
                if actual_number is not None:
                    return compare(actual_number, operand_number)
            return operand_is_text and isinstance(actual, str) and compare(actual, operand)

        return test

    return make


_OPERATORS: dict[str, Callable[[Any], Predicate]] = {
    "$eq": _equal_to,
    "$ne": _not_equal_to,
    "$gt": _ordering(operator.gt),
    "$gte": _ordering(operator.ge),
    "$lt": _ordering(operator.lt),
    "$lte": _ordering(operator.le),
}


def _field(key: Any) -> Callable[[Any], Any]:
    if not isinstance(key, str):
        raise InvalidFilterError(f"search filter keys must be strings, got {key!r}")
    parts = key.split(".") if "." in key else None

    def get(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return _MISSING
        if key in value:
            return value[key]
        if parts is None:
            return _MISSING
        current = value
        for part in parts:
            if not isinstance(current, Mapping) or part not in current:
                return _MISSING
            current = current[part]
        return current

    return get


def _condition(key: str, condition: Any) -> Predicate:
    if isinstance(condition, Mapping) and any(
        isinstance(k, str) and k.startswith("$") for k in condition
    ):
        tests = []
        for name, operand in condition.items():
            make = _OPERATORS.get(name)
            if make is None:
                raise InvalidFilterError(
                    f"unsupported filter operator {name!r} for key {key!r}: "
                    f"use one of {', '.join(_OPERATORS)}"
                )
            tests.append(make(operand))
        return lambda actual: all(test(actual) for test in tests)
    if isinstance(condition, Mapping):
        nested = _fields(condition)
        return lambda actual: isinstance(actual, Mapping) and nested(actual)
    return _equal_to(condition)


def _fields(filter: Mapping[Any, Any]) -> Predicate:
    checks = [(_field(key), _condition(key, condition)) for key, condition in filter.items()]

    def test(value: Any) -> bool:
        for get, holds in checks:  # noqa: SIM110 (a plain loop is faster per item)
            if not holds(get(value)):
                return False
        return True

    return test


def compile_filter(filter: Mapping[str, Any] | None) -> Predicate:
    """A predicate on stored values for `filter`; clear errors if it is malformed."""
    if filter is None:
        return lambda value: True
    if not isinstance(filter, Mapping):
        raise InvalidFilterError(
            f"search filter must be a dict, got {type(filter).__name__}: {filter!r}"
        )
    return _fields(filter)


def check_filter(filter: Any) -> None:
    """Raise `InvalidFilterError` (a `TypeError` and a `ValueError`) naming what
    is wrong with a malformed filter."""
    compile_filter(filter)


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether one stored value satisfies `filter` (compile once for many values)."""
    return compile_filter(filter)(value)
