"""The saver methods, written once on top of the runner. This module is the
asyncio source of `AsyncPostgresSaver`; `_saver`, generated from it, is the
one of `PostgresSaver`.
"""

# async-to-sync: generates _saver.py
# async-to-sync: rename AsyncSaverMethods=SaverMethods AsyncRunnerOwner=RunnerOwner
# async-to-sync: rename AsyncRunner=Runner AsyncConnection=Connection _runner_async=_runner
# async-to-sync: rename AsyncConnectionPool=ConnectionPool AsyncPipeline=Pipeline
# async-to-sync: rename aget_tuple=get_tuple alist=list aput=put aput_writes=put_writes
# async-to-sync: rename adelete_thread=delete_thread adelete_for_runs=delete_for_runs
# async-to-sync: rename acopy_thread=copy_thread aprune=prune
# async-to-sync: rename aget_delta_channel_history=get_delta_channel_history

from __future__ import annotations

import asyncio  # async-only
import contextlib  # async-only
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, ClassVar, TypeVar

from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    RunnableConfig,
    SerializerProtocol,
)
from langgraph.checkpoint.base.plan import Execute, Plan
from langgraph.checkpoint.postgres import _plans as plans
from langgraph.checkpoint.postgres._conn import (
    CHECKPOINT_TABLES,
    Effect,
    PlanFactory,
    connect_kwargs,
)
from langgraph.checkpoint.postgres._runner_async import AsyncRunner, AsyncRunnerOwner, opened
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool
from typing_extensions import Self

T = TypeVar("T")


class AsyncSaverMethods(AsyncRunnerOwner, BasePostgresSaver):
    """What `AsyncPostgresSaver` does, on its runner."""

    # How `aput` stores a checkpoint: one upsert, repeatable, outside a
    # transaction (`_put_plan`). The shallow savers change all three.
    _put_effect: ClassVar[Effect] = Effect.REPEATABLE
    _put_in_transaction: ClassVar[bool] = False
    loop: asyncio.AbstractEventLoop | None = None  # async-only

    def __init__(
        self,
        conn: AsyncConnection | AsyncConnectionPool,
        pipe: AsyncPipeline | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if isinstance(conn, AsyncConnectionPool) and pipe is not None:
            raise ValueError("pipeline mode needs a single connection, not an AsyncConnectionPool")
        self._runner = AsyncRunner(
            type(self).__name__, conn, pipe, tables=CHECKPOINT_TABLES, binary=True
        )
        with contextlib.suppress(RuntimeError):  # async-only
            self.loop = asyncio.get_running_loop()  # async-only

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        prepare_threshold: int | None = 0,
    ) -> AsyncIterator[Self]:
        """A saver on a new connection to `conn_string`, closed on exit.

        The saver owns this connection: if the server drops it, the next call
        opens a new one. `prepare_threshold` goes to psycopg: after how many
        runs a statement is prepared on the server (0: at once); behind
        PgBouncer in transaction mode, pass None (never prepare).
        """
        settings = connect_kwargs(prepare_threshold)
        async with opened(conn_string, settings, pipeline, partial(cls, serde=serde)) as saver:
            yield saver

    def _put_plan(self, statement: Execute, returned: RunnableConfig) -> Plan[RunnableConfig]:
        return plans.put_plan(statement, returned)

    async def _run(
        self, make_plan: PlanFactory[T], effect: Effect, *, transaction: bool = True
    ) -> T:
        """Run a fresh plan from `make_plan` (again, if the first run is cut off)."""
        self.loop = asyncio.get_running_loop()  # async-only
        return await self._runner.run(make_plan, effect, transaction=transaction)

    async def setup(self) -> None:
        """Create the tables or run the migrations they miss. Idempotent, and safe
        from several processes at once (an advisory lock serializes them)."""
        await self._run(plans.setup_plan, Effect.REPEATABLE)
        # After the migrations' DDL, once synced (see SETTLE_PREPARED).
        await self._run(plans.settle_prepared_plan, Effect.READ, transaction=False)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._run(
            lambda: plans.get_tuple_plan(self.serde, config), Effect.READ, transaction=False
        )

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        # Page by page, each page its own read (a keyset page read again after
        # a fault is the same page), yielded before the next is fetched.
        pages = plans.ListPages(self.serde, config, filter, before, limit)
        while not pages.done:
            items = await self._run(pages.next_plan, Effect.READ, transaction=False)
            for item in items:  # sync: yield from items
                yield item  # async-only

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statement, returned = plans.prepare_put(
            self.serde, config, checkpoint, metadata, new_versions
        )
        return await self._run(
            lambda: self._put_plan(statement, returned),
            self._put_effect,
            transaction=self._put_in_transaction,
        )

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        statement = plans.prepare_writes(self.serde, config, writes, task_id, task_path)
        await self._run(
            lambda: plans.put_writes_plan(statement), Effect.REPEATABLE, transaction=False
        )

    async def adelete_thread(self, thread_id: str) -> None:
        await self._run(lambda: plans.delete_thread_plan(thread_id), Effect.ONCE)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._run(lambda: plans.delete_for_runs_plan(run_ids), Effect.ONCE)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        # Upserts only: a second run after a commit it did not hear of adds nothing.
        await self._run(
            lambda: plans.copy_thread_plan(source_thread_id, target_thread_id), Effect.REPEATABLE
        )

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._run(lambda: plans.prune_plan(self.serde, thread_ids, strategy), Effect.ONCE)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._run(
            lambda: plans.delta_history_plan(self.serde, config, channels),
            Effect.READ,
            transaction=False,
        )
