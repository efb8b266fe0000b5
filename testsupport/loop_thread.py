"""Async savers driven from plain threads: their event loop runs in a thread
of its own, and their sync methods (which cross over to that loop) are called
from anywhere else. The fault tests use it to run one scenario on both kinds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

CALL_TIMEOUT = 60  # seconds: a hung call fails the test instead of hanging it


@contextmanager
def on_loop_thread(make_manager: Callable[[], Any]) -> Iterator[Any]:
    """Enter an async context manager on an event loop running in its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    manager = make_manager()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(CALL_TIMEOUT)

    try:
        yield run(manager.__aenter__())
    finally:
        try:
            run(manager.__aexit__(None, None, None))
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT)
            loop.close()
