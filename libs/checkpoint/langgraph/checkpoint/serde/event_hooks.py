"""Listeners told when the serializer refuses or cannot rebuild a stored type."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from typing_extensions import TypedDict

logger = logging.getLogger(__name__)


class SerdeEvent(TypedDict, total=False):
    """`kind` is one of the reference's `msgpack_unregistered_allowed`,
    `msgpack_blocked`, `msgpack_method_blocked` (with `method`), or ours:
    `msgpack_missing` (module or class not found), `msgpack_invalid` /
    `json_invalid` (could not be rebuilt), `msgpack_malformed`."""

    kind: str
    module: str
    name: str
    method: str


SerdeEventListener = Callable[[SerdeEvent], None]

_listeners: list[SerdeEventListener] = []
_lock = threading.Lock()


def register_serde_event_listener(listener: SerdeEventListener) -> Callable[[], None]:
    """Call `listener` for every serde event; returns a function that unregisters it."""
    with _lock:
        _listeners.append(listener)

    def unregister() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unregister


def emit_serde_event(event: SerdeEvent) -> None:
    """Deliver `event` to every listener; a failing listener never breaks a read."""
    if not _listeners:  # the common case: reads pay nothing for events
        return
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception:
            logger.exception("serde event listener failed")
