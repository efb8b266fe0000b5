"""Turning decoded checkpoint values into plain data and text.

Values arrive decoded by the saver's serializer, which rebuilds only the
types it allows (others come back as their raw payload). Here nothing is
called on a value but field access: objects that are not plain data are
shown by their type name and fields, never by their `repr`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

TYPE_KEY = "__type__"
_TEXT_LIKE = (datetime, date, time, timedelta)


def to_plain(value: Any, depth: int = 0) -> Any:
    """JSON-ready data for `value`: containers kept, objects as `{"__type__": name, fields...}`."""
    if depth > 50:
        return "…"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, _TEXT_LIKE):
        return value.isoformat() if not isinstance(value, timedelta) else str(value)
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _typed(value, zip(value._fields, value), depth)
    if isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ == "deque":
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_plain(item, depth + 1) for item in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return _typed(value, fields, depth)
    model_fields = getattr(type(value), "model_fields", None)  # pydantic v2
    if isinstance(model_fields, Mapping):
        return _typed(value, ((name, getattr(value, name, None)) for name in model_fields), depth)
    if isinstance(getattr(value, "__dict__", None), dict):
        return _typed(value, vars(value).items(), depth)
    if type(value).__module__ in ("uuid", "decimal", "pathlib", "ipaddress", "fractions"):
        return str(value)
    return {TYPE_KEY: type(value).__name__}


def _typed(value: Any, fields: Any, depth: int) -> dict[str, Any]:
    plain = {TYPE_KEY: type(value).__name__}
    plain.update((str(name), to_plain(item, depth + 1)) for name, item in fields)
    return plain


def is_message(value: Any) -> bool:
    """A chat message as `to_plain` renders it (LangChain's, or any with type and content)."""
    return isinstance(value, dict) and isinstance(value.get("type"), str) and "content" in value


def is_conversation(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(map(is_message, value))


def message_line(message: Mapping[str, Any]) -> str:
    """`role: text`, with tool calls and the call a tool message answers."""
    role = message["type"]
    if role == "tool" and message.get("tool_call_id"):
        role = f"tool[{message['tool_call_id']}]"
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    calls = [
        f"{call.get('name')}({', '.join(f'{k}={v!r}' for k, v in (call.get('args') or {}).items())})"
        for call in message.get("tool_calls") or ()
        if isinstance(call, Mapping)
    ]
    if calls:
        text = (f"{text} " if text else "") + "-> calls " + ", ".join(calls)
    return f"{role}: {text}"


def short_text(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def value_lines(value: Any, indent: str = "  ") -> list[str]:
    """Readable lines for one channel's plain value."""
    if is_conversation(value):
        return [f"{indent}{message_line(message)}" for message in value]
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return [f"{indent}{line}" for line in text.splitlines()]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned text columns; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row)]
    numeric = [
        bool(rows) and all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(row) for row in cells)])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def human_bytes(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    amount, unit = size / 1024, "KiB"
    for larger in ("MiB", "GiB"):
        if amount < 1024:
            break
        amount, unit = amount / 1024, larger
    return f"{amount:.1f} {unit}"
