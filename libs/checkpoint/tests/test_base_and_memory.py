"""The saver interface helpers and InMemorySaver beyond the conformance suite."""

from __future__ import annotations

import asyncio
import pathlib
import threading

import pytest
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    create_checkpoint,
    empty_checkpoint,
    get_checkpoint_metadata,
    metadata_matches,
    uuid6,
)
from langgraph.checkpoint.memory import InMemorySaver, MemorySaver, PersistentDict
from langgraph.checkpoint.serde.types import _DeltaSnapshot


def test_uuid6_sorts_by_creation_and_keeps_clock_seq():
    ids = [uuid6(clock_seq=step % 5 - 1) for step in range(5000)]
    assert [str(i) for i in ids] == sorted(str(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 6 for i in ids)
    assert uuid6(clock_seq=7).clock_seq == 7


def test_uuid6_is_unique_across_threads():
    found: list = []

    def make():
        found.extend(str(uuid6()) for _ in range(2000))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == len(found)


def test_next_version_format():
    saver = InMemorySaver()
    first = saver.get_next_version(None, None)
    assert first.startswith("0" * 31 + "1.")
    assert saver.get_next_version(first, None).startswith("0" * 31 + "2.")
    assert saver.get_next_version(7, None).startswith("0" * 31 + "8.")
    assert BaseCheckpointSaver().get_next_version(None, None) == 1


def test_metadata_merging_rules():
    config = {
        "configurable": {
            "thread_id": "t",
            "checkpoint_ns": "",
            "user": "u",
            "__hidden": 1,
            "obj": [1],
        },
        "metadata": {"step": 5, "run_id": "r\x00"},
    }
    merged = get_checkpoint_metadata(config, {"step": 1, "nested": {"k": "a\x00b"}})
    assert merged == {"step": 1, "nested": {"k": "ab"}, "run_id": "r", "user": "u"}


def test_metadata_matching_is_json_equality():
    stored = {"flag": True, "n": 1, "nested": {"a": [1, 2]}}
    assert metadata_matches(stored, {"flag": True, "nested": {"a": [1, 2]}})
    assert metadata_matches(stored, {"n": 1.0})
    assert not metadata_matches(stored, {"n": True})
    assert not metadata_matches(stored, {"flag": 1})
    assert not metadata_matches(stored, {"missing": None})


def test_create_checkpoint_takes_channel_values():
    class Channel:
        def __init__(self, value):
            self.value = value

        def checkpoint(self):
            return self.value

    base = empty_checkpoint()
    base["channel_versions"] = {"a": 1}
    made = create_checkpoint(base, {"a": Channel([1])}, 3)
    assert made["channel_values"] == {"a": [1]} and made["id"] != base["id"]
    assert uuid6().time > 0


def test_base_extended_methods_raise_not_implemented():
    saver = BaseCheckpointSaver()
    for call in (
        lambda: saver.put({}, empty_checkpoint(), {}, {}),
        lambda: saver.delete_for_runs(["r"]),
        lambda: saver.copy_thread("a", "b"),
        lambda: saver.prune(["a"]),
    ):
        with pytest.raises(NotImplementedError):
            call()


def test_with_allowlist_returns_widened_copy():
    saver = InMemorySaver()
    widened = saver.with_allowlist([("my.module", "Thing")])
    assert widened is not saver and widened.serde is not saver.serde
    assert widened.storage is saver.storage  # same data, wider serializer
    assert MemorySaver is InMemorySaver


def _delta_chain(saver: InMemorySaver, thread: str) -> dict:
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"log": _DeltaSnapshot(["a"])}
    checkpoint["channel_versions"] = {"log": version}
    config = saver.put(
        {"configurable": {"thread_id": thread}}, checkpoint, {"step": 0}, {"log": version}
    )
    for step, write in enumerate("bcd", start=1):
        saver.put_writes(config, [("log", write)], f"task-{step}")
        version = saver.get_next_version(version, None)
        checkpoint = empty_checkpoint()
        checkpoint["channel_versions"] = {"log": version}
        config = saver.put(
            config,
            checkpoint,
            {"step": step, "counters_since_delta_snapshot": {"log": [step, step]}},
            {"log": version},
        )
    return config


def test_direct_delta_history_matches_generic_walk():
    saver = InMemorySaver()
    target = _delta_chain(saver, "t")
    direct = saver.get_delta_channel_history(config=target, channels=["log"])
    generic = BaseCheckpointSaver.get_delta_channel_history(saver, config=target, channels=["log"])
    assert direct == generic
    assert direct["log"]["seed"] == _DeltaSnapshot(["a"])
    assert [w[2] for w in direct["log"]["writes"]] == ["b", "c", "d"]


def test_prune_keeps_only_needed_ancestors_and_drops_unused_values():
    saver = InMemorySaver()
    # an unrelated, older root that nothing needs
    saver.put({"configurable": {"thread_id": "t"}}, empty_checkpoint(), {"step": -5}, {})
    target = _delta_chain(saver, "t")
    before = saver.get_delta_channel_history(config=target, channels=["log"])
    saver.prune(["t"])
    assert len(list(saver.list({"configurable": {"thread_id": "t"}}))) == 4  # latest + 3 ancestors
    assert saver.get_delta_channel_history(config=target, channels=["log"]) == before
    saver.prune(["t"], strategy="delete")
    assert not saver.blobs and not list(saver.list(None))


