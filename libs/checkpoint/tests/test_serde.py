"""JsonPlusSerializer: reference byte compatibility, round trips, and safety."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import ipaddress
import json
import pathlib
import re
import sys
import textwrap
import uuid
import zoneinfo
from pathlib import Path

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.types import Command, Interrupt, Send
from pydantic import BaseModel

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "serde-vectors.json").read_text())


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


Pair = collections.namedtuple("Pair", "a b")


class Profile(BaseModel):
    name: str
    tags: list[str] = []


# What the reference writer serialized for each vector (its classes lived in
# `__main__`, ours here live in this module, so those three compare by payload).
VALUES = {
    "none": None,
    "bytes": b"\x00\x01raw",
    "bytearray": bytearray(b"ba"),
    "int": 12345678901234,
    "float": 1.5,
    "str": "unicode é 漢字 😀",
    "list": [1, "two", 3.0],
    "dict_nonstr_keys": {1: "a", (2, 3): "b"},
    "nested": {"a": [{"b": [1, 2]}]},
    "tuple": (1, 2),
    "set": {1, 2, 3},
    "frozenset": frozenset({"x"}),
    "deque": collections.deque([1, 2]),
    "datetime_tz": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
    "datetime_naive": datetime.datetime(2026, 1, 2, 3, 4, 5),
    "date": datetime.date(2026, 1, 2),
    "time": datetime.time(3, 4, 5),
    "timedelta": datetime.timedelta(days=1, seconds=2, microseconds=3),
    "timezone": datetime.timezone(datetime.timedelta(seconds=18000)),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": decimal.Decimal("1.10"),
    "path": pathlib.Path("/a/b"),
    "human_message": HumanMessage(content="hi", id="m1"),
    "ai_message_tool_calls": AIMessage(
        content="", id="m2", tool_calls=[{"name": "t", "args": {"x": 1}, "id": "c1"}]
    ),
    "send": Send("node", {"arg": 1}),
    "command": Command(update={"a": 1}, goto="x"),
}
FOREIGN = {"enum": "red", "dataclass": {"x": 1, "y": 2.5}, "namedtuple": {"a": 1, "b": "b"}}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["what"] for v in VECTORS])
def test_reference_vectors(vector):
    serde = JsonPlusSerializer()
    data = (vector["type"], bytes.fromhex(vector["hex"]))
    if vector["what"] in FOREIGN:
        # The writer's class lived in its __main__: the payload comes back, no error.
        assert serde.loads_typed(data) == FOREIGN[vector["what"]]
        return
    value = VALUES[vector["what"]]
    assert serde.dumps_typed(value) == data
    loaded = serde.loads_typed(data)
    expected = list(value) if isinstance(value, tuple) else value
    assert loaded == expected
    assert repr(loaded) == vector["repr"]


@pytest.mark.parametrize(
    "value",
    [
        Color.RED,
        Point(1, 2.5),
        Pair(1, "b"),
        Profile(name="n", tags=["a"]),
        datetime.datetime(2026, 5, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        zoneinfo.ZoneInfo("UTC"),
        re.compile(r"a+\d", re.IGNORECASE),
        ipaddress.ip_address("10.1.2.3"),
        ipaddress.ip_network("2001:db8::/32"),
        Interrupt(value={"q": 1}, id="i1"),
        _DeltaSnapshot([1, {"a": 2}]),
        ToolMessage(content="done", tool_call_id="c1", id="t1"),
        {"deep": {"list": [Point(0, 0.0), {frozenset({1}), 2}.__class__([3])]}},
        "NUL \x00 inside",
    ],
    ids=lambda v: type(v).__name__,
)
def test_user_and_library_types_round_trip(value):
    serde = JsonPlusSerializer()
    assert serde.loads_typed(serde.dumps_typed(value)) == value


def test_numpy_arrays_round_trip_in_both_orders():
    np = pytest.importorskip("numpy")
    serde = JsonPlusSerializer()
    for array in (np.arange(6, dtype=np.int32).reshape(2, 3), np.arange(6.0).reshape(2, 3).T):
        back = serde.loads_typed(serde.dumps_typed(array))
        assert back.dtype == array.dtype and (back == array).all()


def test_unserializable_value_names_type_and_path():
    class Opaque:
        pass

    with pytest.raises(TypeError) as info:
        JsonPlusSerializer().dumps_typed({"state": {"items": [1, Opaque()]}})
    message = str(info.value)
    assert "Opaque" in message and "state.items[1]" in message


def test_pickle_is_refused_unless_enabled():
    import pickle

    data = ("pickle", pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="pickle_fallback"):
        JsonPlusSerializer().loads_typed(data)
    assert JsonPlusSerializer(pickle_fallback=True).loads_typed(data) == {"a": 1}


def test_legacy_json_rows_rebuild_messages():
    row = json.dumps(
        {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain", "schema", "messages", "HumanMessage"],
            "kwargs": {"content": "old", "id": "h1"},
        }
    ).encode()
    assert JsonPlusSerializer().loads_typed(("json", row)) == HumanMessage(content="old", id="h1")


def test_messages_read_alike_on_every_read_of_one_serializer():
    """The second read of a message class takes a shorter path than the
    first; both must build the same, independent messages, and a dump that
    lacks fields must still be completed by validation."""
    serde = JsonPlusSerializer()
    messages = [
        HumanMessage(content="question", id="h1"),
        AIMessage(content="", id="a1", tool_calls=[{"name": "t", "args": {"q": 1}, "id": "c1"}]),
        ToolMessage(content="result", tool_call_id="c1", id="t1"),
        AIMessage(content="answer", id="a2"),
    ]
    stored = serde.dumps_typed(messages)
    first, second = serde.loads_typed(stored), serde.loads_typed(stored)
    assert first == second == messages
    assert [type(m) for m in second] == [type(m) for m in messages]
    first[1].tool_calls[0]["args"]["q"] = 2
    first[3].content = "changed"
    assert second == messages

    partial = _ext(5, ["langchain_core.messages.ai", "AIMessage", {"content": "x"}])
    rebuilt = serde.loads_typed(("msgpack", partial))
    assert rebuilt == AIMessage(content="x")
    assert rebuilt.tool_calls == [] and rebuilt.type == "ai"


# -- safety ---------------------------------------------------------------------


def _ext(code: int, payload) -> bytes:
    return ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))


@pytest.fixture
def side_effect_module(tmp_path, monkeypatch):
    """A module not yet imported whose import writes a marker file."""
    marker = tmp_path / "imported.marker"
    name = f"evil_module_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            open({str(marker)!r}, "w").write("imported")
            class Boom:
                def __init__(self, *a, **k):
                    open({str(marker)!r}, "w").write("constructed")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)


DANGEROUS = [
    ("os", "system"),
    ("subprocess", "Popen"),
    ("builtins", "eval"),
    ("importlib", "import_module"),
]


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("target", DANGEROUS, ids=lambda t: ".".join(t))
def test_crafted_payloads_never_call_anything(code, target, tmp_path):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    arg = {
        0: command,
        1: [command],
        2: {"args": command},
        3: command,
        4: {"a": command},
        5: {"a": command},
    }[code]
    payload = [*target, arg] + (["__call__"] if code in (3, 5) else [])
    events = []
    unregister = register_serde_event_listener(events.append)
    try:
        result = JsonPlusSerializer().loads_typed(("msgpack", _ext(code, payload)))
    finally:
        unregister()
    assert not marker.exists()
    assert result == arg  # the raw payload comes back
    assert events and events[0]["module"] == target[0]


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
def test_payload_never_imports_a_module(code, side_effect_module):
    name, marker = side_effect_module
    arg = {0: "x", 1: ["x"], 2: {"k": "x"}, 3: "x", 4: {"k": "x"}, 5: {"k": "x"}}[code]
    payload = [name, "Boom", arg] + (["model_validate_json"] if code in (3, 5) else [])
    assert JsonPlusSerializer().loads_typed(("msgpack", _ext(code, payload))) == arg
    assert name not in sys.modules
    assert not marker.exists()


def test_legacy_json_never_imports_or_calls(side_effect_module, tmp_path):
    name, marker = side_effect_module
    for path in ([name, "Boom"], ["os", "system"], ["builtins", "eval"]):
        envelope = {"lc": 1, "type": "constructor", "id": path, "kwargs": {"cmd": "x"}}
        row = json.dumps(envelope).encode()
        assert JsonPlusSerializer().loads_typed(("json", row)) == envelope  # stays as stored
    assert not marker.exists() and name not in sys.modules


def test_already_imported_non_data_class_is_blocked(side_effect_module):
    name, marker = side_effect_module
    __import__(name)
    marker.unlink()
    payload = _ext(2, [name, "Boom", {"k": 1}])
    assert JsonPlusSerializer().loads_typed(("msgpack", payload)) == {"k": 1}
    assert not marker.exists()  # a plain class is not a data class: not constructed


def test_strict_mode_needs_allowlist(monkeypatch):
    serde = JsonPlusSerializer(allowed_msgpack_modules=None)
    data = serde.dumps_typed(Point(1, 2.0))
    assert serde.loads_typed(data) == {"x": 1, "y": 2.0}
    allowed = serde.with_msgpack_allowlist([(Point.__module__, "Point")])
    assert allowed.loads_typed(data) == Point(1, 2.0)
    # the safe built-in set still works in strict mode
    assert serde.loads_typed(serde.dumps_typed(datetime.date(2020, 1, 2))) == datetime.date(
        2020, 1, 2
    )


def test_strict_env_flag_is_read_at_import(tmp_path):
    import subprocess

    code = "from langgraph.checkpoint.serde._msgpack import STRICT_MSGPACK_ENABLED as s; print(s)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"LANGGRAPH_STRICT_MSGPACK": "true"},
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "True"


def test_encrypted_serializer_round_trips_and_hides_plaintext():
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 32)
    type_, blob = serde.dumps_typed({"secret": "value"})
    assert type_ == "msgpack+aes"
    assert b"value" not in blob
    assert serde.loads_typed((type_, blob)) == {"secret": "value"}
    # rows written before encryption was enabled still read
    assert serde.loads_typed(JsonPlusSerializer().dumps_typed([1])) == [1]
    other = EncryptedSerializer.from_pycryptodome_aes(key=b"x" * 32)
    with pytest.raises(ValueError):
        other.loads_typed((type_, blob))


def test_encrypted_serializer_needs_a_key(monkeypatch):
    monkeypatch.delenv("LANGGRAPH_AES_KEY", raising=False)
    with pytest.raises(ValueError, match="LANGGRAPH_AES_KEY"):
        EncryptedSerializer.from_pycryptodome_aes()


# Written by the reference EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16).
REFERENCE_ENCRYPTED = (
    "msgpack+aes",
    bytes.fromhex("405cbcb8dcfc1639326df64c0a7ed215910be50f5457d85b8fada61ea840fc3eb92edbd0"),
)


def test_reads_values_the_reference_encrypted():
    serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
    assert serde.loads_typed(REFERENCE_ENCRYPTED) == {"z": 1}
