"""Fixtures shared by the SQLite package's tests."""

from __future__ import annotations

import sqlite3
import threading

import pytest


@pytest.fixture
def fresh_file_being_written(tmp_path):
    """A new file another connection holds the write lock of for a moment, still in the
    rollback journal: there SQLite refuses the switch to WAL at once ("database is
    locked"), without its busy handler waiting, as happens when processes set up one
    fresh file together."""
    path = tmp_path / "fresh.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE other_app (x)")
    release = threading.Timer(0.3, holder.execute, ("COMMIT",))
    release.start()
    try:
        yield str(path)
    finally:
        release.join()
        holder.close()
