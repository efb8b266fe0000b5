"""`JsonPlusSerializer`: msgpack with extension types for what graph state holds.

Byte-compatible with the reference serializer: every Python type maps to the
same msgpack ext code and payload. Reading is safe by default; see
`langgraph.checkpoint.serde._msgpack` for which types are rebuilt.
"""

from __future__ import annotations

import copy
import dataclasses
import decimal
import enum
import fractions
import json
import pathlib
import re
import sys
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

import ormsgpack
from langgraph.checkpoint.errors import SerializationError
from langgraph.checkpoint.serde._msgpack import (
    IP_TYPES,
    NUMPY_SCALAR_NAMES,
    SAFE_MSGPACK_TYPES,
    STRICT_MSGPACK_ENABLED,
    AllowedMsgpackModules,
    TypePolicy,
    is_pydantic_model,
    normalize_allowlist,
    warn_once,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.event_hooks import emit_serde_event
from langgraph.checkpoint.serde.types import SendProtocol, _DeltaSnapshot

if TYPE_CHECKING:
    from langgraph.store.base import Item

__all__ = [
    "EXT_CONSTRUCTOR_KW_ARGS",
    "EXT_CONSTRUCTOR_POS_ARGS",
    "EXT_CONSTRUCTOR_SINGLE_ARG",
    "EXT_DELTA_SNAPSHOT",
    "EXT_METHOD_SINGLE_ARG",
    "EXT_NUMPY_ARRAY",
    "EXT_PYDANTIC_V1",
    "EXT_PYDANTIC_V2",
    "InvalidModuleError",
    "Item",
    "JsonPlusSerializer",
    "SendProtocol",
    "SerializerProtocol",
    "emit_serde_event",
]

EXT_CONSTRUCTOR_SINGLE_ARG = 0
EXT_CONSTRUCTOR_POS_ARGS = 1
EXT_CONSTRUCTOR_KW_ARGS = 2
EXT_METHOD_SINGLE_ARG = 3
EXT_PYDANTIC_V1 = 4
EXT_PYDANTIC_V2 = 5
EXT_NUMPY_ARRAY = 6
EXT_DELTA_SNAPSHOT = 7

_PACK_OPTIONS = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_REPLACE_SURROGATES
)
_UNPACK_OPTIONS = ormsgpack.OPT_NON_STR_KEYS

_DEFAULT_ALLOWLIST: Any = object()


