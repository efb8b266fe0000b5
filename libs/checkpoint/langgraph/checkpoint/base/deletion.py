"""The rule for writes that arrive after their thread was deleted.

`delete_thread(T)` leaves a tombstone: T and a watermark, a UUIDv6 made at the
moment of the deletion. Checkpoint ids are UUIDv6 too (LangGraph makes them
with `uuid6`), so comparing an id with the watermark tells whether the
checkpoint was made before the deletion. Until the tombstone expires:

- `put_writes` for a checkpoint made before the deletion, and `put` of a
  checkpoint made before it or whose parent was made before it, raise
  `ThreadDeletedError` and store nothing: they belong to the deleted history,
  and storing them would leave orphan writes or bring the thread back with a
  parent that no longer exists.
- A checkpoint made after the deletion without such a parent starts a new
  history on T and is stored (a thread id may be reused).
- Ids that are not UUIDv6 carry no time, so this rule does not apply to them.
- `copy_thread` into T removes T's tombstone: copying is a new, explicit write.

The SQL savers enforce it in the database (a trigger), so it holds for every
process writing to it; `InMemorySaver` checks it under its lock.
"""

from __future__ import annotations

import time

from langgraph.checkpoint.base.id import _GREGORIAN_OFFSET, uuid6
from langgraph.checkpoint.errors import ThreadDeletedError

# A write in flight when its thread is deleted arrives within moments; after a
# day the tombstone has nothing left to stop and is removed.
TOMBSTONE_LIFETIME_SECONDS = 24 * 60 * 60

# The databases raise their guard's error with this text; the savers turn it
# into `ThreadDeletedError`.
THREAD_DELETED_MARK = "langgraph-checkpoint: thread deleted"


def deletion_watermark() -> str:
    """A UUIDv6 string later than every id this process has made so far, and
    than any id made earlier (on a clock in step with this one)."""
    return str(uuid6(node=0xFFFF_FFFF_FFFF, clock_seq=0x3FFF))


def expired_watermarks_before() -> str:
    """Watermarks below this string belong to tombstones past their lifetime."""
    then = (time.time_ns() // 100) - TOMBSTONE_LIFETIME_SECONDS * 10_000_000 + _GREGORIAN_OFFSET
    time_high_and_mid = (then >> 12) & 0xFFFF_FFFF_FFFF
    time_low_and_version = (then & 0x0FFF) | (6 << 12)
    hex_ = f"{time_high_and_mid:012x}{time_low_and_version:04x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-0000-000000000000"


def is_time_ordered(checkpoint_id: str | None) -> bool:
    """Whether `checkpoint_id` is a UUIDv6 string (the ones the rule covers)."""
    return (
        isinstance(checkpoint_id, str)
        and len(checkpoint_id) == 36
        and checkpoint_id[14] == "6"
        and checkpoint_id[8] == "-"
    )


def made_before(checkpoint_id: str | None, watermark: str) -> bool:
    return is_time_ordered(checkpoint_id) and checkpoint_id <= watermark  # type: ignore[operator]


def late_write_error(thread_id: str | None = None) -> ThreadDeletedError:
    """The error every saver raises for a write that belongs to a deleted history."""
    where = f"thread {thread_id!r}: " if thread_id else ""
    return ThreadDeletedError(
        f"{where}this write belongs to a checkpoint history that was deleted (delete_thread) "
        "while it was in flight, so it was not stored; start the thread again to write to it"
    )


def thread_deleted_error(exc: BaseException) -> ThreadDeletedError | None:
    """The library's error for a database error raised by the deletion guard
    (Postgres's names the thread after the mark; SQLite's does not)."""
    text = str(exc)
    if THREAD_DELETED_MARK not in text:
        return None
    after = text.split(THREAD_DELETED_MARK, 1)[1]
    thread_id = after[2:].splitlines()[0].strip() if after.startswith(": ") else None
    error = late_write_error(thread_id or None)
    error.__cause__ = exc
    return error
