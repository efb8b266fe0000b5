"""Which stored types the msgpack reader may rebuild.

Reading a checkpoint must never run code its bytes ask for. A stored value
names a `(module, name)`; we rebuild it only when that pair is

- in `SAFE_MSGPACK_TYPES` (standard library and LangChain/LangGraph data types),
- in the serializer's allowlist (`allowed_msgpack_modules`, `with_allowlist`), or
- unless strict mode is on: a data class of the application's own (pydantic
  model, dataclass, enum, namedtuple, or a subclass of a standard value type
  such as `set`, `date`, `Decimal`, `UUID`, `PurePath`) whose module is
  *already imported*. Those emit `msgpack_unregistered_allowed` and log a
  warning once per type, so that what strict mode would block shows before it
  is turned on.

Anything else comes back as its raw payload, with a `msgpack_blocked` event
and a warning (once per type).
"""

from __future__ import annotations

import dataclasses
import decimal
import enum
import importlib
import ipaddress
import logging
import os
import pathlib
import sys
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from langgraph.checkpoint.errors import InvalidConfigError
from langgraph.checkpoint.serde.event_hooks import emit_serde_event

# The reference logs under this name: logging set up for it applies to ours.
logger = logging.getLogger("langgraph.checkpoint.serde.jsonplus")

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

NUMPY_SCALAR_NAMES = frozenset(
    {"bool", "bool_", "float16", "float32", "float64", "complex64", "complex128"}
    | {f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)}
    | {"longlong", "ulonglong"}
)
"""numpy scalar types whose `.item()` (a Python bool, int, float or complex)
rebuilds them exactly; `longdouble` is not one of them."""

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
        ("langgraph.store.base", "SearchItem"),
    }
    | {
        ("ipaddress", f"IPv{v}{kind}")
        for v in (4, 6)
        for kind in ("Address", "Interface", "Network")
    }
    | {
        (module, name)
        for module in ("pathlib", "pathlib._local")
        for name in (
            "Path",
            "PosixPath",
            "WindowsPath",
            "PurePath",
            "PurePosixPath",
            "PureWindowsPath",
        )
    }
    | {
        ("builtins", "complex"),
        ("builtins", "range"),
        ("fractions", "Fraction"),
        ("pydantic.types", "SecretStr"),
        ("pydantic.types", "SecretBytes"),
        ("pydantic.v1.types", "SecretStr"),
        ("pydantic.v1.types", "SecretBytes"),
    }
    | {("numpy", name) for name in NUMPY_SCALAR_NAMES}
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
            raise InvalidConfigError(
                f"allowlist entries must be (module, name) tuples or classes, got {entry!r}"
            )
    return frozenset(pairs)


# The ipaddress types, each written as its text.
IP_TYPES: tuple[type, ...] = (
    ipaddress.IPv4Address,
    ipaddress.IPv4Interface,
    ipaddress.IPv4Network,
    ipaddress.IPv6Address,
    ipaddress.IPv6Interface,
    ipaddress.IPv6Network,
)

# Standard value types whose subclasses the encoder writes under their own
# names, with the base type's constructor arguments.
_VALUE_BASES: tuple[type, ...] = (
    set,
    frozenset,
    deque,
    date,
    time,
    timedelta,
    decimal.Decimal,
    uuid.UUID,
    pathlib.PurePath,
    *IP_TYPES,
)


def is_pydantic_model(cls: type) -> bool:
    """A pydantic v2 or v1 model class, recognised without importing pydantic."""
    return any(
        base.__module__.startswith("pydantic") and base.__name__ == "BaseModel"
        for base in cls.__mro__
    )


def is_user_data_class(obj: Any) -> bool:
    """A class whose construction from stored fields is plain data handling."""
    if not isinstance(obj, type):
        return False
    if issubclass(obj, (enum.Enum, *_VALUE_BASES)) or dataclasses.is_dataclass(obj):
        return True
    if issubclass(obj, tuple) and hasattr(obj, "_fields"):
        return True
    return is_pydantic_model(obj)


_MAX_WARNED = 1000  # bounds the memory of which types were warned about
_warned: set[tuple[str, ...]] = set()