class InvalidModuleError(SerializationError):
    """A stored value names a module this serializer may not load from."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- encoding --------------------------------------------------------------


def _ext(code: int, payload: Any) -> ormsgpack.Ext:
    return ormsgpack.Ext(code, ormsgpack.packb(payload, default=_encode, option=_PACK_OPTIONS))


def _named(obj: Any) -> tuple[str, str]:
    cls = type(obj)
    return cls.__module__, cls.__name__


def _encode_pydantic_v2(obj: Any) -> ormsgpack.Ext:
    return _ext(EXT_PYDANTIC_V2, (*_named(obj), obj.model_dump(), "model_validate_json"))


def _message_encoder(cls: type) -> Callable[[Any], ormsgpack.Ext]:
    # A LangChain message's fields are plain data (strings, dicts, lists), so
    # its __dict__ is what model_dump() returns, in the same order, ten times
    # faster. Extra fields go through model_dump() to be included. One
    # closure per class, its names bound: a conversation is mostly messages
    # (500 of them written in 1.02-1.06 ms against 1.15 looking them up each).
    module, name = cls.__module__, cls.__name__

    def encode(obj: Any) -> ormsgpack.Ext:
        fields = obj.model_dump() if obj.__pydantic_extra__ else obj.__dict__
        return _ext(EXT_PYDANTIC_V2, (module, name, fields, "model_validate_json"))

    return encode


def _encode_with_dict(obj: Any) -> ormsgpack.Ext:
    return _ext(EXT_PYDANTIC_V1, (*_named(obj), obj.dict()))


def _encode_dataclass(obj: Any) -> ormsgpack.Ext:
    fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return _ext(EXT_CONSTRUCTOR_KW_ARGS, (*_named(obj), fields))


def _encode_namedtuple(obj: Any) -> ormsgpack.Ext:
    return _ext(EXT_CONSTRUCTOR_KW_ARGS, (*_named(obj), obj._asdict()))


def _single(convert: Callable[[Any], Any]) -> Callable[[Any], ormsgpack.Ext]:
    return lambda obj: _ext(EXT_CONSTRUCTOR_SINGLE_ARG, (*_named(obj), convert(obj)))


def _positional(convert: Callable[[Any], Any]) -> Callable[[Any], ormsgpack.Ext]:
    return lambda obj: _ext(EXT_CONSTRUCTOR_POS_ARGS, (*_named(obj), convert(obj)))


def _encode_datetime(obj: datetime) -> ormsgpack.Ext:
    return _ext(EXT_METHOD_SINGLE_ARG, (*_named(obj), obj.isoformat(), "fromisoformat"))


def _send_args(send: Any) -> tuple[Any, ...]:
    timeout = getattr(send, "timeout", None)
    return (send.node, send.arg) if timeout is None else (send.node, send.arg, timeout)


def _encode_time(obj: time) -> ormsgpack.Ext:
    fields = {
        "hour": obj.hour,
        "minute": obj.minute,
        "second": obj.second,
        "microsecond": obj.microsecond,
        "tzinfo": obj.tzinfo,
        "fold": obj.fold,
    }
    return _ext(EXT_CONSTRUCTOR_KW_ARGS, ("datetime", "time", fields))


def _encode_pattern(obj: re.Pattern) -> ormsgpack.Ext:
    return _ext(EXT_CONSTRUCTOR_POS_ARGS, ("re", "compile", (obj.pattern, obj.flags)))


def _encode_numpy(obj: Any) -> ormsgpack.Ext:
    order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
    buffer = obj.tobytes(order=order)
    return _ext(EXT_NUMPY_ARRAY, (obj.dtype.str, obj.shape, order, buffer))


# Exact-type encoders: the common case costs one dict lookup.
_EXACT_ENCODERS: dict[type, Callable[[Any], Any]] = {
    set: _single(tuple),
    frozenset: _single(tuple),
    deque: _single(list),
    uuid.UUID: _single(lambda u: u.hex),
    decimal.Decimal: _single(str),
    datetime: _encode_datetime,
    date: _positional(lambda d: (d.year, d.month, d.day)),
    time: _encode_time,
    timedelta: _positional(lambda d: (d.days, d.seconds, d.microseconds)),
    timezone: _positional(lambda tz: tz.__getinitargs__()),
    re.Pattern: _encode_pattern,
    # Beyond the reference, which cannot write these: the constructor codes
    # it knows, so that it reads them back (its reader turns unknown ext codes
    # into None).
    complex: _positional(lambda c: (c.real, c.imag)),
    range: _positional(lambda r: (r.start, r.stop, r.step)),
    fractions.Fraction: _positional(lambda f: (f.numerator, f.denominator)),
    _DeltaSnapshot: lambda obj: ormsgpack.Ext(
        EXT_DELTA_SNAPSHOT, ormsgpack.packb(obj.value, default=_encode, option=_PACK_OPTIONS)
    ),
}
for _cls in IP_TYPES:
    _EXACT_ENCODERS[_cls] = _single(str)

# Every encoder chosen so far, the exact-type ones to begin with.
_encoder_cache: dict[type, Callable[[Any], Any]] = dict(_EXACT_ENCODERS)


_Encoder = Callable[[Any], Any]


def _encoder_for(cls: type, obj: Any) -> _Encoder | None:
    """Pick the encoder for a class once; later objects of it reuse the choice.

    Only types the reader rebuilds as they were get one: anything else fails
    at write time rather than read back as something else. The groups are
    tried in this order because a class can fit several (a pydantic model
    that is also a dataclass is written as a model)."""
    return (
        _model_encoder(cls)
        or _record_encoder(cls, obj)
        or _builtin_subclass_encoder(cls)
        or _module_encoder(cls)
        or _exact_base_encoder(cls)
    )


def _model_encoder(cls: type) -> _Encoder | None:
    """Pydantic models (v2, v1, secrets) and the store's `Item`."""
    if callable(getattr(cls, "model_dump", None)) and hasattr(cls, "model_fields"):
        if cls.__module__.startswith("langchain_core.messages."):
            return _message_encoder(cls)
        return _encode_pydantic_v2
    if callable(getattr(cls, "get_secret_value", None)):  # pydantic's SecretStr, SecretBytes
        return _single(lambda secret: secret.get_secret_value())
    if callable(getattr(cls, "dict", None)) and (
        is_pydantic_model(cls) or (cls.__module__, cls.__qualname__) in SAFE_MSGPACK_TYPES
    ):  # pydantic v1 models and the store's Item, as the reference writes them
        return _encode_with_dict
    return None


