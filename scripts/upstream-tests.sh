#!/usr/bin/env bash
# Runs the published langgraph's own test suite (its checkpointer-heavy files,
# with every saver its conftest parametrizes: memory, SQLite, SQLite + AES,
# async SQLite, Postgres plain / pipeline / pool, sync and async) on our savers.
#
# The suite ships in langgraph's sdist, at exactly the installed version: it is
# downloaded once into $UPSTREAM_CACHE (default .venv/upstream, so `make clean`
# drops it) and only its tests/ is extracted; later runs work offline. Nothing
# from the sdist is kept in the repository. testsupport/upstream.py (loaded
# with -p) starts throwaway PostgreSQL and Redis servers and points the suite
# at them. Extra arguments go to pytest, e.g.
#   bash scripts/upstream-tests.sh -k interrupt -n 0
# UPSTREAM_PYTHON=/some/venv/bin/python runs the same selection under another
# interpreter, e.g. a throwaway venv with the reference packages, to compare
# (it needs langgraph at the same version, pytest-xdist, pytest-mock, syrupy).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${UPSTREAM_PYTHON:-$ROOT/.venv/bin/python}
CACHE=${UPSTREAM_CACHE:-$ROOT/.venv/upstream}
WORKERS=${UPSTREAM_WORKERS:-3}  # fits 2 cores: each worker also collects all 4,000 tests

# The files whose tests run graphs on the parametrized checkpointers.
FILES=(
  test_pregel.py test_pregel_async.py
  test_interruption.py
  test_time_travel.py test_time_travel_async.py
  test_subgraph_persistence.py test_subgraph_persistence_async.py
  test_checkpoint_migration.py test_interrupt_migration.py
  test_large_cases.py test_large_cases_async.py
  test_delta_channel_exit_mode.py test_delta_channel_fork.py
  test_delta_channel_id_stability.py test_delta_channel_migration.py
  test_delta_channel_node_cache.py test_delta_channel_parallel_order.py
  test_delta_channel_run_input.py test_delta_channel_seal_subscribers.py
  test_delta_channel_subgraph.py test_delta_channel_supersteps_bound.py
  test_delta_channel_to_plain.py test_delta_channel_update_overwrite.py
  test_delta_channel_update_state.py test_delta_channel_write_failures.py
)

version=$("$PY" -c 'import importlib.metadata as m; print(m.version("langgraph"))')
suite="$CACHE/langgraph-$version"
if [ ! -f "$suite/.extracted" ]; then
  sdist="$CACHE/langgraph-$version.tar.gz"
  if [ ! -f "$sdist" ]; then
    echo "==> downloading the langgraph $version sdist (for its tests/) into $CACHE"
    mkdir -p "$CACHE"
    "$PY" -m pip download -q --no-deps --no-binary :all: \
      "langgraph==$version" -d "$CACHE" 2>&1 | grep -v '^WARNING: Location' || true
    [ -f "$sdist" ] || { echo "could not download $sdist" >&2; exit 1; }
  fi
  rm -rf "$suite"
  mkdir -p "$suite"
  tar -xzf "$sdist" -C "$suite" --strip-components=1 "langgraph-$version/tests"
  touch "$suite/.extracted"
fi

if [ -n "${UPSTREAM_PYTHON:-}" ]; then
  echo "==> with $UPSTREAM_PYTHON: its own packages, not necessarily this repository's"
else
  # The suite imports our packages: make sure they are still ours.
  "$PY" - <<'PY'
import pathlib
import langgraph.checkpoint.base, langgraph.checkpoint.sqlite, langgraph.checkpoint.postgres
here = pathlib.Path.cwd().resolve()
for module in (langgraph.checkpoint.base, langgraph.checkpoint.sqlite, langgraph.checkpoint.postgres):
    src = pathlib.Path(module.__file__).resolve()
    if here not in src.parents:
        raise SystemExit(f"{module.__name__} comes from {src}, not from this repository")
PY
fi

echo "==> langgraph $version's own tests (${#FILES[@]} files)"
cd "$suite"
# -c /dev/null and --confcutdir: none of the repository's pytest settings or
# conftest.py (the suite is not ours, and lives below the repository's root);
# -p no:asyncio: the suite runs its async tests with anyio, as upstream does.
# Its memory saver makes a temp file for each test that nothing removes
# (mkstemp in its tests/memory_assert.py): the suite gets a temp directory of
# its own, removed afterwards, readable by the servers' postgres user.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/lg-upstream-XXXXXX")
chmod 0755 "$scratch"
trap 'rm -rf "$scratch"' EXIT
TMPDIR=$scratch PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -c /dev/null \
  --rootdir "$suite" --confcutdir "$suite" \
  -p no:asyncio -p testsupport.upstream --snapshot-warn-unused -q -n "$WORKERS" \
  "${FILES[@]/#/tests/}" "$@"
