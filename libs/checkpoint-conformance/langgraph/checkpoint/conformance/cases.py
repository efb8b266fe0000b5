"""The checkpointer contract as named, executable cases.

Each case receives an `Api` over a saver and raises `ConformanceError` (or any
exception) when the saver breaks a rule. Cases use fresh thread ids, so they
can share one saver and run against a database that holds other data.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.conformance.api import Api, make_checkpoint, new_thread
from langgraph.checkpoint.conformance.report import Capability
from langgraph.checkpoint.serde.types import _DeltaSnapshot


class ConformanceError(AssertionError):
    """A saver broke a rule of the contract."""


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


@dataclass(frozen=True)
class Case:
    capability: Capability
    name: str
    run: Callable[[Api], Awaitable[None]]

    @property
    def id(self) -> str:
        return f"{self.capability.value}::{self.name}"


CASES: list[Case] = []


def case(capability: Capability) -> Callable[[Callable[[Api], Awaitable[None]]], Callable]:
    def register(fn: Callable[[Api], Awaitable[None]]) -> Callable:
        CASES.append(Case(capability, fn.__name__, fn))
        return fn

    return register


def _cfg(thread_id: str, ns: str = "", checkpoint_id: str | None = None) -> dict:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _id(config: dict | None) -> str | None:
    """The checkpoint id a config names; None for a missing config (no parent),
    so that comparing it reports the case's own failure message."""
    return None if config is None else config["configurable"]["checkpoint_id"]


async def _saved(api: Api, config: dict) -> CheckpointTuple:
    """`get_tuple` of a checkpoint the case has put: a missing one fails the case."""
    saved = await api.get_tuple(config)
    if saved is None:
        raise ConformanceError(f"get_tuple found nothing for {config['configurable']!r}")
    return saved


def _metadata(item: CheckpointTuple) -> dict[str, Any]:
    """An item's metadata with the custom keys a case wrote (the TypedDict names only LangGraph's)."""
    return dict(item.metadata)


# -- put ---------------------------------------------------------------------

P = Capability.PUT


@case(P)
async def returns_config(api: Api) -> None:
    thread = new_thread()
    checkpoint = make_checkpoint({"a": 1}, {"a": api.saver.get_next_version(None, None)})
    returned = await api.put(
        _cfg(thread), checkpoint, {"source": "input", "step": -1}, checkpoint["channel_versions"]
    )
    conf = returned.get("configurable", {})
    expect(
        conf.get("thread_id") == thread,
        f"returned thread_id {conf.get('thread_id')!r}, expected {thread!r}",
    )
    expect(conf.get("checkpoint_ns", "") == "", "returned checkpoint_ns should be ''")
    expect(
        conf.get("checkpoint_id") == checkpoint["id"],
        "returned checkpoint_id is not the checkpoint's id",
    )


@case(P)
async def round_trips_values(api: Api) -> None:
    thread = new_thread()
    [config] = await api.put_chain(thread, [{"a": 1, "b": {"nested": [1, 2, {"x": "y"}]}}])
    saved = await _saved(api, config)
    values = saved.checkpoint["channel_values"]
    expect(
        values == {"a": 1, "b": {"nested": [1, 2, {"x": "y"}]}},
        f"channel_values read back as {values!r}",
    )
    expect(saved.checkpoint["id"] == _id(config), "checkpoint id changed")


@case(P)
async def first_checkpoint_has_no_parent(api: Api) -> None:
    [config] = await api.put_chain(new_thread(), [{"a": 1}])
    saved = await _saved(api, config)
    expect(
        saved.parent_config is None,
        f"parent_config of the first checkpoint is {saved.parent_config!r}",
    )


@case(P)
async def parent_is_config_checkpoint(api: Api) -> None:
    thread = new_thread()
    first, second = await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    parent = (await _saved(api, second)).parent_config
    if parent is None:
        raise ConformanceError("second checkpoint has no parent_config")
    expect(
        _id(parent) == _id(first),
        "parent_config does not point at the first checkpoint",
    )
    expect(
        parent["configurable"].get("thread_id") == thread,
        "parent_config lacks thread_id",
    )


