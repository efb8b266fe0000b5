"""The test servers themselves: the pgvector one really does vector search, and
the Debian one really lacks pgvector (so the store's fallback tests there mean
something)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import psycopg
import pytest

from testsupport.postgres_server import (
    PgvectorCrashed,
    PgvectorPostgres,
    pgvector_bin_dir,
    staged_wheel_copy,
)

ROWS = {
    "x": [1.0, 0.0, 0.0],
    "xy": [1.0, 1.0, 0.0],
    "y": [0.0, 1.0, 0.0],
    "z": [0.0, 0.0, 1.0],
    "minus_x": [-1.0, 0.1, 0.0],
}
QUERY = [0.9, 0.2, 0.1]


def literal(vector: list[float]) -> str:
    return "[" + ",".join(repr(x) for x in vector) + "]"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.postgres
def test_pgvector_server_does_cosine_search(pgvector_server, pgvector_uri):
    with psycopg.connect(pgvector_uri, autocommit=True) as conn:
        assert (
            conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            == 0
        ), "the fixture's database must come without the extension"
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE TABLE items (id text PRIMARY KEY, embedding vector(3))")
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO items VALUES (%s, %s::vector)",
                [(key, literal(vector)) for key, vector in ROWS.items()],
            )

        expected = sorted(ROWS, key=lambda key: -cosine(ROWS[key], QUERY))
        for use_index in (False, True):
            # An exact sequential scan first, then the (approximate) HNSW index.
            conn.execute(f"SET enable_indexscan = {'on' if use_index else 'off'}")
            conn.execute(f"SET enable_seqscan = {'off' if use_index else 'on'}")
            query = (
                "SELECT id, 1 - (embedding <=> %s::vector) FROM items "
                "ORDER BY embedding <=> %s::vector LIMIT 10"
            )
            plan = "\n".join(
                r[0] for r in conn.execute("EXPLAIN " + query, (literal(QUERY),) * 2).fetchall()
            )
            assert ("items_embedding_idx" in plan) == use_index, plan
            found = conn.execute(query, (literal(QUERY),) * 2).fetchall()
            assert [key for key, _ in found] == expected
            for key, similarity in found:
                assert similarity == pytest.approx(cosine(ROWS[key], QUERY), abs=1e-6)

        installed = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert installed.fetchone()[0] == pgvector_server.available_extension_version("vector")


@pytest.mark.postgres
def test_debian_server_has_no_pgvector(postgres_uri):
    with psycopg.connect(postgres_uri) as conn:
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()[0]
    assert available == 0, (
        "the plain test server offers pgvector, so the store's no-pgvector tests cannot run on it"
    )


# x86-64 code (the wheel's only platform) for `kill(getpid(), SIGILL); return`:
# in effect what a backend does when it meets an instruction its CPU lacks,
# without a kernel trap. mov eax,39 (getpid); syscall; mov edi,eax;
# mov esi,4 (SIGILL); mov eax,62 (kill); syscall; ret.
RAISE_SIGILL = bytes.fromhex("b8270000000f0589c7be04000000b83e0000000f05c3")


def dynamic_symbol_file_offset(library: Path, name: str) -> int:
    """Where the code of an exported function starts in an ELF64 shared library."""
    data = library.read_bytes()
    assert data[:5] == b"\x7fELF\x02", f"{library} is not an ELF64 file"
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    # (name, type, flags, addr, offset, size, link, info, addralign, entsize)
    dynsym = next(s for s in sections if s[1] == 11)  # SHT_DYNSYM
    strtab = sections[dynsym[6]]
    for start in range(dynsym[4], dynsym[4] + dynsym[5], dynsym[9]):
        st_name, _info, _other, _shndx, st_value = struct.unpack_from("<IBBHQ", data, start)
        end = data.index(b"\0", strtab[4] + st_name)
        if data[strtab[4] + st_name : end].decode() == name and st_value:
            code = next(s for s in sections if s[3] <= st_value < s[3] + s[5] and s[1] == 1)
            return st_value - code[3] + code[4]
    raise LookupError(f"{name} is not exported by {library}")


@pytest.mark.postgres
def test_canary_names_the_cause_when_pgvector_crashes_the_server():
    # A copy of the real build whose vector.so dies of SIGILL as it loads: the
    # failure this machine saw with a wheel built for newer CPUs.
    bin_dir = staged_wheel_copy(pgvector_bin_dir())
    library = bin_dir.parent / "lib" / "vector.so"
    patched = bytearray(library.read_bytes())
    offset = dynamic_symbol_file_offset(library, "_PG_init")
    patched[offset : offset + len(RAISE_SIGILL)] = RAISE_SIGILL
    library.write_bytes(bytes(patched))

    server = PgvectorPostgres(bin_dir, env_var=None)
    with pytest.raises(PgvectorCrashed) as caught:
        server.__enter__()
    message = str(caught.value)
    assert "crashed when the canary built and filled an HNSW index" in message
    assert "illegal instruction" in message and "CPU" in message
    assert "terminated by signal 4" in message  # the server log's own words
    assert "PGVECTOR_POSTGRES_URI=" in message  # the way out
    assert server.port is not None and server._dir is None, "the crashed server was stopped"


@pytest.mark.postgres
def test_canary_passes_on_the_real_build(pgvector_server):
    # The session's server went through the canary already; a second pass on the
    # same server finds it still healthy and leaves no canary database behind.
    pgvector_server.check_pgvector()
    with psycopg.connect(pgvector_server.admin_uri) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
    assert not [name for name in names if name.startswith("canary_")]
