"""The throwaway servers themselves: what makes `make test` independent of the
machine it runs on (ports other processes hold, the server build)."""

from __future__ import annotations

import socket

import psycopg
import pytest

from testsupport import postgres_server
from testsupport.postgres_server import ThrowawayPostgres


@pytest.mark.postgres
def test_cluster_start_moves_on_when_its_port_is_taken(monkeypatch):
    # Another process binds the port between our probe and the server's start.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = iter([taken, postgres_server._free_port()])
        monkeypatch.setattr(postgres_server, "_free_port", lambda: next(ports))
        with ThrowawayPostgres(env_var=None) as server:
            assert server.port != taken
            with psycopg.connect(server.admin_uri) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