@case(P)
async def overwrite_same_id_replaces(api: Api) -> None:
    thread = new_thread()
    version = api.saver.get_next_version(None, None)
    checkpoint = make_checkpoint({"a": 1}, {"a": version})
    await api.put(
        _cfg(thread), checkpoint, {"source": "input", "step": 1, "mark": "old"}, {"a": version}
    )
    await api.put(
        _cfg(thread), checkpoint, {"source": "input", "step": 1, "mark": "new"}, {"a": version}
    )
    items = await api.list(_cfg(thread))
    expect(len(items) == 1, f"putting the same id twice left {len(items)} checkpoints")
    expect(items[0].metadata.get("mark") == "new", "the second put did not replace the first")


@case(P)
async def namespaces_kept_apart(api: Api) -> None:
    thread = new_thread()
    [root] = await api.put_chain(thread, [{"who": "root"}])
    [child] = await api.put_chain(thread, [{"who": "child"}], ns="child:1")
    got_root = await _saved(api, _cfg(thread, ""))
    got_child = await _saved(api, _cfg(thread, "child:1"))
    expect(
        got_root and got_root.checkpoint["channel_values"]["who"] == "root",
        "root namespace returned the wrong checkpoint",
    )
    expect(
        got_child and got_child.checkpoint["channel_values"]["who"] == "child",
        "child namespace returned the wrong checkpoint",
    )
    expect(
        got_child.config["configurable"]["checkpoint_ns"] == "child:1",
        "child config lost its namespace",
    )


@case(P)
async def unchanged_channels_still_read_back(api: Api) -> None:
    thread = new_thread()
    saver = api.saver
    va, vb = saver.get_next_version(None, None), saver.get_next_version(None, None)
    first = make_checkpoint({"a": "a1", "b": "b1"}, {"a": va, "b": vb}, 0)
    config = await api.put(_cfg(thread), first, {"source": "loop", "step": 0}, {"a": va, "b": vb})
    va2 = saver.get_next_version(va, None)
    second = make_checkpoint({"a": "a2", "b": "b1"}, {"a": va2, "b": vb}, 1)
    config = await api.put(config, second, {"source": "loop", "step": 1}, {"a": va2})
    saved = await _saved(api, config)
    expect(
        saved.checkpoint["channel_values"] == {"a": "a2", "b": "b1"},
        f"got {saved.checkpoint['channel_values']!r}",
    )
    older = await _saved(api, _cfg(thread, "", first["id"]))
    expect(
        older.checkpoint["channel_values"] == {"a": "a1", "b": "b1"}, "the older checkpoint changed"
    )


@case(P)
async def version_without_value_reads_absent(api: Api) -> None:
    thread = new_thread()
    va = api.saver.get_next_version(None, None)
    vc = api.saver.get_next_version(None, None)
    checkpoint = make_checkpoint({"a": 1}, {"a": va, "c": vc})
    config = await api.put(
        _cfg(thread), checkpoint, {"source": "input", "step": -1}, {"a": va, "c": vc}
    )
    saved = await _saved(api, config)
    expect(
        "c" not in saved.checkpoint["channel_values"],
        "a channel with a version but no value read back present",
    )
    expect(
        saved.checkpoint["channel_versions"].get("c") == vc,
        "channel_versions lost the empty channel",
    )


@case(P)
async def metadata_merged_from_config(api: Api) -> None:
    thread = new_thread()
    config = {
        "configurable": {
            "thread_id": thread,
            "checkpoint_ns": "",
            "user": "u1",
            "__secret": "x",
            "obj": {"no": 1},
        },
        "metadata": {"run_id": "r1", "step": 99, "note": "a\x00b"},
    }
    checkpoint = make_checkpoint({}, {})
    saved_config = await api.put(config, checkpoint, {"source": "input", "step": 1}, {})
    metadata = (await _saved(api, saved_config)).metadata
    expect(metadata.get("user") == "u1", "scalar configurable value not merged into metadata")
    expect(metadata.get("run_id") == "r1", "config metadata not merged")
    expect(metadata.get("step") == 1, "config metadata overrode a key the metadata already had")
    expect("__secret" not in metadata, "a '__' key was copied into metadata")
    expect("obj" not in metadata, "a non-scalar configurable value was copied into metadata")
    expect(
        "thread_id" not in metadata and "checkpoint_ns" not in metadata,
        "excluded keys copied into metadata",
    )
    expect(
        metadata.get("note") == "ab",
        f"NUL not removed from metadata string: {metadata.get('note')!r}",
    )