def warn_once(key: tuple[str, ...], message: str, *args: object) -> None:
    """Log `message` the first time `key` is seen (best effort across threads)."""
    if key in _warned or len(_warned) >= _MAX_WARNED:
        return
    _warned.add(key)
    logger.warning(message, *args)


def _signal(kind: str, module: str, name: str) -> None:
    """The event and the (once per type) warning for a type not in the safe set."""
    emit_serde_event({"kind": kind, "module": module, "name": name})
    if kind == "msgpack_unregistered_allowed":
        warn_once(
            (kind, module, name),
            "Rebuilding %s.%s from a checkpoint although it is not in the safe types or "
            "allowed_msgpack_modules; strict mode (LANGGRAPH_STRICT_MSGPACK=true) would "
            "return its raw data. To keep it in strict mode: "
            "allowed_msgpack_modules=[(%r, %r)]",
            module,
            name,
            module,
            name,
        )
    elif kind == "msgpack_blocked":
        warn_once(
            (kind, module, name),
            "Not rebuilding %s.%s from a checkpoint (not allowed); returning its raw data. "
            "To allow it: allowed_msgpack_modules=[(%r, %r)] (for legacy JSON rows, "
            "allowed_json_modules)",
            module,
            name,
            module,
            name,
        )
    else:
        warn_once(
            (kind, module, name),
            "Cannot rebuild %s.%s from a checkpoint (%s); returning its raw data",
            module,
            name,
            kind,
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
        self._cache: dict[tuple[Any, Any], tuple[Any | None, str | None]] = {}

    def resolve(self, module: Any, name: Any) -> Any | None:
        """The class to call, or None when blocked or missing.

        Every resolution of a type outside the safe set and the allowlist
        emits its event (the choice itself is cached)."""
        key = (module, name)
        try:
            found, kind = self._cache[key]
        except KeyError:
            found, kind = self._cache[key] = self._lookup(module, name)
        except TypeError:  # unhashable junk from a corrupt payload
            found, kind = None, "msgpack_malformed"
        if kind is not None:
            _signal(kind, str(module), str(name))
        return found

    def _lookup(self, module: Any, name: Any) -> tuple[Any | None, str | None]:
        if not isinstance(module, str) or not isinstance(name, str):
            return None, "msgpack_malformed"
        safe = (module, name) in SAFE_MSGPACK_TYPES or (module, name) in self.allowlist
        if safe or self.allow_any_class:
            try:
                target = _attribute(importlib.import_module(module), name)
            except Exception:
                return None, "msgpack_missing"
            if safe:
                return target, None
            if isinstance(target, type):
                return target, "msgpack_unregistered_allowed"
        elif not self.strict and module in sys.modules:
            # Only classes of modules the application already imported: the
            # payload alone can never make us import (and so run) a module.
            try:
                target = _attribute(sys.modules[module], name)
            except AttributeError:
                target = None
            if is_user_data_class(target):
                return target, "msgpack_unregistered_allowed"
        return None, "msgpack_blocked"

    def method_allowed(self, module: Any, name: Any, method: Any, cls: Any) -> bool:
        """Whether `cls.method(arg)` may run; a refusal emits `msgpack_method_blocked`."""
        if (module, name, method) in SAFE_MSGPACK_METHODS or (
            (module, name) in self.allowlist
            and isinstance(method, str)
            and not method.startswith("_")
        ):
            return True
        # A datetime subclass is written with datetime's own reader.
        if method == "fromisoformat" and isinstance(cls, type) and issubclass(cls, datetime):
            return True
        emit_serde_event(
            {
                "kind": "msgpack_method_blocked",
                "module": str(module),
                "name": str(name),
                "method": str(method),
            }
        )
        warn_once(
            ("msgpack_method_blocked", str(module), str(name), str(method)),
            "Not calling %s.%s.%s to rebuild a checkpoint value (method not allowed); "
            "returning its raw data",
            module,
            name,
            method,
        )
        return False


def _attribute(module: Any, dotted_name: str) -> Any:
    target = module
    for part in dotted_name.split("."):
        if part.startswith("__"):
            raise AttributeError(part)
        target = getattr(target, part)
    return target
