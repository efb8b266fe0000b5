"""The errors the savers, stores and caches of this family raise.

Each one also subclasses the built-in type that callers caught before these
existed (`ValueError`, `RuntimeError`, ...), so no `except` clause breaks, and
each keeps the driver's error as `__cause__` when there is one. Catch
`CheckpointError` for anything the library itself reports.
"""

from __future__ import annotations

import asyncio

__all__ = [
    "CheckpointError",
    "ClosedError",
    "ConnectionLostError",
    "EventLoopError",
    "InvalidConfigError",
    "InvalidFilterError",
    "NotSetUpError",
    "SerializationError",
    "ThreadDeletedError",
    "UnsupportedOperationError",
]


class CheckpointError(Exception):
    """Base of every error this library raises on its own account."""


class InvalidConfigError(CheckpointError, TypeError, ValueError):
    """A config, argument or option is malformed (a missing `thread_id`, a
    `checkpoint_ns` that is not a string, an unknown option).

    Before this existed a missing value was a `ValueError` and a value of the
    wrong type a `TypeError`; being both keeps either `except` working."""


class InvalidFilterError(CheckpointError, TypeError, ValueError):
    """A metadata or store filter cannot be evaluated as given (a `TypeError`
    for a filter of the wrong shape before, a `ValueError` for a bad operator)."""


class SerializationError(CheckpointError, TypeError, ValueError):
    """A value cannot be written so that it reads back as it was, or stored
    bytes cannot be read back safely."""


class NotSetUpError(CheckpointError, RuntimeError):
    """The database lacks the tables: `setup()` has not been run on it."""


class ClosedError(CheckpointError, RuntimeError):
    """The saver's connection (or the saver) is closed."""


class ConnectionLostError(CheckpointError, RuntimeError):
    """The connection the caller passed broke; the library does not replace
    a connection it does not own."""


class ThreadDeletedError(CheckpointError, RuntimeError):
    """A write that began before its thread was deleted arrived after the
    deletion; it was not stored."""


class UnsupportedOperationError(CheckpointError, NotImplementedError):
    """The saver does not offer this method in this mode (for example the
    async methods of a sync-only saver)."""


class EventLoopError(CheckpointError, asyncio.InvalidStateError, RuntimeError):
    """A sync method of an async saver was called where it cannot run: on the
    saver's own event loop (it would deadlock), or with no loop running."""