@case(P)
async def values_of_every_kind_round_trip(api: Api) -> None:
    values: dict[str, Any] = {
        "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=5))),
        "raw": b"\x00\x01\xffbytes",
        "text": "unicode é 漢字 😀 and NUL \x00 inside",
        "nested": {"a": [1, 2.5, None, True, {"b": ["c"]}], "n": -7},
        "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "items": {1, 2, 3},
        "large": "x" * (3 * 1024 * 1024),
    }
    try:
        from langchain_core.messages import AIMessage, HumanMessage

        values["messages"] = [
            HumanMessage(content="hi", id="m1"),
            AIMessage(
                content="", id="m2", tool_calls=[{"name": "t", "args": {"x": 1}, "id": "c1"}]
            ),
        ]
    except ImportError:
        pass
    [config] = await api.put_chain(new_thread(), [values])
    saved = (await _saved(api, config)).checkpoint["channel_values"]
    for key, value in values.items():
        expect(key in saved, f"{key!r} missing after round trip")
        expect(saved[key] == value, f"{key!r} changed in round trip: {repr(saved[key])[:120]}")


@case(P)
async def missing_thread_id_is_a_clear_error(api: Api) -> None:
    checkpoint = make_checkpoint({}, {})
    try:
        await api.put({"configurable": {}}, checkpoint, {"source": "input", "step": -1}, {})
    except Exception as exc:  # noqa: BLE001 - any error naming thread_id will do
        expect("thread_id" in str(exc), f"error does not name thread_id: {exc!r}")
        return
    raise ConformanceError("put without thread_id did not raise")


@case(P)
async def concurrent_puts_on_different_threads(api: Api) -> None:
    threads = [new_thread() for _ in range(20)]
    await asyncio.gather(
        *(api.put_chain(t, [{"n": i}, {"n": i + 1}]) for i, t in enumerate(threads))
    )
    for i, thread in enumerate(threads):
        saved = await api.get_tuple(_cfg(thread))
        expect(
            saved is not None and saved.checkpoint["channel_values"]["n"] == i + 1,
            f"thread {i} lost a put",
        )


# -- put_writes -----------------------------------------------------------------

W = Capability.PUT_WRITES


@case(W)
async def writes_linked_to_their_checkpoint(api: Api) -> None:
    first, second = await api.put_chain(new_thread(), [{"a": 1}, {"a": 2}])
    await api.put_writes(first, [("a", "w1")], "task-1")
    saved_first = await _saved(api, first)
    saved_second = await _saved(api, second)
    expect(
        saved_first.pending_writes == [("task-1", "a", "w1")],
        f"pending_writes: {saved_first.pending_writes!r}",
    )
    expect(not saved_second.pending_writes, "writes leaked to another checkpoint")


@case(W)
async def pending_writes_order(api: Api) -> None:
    [config] = await api.put_chain(new_thread(), [{"a": 1}])
    await api.put_writes(config, [("a", 1), ("b", 2)], "task-b", "path-2")
    await api.put_writes(config, [("c", 3)], "task-a", "path-1")
    await api.put_writes(config, [("d", 4), ("__error__", "boom")], "task-c", "path-1")
    writes = (await _saved(api, config)).pending_writes
    # Sorted by task path, then task id, then index (special channels are negative).
    expected = [
        ("task-a", "c", 3),
        ("task-c", "__error__", "boom"),
        ("task-c", "d", 4),
        ("task-b", "a", 1),
        ("task-b", "b", 2),
    ]
    expect(writes == expected, f"pending writes order {writes!r}, expected {expected!r}")


@case(W)
async def regular_writes_keep_first(api: Api) -> None:
    [config] = await api.put_chain(new_thread(), [{"a": 1}])
    await api.put_writes(config, [("a", "first")], "task-1")
    await api.put_writes(config, [("a", "second")], "task-1")
    writes = (await _saved(api, config)).pending_writes
    expect(
        writes == [("task-1", "a", "first")],
        f"a repeated regular write replaced the first: {writes!r}",
    )


