"""One interface over a saver's async and sync methods, so each case is written once.

`AsyncApi` awaits the `a`-methods. `SyncApi` calls the sync methods in a worker
thread (an async saver's sync methods must not run on its own event loop).
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    uuid6,
)


class Api:
    """The saver methods a case may call; all of them awaitable."""

    mode = ""

    def __init__(self, saver: BaseCheckpointSaver) -> None:
        self.saver = saver

    async def put(
        self,
        config: dict,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata | Mapping[str, Any],
        new_versions: dict,
    ) -> dict:
        raise NotImplementedError

    async def put_writes(
        self, config: dict, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        raise NotImplementedError

    async def get_tuple(self, config: dict) -> CheckpointTuple | None:
        raise NotImplementedError

    async def list(self, config: dict | None, **kwargs: Any) -> list[CheckpointTuple]:
        raise NotImplementedError

    async def delete_thread(self, thread_id: str) -> None:
        raise NotImplementedError

    async def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        raise NotImplementedError

    async def copy_thread(self, source: str, target: str) -> None:
        raise NotImplementedError

    async def prune(self, thread_ids: Sequence[str], **kwargs: Any) -> None:
        raise NotImplementedError

    async def delta_history(self, config: dict, channels: Sequence[str]) -> Any:
        raise NotImplementedError

    # -- helpers built on the methods above --

    async def put_chain(
        self,
        thread_id: str,
        steps: Sequence[dict[str, Any]],
        *,
        ns: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> builtins.list[dict]:
        """Put one checkpoint per entry of `steps` (channel -> value), each the
        child of the previous; returns their configs. Every step writes all its
        channels with fresh versions."""
        config: dict = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        configs = []
        versions: dict[str, Any] = {}
        for step, values in enumerate(steps):
            new_versions = {}
            for channel in values:
                versions[channel] = self.saver.get_next_version(versions.get(channel), None)
                new_versions[channel] = versions[channel]
            checkpoint = make_checkpoint(values, dict(versions), step)
            config = await self.put(
                config,
                checkpoint,
                {"source": "loop", "step": step, **(metadata or {})},
                new_versions,
            )
            configs.append(config)
        return configs


class AsyncApi(Api):
    mode = "async"

    async def put(self, config, checkpoint, metadata, new_versions):
        return await self.saver.aput(config, checkpoint, metadata, new_versions)

    async def put_writes(self, config, writes, task_id, task_path=""):
        await self.saver.aput_writes(config, writes, task_id, task_path)

    async def get_tuple(self, config):
        return await self.saver.aget_tuple(config)

    async def list(self, config, **kwargs):
        return [item async for item in self.saver.alist(config, **kwargs)]

    async def delete_thread(self, thread_id):
        await self.saver.adelete_thread(thread_id)

    async def delete_for_runs(self, run_ids):
        await self.saver.adelete_for_runs(run_ids)

    async def copy_thread(self, source, target):
        await self.saver.acopy_thread(source, target)

    async def prune(self, thread_ids, **kwargs):
        await self.saver.aprune(thread_ids, **kwargs)

    async def delta_history(self, config, channels):
        return await self.saver.aget_delta_channel_history(config=config, channels=channels)


class SyncApi(Api):
    mode = "sync"

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def put(self, config, checkpoint, metadata, new_versions):
        return await self._call(self.saver.put, config, checkpoint, metadata, new_versions)

    async def put_writes(self, config, writes, task_id, task_path=""):
        await self._call(self.saver.put_writes, config, writes, task_id, task_path)

    async def get_tuple(self, config):
        return await self._call(self.saver.get_tuple, config)

    async def list(self, config, **kwargs):
        return await self._call(lambda: list(self.saver.list(config, **kwargs)))

    async def delete_thread(self, thread_id):
        await self._call(self.saver.delete_thread, thread_id)

    async def delete_for_runs(self, run_ids):
        await self._call(self.saver.delete_for_runs, run_ids)

    async def copy_thread(self, source, target):
        await self._call(self.saver.copy_thread, source, target)

    async def prune(self, thread_ids, **kwargs):
        await self._call(self.saver.prune, thread_ids, **kwargs)

    async def delta_history(self, config, channels):
        return await self._call(
            self.saver.get_delta_channel_history, config=config, channels=channels
        )


async def supported_apis(saver: BaseCheckpointSaver) -> list[Api]:
    """The APIs (async, sync) whose methods work on this saver, probed with a
    harmless read: a saver may refuse one side with NotImplementedError."""
    probe = {"configurable": {"thread_id": f"probe-{uuid.uuid4()}", "checkpoint_ns": ""}}
    apis: list[Api] = []
    try:
        await saver.aget_tuple(probe)
        apis.append(AsyncApi(saver))
    except NotImplementedError:
        pass
    try:
        await asyncio.to_thread(saver.get_tuple, probe)
        apis.append(SyncApi(saver))
    except NotImplementedError:
        pass
    return apis


def make_checkpoint(values: dict[str, Any], versions: dict[str, Any], step: int = 0) -> Checkpoint:
    """A checkpoint holding `values`, with the given channel versions."""
    return Checkpoint(
        v=2,
        id=str(uuid6(clock_seq=step)),
        ts=datetime.now(timezone.utc).isoformat(),
        channel_values=dict(values),
        channel_versions=dict(versions),
        versions_seen={},
        updated_channels=None,
    )


def new_thread() -> str:
    return f"conformance-{uuid.uuid4()}"
