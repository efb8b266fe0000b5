"""JsonPlusSerializer gaps found side by side with the reference 4.3.2 (issue 13):
secrets, values that changed type on a round trip, legacy JSON envelopes,
`with_msgpack_allowlist` on subclasses, the warnings and serde events, and
types beyond the reference (numpy scalars, complex, range, Fraction).

Hex constants were produced by (or checked against) the reference package in
a throwaway virtual environment."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import fractions
import json
import logging
import math
import pathlib
import subprocess
import sys
import uuid

import numpy as np
import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde import _msgpack
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send
from pydantic import BaseModel, SecretBytes, SecretStr

LOGGER = "langgraph.checkpoint.serde.jsonplus"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Warnings are logged once per type and process: start each test afresh."""
    monkeypatch.setattr(_msgpack, "_warned", set())


@pytest.fixture
def events():
    seen: list[dict] = []
    unregister = register_serde_event_listener(seen.append)
    yield seen
    unregister()


def round_trip(value, serde=None):
    serde = serde or JsonPlusSerializer()
    return serde.loads_typed(serde.dumps_typed(value))


def ext(code, payload):
    return ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb(payload)))


# -- secrets ------------------------------------------------------------------


class Credentials(BaseModel):
    user: str
    token: SecretStr


# The reference writes SecretStr("hunter2") as these bytes (ext 0, the secret itself).
REFERENCE_SECRET = "c7220093ae707964616e7469632e7479706573a9536563726574537472a768756e74657232"


def test_secret_str_is_stored_and_restored_as_the_reference_does():
    serde = JsonPlusSerializer()
    assert serde.dumps_typed(SecretStr("hunter2")) == ("msgpack", bytes.fromhex(REFERENCE_SECRET))
    restored = serde.loads_typed(("msgpack", bytes.fromhex(REFERENCE_SECRET)))
    assert type(restored) is SecretStr and restored.get_secret_value() == "hunter2"
    assert repr(restored) == "SecretStr('**********')"

    model = Credentials(user="u", token=SecretStr("hunter2"))
    type_, data = serde.dumps_typed(model)
    assert bytes.fromhex(REFERENCE_SECRET) in data  # the field, as the reference nests it
    back = serde.loads_typed((type_, data))
    assert type(back) is Credentials and back.token.get_secret_value() == "hunter2"

    secret_bytes = round_trip(SecretBytes(b"k\x00"))
    assert type(secret_bytes) is SecretBytes and secret_bytes.get_secret_value() == b"k\x00"


def test_secrets_read_in_strict_mode():
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    assert round_trip(SecretStr("s"), strict).get_secret_value() == "s"


# -- a value reads back as what was written, or the write fails ---------------


class Tags(set):
    pass


class Frozen(frozenset):
    pass


class Queue(collections.deque):
    pass


class Day(datetime.date):
    pass


class Moment(datetime.datetime):
    pass


class Money(decimal.Decimal):
    pass


class Ident(uuid.UUID):
    pass


class Home(type(pathlib.Path())):
    pass