@case(W)
async def special_writes_replace(api: Api) -> None:
    [config] = await api.put_chain(new_thread(), [{"a": 1}])
    await api.put_writes(config, [("__error__", "first")], "task-1")
    await api.put_writes(config, [("__error__", "second")], "task-1")
    writes = (await _saved(api, config)).pending_writes
    expect(
        writes == [("task-1", "__error__", "second")],
        f"a repeated special write did not replace: {writes!r}",
    )


@case(W)
async def writes_of_many_tasks_all_kept(api: Api) -> None:
    [config] = await api.put_chain(new_thread(), [{"a": 1}])
    await asyncio.gather(*(api.put_writes(config, [("a", i)], f"task-{i:02}") for i in range(10)))
    writes = (await _saved(api, config)).pending_writes or []
    expect(sorted(w[2] for w in writes) == list(range(10)), f"lost writes: {writes!r}")


# -- get_tuple ------------------------------------------------------------------

G = Capability.GET_TUPLE


@case(G)
async def latest_without_checkpoint_id(api: Api) -> None:
    thread = new_thread()
    configs = await api.put_chain(thread, [{"a": 1}, {"a": 2}, {"a": 3}])
    latest = await api.get_tuple(_cfg(thread))
    expect(
        latest is not None and _id(latest.config) == _id(configs[-1]),
        "latest is not the newest checkpoint",
    )


@case(G)
async def by_checkpoint_id(api: Api) -> None:
    thread = new_thread()
    configs = await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    older = await api.get_tuple(_cfg(thread, "", _id(configs[0])))
    expect(
        older is not None and older.checkpoint["channel_values"]["a"] == 1,
        "lookup by id returned the wrong checkpoint",
    )


@case(G)
async def returned_config_is_complete(api: Api) -> None:
    thread = new_thread()
    [config] = await api.put_chain(thread, [{"a": 1}], ns="inner:7")
    saved = await _saved(api, {"configurable": {"thread_id": thread, "checkpoint_ns": "inner:7"}})
    conf = saved.config["configurable"]
    expect(
        (conf.get("thread_id"), conf.get("checkpoint_ns"), conf.get("checkpoint_id"))
        == (thread, "inner:7", _id(config)),
        f"tuple config is {conf!r}",
    )


@case(G)
async def missing_returns_none(api: Api) -> None:
    thread = new_thread()
    expect(await api.get_tuple(_cfg(thread)) is None, "unknown thread did not return None")
    await api.put_chain(thread, [{"a": 1}])
    unknown = await api.get_tuple(_cfg(thread, "", "1ef00000-0000-6000-8000-000000000000"))
    expect(unknown is None, "unknown checkpoint id did not return None")


# -- list -------------------------------------------------------------------------

L = Capability.LIST


@case(L)
async def newest_first(api: Api) -> None:
    thread = new_thread()
    configs = await api.put_chain(thread, [{"a": i} for i in range(5)])
    ids = [_id(item.config) for item in await api.list(_cfg(thread))]
    expect(ids == [_id(c) for c in reversed(configs)], "list is not newest first")


@case(L)
async def limit_and_before(api: Api) -> None:
    thread = new_thread()
    configs = await api.put_chain(thread, [{"a": i} for i in range(5)])
    limited = await api.list(_cfg(thread), limit=2)
    expect(
        [_id(i.config) for i in limited] == [_id(configs[4]), _id(configs[3])],
        "limit did not return the newest two",
    )
    before = await api.list(_cfg(thread), before=configs[2])
    expect(
        [_id(i.config) for i in before] == [_id(configs[1]), _id(configs[0])],
        "before did not return older checkpoints",
    )
    both = await api.list(_cfg(thread), before=configs[4], limit=1)
    expect([_id(i.config) for i in both] == [_id(configs[3])], "before + limit")


