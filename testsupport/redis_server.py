"""A throwaway Redis server for tests: Debian's `redis-server` on a free
loopback port, in a temporary directory, without persistence, stopped at the
end of the session. With `REDIS_URL` set, that server is used instead.

Pytest fixture: `redis_url` (session scope). The server starts the first
time a test asks for it, so sessions that never touch Redis never start one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = (
    "redis-server not found on PATH; the Redis tests need it. Install it with: "
    "sudo apt-get install -y redis-server (or run scripts/test-services.sh, or set "
    "REDIS_URL to a server you run)."
)
_START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
_START_TIMEOUT = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers_ping(port: int) -> bool:
    """Raw RESP PING, so the fixture does not depend on a client library."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class ThrowawayRedis:
    """A Redis server for the duration of a `with` block (or `REDIS_URL`'s)."""

    def __init__(self) -> None:
        self.url = os.environ.get("REDIS_URL")
        self._proc: subprocess.Popen | None = None
        self._dir: Path | None = None

    def __enter__(self) -> ThrowawayRedis:
        if self.url:
            return self
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self._dir = Path(tempfile.mkdtemp(prefix="lg-redis-"))
        try:
            for _ in range(_START_ATTEMPTS):
                port = _free_port()
                if self._start(binary, port):
                    self.url = f"redis://127.0.0.1:{port}/0"
                    return self
            log = (self._dir / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server did not start; its log ends with:\n{log}")
        except BaseException:
            self.__exit__()
            raise

    def _start(self, binary: str, port: int) -> bool:
        assert self._dir is not None
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
                str(self._dir),
                "--logfile",
                str(self._dir / "redis.log"),
                "--daemonize",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if _answers_ping(port):
                return True
            if self._proc.poll() is not None:  # exited, e.g. the port was taken
                break
            time.sleep(0.05)
        self._stop()
        return False

    def _stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis server for this test session (started on first use)."""
    server = ThrowawayRedis()
    problem = None
    try:
        server.__enter__()
    except RuntimeError as exc:
        problem = str(exc)
    if problem is not None:  # fail (never skip) the tests that need Redis
        pytest.fail(problem, pytrace=False)
    try:
        yield server.url
    finally:
        server.__exit__()
