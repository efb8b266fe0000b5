"""Bytes for library types beyond the shared vectors, as the reference 4.3.2 writes them.

The expected (type, hex) pairs were produced by running the reference
serializer (black box) on the same values; dumps must match them exactly and
loads must give back an equal value.
"""

import collections
import datetime
import decimal
import ipaddress
import pathlib
import re
import uuid

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Command, Interrupt, Send

VALUES = {
    "uuid": uuid.UUID(int=5),
    "datetime_tz": datetime.datetime(
        2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    ),
    "date": datetime.date(2024, 1, 2),
    "time": datetime.time(1, 2, 3),
    "timedelta": datetime.timedelta(days=1, seconds=3),
    "decimal": decimal.Decimal("1.25"),
    "set": {1, 2},
    "frozenset": frozenset([3]),
    "deque": collections.deque([1, 2]),
    "path": pathlib.Path("/a/b"),
    "pattern": re.compile("a+", re.I),
    "ipv4": ipaddress.ip_address("1.2.3.4"),
    "network": ipaddress.ip_network("10.0.0.0/8"),
    "non_str_keys": {1: "a", (1, 2): "b"},
    "bytes": b"xy",
    "bytearray": bytearray(b"z"),
    "send": Send("n", {"a": 1}),
    "command": Command(goto="x", update={"a": 1}),
    "interrupt": Interrupt(value="v", id="i1"),
    "ai_message": AIMessage(
        content="hi", tool_calls=[{"name": "t", "args": {"q": 1}, "id": "c1"}], id="a1"
    ),
    "human_message": HumanMessage(content="x", id="h"),
    "tool_message": ToolMessage(content="r", tool_call_id="c1", id="t"),
    "numpy": np.arange(6, dtype=np.int32).reshape(2, 3),
}

REFERENCE = {
    "uuid": (
        "msgpack",
        "c72d0093a475756964a455554944d9203030303030303030303030303030303030303030303030303030303030303035",
    ),
    "datetime_tz": (
        "msgpack",
        "c7430394a86461746574696d65a86461746574696d65d920323032342d30312d30325430333a30343a30352e3030303030362b30323a3030ad66726f6d69736f666f726d6174",
    ),
    "date": ("msgpack", "c7150193a86461746574696d65a46461746593cd07e80102"),
    "time": (
        "msgpack",
        "c7410293a86461746574696d65a474696d6586a4686f757201a66d696e75746502a67365636f6e6403ab6d6963726f7365636f6e6400a6747a696e666fc0a4666f6c6400",
    ),
    "timedelta": ("msgpack", "c7180193a86461746574696d65a974696d6564656c746193010300"),
    "decimal": ("msgpack", "c7160093a7646563696d616ca7446563696d616ca4312e3235"),
    "set": ("msgpack", "c7110093a86275696c74696e73a3736574920102"),
    "frozenset": ("msgpack", "c7160093a86275696c74696e73a966726f7a656e7365749103"),
    "deque": ("msgpack", "c7160093ab636f6c6c656374696f6e73a56465717565920102"),
    "path": ("msgpack", "c71a0193a7706174686c6962a9506f7369785061746893a12fa161a162"),
    "pattern": ("msgpack", "c7110193a27265a7636f6d70696c6592a2612b22"),
    "ipv4": ("msgpack", "c71f0093a9697061646472657373ab4950763441646472657373a7312e322e332e34"),
    "network": (
        "msgpack",
        "c7220093a9697061646472657373ab495076344e6574776f726baa31302e302e302e302f38",
    ),
    "non_str_keys": ("msgpack", "8201a161920102a162"),
    "bytes": ("bytes", "7879"),
    "bytearray": ("bytearray", "7a"),
    "send": ("msgpack", "c71d0193af6c616e6767726170682e7479706573a453656e6492a16e81a16101"),
    "command": (
        "msgpack",
        "c73b0293af6c616e6767726170682e7479706573a7436f6d6d616e6484a56772617068c0a675706461746581a16101a6726573756d65c0a4676f746fa178",
    ),
    "interrupt": (
        "msgpack",
        "c73b0293af6c616e6767726170682e7479706573a9496e7465727275707483a576616c7565a176a26964a26931af726573706f6e73655f736368656d61c0",
    ),
    "ai_message": (
        "msgpack",
        "c7d60594ba6c616e67636861696e5f636f72652e6d657373616765732e6169a941494d65737361676589a7636f6e74656e74a26869b16164646974696f6e616c5f6b776172677380b1726573706f6e73655f6d6574616461746180a474797065a26169a46e616d65c0a26964a26131aa746f6f6c5f63616c6c739184a46e616d65a174a46172677381a17101a26964a26331a474797065a9746f6f6c5f63616c6cb2696e76616c69645f746f6f6c5f63616c6c7390ae75736167655f6d65746164617461c0b36d6f64656c5f76616c69646174655f6a736f6e",
    ),
    "human_message": (
        "msgpack",
        "c7870594bd6c616e67636861696e5f636f72652e6d657373616765732e68756d616eac48756d616e4d65737361676586a7636f6e74656e74a178b16164646974696f6e616c5f6b776172677380b1726573706f6e73655f6d6574616461746180a474797065a568756d616ea46e616d65c0a26964a168b36d6f64656c5f76616c69646174655f6a736f6e",
    ),
    "tool_message": (
        "msgpack",
        "c7ad0594bc6c616e67636861696e5f636f72652e6d657373616765732e746f6f6cab546f6f6c4d65737361676589a7636f6e74656e74a172b16164646974696f6e616c5f6b776172677380b1726573706f6e73655f6d6574616461746180a474797065a4746f6f6ca46e616d65c0a26964a174ac746f6f6c5f63616c6c5f6964a26331a86172746966616374c0a6737461747573a773756363657373b36d6f64656c5f76616c69646174655f6a736f6e",
    ),
    "numpy": (
        "msgpack",
        "c7240694a33c6934920203a143c418000000000100000002000000030000000400000005000000",
    ),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_dumps_matches_reference_bytes_and_loads_back(name):
    serde = JsonPlusSerializer()
    value = VALUES[name]
    kind, hex_bytes = REFERENCE[name]
    assert serde.dumps_typed(value) == (kind, bytes.fromhex(hex_bytes))
    loaded = serde.loads_typed((kind, bytes.fromhex(hex_bytes)))
    if isinstance(value, np.ndarray):
        assert loaded.dtype == value.dtype and (loaded == value).all()
    else:
        assert type(loaded) is type(value) and loaded == value