@case(L)
async def filter_on_metadata(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}], metadata={"user": "alice", "score": 3})
    await api.put_chain(thread, [{"a": 2}], metadata={"user": "bob", "score": 3})
    alice = await api.list(_cfg(thread), filter={"user": "alice"})
    expect([_metadata(i)["user"] for i in alice] == ["alice"], "filter on one key")
    both = await api.list(_cfg(thread), filter={"user": "bob", "score": 3})
    expect([_metadata(i)["user"] for i in both] == ["bob"], "filter on several keys")
    none = await api.list(_cfg(thread), filter={"user": "carol"})
    expect(none == [], "filter with no match returned rows")


@case(L)
async def filter_on_nested_values(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}], metadata={"tags": {"team": "x", "level": [1, 2]}})
    await api.put_chain(thread, [{"a": 2}], metadata={"tags": {"team": "y", "level": [1, 2]}})
    found = await api.list(_cfg(thread), filter={"tags": {"team": "x", "level": [1, 2]}})
    expect(
        len(found) == 1 and _metadata(found[0])["tags"]["team"] == "x",
        "nested filter value did not match exactly one",
    )


@case(L)
async def filter_compares_as_json(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}], metadata={"flag": True, "num": 1, "text": "1"})
    expect(len(await api.list(_cfg(thread), filter={"flag": True})) == 1, "true did not match true")
    expect(await api.list(_cfg(thread), filter={"num": "1"}) == [], "number 1 matched string '1'")
    expect(await api.list(_cfg(thread), filter={"text": 1}) == [], "string '1' matched number 1")


@case(L)
async def hostile_filter_keys_are_data(api: Api) -> None:
    thread = new_thread()
    key = "x') OR 1=1 --\"$.[0]"
    await api.put_chain(thread, [{"a": 1}], metadata={key: "v"})
    await api.put_chain(thread, [{"a": 2}], metadata={"other": "v"})
    found = await api.list(_cfg(thread), filter={key: "v"})
    expect(
        len(found) == 1 and found[0].metadata.get(key) == "v",
        "a key with SQL/JSON-path characters did not match literally",
    )
    expect(
        await api.list(_cfg(thread), filter={"' OR '1'='1": "v"}) == [],
        "an injection-shaped key matched rows",
    )


@case(L)
async def config_none_lists_every_thread(api: Api) -> None:
    marker = str(uuid.uuid4())
    threads = [new_thread() for _ in range(3)]
    for thread in threads:
        await api.put_chain(thread, [{"a": 1}], metadata={"marker": marker})
    found = await api.list(None, filter={"marker": marker})
    expect(
        sorted(i.config["configurable"]["thread_id"] for i in found) == sorted(threads),
        "config=None did not list all threads",
    )


@case(L)
async def namespace_narrows_only_when_given(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}])
    await api.put_chain(thread, [{"a": 2}], ns="sub:1")
    everything = await api.list({"configurable": {"thread_id": thread}})
    expect(len(everything) == 2, "thread_id alone should list every namespace")
    only_sub = await api.list(_cfg(thread, "sub:1"))
    expect(
        [i.config["configurable"]["checkpoint_ns"] for i in only_sub] == ["sub:1"],
        "checkpoint_ns did not narrow",
    )


@case(L)
async def checkpoint_id_narrows(api: Api) -> None:
    thread = new_thread()
    configs = await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    found = await api.list(_cfg(thread, "", _id(configs[0])))
    expect(
        [_id(i.config) for i in found] == [_id(configs[0])],
        "checkpoint_id in config did not narrow",
    )


@case(L)
async def listed_tuples_carry_writes_and_parents(api: Api) -> None:
    thread = new_thread()
    first, second = await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    await api.put_writes(first, [("a", "w")], "t1")
    items = {_id(i.config): i for i in await api.list(_cfg(thread))}
    expect(items[_id(first)].pending_writes == [("t1", "a", "w")], "list lost pending writes")
    expect(_id(items[_id(second)].parent_config) == _id(first), "list lost the parent link")


# -- delete_thread ------------------------------------------------------------------

D = Capability.DELETE_THREAD


