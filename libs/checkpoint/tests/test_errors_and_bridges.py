"""The library's error tree as raised by the base package, and the sync-over-loop bridge."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph.checkpoint import errors
from langgraph.checkpoint.base import config_location, validated_thread_ids
from langgraph.checkpoint.base.bridges import AsyncMethodsUnsupported, SyncMethodsViaLoop
from langgraph.checkpoint.errors import (
    CheckpointError,
    EventLoopError,
    InvalidConfigError,
    InvalidFilterError,
    SerializationError,
    UnsupportedOperationError,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.store.base import InvalidNamespaceError, MatchCondition, namespace_matches
from langgraph.store.base.filters import compile_filter
from langgraph.store.memory import InMemoryStore

# What each error was before the tree existed: callers' `except` clauses name these.
BUILT_IN_BASES: dict[type[Exception], tuple[type[Exception], ...]] = {
    errors.InvalidConfigError: (ValueError, TypeError),
    errors.InvalidFilterError: (ValueError, TypeError),
    errors.SerializationError: (ValueError, TypeError),
    errors.NotSetUpError: (RuntimeError,),
    errors.ClosedError: (RuntimeError,),
    errors.ConnectionLostError: (RuntimeError,),
    errors.ThreadDeletedError: (RuntimeError,),
    errors.UnsupportedOperationError: (NotImplementedError,),
    errors.EventLoopError: (RuntimeError, asyncio.InvalidStateError),
    InvalidNamespaceError: (ValueError,),
}


def test_every_public_error_is_listed_here():
    public = {getattr(errors, name) for name in errors.__all__} - {CheckpointError}
    assert public <= set(BUILT_IN_BASES)


@pytest.mark.parametrize("error", list(BUILT_IN_BASES), ids=lambda e: e.__name__)
def test_each_error_is_a_checkpoint_error_and_what_callers_caught_before(error):
    raised = error("message")
    assert isinstance(raised, CheckpointError)
    for built_in in BUILT_IN_BASES[error]:
        assert isinstance(raised, built_in)
    assert str(raised) == "message"


def test_invalid_namespace_is_an_invalid_config():
    store = InMemoryStore()
    with pytest.raises(InvalidNamespaceError, match="cannot be empty") as caught:
        store.put((), "key", {"a": 1})
    assert isinstance(caught.value, InvalidConfigError)
    assert isinstance(caught.value, ValueError)


def test_config_errors_keep_their_messages_and_old_types():
    with pytest.raises(ValueError, match=r'\["thread_id"\] is required') as missing:
        config_location({"configurable": {}})
    assert isinstance(missing.value, InvalidConfigError)
    with pytest.raises(TypeError, match=r'\["checkpoint_ns"\] must be a str') as wrong_type:
        config_location({"configurable": {"thread_id": "t", "checkpoint_ns": ["x"]}})
    assert isinstance(wrong_type.value, InvalidConfigError)
    with pytest.raises(TypeError, match="not the str") as lone_str:
        validated_thread_ids("abc")
    assert isinstance(lone_str.value, InvalidConfigError)
    with pytest.raises(ValueError, match="unknown prune strategy") as strategy:
        InMemorySaver().prune(["t"], strategy="sometimes")
    assert isinstance(strategy.value, InvalidConfigError)


def test_serializer_refusals_are_serialization_errors():
    serde = JsonPlusSerializer()
    with pytest.raises(TypeError, match="Cannot serialize") as unwritable:
        serde.dumps_typed({"lock": threading.Lock()})
    assert isinstance(unwritable.value, SerializationError)
    assert unwritable.value.__cause__ is not None  # the encoder's own error, chained
    with pytest.raises(ValueError, match="refusing to unpickle") as pickled:
        serde.loads_typed(("pickle", b""))
    assert isinstance(pickled.value, SerializationError)
    with pytest.raises(ValueError, match="Unknown serialization type") as unknown:
        serde.loads_typed(("no-such-format", b""))
    assert isinstance(unknown.value, SerializationError)


def test_filter_errors_are_invalid_filter_errors():
    with pytest.raises(TypeError, match="must be a dict") as not_a_dict:
        compile_filter(["a"])
    with pytest.raises(ValueError, match="unsupported filter operator") as bad_operator:
        compile_filter({"a": {"$near": 1}})
    for caught in (not_a_dict, bad_operator):
        assert isinstance(caught.value, InvalidFilterError)
    with pytest.raises(InvalidFilterError, match="match_type"):
        namespace_matches(("a",), MatchCondition(match_type="middle", path=("a",)))


class SyncOnly(AsyncMethodsUnsupported):
    async_alternative = "AsyncSaver"


async def test_async_methods_of_a_sync_saver_are_unsupported_operations():
    with pytest.raises(NotImplementedError, match="For async code use AsyncSaver") as caught:
        await SyncOnly().aget_tuple({})
    assert isinstance(caught.value, UnsupportedOperationError)


# -- SyncMethodsViaLoop -------------------------------------------------------


class LoopSaver(SyncMethodsViaLoop):
    """An async-only "saver" whose listing logs when each item is produced."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None, events: list[str]) -> None:
        self.loop = loop
        self.events = events

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[int]:
        try:
            for n in range(3):
                self.events.append(f"produced {n}")
                yield n
        finally:
            self.events.append(f"closed on {threading.current_thread().name}")

    async def aget_tuple(self, config: Any) -> None:
        return None


@pytest.fixture
def loop_in_thread() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="saver-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def test_sync_list_streams_one_item_at_a_time(loop_in_thread):
    events: list[str] = []
    saver = LoopSaver(loop_in_thread, events)
    for item in saver.list(None):
        events.append(f"consumed {item}")
    assert events == [
        "produced 0",
        "consumed 0",
        "produced 1",
        "consumed 1",
        "produced 2",
        "consumed 2",
        "closed on saver-loop",
    ]


def test_sync_list_stopped_early_closes_the_async_iterator_on_its_loop(loop_in_thread):
    events: list[str] = []
    listing = LoopSaver(loop_in_thread, events).list(None)
    assert next(listing) == 0
    listing.close()
    assert events == ["produced 0", "closed on saver-loop"]


def test_sync_methods_without_a_running_loop_raise_event_loop_error():
    with pytest.raises(RuntimeError, match="need its event loop running") as caught:
        LoopSaver(None, []).get_tuple({})
    assert isinstance(caught.value, EventLoopError)
    with pytest.raises(EventLoopError):
        list(LoopSaver(None, []).list(None))


async def test_sync_methods_on_the_saver_loop_raise_event_loop_error():
    saver = LoopSaver(asyncio.get_running_loop(), [])
    with pytest.raises(asyncio.InvalidStateError, match="would deadlock") as caught:
        saver.get_tuple({})
    assert isinstance(caught.value, EventLoopError)
    with pytest.raises(EventLoopError, match="would deadlock"):
        next(saver.list(None))