def _record_encoder(cls: type, obj: Any) -> _Encoder | None:
    """Classes rebuilt from their fields: `Send`, dataclasses, named tuples."""
    if isinstance(obj, SendProtocol) and hasattr(obj, "node") and hasattr(obj, "arg"):
        return _positional(_send_args)
    if dataclasses.is_dataclass(cls):
        return _encode_dataclass
    if issubclass(cls, tuple) and hasattr(cls, "_asdict"):
        return _encode_namedtuple
    return None


def _builtin_subclass_encoder(cls: type) -> _Encoder | None:
    """Subclasses of standard types, written as their base writes them."""
    if issubclass(cls, enum.Enum):
        return _single(lambda e: e.value)
    if issubclass(cls, pathlib.PurePath):
        return _positional(lambda p: p.parts)
    if issubclass(cls, (set, frozenset)):
        return _single(tuple)
    if issubclass(cls, deque):
        return _single(list)
    if issubclass(cls, datetime):
        return _encode_datetime
    if issubclass(cls, BaseException):
        return repr
    return None


def _module_encoder(cls: type) -> _Encoder | None:
    """Types recognised by the module that defines them (numpy, zoneinfo)."""
    if cls.__module__ == "numpy":
        return _numpy_encoder(cls)
    if cls.__module__ == "zoneinfo" and cls.__name__ == "ZoneInfo":
        return _single(lambda z: z.key)
    return None


def _exact_base_encoder(cls: type) -> _Encoder | None:
    """A subclass of a type in `_EXACT_ENCODERS` is written by that type's
    encoder; complex, range and Fraction are written for exact instances only."""
    for exact, encoder in _EXACT_ENCODERS.items():
        if issubclass(cls, exact) and exact not in (complex, range, fractions.Fraction):
            return encoder
    return None


def _numpy_encoder(cls: type) -> Callable[[Any], Any] | None:
    np = sys.modules["numpy"]  # loaded: one of its objects is being written
    if cls is np.ndarray:
        return _encode_numpy
    if cls.__name__ in NUMPY_SCALAR_NAMES and issubclass(cls, (np.bool_, np.number)):
        # Python's bool, int, float and complex hold these exactly.
        return _single(lambda scalar: scalar.item())
    return None


def _encode(obj: Any) -> Any:
    """ormsgpack's `default`: called for every value it cannot pack natively."""
    cls = type(obj)
    encoder = _encoder_cache.get(cls)
    if encoder is None:
        encoder = _encoder_for(cls, obj)
        if encoder is None:
            raise SerializationError(
                f"Type is not msgpack serializable: {cls.__module__}.{cls.__qualname__}"
            )
        _encoder_cache[cls] = encoder
    return encoder(obj)


