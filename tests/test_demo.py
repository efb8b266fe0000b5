"""`make demo` tells the whole story on each backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


@pytest.mark.parametrize("backend", ["sqlite", "memory", "postgres"])
def test_demo_runs(backend, tmp_path, request):
    command = [sys.executable, str(DEMO), "--backend", backend]
    if backend == "postgres":
        command += ["--uri", request.getfixturevalue("postgres_server").new_database("demo")]
    out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Your name is Ada." in text
    assert "Run multiply(6, 7)? yes/no" in text
    assert "The answer is 42." in text and "The answer is 48." in text
    assert "still {'a': 6, 'b': 7}" in text
    assert "the thread now has 16 checkpoints" in text
    if backend != "memory":
        assert "a new process" in text
        # a second run starts over cleanly
        again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "the thread now has 16 checkpoints" in again.stdout