@case(D)
async def deletes_every_namespace_only_of_that_thread(api: Api) -> None:
    doomed, kept = new_thread(), new_thread()
    [root] = await api.put_chain(doomed, [{"a": 1}])
    await api.put_chain(doomed, [{"a": 2}], ns="sub:1")
    await api.put_writes(root, [("a", "w")], "t")
    [other] = await api.put_chain(kept, [{"a": 3}])
    await api.delete_thread(doomed)
    expect(
        await api.list({"configurable": {"thread_id": doomed}}) == [],
        "checkpoints survived delete_thread",
    )
    expect(
        await api.get_tuple(_cfg(doomed, "sub:1")) is None,
        "a subgraph namespace survived delete_thread",
    )
    expect(await api.get_tuple(other) is not None, "delete_thread removed another thread")


# -- delete_for_runs ---------------------------------------------------------------

DR = Capability.DELETE_FOR_RUNS


@case(DR)
async def deletes_checkpoints_of_listed_runs(api: Api) -> None:
    thread = new_thread()
    kept = await api.put_chain(thread, [{"a": 1}], metadata={"run_id": "run-keep"})
    doomed_config = kept[-1]
    version = api.saver.get_next_version(None, None)
    checkpoint = make_checkpoint({"a": 2}, {"a": version}, 1)
    doomed = await api.put(
        doomed_config,
        checkpoint,
        {"source": "loop", "step": 1, "run_id": "run-drop"},
        {"a": version},
    )
    await api.put_writes(doomed, [("a", "w")], "t")
    await api.delete_for_runs(["run-drop"])
    left = await api.list({"configurable": {"thread_id": thread}})
    expect(
        [i.metadata.get("run_id") for i in left] == ["run-keep"],
        f"after delete_for_runs: {[i.metadata for i in left]!r}",
    )
    latest = await _saved(api, _cfg(thread))
    expect(
        latest.checkpoint["channel_values"] == {"a": 1}, "the surviving checkpoint lost its values"
    )


# -- copy_thread --------------------------------------------------------------------

C = Capability.COPY_THREAD


@case(C)
async def copies_whole_history(api: Api) -> None:
    source, target = new_thread(), new_thread()
    first, second = await api.put_chain(source, [{"a": 1}, {"a": 2}])
    [sub] = await api.put_chain(source, [{"s": 1}], ns="sub:1")
    await api.put_writes(first, [("a", "w")], "t1")
    await api.copy_thread(source, target)
    copied = await api.list({"configurable": {"thread_id": target}})
    expect(len(copied) == 3, f"copy has {len(copied)} checkpoints, expected 3")
    latest = await _saved(api, _cfg(target))
    expect(latest.checkpoint["channel_values"] == {"a": 2}, "copied latest values differ")
    expect(_id(latest.parent_config) == _id(first), "copied parent link differs")
    old = await _saved(api, _cfg(target, "", _id(first)))
    expect(old.pending_writes == [("t1", "a", "w")], "copied writes differ")
    expect(
        (await _saved(api, _cfg(target, "sub:1"))).checkpoint["channel_values"] == {"s": 1},
        "namespace not copied",
    )
    expect(
        len(await api.list({"configurable": {"thread_id": source}})) == 3, "source changed by copy"
    )


# -- prune ----------------------------------------------------------------------------

PR = Capability.PRUNE


@case(PR)
async def keep_latest_per_namespace(api: Api) -> None:
    thread, other = new_thread(), new_thread()
    configs = await api.put_chain(thread, [{"a": 1}, {"a": 2}, {"a": 3}])
    await api.put_writes(configs[0], [("a", "w")], "t")
    await api.put_chain(thread, [{"s": 1}, {"s": 2}], ns="sub:1")
    await api.put_chain(other, [{"a": 1}, {"a": 2}])
    await api.prune([thread], strategy="keep_latest")
    left = await api.list({"configurable": {"thread_id": thread}})
    expect(
        sorted(i.config["configurable"]["checkpoint_ns"] for i in left) == ["", "sub:1"],
        f"left after prune: {len(left)}",
    )
    latest = await _saved(api, _cfg(thread))
    expect(latest.checkpoint["channel_values"] == {"a": 3}, "the latest checkpoint lost values")
    expect(
        len(await api.list({"configurable": {"thread_id": other}})) == 2,
        "prune touched another thread",
    )


