"""Which stored types the msgpack reader may rebuild.

Reading a checkpoint must never run code its bytes ask for. A stored value
names a `(module, name)`; we rebuild it only when that pair is

- in `SAFE_MSGPACK_TYPES` (standard library and LangChain/LangGraph data types),
- in the serializer's allowlist (`allowed_msgpack_modules`, `with_allowlist`), or
- unless strict mode is on: a data class of the application's own (pydantic
  model, dataclass, enum, namedtuple) whose module is *already imported*.

Anything else comes back as its raw payload, and a serde event is emitted.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from langgraph.checkpoint.serde.event_hooks import emit_serde_event

STRICT_MSGPACK_ENABLED = os.getenv("LANGGRAPH_STRICT_MSGPACK", "").strip().lower() in (
    "1",
    "true",
    "yes",
    "on",
)

_MESSAGE_CLASSES = {
    "ai": ("AIMessage", "AIMessageChunk"),
    "base": ("BaseMessage", "BaseMessageChunk"),
    "chat": ("ChatMessage", "ChatMessageChunk"),
    "function": ("FunctionMessage", "FunctionMessageChunk"),
    "human": ("HumanMessage", "HumanMessageChunk"),
    "modifier": ("RemoveMessage",),
    "system": ("SystemMessage", "SystemMessageChunk"),
    "tool": ("ToolMessage", "ToolMessageChunk"),
}

SAFE_MSGPACK_TYPES: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "frozenset"),
        ("builtins", "set"),
        ("collections", "deque"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("re", "compile"),
        ("uuid", "UUID"),
        ("zoneinfo", "ZoneInfo"),
        ("langchain_core.documents.base", "Document"),
        ("langgraph.store.base", "GetOp"),
        ("langgraph.store.base", "Item"),
    }
    | {
        ("ipaddress", f"IPv{v}{kind}")
        for v in (4, 6)
        for kind in ("Address", "Interface", "Network")
    }
    | {
        (module, name)
        for module in ("pathlib", "pathlib._local")
        for name in ("Path", "PosixPath", "WindowsPath")
    }
    | {
        ("langgraph.types", name)
        for name in (
            "Command",
            "Interrupt",
            "Overwrite",
            "PregelTask",
            "Send",
            "StateSnapshot",
            "TimeoutPolicy",
        )
    }
    | {
        (f"langchain_core.messages.{module}", name)
        for module, names in _MESSAGE_CLASSES.items()
        for name in names
    }
)
"""`(module, name)` pairs always rebuilt: plain data types whose constructors run no user code."""

SAFE_MSGPACK_METHODS: frozenset[tuple[str, str, str]] = frozenset(
    {("datetime", "datetime", "fromisoformat")}
)
"""`(module, name, method)` triples the method-call ext code may use."""

AllowedMsgpackModules = Iterable[tuple[str, ...] | type]


def normalize_allowlist(entries: Iterable[tuple[str, ...] | type]) -> frozenset[tuple[str, str]]:
    """`(module, name)` pairs from tuples or classes."""
    pairs: set[tuple[str, str]] = set()
    for entry in entries:
        if isinstance(entry, type):
            pairs.add((entry.__module__, entry.__qualname__))
        elif isinstance(entry, tuple) and len(entry) >= 2:
            pairs.add((str(entry[0]), str(entry[1])))
        else:
            raise TypeError(
                f"allowlist entries must be (module, name) tuples or classes, got {entry!r}"
            )
    return frozenset(pairs)


def is_user_data_class(obj: Any) -> bool:
    """A class whose construction from stored fields is plain data handling."""
    if not isinstance(obj, type):
        return False
    if issubclass(obj, enum.Enum) or dataclasses.is_dataclass(obj):
        return True
    if issubclass(obj, tuple) and hasattr(obj, "_fields"):
        return True
    # pydantic v2 and v1 models, recognised without importing pydantic.
    return any(
        base.__module__.startswith("pydantic") and base.__name__ == "BaseModel"
        for base in obj.__mro__
    )


class TypePolicy:
    """Decides, and caches, which class a stored `(module, name)` resolves to."""

    __slots__ = ("allowlist", "allow_any_class", "strict", "_cache")

    def __init__(
        self,
        allowlist: frozenset[tuple[str, str]],
        *,
        strict: bool,
        allow_any_class: bool = False,
    ) -> None:
        self.allowlist = allowlist
        self.strict = strict
        self.allow_any_class = allow_any_class
        self._cache: dict[tuple[str, str], Any] = {}

    def resolve(self, module: Any, name: Any) -> Any | None:
        """The class to call, or None when blocked or missing (an event says which)."""
        key = (module, name)
        try:
            return self._cache[key]
        except KeyError:
            pass
        except TypeError:  # unhashable junk from a corrupt payload
            return None
        found = self._lookup(module, name)
        self._cache[key] = found
        return found

    def _lookup(self, module: Any, name: Any) -> Any | None:
        if not isinstance(module, str) or not isinstance(name, str):
            emit_serde_event(
                {"kind": "msgpack_malformed", "module": str(module), "name": str(name)}
            )
            return None
        trusted = (module, name) in SAFE_MSGPACK_TYPES or (module, name) in self.allowlist
        if trusted or self.allow_any_class:
            try:
                target = _attribute(importlib.import_module(module), name)
            except Exception:
                emit_serde_event({"kind": "msgpack_missing", "module": module, "name": name})
                return None
            if trusted or isinstance(target, type):
                return target
        elif not self.strict and module in sys.modules:
            # Only classes of modules the application already imported: the
            # payload alone can never make us import (and so run) a module.
            try:
                target = _attribute(sys.modules[module], name)
            except AttributeError:
                target = None
            if is_user_data_class(target):
                return target
        emit_serde_event({"kind": "msgpack_blocked", "module": module, "name": name})
        return None

    def method_allowed(self, module: Any, name: Any, method: Any) -> bool:
        return (module, name, method) in SAFE_MSGPACK_METHODS or (
            (module, name) in self.allowlist
            and isinstance(method, str)
            and not method.startswith("_")
        )


def _attribute(module: Any, dotted_name: str) -> Any:
    target = module
    for part in dotted_name.split("."):
        if part.startswith("__"):
            raise AttributeError(part)
        target = getattr(target, part)
    return target
