#!/usr/bin/env bash
# Builds .venv with our four distributions editable, then the published
# langgraph on top *without* letting pip swap our langgraph-checkpoint out.
set -euo pipefail
cd "$(dirname "$0")/.."
can_load_sqlite_extensions() {
  "$1" -c 'import sqlite3, sys; sys.exit(not hasattr(sqlite3.Connection, "enable_load_extension"))' 2>/dev/null
}
# The SQLite store's sqlite-vec path needs a Python whose sqlite3 can load
# extensions (pyenv builds usually cannot; Debian's python3 can). Unless
# PYTHON is given, prefer such an interpreter so that path is tested.
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  if ! can_load_sqlite_extensions python3 && can_load_sqlite_extensions /usr/bin/python3 \
    && ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's python3-venv (its python3 can load SQLite extensions)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  if ! can_load_sqlite_extensions python3; then
    for candidate in /usr/bin/python3 /usr/local/bin/python3; do
      if [ -x "$candidate" ] && can_load_sqlite_extensions "$candidate" \
        && "$candidate" -c 'import venv, ensurepip' 2>/dev/null; then
        PYTHON=$candidate
        break
      fi
    done
  fi
fi
if [ -x .venv/bin/python ] && can_load_sqlite_extensions "$PYTHON" \
  && ! can_load_sqlite_extensions .venv/bin/python; then
  echo "==> rebuilding .venv with $PYTHON (its sqlite3 can load extensions)"
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! can_load_sqlite_extensions .venv/bin/python; then
  echo "==> note: this Python's sqlite3 cannot load extensions; the SQLite store ranks" \
    "vectors in Python and the sqlite-vec tests will fail. Set PYTHON to an interpreter" \
    "built with loadable SQLite extensions (Debian: apt-get install python3-venv)."
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip
echo "==> installing our packages (editable, with test extras)"
$PIP install -q \
  -e "libs/checkpoint[test,crypto,redis]" \
  -e "libs/checkpoint-sqlite[test]" \
  -e "libs/checkpoint-postgres[test]" \
  -e "libs/checkpoint-conformance[test]"
echo "==> installing the published langgraph 1.2 on top of our base package"
# langgraph declares langgraph-checkpoint>=4.3,<5: ours (editable) already
# satisfies that, so pip keeps it. The check below proves it.
# The last three: what langgraph's own test suite needs besides our packages
# (scripts/upstream-tests.sh runs it); pinned at the versions verified with it.
$PIP install -q "langgraph>=1.2,<1.3" "langgraph-prebuilt" "langchain-core" ruff "mypy==2.4.1" \
  pytest-xdist==3.8.0 pytest-mock==3.17.0 syrupy==7.0.2
.venv/bin/python - <<'PY'
import pathlib, langgraph.checkpoint.base as b
here = pathlib.Path.cwd().resolve()
src = pathlib.Path(b.__file__).resolve()
if here not in src.parents:
    raise SystemExit(f"langgraph.checkpoint.base comes from {src}, not from this repository")
print(f"==> langgraph.checkpoint.base is ours: {src.relative_to(here)}")
PY