def test_concurrent_threads_lose_nothing():
    saver = InMemorySaver()

    def worker(n: int) -> None:
        config = {"configurable": {"thread_id": f"t{n}"}}
        for step in range(50):
            version = saver.get_next_version(None, None)
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"n": step}
            checkpoint["channel_versions"] = {"n": version}
            config = saver.put(config, checkpoint, {"step": step}, {"n": version})
            saver.put_writes(config, [("n", step)], "task")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(20):
        history = list(saver.list({"configurable": {"thread_id": f"t{n}"}}))
        assert len(history) == 50
        assert history[0].checkpoint["channel_values"] == {"n": 49}
        assert history[0].pending_writes == [("task", "n", 49)]


async def test_async_methods_share_the_storage():
    saver = InMemorySaver()
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"a": 1}
    checkpoint["channel_versions"] = {"a": version}
    config = await saver.aput({"configurable": {"thread_id": "t"}}, checkpoint, {}, {"a": version})
    results = await asyncio.gather(*(saver.aget_tuple(config) for _ in range(10)))
    assert all(r.checkpoint["channel_values"] == {"a": 1} for r in results)
    assert saver.get_tuple(config).checkpoint["id"] == checkpoint["id"]


def test_returned_values_are_copies():
    saver = InMemorySaver()
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"items": [1]}
    checkpoint["channel_versions"] = {"items": version}
    config = saver.put({"configurable": {"thread_id": "t"}}, checkpoint, {}, {"items": version})
    saver.get_tuple(config).checkpoint["channel_values"]["items"].append(2)
    assert saver.get_tuple(config).checkpoint["channel_values"]["items"] == [1]


def test_persistent_dict_round_trips_without_pickle(tmp_path):
    from collections import defaultdict

    path = str(tmp_path / "state.msgpack")
    with PersistentDict(lambda: defaultdict(dict), filename=path) as data:
        data["thread"]["ns"] = {"id": ("msgpack", b"\x01")}
        data[("tuple", "key")]["x"] = 1
    loaded = PersistentDict(lambda: defaultdict(dict), filename=path)
    loaded.load()
    assert loaded["thread"]["ns"] == {"id": ["msgpack", b"\x01"]}
    assert loaded[("tuple", "key")] == {"x": 1}
    loaded["thread"]["new-ns"]["k"] = 2  # nested defaults survive the reload
    assert b"pickle" not in pathlib.Path(path).read_bytes()


def _put_one(saver: InMemorySaver, thread_id: str) -> None:
    version = saver.get_next_version(None, None)
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"a": 1}
    checkpoint["channel_versions"] = {"a": version}
    saver.put({"configurable": {"thread_id": thread_id}}, checkpoint, {}, {"a": version})


def test_leaving_the_saver_closes_its_factory_dicts_and_runs_registered_cleanup(tmp_path):
    from collections import defaultdict

    files = iter(tmp_path / name for name in ("storage", "writes", "blobs"))

    def factory(*args):
        return PersistentDict(*args, filename=str(next(files)))

    class CleaningSaver(InMemorySaver):  # as langgraph's own test saver does
        def __init__(self) -> None:
            super().__init__(factory=factory)
            self.cleaned: list[str] = []
            self.stack.callback(self.cleaned.append, "done")

    saver = CleaningSaver()
    with saver as entered:
        assert entered is saver
        _put_one(saver, "t")
        assert not list(tmp_path.iterdir())
    assert saver.cleaned == ["done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs", "storage", "writes"]
    storage = PersistentDict(lambda: defaultdict(dict), filename=str(tmp_path / "storage"))
    storage.load()
    assert list(storage) == ["t"]


async def test_async_exit_runs_registered_cleanup():
    cleaned = []
    async with InMemorySaver() as saver:
        saver.stack.callback(cleaned.append, "done")
        _put_one(saver, "t")
    assert cleaned == ["done"]
    assert len(list(saver.list(None))) == 1  # plain dicts: nothing to close, data kept


def test_memory_list_decodes_items_as_they_are_asked_for():
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.memory import InMemorySaver

    class CountingSaver(InMemorySaver):
        decoded = 0

        def _tuple(self, *args):
            CountingSaver.decoded += 1
            return super()._tuple(*args)

    saver = CountingSaver()
    config = {"configurable": {"thread_id": "long", "checkpoint_ns": ""}}
    for _ in range(50):
        config = saver.put(config, empty_checkpoint(), {}, {})
    items = saver.list({"configurable": {"thread_id": "long"}})
    first = next(items)
    assert first.config == config and CountingSaver.decoded == 1
    # A checkpoint deleted while the caller iterates is skipped, not an error.
    saver.delete_thread("long")
    assert list(items) == []
