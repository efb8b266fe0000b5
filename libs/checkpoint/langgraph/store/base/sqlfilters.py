"""Search filters as SQL pre-filters: a superset of the rows `compile_filter` keeps.

`compile_filter` (in `filters`) defines what a search filter means, and the SQL
stores still run it on every row they read. This module only narrows what
they read: it renders the parts of a filter it can translate safely as SQL
conditions that keep every row the filter keeps, and possibly more. Filter
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
one Python reads), so a number clause can keep neighbours of the operand, never
drop the operand itself.

`where` renders the clauses for one database:

- SQLite (JSON1 on the text `value`): values written by other programs may be
  BLOBs or hold NaN (which Python reads and SQLite's JSON does not), so the
  document is read as text and rows that are not valid JSON are kept as they
  are. Keys must be printable ASCII without a backslash or slash: SQLite
  matches a path against the key as written in the JSON text, escapes
  included. Nor may a key read as a number, "null", "true" or "false":
  `json.dumps({1: "a", "1": "b"})` writes the key "1" twice, and SQLite finds
  the first where Python keeps the last. Equality with a plain string is
  tested first as a substring of the document text (`instr`), which is much
  cheaper than parsing it.
- PostgreSQL (`jsonb`): jsonb comparisons, which never raise, with the key bound
  as text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Clause", "clauses", "where"]

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
        for name, operand in condition.items():
            if name == "$eq":
                yield from _equal(key, operand)
            elif name in _ORDERING:
                number = _number(operand)
                if number is not None:
                    yield Clause(key, _ORDERING[name], number)


_Term = tuple[str, list[Any]]
_Rendered = tuple[list[_Term], list[_Term]]
"""Terms to AND: cheap tests first, then the others."""


def _bounds(number: float) -> tuple[float, float]:
    margin = abs(number) * _MARGIN + _TINY
    return number - margin, number + margin


# -- SQLite ---------------------------------------------------------------------------------------

_DOC = "CAST(value AS TEXT)"


# What json.dumps writes for non-str keys (None, True, False, NaN, infinities;
# numbers are caught by float()): a dict holding both 1 and "1" is written with
# the key twice, Python reads back the last, SQLite finds the first.
_SPELLED_KEYS = frozenset({"null", "true", "false"})


def _sqlite_key(key: str) -> bool:
    """Printable ASCII without the characters writers may escape ('\\', '/'),
    and not a spelling of a non-str key."""
    if not all(" " <= c <= "~" for c in key) or "\\" in key or "/" in key:
        return False
    if key in _SPELLED_KEYS:
        return False
    try:
        float(key)
    except ValueError:
        return True
    return False


# Characters every JSON writer leaves as they are in a string: a string made of
# them is stored as '"' + text + '"', which a plain substring test can look for
# before any JSON is parsed. (Not '"' or backslash, which are escaped, nor
# '/', '<', '>', '&', "'", which some writers escape too.)
_VERBATIM = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%()*+,-.:;=?@[]^_`{|}~"
)


def _sqlite(clause: Clause) -> _Rendered | None:
    if not _sqlite_key(clause.key):
        return None
    path = f'$."{clause.key}"'
    extract = f"json_extract({_DOC}, ?)"
    first: list[_Term] = []
    if clause.op == "eq":
        if clause.operand is None:  # missing or JSON null
            term: _Term = (f"coalesce(json_type({_DOC}, ?), 'null') = 'null'", [path])
        elif isinstance(clause.operand, str):
            if _VERBATIM.issuperset(clause.operand):
                # bytes in a BLOB (UTF-8 JSON, whatever the database's encoding)
                needle = f'"{clause.operand}"'
                first.append(
                    (
                        "CASE typeof(value) WHEN 'blob' THEN instr(value, ?) "
                        "ELSE instr(value, ?) END",
                        [needle.encode(), needle],
                    )
                )
            # strings extract as their text; arrays and objects as JSON text (kept)
            term = (f"{extract} = ?", [path, clause.operand])
        else:
            # numbers and booleans (true/false extract as 1/0); text sorts above numbers
            low, high = _bounds(clause.operand)
            term = (f"{extract} BETWEEN ? AND ?", [path, low, high])
    else:
        assert isinstance(clause.operand, float)
        low, high = _bounds(clause.operand)
        if clause.op in ("gt", "ge"):
            # text (numeric strings, arrays, objects) sorts above every number: kept
            term = (f"{extract} >= ?", [path, low])
        else:
            # strings may be numeric: kept
            term = (f"({extract} <= ? OR json_type({_DOC}, ?) = 'text')", [path, high, path])
    # NaN/Infinity (which json.dumps writes) or a non-JSON document: keep the row
    sql, params = term
    return first, [(f"CASE WHEN json_valid({_DOC}) THEN {sql} ELSE 1 END", params)]


# -- PostgreSQL -----------------------------------------------------------------------------------

_FIELD = "value -> ?::text"


def _postgres(clause: Clause) -> _Rendered:
    return [], [_postgres_term(clause)]


def _postgres_term(clause: Clause) -> _Term:
    key = clause.key
    if clause.op == "eq":
        if clause.operand is None:  # missing or JSON null
            return f"coalesce(jsonb_typeof({_FIELD}), 'null') = 'null'", [key]
        if isinstance(clause.operand, str):
            return f"{_FIELD} = ?::jsonb", [key, json.dumps(clause.operand)]
        # jsonb orders every number below every boolean: add the one Python equates
        low, high = _bounds(clause.operand)
        sql = f"{_FIELD} BETWEEN ?::jsonb AND ?::jsonb"
        params: list[Any] = [key, json.dumps(low), json.dumps(high)]
        if clause.operand in (0.0, 1.0):
            sql = f"({sql} OR {_FIELD} = ?::jsonb)"
            params += [key, json.dumps(clause.operand == 1.0)]
        return sql, params
    assert isinstance(clause.operand, float)
    low, high = _bounds(clause.operand)
    if clause.op in ("gt", "ge"):
        # booleans, arrays and objects sort above numbers (kept); strings below
        return f"({_FIELD} >= ?::jsonb OR jsonb_typeof({_FIELD}) = 'string')", [
            key,
            json.dumps(low),
            key,
        ]
    # strings and null sort below numbers (kept); booleans above
    return f"({_FIELD} <= ?::jsonb OR jsonb_typeof({_FIELD}) = 'boolean')", [
        key,
        json.dumps(high),
        key,
    ]


def where(database: str, filter: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """A condition (with `?` marks) keeping at least the rows `filter` keeps, and
    its parameters; `("", [])` when nothing could be translated.

    `database` is `Dialect.name`: "sqlite" or "postgres" (anything else: no
    pre-filter)."""
    render = {"sqlite": _sqlite, "postgres": _postgres}.get(database)
    if render is None:
        return "", []
    first: list[_Term] = []
    then: list[_Term] = []
    for clause in clauses(filter):
        rendered = render(clause)
        if rendered is not None:
            first += rendered[0]
            then += rendered[1]
    terms = first + then  # the cheap tests first: SQL stops at the first false one
    return " AND ".join(sql for sql, _ in terms), [p for _, params in terms for p in params]
