"""A throwaway Redis server for tests: Debian's `redis-server` on a free
loopback port, no persistence, stopped at the end of the session. With
`REDIS_URL` set, that server is used instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

INSTALL_HINT = (
    "redis-server not found. Install it with: sudo apt-get install redis-server (or set REDIS_URL)."
)


class ThrowawayRedis:
    def __init__(self) -> None:
        self.url = os.environ.get("REDIS_URL")
        self._proc: subprocess.Popen | None = None
        self._dir: str | None = None

    def __enter__(self) -> ThrowawayRedis:
        if self.url:
            return self
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self._dir = tempfile.mkdtemp(prefix="lg-redis-")
        self._proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        import redis

        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with ThrowawayRedis() as server:
        yield server.url