def _find_unserializable(obj: Any, path: str = "") -> tuple[str, Any] | None:
    """Where inside `obj` the first value msgpack cannot take sits (slow; errors only)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            found = _find_unserializable(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        for index, value in enumerate(obj):
            found = _find_unserializable(value, f"{path}[{index}]")
            if found:
                return found
        return None
    try:
        ormsgpack.packb(obj, default=_encode, option=_PACK_OPTIONS)
    except (TypeError, ormsgpack.MsgpackEncodeError):
        return path or "<value>", obj
    return None


# -- the serializer ---------------------------------------------------------


class JsonPlusSerializer(SerializerProtocol):
    """Serializer for checkpoint values: msgpack, plus readers for old formats.

    - `pickle_fallback`: pickle values msgpack cannot take, and read `"pickle"`
      rows. Off by default: unpickling runs arbitrary code.
    - `allowed_msgpack_modules`: extra `(module, name)` pairs (or classes) that
      may be rebuilt on read. `True` trusts any class a payload names (and may
      import its module); `None` allows only the safe built-in set.
    - `allowed_json_modules`: module paths (tuples) trusted for legacy `"json"`
      rows; `True` trusts any class.
    """

    def __init__(
        self,
        *,
        pickle_fallback: bool = False,
        allowed_json_modules: Iterable[tuple[str, ...]] | Literal[True] | None = None,
        allowed_msgpack_modules: AllowedMsgpackModules | Literal[True] | None = _DEFAULT_ALLOWLIST,
        __unpack_ext_hook__: Callable[[int, bytes], Any] | None = None,
    ) -> None:
        self.pickle_fallback = pickle_fallback
        self.allowed_json_modules = (
            allowed_json_modules
            if allowed_json_modules is None or allowed_json_modules is True
            else tuple(allowed_json_modules)
        )
        if allowed_msgpack_modules is True:
            policy = TypePolicy(frozenset(), strict=False, allow_any_class=True)
        elif allowed_msgpack_modules is None:
            policy = TypePolicy(frozenset(), strict=True)
        elif allowed_msgpack_modules is _DEFAULT_ALLOWLIST:
            policy = TypePolicy(frozenset(), strict=STRICT_MSGPACK_ENABLED)
        else:
            policy = TypePolicy(
                normalize_allowlist(allowed_msgpack_modules), strict=STRICT_MSGPACK_ENABLED
            )
        self._custom_unpack_ext_hook = __unpack_ext_hook__
        self._set_policy(policy)

    def _set_policy(self, policy: TypePolicy) -> None:
        self._policy = policy
        # (module, name) of a safe message class -> (class, its field names,
        # whether it keeps extra fields): complete dumps of these are rebuilt
        # without resolving the class again (a list of 800 messages read 25%
        # faster)
        self._messages: dict[tuple[str, str], tuple[Any, frozenset[str], bool]] = {}
        if self.allowed_json_modules is True:
            self._json_policy = TypePolicy(frozenset(), strict=False, allow_any_class=True)
        elif self.allowed_json_modules:
            extra = {(".".join(p[:-1]), p[-1]) for p in self.allowed_json_modules if len(p) >= 2}
            self._json_policy = TypePolicy(policy.allowlist | extra, strict=policy.strict)
        else:
            self._json_policy = policy
        self._unpack_ext_hook = self._custom_unpack_ext_hook or self._decode_ext

    def with_msgpack_allowlist(
        self, extra_allowlist: Iterable[tuple[str, ...] | type]
    ) -> JsonPlusSerializer:
        """A copy (of the same class, keeping a custom `__unpack_ext_hook__`) that
        may also rebuild the given `(module, name)` pairs or classes."""
        extra = normalize_allowlist(extra_allowlist)
        if self._policy.allow_any_class or extra <= self._policy.allowlist:
            return self
        clone = copy.copy(self)
        clone._set_policy(TypePolicy(self._policy.allowlist | extra, strict=self._policy.strict))
        return clone

    # -- writing --

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        if obj is None:
            return "null", b""
        if isinstance(obj, bytes):
            return "bytes", obj
        if isinstance(obj, bytearray):
            return "bytearray", bytes(obj)
        try:
            return "msgpack", ormsgpack.packb(obj, default=_encode, option=_PACK_OPTIONS)
        except (TypeError, ormsgpack.MsgpackEncodeError) as exc:
            if self.pickle_fallback:
                import pickle

                return "pickle", pickle.dumps(obj)
            found = _find_unserializable(obj)
            if found is None:
                raise SerializationError(
                    f"Cannot serialize value of type {type(obj).__qualname__}: {exc}"
                ) from exc
            where, value = found
            raise SerializationError(
                f"Cannot serialize {type(value).__module__}.{type(value).__qualname__} "
                f"at {where}: {exc}"
            ) from exc

    # -- reading --

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if type_ == "msgpack":
            return ormsgpack.unpackb(
                payload, ext_hook=self._unpack_ext_hook, option=_UNPACK_OPTIONS
            )
        if type_ == "null":
            return None
        if type_ == "bytes":
            return bytes(payload)
        if type_ == "bytearray":
            return bytearray(payload)
        if type_ == "json":
            return json.loads(payload, object_hook=self._revive_json)
        if type_ == "pickle":
            if not self.pickle_fallback:
                raise SerializationError(
                    "refusing to unpickle a stored value: pass pickle_fallback=True to "
                    "JsonPlusSerializer only if you trust the database"
                )
            import pickle

            return pickle.loads(payload)
        raise SerializationError(f"Unknown serialization type: {type_!r}")

    def _unpack(self, payload: bytes) -> Any:
        return ormsgpack.unpackb(payload, ext_hook=self._unpack_ext_hook, option=_UNPACK_OPTIONS)

    def _decode_ext(self, code: int, data: bytes) -> Any:
        payload = self._unpack(data)
        if code == EXT_PYDANTIC_V2 and type(payload) is list and len(payload) >= 3:
            try:
                cls, fields, keeps_extra = self._messages[payload[0], payload[1]]
            except (KeyError, TypeError):  # not seen yet, or unhashable junk
                pass
            else:
                arg = payload[2]
                if type(arg) is dict and arg.keys() == fields:
                    return _message_from_fields(cls, arg, keeps_extra)
        if code == EXT_DELTA_SNAPSHOT:
            return _DeltaSnapshot(payload)
        if code == EXT_NUMPY_ARRAY:
            return _decode_numpy(payload)
        if not isinstance(payload, (list, tuple)) or len(payload) < 3:
            emit_serde_event({"kind": "msgpack_malformed", "module": "", "name": ""})
            return payload
        module, name, arg = payload[0], payload[1], payload[2]
        cls = self._policy.resolve(module, name)
        if cls is None:
            return arg
        try:
            if code == EXT_CONSTRUCTOR_SINGLE_ARG:
                return cls(arg)
            if code == EXT_CONSTRUCTOR_POS_ARGS:
                if len(arg) == 3 and (module, name) == ("langgraph.types", "Send"):
                    return cls(arg[0], arg[1], timeout=arg[2])  # timeout is keyword-only
                return cls(*arg)
            if code == EXT_CONSTRUCTOR_KW_ARGS:
                return cls(**arg)
            if code == EXT_METHOD_SINGLE_ARG:
                method = payload[3] if len(payload) > 3 else None
                if not self._policy.method_allowed(module, name, method, cls):
                    return arg
                assert isinstance(method, str)  # method_allowed refuses anything else
                return getattr(cls, method)(arg)
            if code == EXT_PYDANTIC_V1:
                return _rebuild_pydantic_v1(cls, arg)
            if code == EXT_PYDANTIC_V2:
                shape = _message_shape(cls)
                if shape is not None and shape[1] and (module, name) in SAFE_MSGPACK_TYPES:
                    self._messages[module, name] = (cls, shape[0], shape[2])
                return _rebuild_pydantic_v2(cls, arg)
        except Exception as exc:
            _unbuildable("msgpack_invalid", module, name, exc)
            return arg
        return payload

    def _revive_json(self, value: dict[str, Any]) -> Any:
        """Legacy `"json"` rows: LangChain's `{"lc": ..., "type": "constructor"}` objects.

        An envelope whose type may not be rebuilt stays as stored (the dict),
        as the reference leaves it; one that fails to rebuild becomes None,
        with a warning, as in the reference.
        """
        if value.get("type") != "constructor" or not isinstance(value.get("id"), list):
            return value
        path = value["id"]
        if not path or not all(isinstance(p, str) for p in path):
            return value
        module, name = _legacy_json_location(path)
        policy = self._json_policy
        cls = policy.resolve(module, name)
        if cls is None:
            return value
        args = value.get("args") or []
        kwargs = value.get("kwargs") or {}
        method = value.get("method")
        if isinstance(method, str) and method:
            if not policy.method_allowed(module, name, method, cls):
                return value
            builders = [getattr(cls, method, None)]
        else:
            builders = _legacy_builders(cls, method)
        error: Exception | None = None
        for build in builders:
            try:
                return build(*args, **kwargs)  # type: ignore[misc]
            except Exception as exc:
                error = exc
        _unbuildable("json_invalid", module, name, error)
        return None


def _legacy_builders(cls: Any, method: Any) -> list[Any]:
    """What an envelope's `method` list (LangGraph wrote `[None, "construct"]`
    for pydantic models before late 2025) asks to try, in order: None is the
    constructor; `construct`/`model_construct`, which only assign fields, run
    for pydantic models. Nothing else named there is called."""
    if not isinstance(method, list):
        return [cls]
    builders = []
    for entry in method:
        if entry is None:
            builders.append(cls)
        elif entry in ("construct", "model_construct") and is_pydantic_model(cls):
            # pydantic v2 deprecates `construct` in favour of `model_construct`
            builders.append(getattr(cls, "model_construct", None) or cls.construct)
    return builders or [cls]


def _unbuildable(kind: str, module: Any, name: Any, error: Exception | None) -> None:
    emit_serde_event({"kind": kind, "module": str(module), "name": str(name)})
    warn_once(
        (kind, str(module), str(name)),
        "Could not rebuild %s.%s from a checkpoint (%s); returning its stored data",
        module,
        name,
        type(error).__name__,
    )


def _legacy_json_location(path: list[str]) -> tuple[str, str]:
    """Map LangChain's serialized ids to the module that now holds the class."""
    name = path[-1]
    if path[:3] == ["langchain", "schema", "messages"] or path[:2] == [
        "langchain_core",
        "messages",
    ]:
        for module, names in _message_modules().items():
            if name in names:
                return module, name
    return ".".join(path[:-1]), name