SAME_TYPE_VALUES = {
    "pure_posix": pathlib.PurePosixPath("/a/b"),
    "pure_windows": pathlib.PureWindowsPath("c:/x/y"),
    "pure": pathlib.PurePath("rel/p"),
    "set_subclass": Tags({1, 2}),
    "frozenset_subclass": Frozen({3}),
    "deque_subclass": Queue([1, 2]),
    "date_subclass": Day(2024, 1, 2),
    "datetime_subclass": Moment(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    "decimal_subclass": Money("1.25"),
    "uuid_subclass": Ident(int=5),
    "path_subclass": Home("/a"),
}


@pytest.mark.parametrize("name", SAME_TYPE_VALUES)
def test_values_keep_their_type(name):
    value = SAME_TYPE_VALUES[name]
    back = round_trip(value)
    assert type(back) is type(value) and back == value


def test_pure_paths_read_in_strict_mode_and_match_the_reference_form():
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    for value in (pathlib.PurePosixPath("/a/b"), pathlib.PureWindowsPath("c:/x")):
        back = round_trip(value, strict)
        assert type(back) is type(value) and back == value
    # the reference's Path form (ext 1, parts), under the pure class's name;
    # the reference reads it back as PurePosixPath("/a/b")
    assert JsonPlusSerializer().dumps_typed(pathlib.PurePosixPath("/a/b"))[1] == bytes.fromhex(
        "c71e0193a7706174686c6962ad50757265506f7369785061746893a12fa161a162"
    )


def test_strict_mode_blocks_value_subclasses_loudly(events, caplog):
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert round_trip(Tags({1}), strict) == [1]
    assert {"kind": "msgpack_blocked", "module": __name__, "name": "Tags"} in events
    assert "Tags" in caplog.text


class HasDict:
    """Not a pydantic model: a `.dict()` does not say how to rebuild it."""

    def dict(self):
        return {"a": 1}


def test_a_class_with_only_a_dict_method_fails_at_write():
    with pytest.raises(TypeError, match="HasDict"):
        JsonPlusSerializer().dumps_typed({"state": HasDict()})


def test_send_keeps_its_timeout_in_the_reference_form():
    send = Send("n", {"a": 1}, timeout=datetime.timedelta(seconds=5))
    back = round_trip(send)
    assert back == send and back.timeout == send.timeout
    # byte for byte what the reference writes
    assert JsonPlusSerializer().dumps_typed(send)[1].hex() == (
        "c7730193af6c616e6767726170682e7479706573a453656e6493a16e81a16101c7530293af6c616e"
        "6767726170682e7479706573ad54696d656f7574506f6c69637983ab72756e5f74696d656f7574cb"
        "4014000000000000ac69646c655f74696d656f7574c0aa726566726573685f6f6ea46175746f"
    )
    assert round_trip(Send("n", 1)) == Send("n", 1)


# -- legacy JSON envelopes ----------------------------------------------------


def envelope(path, method=None, args=None, kwargs=None):
    # the shape LangGraph's JSON writer used: every key present
    return {
        "lc": 2,
        "type": "constructor",
        "id": path,
        "method": method,
        "args": args or [],
        "kwargs": kwargs or {},
    }


def load_json(value, serde=None):
    return (serde or JsonPlusSerializer()).loads_typed(("json", json.dumps(value).encode()))


AI = ["langchain_core", "messages", "ai", "AIMessage"]


@pytest.mark.parametrize("method", [[None, "construct"], [None, "model_construct"], None])
def test_legacy_lc2_envelopes_read_back_as_messages(method):
    row = {"messages": [envelope(AI, method, kwargs={"content": "hi", "id": "a1", "type": "ai"})]}
    assert load_json(row) == {"messages": [AIMessage(content="hi", id="a1")]}
    human = envelope(["langchain_core", "messages", "human", "HumanMessage"], method)
    human["kwargs"] = {"content": "x"}
    assert load_json(human) == HumanMessage(content="x")


def test_legacy_standard_types_read_back():
    assert load_json(envelope(["uuid", "UUID"], args=["0" * 31 + "5"])) == uuid.UUID(int=5)
    assert load_json(envelope(["datetime", "date"], args=[2024, 1, 2])) == datetime.date(2024, 1, 2)
    assert load_json(envelope(["builtins", "set"], args=[[1, 2]])) == {1, 2}
    # the reference reads this one as None; it is what the old writer meant
    stamp = envelope(["datetime", "datetime"], "fromisoformat", args=["2024-01-02T03:04:05"])
    assert load_json(stamp) == datetime.datetime(2024, 1, 2, 3, 4, 5)


def test_unknown_envelopes_stay_as_stored_and_run_nothing(tmp_path, events):
    marker = tmp_path / "ran"
    rows = [
        envelope(["os", "system"], args=[f"touch {marker}"]),
        envelope(["mymod", "Thing"], [None, "construct"], kwargs={"a": 1}),
        envelope(["builtins", "ValueError"], args=["x"]),
        envelope(["datetime", "datetime"], "now"),  # a method that is not allowed
    ]
    for row in rows:
        assert load_json(row) == row
    assert not marker.exists() and "mymod" not in sys.modules
    assert {"kind": "msgpack_blocked", "module": "os", "name": "system"} in events
    assert {
        "kind": "msgpack_method_blocked",
        "module": "datetime",
        "name": "datetime",
        "method": "now",
    } in events


def test_legacy_envelope_that_no_longer_validates(caplog):
    # a pydantic model written with the legacy construct hint keeps its data
    row = envelope(AI, [None, "construct"], kwargs={"content": "hi", "tool_calls": "bad"})
    message = load_json(row)
    assert type(message) is AIMessage and message.content == "hi"
    # without the hint, as in the reference: None, and a warning says what was lost
    plain = envelope(["datetime", "date"], args=["not", "a", "date"])
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert load_json(plain) is None
    assert "datetime.date" in caplog.text


# -- with_msgpack_allowlist keeps the serializer's class and hook --------------


@dataclasses.dataclass
class Point:
    x: int


class MySerializer(JsonPlusSerializer):
    pass


def test_allowlist_copy_keeps_the_subclass_and_its_own_policy():
    strict = MySerializer(allowed_msgpack_modules=None)
    data = strict.dumps_typed(Point(1))
    wider = strict.with_msgpack_allowlist([Point])
    assert type(wider) is MySerializer
    assert wider.loads_typed(data) == Point(1)
    assert strict.loads_typed(data) == {"x": 1}  # the original is unchanged


def test_encrypted_allowlist_copy_keeps_its_class_and_cipher():
    class MyEncrypted(EncryptedSerializer):
        pass

    inner = JsonPlusSerializer(allowed_msgpack_modules=None)
    serde = MyEncrypted.from_pycryptodome_aes(inner, key=b"k" * 16)
    data = serde.dumps_typed(Point(1))
    wider = serde.with_msgpack_allowlist([Point])
    assert type(wider) is MyEncrypted and wider.loads_typed(data) == Point(1)
    assert serde.loads_typed(data) == {"x": 1}


def test_allowlist_copy_keeps_a_custom_ext_hook():
    def hook(code, data):
        return ("hooked", code)

    serde = JsonPlusSerializer(allowed_msgpack_modules=None, __unpack_ext_hook__=hook)
    wider = serde.with_msgpack_allowlist([Point])
    assert wider is not serde
    assert wider.loads_typed(serde.dumps_typed(Point(1))) == ("hooked", 2)


# -- warnings and events ------------------------------------------------------


@dataclasses.dataclass
class Unregistered:
    v: int


def test_unregistered_type_rebuilt_emits_every_time_and_warns_once(events, caplog):
    serde = JsonPlusSerializer()
    data = serde.dumps_typed(Unregistered(1))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(3):
            assert serde.loads_typed(data) == Unregistered(1)
    expected = {"kind": "msgpack_unregistered_allowed", "module": __name__, "name": "Unregistered"}
    assert events == [expected] * 3
    warnings = [r for r in caplog.records if "Unregistered" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "LANGGRAPH_STRICT_MSGPACK" in warnings[0].getMessage()


def test_blocked_type_emits_every_time_and_warns_once(events, caplog):
    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    data = strict.dumps_typed(Unregistered(2))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert strict.loads_typed(data) == {"v": 2}
        assert strict.loads_typed(data) == {"v": 2}
    assert events == [{"kind": "msgpack_blocked", "module": __name__, "name": "Unregistered"}] * 2
    assert len([r for r in caplog.records if "Unregistered" in r.getMessage()]) == 1
    assert "allowed_msgpack_modules" in caplog.text


def test_safe_types_are_silent(events, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert round_trip(AIMessage(content="x")) == AIMessage(content="x")
        assert round_trip(datetime.date(2024, 1, 1)) == datetime.date(2024, 1, 1)
    assert events == [] and caplog.records == []


def test_blocked_method_event_names_the_method(events):
    payload = ext(3, ["datetime", "datetime", "2024-01-01", "now"])
    assert JsonPlusSerializer().loads_typed(("msgpack", payload)) == "2024-01-01"
    assert events == [
        {
            "kind": "msgpack_method_blocked",
            "module": "datetime",
            "name": "datetime",
            "method": "now",
        }
    ]


# -- beyond the reference: numpy scalars, complex, range, Fraction ------------

EXACT = [
    np.float64(1.5),
    np.float64(-0.0),
    np.float32(0.1),
    np.float16(0.333),
    np.int8(-128),
    np.int32(7),
    np.int64(-(2**63)),
    np.uint8(200),
    np.uint64(2**64 - 1),
    np.bool_(True),
    np.complex64(1 + 2j),
    np.complex128(complex(-1.5, 1e300)),
    1 + 2j,
    complex(0.0, -0.0),
    range(1, 10, 3),
    range(5, -5, -2),
    fractions.Fraction(-1, 3),
    fractions.Fraction(10**18, 7),
]


@pytest.mark.parametrize("value", EXACT, ids=repr)
def test_beyond_the_reference_round_trips_exactly(value):
    for serde in (JsonPlusSerializer(), JsonPlusSerializer(allowed_msgpack_modules=None)):
        back = round_trip({"v": [value]}, serde)["v"][0]
        assert type(back) is type(value)
        assert back == value
        if isinstance(value, (float, np.floating)):
            assert math.copysign(1, back) == math.copysign(1, value)  # -0.0 stays negative


def test_nan_scalar_round_trips():
    back = round_trip(np.float32("nan"))
    assert type(back) is np.float32 and np.isnan(back)


# Our bytes for these values; the reference 4.3.2 reads each back as an equal
# value of the same type (its default mode), since they use its constructor codes.
REFERENCE_READABLE = {
    "complex": (1 + 2j, "c7250193a86275696c74696e73a7636f6d706c657892cb3ff0000000000000cb4000000000000000"),
    "range": (range(1, 5, 2), "c7140193a86275696c74696e73a572616e676593010502"),
    "fraction": (fractions.Fraction(1, 3), "c7170193a96672616374696f6e73a84672616374696f6e920103"),
    "float64": (np.float64(1.5), "c7180093a56e756d7079a7666c6f61743634cb3ff8000000000000"),
    "int32": (np.int32(7), "c70e0093a56e756d7079a5696e74333207"),
}  # fmt: skip


@pytest.mark.parametrize("name", REFERENCE_READABLE)
def test_beyond_the_reference_uses_codes_the_reference_reads(name):
    value, hex_ = REFERENCE_READABLE[name]
    assert JsonPlusSerializer().dumps_typed(value) == ("msgpack", bytes.fromhex(hex_))


def test_numpy_types_that_would_lose_precision_fail_at_write():
    with pytest.raises(TypeError, match="longdouble"):
        JsonPlusSerializer().dumps_typed(np.longdouble("0.1"))
    with pytest.raises(TypeError, match="datetime64"):
        JsonPlusSerializer().dumps_typed(np.datetime64("2024-01-01"))


def test_numpy_is_not_imported_to_write_other_values():
    code = (
        "import sys, fractions\n"
        "from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer\n"
        "s = JsonPlusSerializer()\n"
        "s.loads_typed(s.dumps_typed([1 + 2j, range(3), fractions.Fraction(1, 2), {1}]))\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
