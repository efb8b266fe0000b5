"""The retention SQL of the SQL savers, written once (`base.retention` says
what it enforces): per-thread settings, read refreshes, and what
`SweepPlanner` runs. A `RetentionDialect` spells it for one backend; a
backend's `SqlRetentionPlans` subclass adds what only it does (its locks and
its deletions).

The SQL itself is common to Postgres and SQLite (3.24 or later, which the
savers' upserts need anyway): `false` is a keyword of both, and a SQLite
`keep` column of 0/1 reads as a boolean.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from langgraph.checkpoint.base import (
    SerializerProtocol,
    validated_thread_id,
)
from langgraph.checkpoint.base.plan import Execute, Plan, Query
from langgraph.checkpoint.base.retention import (
    RETENTION_TABLE,
    BatchResult,
    Candidate,
    SweepPass,
    read_mark,
    validated_thread_ttl,
)


@dataclass(frozen=True, slots=True)
class RetentionDialect:
    """What the retention SQL spells differently on one backend."""

    placeholder: str
    """A named parameter, `{}` standing for its name: "%({})s", ":{}"."""
    byte_order: str
    """What follows text compared with an id floor so that it compares byte by
    byte (a Postgres linguistic collation may ignore the dashes)."""
    among: str
    """`{column}` is one of the list bound as `{ids}`."""
    bind_list: Callable[[Sequence[str]], object]
    """The value bound for a list of thread ids."""

    def param(self, name: str) -> str:
        return self.placeholder.format(name)

    def in_list(self, column: str, name: str) -> str:
        """The condition that `column` is in the list bound as `name`."""
        return self.among.format(column=column, ids=self.param(name))


class SqlRetentionPlans(ABC):
    """The retention plans of a SQL backend; `SweepPlanner` runs the sweep's."""

    dialect: ClassVar[RetentionDialect]

    def __init__(self, serde: SerializerProtocol) -> None:
        self.serde = serde

    # -- what a backend adds ------------------------------------------------------

    def lock_threads_plan(self, thread_ids: list[str]) -> Plan[None]:
        """Keep writers of `thread_ids` out until the batch commits. Nothing by
        default: a backend whose write transaction locks the database needs no more."""
        yield from ()

    @abstractmethod
    def delete_thread_plan(self, thread_id: str) -> Plan[None]: ...

    @abstractmethod
    def trim_plan(self, sweep_pass: SweepPass, thread_ids: list[str]) -> Plan[None]:
        """Trim the threads as the pass says ("keep_latest", or "keep_last" its `keep`)."""

    # -- per-thread settings ------------------------------------------------------

    def set_thread_ttl_plan(self, thread_id: str, minutes: float | None) -> Plan[None]:
        thread_id = validated_thread_id(thread_id)
        minutes = validated_thread_ttl(minutes)
        p = self.dialect.param
        yield Execute(
            f"INSERT INTO {RETENTION_TABLE} (thread_id, ttl_minutes, keep) "
            f"VALUES ({p('thread_id')}, {p('minutes')}, {p('keep')}) "
            "ON CONFLICT (thread_id) DO UPDATE SET ttl_minutes = excluded.ttl_minutes, "
            "keep = excluded.keep",
            {"thread_id": thread_id, "minutes": minutes, "keep": minutes is None},
        )

    def get_thread_ttl_plan(self, thread_id: str, default: float | None) -> Plan[float | None]:
        rows = yield Query(
            f"SELECT ttl_minutes, keep FROM {RETENTION_TABLE} "
            f"WHERE thread_id = {self.dialect.param('thread_id')}",
            {"thread_id": validated_thread_id(thread_id)},
        )
        if not rows:
            return default
        ttl_minutes, keep = rows[0]
        if keep:
            return None
        return default if ttl_minutes is None else float(ttl_minutes)

    def refresh_plan(self, thread_id: str) -> Plan[None]:
        p = self.dialect.param
        yield Execute(
            f"INSERT INTO {RETENTION_TABLE} (thread_id, refreshed) "
            f"VALUES ({p('thread_id')}, {p('refreshed')}) "
            "ON CONFLICT (thread_id) DO UPDATE SET refreshed = excluded.refreshed",
            {"thread_id": thread_id, "refreshed": read_mark()},
        )

    # -- the sweep ----------------------------------------------------------------

    def own_ttls_plan(self) -> Plan[list[float]]:
        rows = yield Query(
            f"SELECT DISTINCT ttl_minutes FROM {RETENTION_TABLE} "
            "WHERE NOT keep AND ttl_minutes IS NOT NULL ORDER BY ttl_minutes"
        )
        return [float(row[0]) for row in rows]

    def candidates_plan(
        self, sweep_pass: SweepPass, floor: str | None, after: str, limit: int
    ) -> Plan[list[Candidate]]:
        p = self.dialect.param
        after_scope = f"c.thread_id > {p('after')}"
        rows = yield Query(
            f"{self._candidates_sql(sweep_pass, after_scope)} LIMIT {p('limit')}",
            self._params(sweep_pass, floor, after=after, limit=limit),
        )
        return [(thread_id, count) for thread_id, count in rows]

    def batch_plan(
        self, sweep_pass: SweepPass, floor: str | None, thread_ids: list[str]
    ) -> Plan[BatchResult]:
        """Remove what the pass removes from those of `thread_ids` it still
        applies to: checked again under the batch's locks, so a thread written
        to since it was found is spared."""
        yield from self.lock_threads_plan(thread_ids)
        bind = self.dialect.bind_list
        rows = yield Query(
            self._candidates_sql(sweep_pass, self.dialect.in_list("c.thread_id", "ids")),
            self._params(sweep_pass, floor, ids=bind(thread_ids)),
        )
        doomed = [thread_id for thread_id, _ in rows]
        if not doomed:
            return 0, 0, 0
        before = sum(count for _, count in rows)
        among_doomed = self.dialect.in_list("thread_id", "ids")
        if sweep_pass.action == "delete":
            for thread_id in doomed:
                yield from self.delete_thread_plan(thread_id)
            yield Execute(
                f"DELETE FROM {RETENTION_TABLE} WHERE {among_doomed}", {"ids": bind(doomed)}
            )
            return len(doomed), 0, before
        yield from self.trim_plan(sweep_pass, doomed)
        left = yield Query(
            f"SELECT count(*) FROM checkpoints WHERE {among_doomed}", {"ids": bind(doomed)}
        )
        return 0, len(doomed), before - left[0][0]

    def _expired_sql(self) -> str:
        # The greatest id is a UUIDv6 made before the floor: only ids carrying a time expire.
        byte_order = self.dialect.byte_order
        max_id = f"max(c.checkpoint_id{byte_order})"
        floor = f"{self.dialect.param('floor')}{byte_order}"
        return (
            f"{max_id} < {floor} AND length({max_id}) = 36 AND substr({max_id}, 15, 1) = '6' "
            f"AND coalesce(max(r.refreshed{byte_order}), '') < {floor}"
        )

    def _candidates_sql(self, sweep_pass: SweepPass, scope: str) -> str:
        """Threads the pass applies to, with their number of checkpoints, within
        `scope` (a condition on `c.thread_id`), in thread id order."""
        p = self.dialect.param
        if sweep_pass.action == "keep_last":
            return f"""SELECT g.thread_id, CAST(sum(g.n) AS BIGINT) FROM (
    SELECT c.thread_id, count(*) AS n FROM checkpoints c WHERE {scope}
    GROUP BY c.thread_id, c.checkpoint_ns) g
LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = g.thread_id
WHERE NOT coalesce(r.keep, false)
GROUP BY g.thread_id HAVING max(g.n) > {p("keep")} ORDER BY g.thread_id"""
        if sweep_pass.own_ttl:
            join = (
                f"JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id "
                f"AND r.ttl_minutes = {p('ttl')}"
            )
            applies = "NOT r.keep"
        else:
            join = f"LEFT JOIN {RETENTION_TABLE} r ON r.thread_id = c.thread_id"
            applies = "(r.thread_id IS NULL OR (NOT r.keep AND r.ttl_minutes IS NULL))"
        having = self._expired_sql()
        if sweep_pass.action == "keep_latest":  # nothing to trim when each namespace has one
            having += " AND count(*) > count(DISTINCT c.checkpoint_ns)"
        return (
            f"SELECT c.thread_id, count(*) FROM checkpoints c {join} WHERE {applies} AND {scope} "
            f"GROUP BY c.thread_id HAVING {having} ORDER BY c.thread_id"
        )

    @staticmethod
    def _params(sweep_pass: SweepPass, floor: str | None, **scope: object) -> dict[str, object]:
        return {"floor": floor, "ttl": sweep_pass.ttl_minutes, "keep": sweep_pass.keep, **scope}