def _message_modules() -> dict[str, tuple[str, ...]]:
    from langgraph.checkpoint.serde._msgpack import _MESSAGE_CLASSES

    return {f"langchain_core.messages.{m}": names for m, names in _MESSAGE_CLASSES.items()}


# Per LangChain message class: its field names, whether the fast rebuild
# applies (no private attributes), whether it keeps extra fields.
_MESSAGE_SHAPES: dict[type, tuple[frozenset[str], bool, bool]] = {}


def _message_shape(cls: Any) -> tuple[frozenset[str], bool, bool] | None:
    shape = _MESSAGE_SHAPES.get(cls)
    if shape is None:
        if not cls.__module__.startswith("langchain_core.messages."):
            return None
        shape = (
            frozenset(cls.model_fields),
            not cls.__private_attributes__,
            cls.model_config.get("extra") == "allow",
        )
        _MESSAGE_SHAPES[cls] = shape
    return shape


def _rebuild_pydantic_v2(cls: Any, fields: Any) -> Any:
    shape = _message_shape(cls)
    if shape is not None and fields.keys() >= shape[0]:
        # A complete dump of a message written by model_dump(): validating it
        # again only costs time. Older, partial dumps still go through
        # validation below, which fills in what they lack.
        if shape[1] and fields.keys() == shape[0]:
            return _message_from_fields(cls, fields, shape[2])
        return cls.model_construct(**fields)
    try:
        return cls(**fields)
    except Exception:
        # Data that no longer validates (schema changed) is kept as stored.
        return cls.model_construct(**fields)


_set = object.__setattr__


def _message_from_fields(cls: Any, fields: dict[str, Any], keeps_extra: bool) -> Any:
    """What `model_construct(**fields)` builds when `fields` are exactly the
    model's fields, without its per-field bookkeeping (3x cheaper)."""
    message = cls.__new__(cls)
    _set(message, "__dict__", fields)
    _set(message, "__pydantic_fields_set__", set(fields))
    _set(message, "__pydantic_extra__", {} if keeps_extra else None)
    _set(message, "__pydantic_private__", None)
    return message


def _rebuild_pydantic_v1(cls: Any, fields: Any) -> Any:
    try:
        return cls(**fields)
    except Exception:
        construct = getattr(cls, "construct", None)
        if construct is None:
            raise
        return construct(**fields)


def _decode_numpy(payload: Any) -> Any:
    try:
        import numpy as np
    except ImportError:
        emit_serde_event({"kind": "msgpack_missing", "module": "numpy", "name": "ndarray"})
        return payload
    dtype, shape, order, buffer = payload
    return np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(shape, order=order).copy()
