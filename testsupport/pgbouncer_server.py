"""A throwaway PgBouncer in front of a test PostgreSQL server.

Debian's `pgbouncer` package (`scripts/test-services.sh` installs it), run in
the foreground on a free 127.0.0.1 port from a temporary directory, in
transaction pooling mode unless told otherwise: each transaction (or
autocommit statement) of a client may run on a different server connection,
and server connections are shared between clients, which is what breaks
clients that keep named prepared statements. As root it runs as the
`postgres` user, like the throwaway PostgreSQL.

    with ThrowawayPgBouncer(postgres_server) as bouncer:
        uri = bouncer.uri_for("mydb")
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from testsupport.postgres_server import ThrowawayPostgres, _free_port

INSTALL_HINT = (
    "pgbouncer not found. Install it with: sudo apt-get install pgbouncer "
    "(`make test` does it when run as root)."
)


class ThrowawayPgBouncer:
    """PgBouncer for the duration of a `with` block, in front of `server`.

    `pool_size` server connections per database and user, shared by every
    client: keep it below the number of concurrent clients so that they do
    share connections.
    """

    def __init__(
        self, server: ThrowawayPostgres, *, pool_mode: str = "transaction", pool_size: int = 2
    ) -> None:
        self._server = server
        self._pool_mode = pool_mode
        self._pool_size = pool_size
        self._dir: Path | None = None
        self._process: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> ThrowawayPgBouncer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).is_file():
            raise RuntimeError(INSTALL_HINT)
        target = urlsplit(self._server.admin_uri)
        self._dir = Path(tempfile.mkdtemp(prefix="lg-pgbouncer-"))
        atexit.register(self.stop)
        self.port = _free_port()
        user = target.username or "postgres"
        # auth_type=trust still wants every user listed in the auth file.
        (self._dir / "users.txt").write_text(f'"{user}" ""\n')
        (self._dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={target.hostname} port={target.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self._dir / 'users.txt'}\n"
            f"pool_mode = {self._pool_mode}\ndefault_pool_size = {self._pool_size}\n"
            "max_client_conn = 500\n"
            f"logfile = {self._dir / 'log'}\n"
        )
        command = [binary, str(self._dir / "pgbouncer.ini")]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            shutil.chown(self._dir, "postgres", "postgres")
            for name in ("users.txt", "pgbouncer.ini"):
                shutil.chown(self._dir / name, "postgres", "postgres")
            command[1:1] = ["-u", "postgres"]
        # To a file, not a pipe: nobody reads a pipe, and a full one would block it.
        with open(self._dir / "stderr", "w") as stderr:
            self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"pgbouncer exited with status {self._process.returncode}: "
                    + (self._dir / "stderr").read_text()
                )
            try:
                with psycopg.connect(self.uri_for("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def uri_for(self, dbname: str) -> str:
        user = urlsplit(self._server.admin_uri).username or "postgres"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
