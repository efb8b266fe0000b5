"""A throwaway PostgreSQL cluster for tests and benchmarks.

With `POSTGRES_URI` set, that server is used (databases are created on it).
Otherwise the Debian server binaries (`/usr/lib/postgresql/*/bin`) start a
private cluster in a temporary directory on a free 127.0.0.1 port — as the
`postgres` user when running as root, since the server refuses root — and it
is stopped when the test session (or `with` block) ends.

Pytest fixtures: `postgres_server` (session) and `postgres_uri` (a fresh,
empty database per test module).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin. "
    "Install them with: sudo apt-get install postgresql (or set POSTGRES_URI to a server you run)."
)


def _server_bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not candidates:
        raise RuntimeError(INSTALL_HINT)
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL server for the duration of a `with` block."""

    def __init__(self) -> None:
        self._external = os.environ.get("POSTGRES_URI")
        self._dir: Path | None = None
        self._bin: Path | None = None
        self.port: int | None = None
        self._as_postgres = os.geteuid() == 0

    # -- lifecycle --

    def __enter__(self) -> ThrowawayPostgres:
        if not self._external:
            self._start_cluster()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def admin_uri(self) -> str:
        if self._external:
            return self._external
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def _start_cluster(self) -> None:
        self._bin = _server_bin_dir()
        self._dir = Path(tempfile.mkdtemp(prefix="lg-pg-"))
        if self._as_postgres:
            shutil.chown(self._dir, "postgres", "postgres")
        data = self._dir / "data"
        self._run(
            self._bin / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self._dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        atexit.register(self.stop)
        self._run(
            self._bin / "pg_ctl", "-D", data, "-o", options, "-l", self._dir / "log", "-w", "start"
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_uri, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def restart(self) -> None:
        """Restart the server (connections break; data stays)."""
        if self._external or self._dir is None:
            raise RuntimeError("restart() needs the throwaway cluster (POSTGRES_URI is set)")
        self._run(
            self._bin / "pg_ctl",
            "-D",
            self._dir / "data",
            "-l",
            self._dir / "log",
            "-m",
            "fast",
            "-w",
            "restart",
        )
        self._wait_ready()

    def stop(self) -> None:
        if self._dir is None:
            return
        directory, self._dir = self._dir, None
        self._run(
            self._bin / "pg_ctl",
            "-D",
            directory / "data",
            "-m",
            "immediate",
            "-w",
            "stop",
            check=False,
        )
        shutil.rmtree(directory, ignore_errors=True)

    # -- databases --

    def new_database(self, prefix: str = "test") -> str:
        """Create an empty database; returns its URI."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.uri_for(name)

    def uri_for(self, dbname: str) -> str:
        base, _, _ = self.admin_uri.rpartition("/")
        return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_uri(postgres_server: ThrowawayPostgres) -> str:
    return postgres_server.new_database()