@case(PR)
async def delete_strategy_removes_threads(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    await api.prune([thread], strategy="delete")
    expect(
        await api.list({"configurable": {"thread_id": thread}}) == [],
        "prune(strategy='delete') left checkpoints",
    )


@case(PR)
async def unknown_strategy_is_an_error(api: Api) -> None:
    thread = new_thread()
    await api.put_chain(thread, [{"a": 1}, {"a": 2}])
    try:
        await api.prune([thread], strategy="compact-everything")
    except Exception as exc:  # noqa: BLE001
        expect("compact-everything" in str(exc), f"error does not name the strategy: {exc!r}")
        expect(
            len(await api.list({"configurable": {"thread_id": thread}})) == 2,
            "a refused prune deleted data",
        )
        return
    raise ConformanceError("an unknown prune strategy was accepted")


@case(PR)
async def keep_latest_keeps_delta_ancestry(api: Api) -> None:
    thread = new_thread()
    configs = await _delta_chain(api, thread)
    before = await api.delta_history(configs[-1], ["log"])
    await api.prune([thread], strategy="keep_latest")
    after = await api.delta_history(configs[-1], ["log"])
    expect(after == before, f"prune broke delta history: {after!r} != {before!r}")


# -- delta channel history -------------------------------------------------------------

DH = Capability.DELTA_CHANNEL_HISTORY


async def _delta_chain(api: Api, thread: str) -> list[dict]:
    """c0 holds a snapshot of `log`; c1..c3 hold none and count steps since it."""
    saver = api.saver
    version = saver.get_next_version(None, None)
    c0 = make_checkpoint(
        {"log": _DeltaSnapshot(["a"]), "other": 0}, {"log": version, "other": version}, 0
    )
    configs = [
        await api.put(
            _cfg(thread), c0, {"source": "loop", "step": 0}, {"log": version, "other": version}
        )
    ]
    for step, write in enumerate(["b", "c", "d"], start=1):
        await api.put_writes(configs[-1], [("log", write), ("other", step)], f"task-{step}")
        version = saver.get_next_version(version, None)
        checkpoint = make_checkpoint({"other": step}, {"log": version, "other": version}, step)
        metadata = {
            "source": "loop",
            "step": step,
            "counters_since_delta_snapshot": {"log": [step, step]},
        }
        configs.append(
            await api.put(configs[-1], checkpoint, metadata, {"log": version, "other": version})
        )
    await api.put_writes(configs[-1], [("log", "at-target")], "task-target")
    return configs


@case(DH)
async def seed_and_writes_oldest_first(api: Api) -> None:
    configs = await _delta_chain(api, new_thread())
    history = await api.delta_history(configs[-1], ["log"])
    expect("log" in history, f"no history for the channel: {history!r}")
    entry = history["log"]
    expect(entry.get("seed") == _DeltaSnapshot(["a"]), f"seed is {entry.get('seed')!r}")
    values = [w[2] for w in entry["writes"]]
    expect(
        values == ["b", "c", "d"],
        f"writes {values!r}, expected oldest first and none from the target",
    )
    expect(all(w[1] == "log" for w in entry["writes"]), "writes of other channels included")


@case(DH)
async def nearer_target_fewer_writes(api: Api) -> None:
    configs = await _delta_chain(api, new_thread())
    history = await api.delta_history(configs[2], ["log"])
    expect(
        [w[2] for w in history["log"]["writes"]] == ["b", "c"], f"history at step 2: {history!r}"
    )


@case(DH)
async def no_seed_when_root_reached(api: Api) -> None:
    thread = new_thread()
    saver = api.saver
    version = saver.get_next_version(None, None)
    config = await api.put(
        _cfg(thread),
        make_checkpoint({}, {"log": version}, 0),
        {"source": "loop", "step": 0},
        {"log": version},
    )
    await api.put_writes(config, [("log", "x")], "t0")
    version = saver.get_next_version(version, None)
    target = await api.put(
        config,
        make_checkpoint({}, {"log": version}, 1),
        {"source": "loop", "step": 1, "counters_since_delta_snapshot": {"log": [1, 1]}},
        {"log": version},
    )
    history = await api.delta_history(target, ["log"])
    expect("seed" not in history["log"], f"seed present though the root has none: {history!r}")
    expect([w[2] for w in history["log"]["writes"]] == ["x"], f"writes {history!r}")
