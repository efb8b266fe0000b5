#!/usr/bin/env bash
# Builds .venv with our four distributions editable, then the published
# langgraph on top *without* letting pip swap our langgraph-checkpoint out.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
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
$PIP install -q "langgraph>=1.2,<1.3" "langgraph-prebuilt" "langchain-core" ruff
.venv/bin/python - <<'PY'
import pathlib, langgraph.checkpoint.base as b
here = pathlib.Path.cwd().resolve()
src = pathlib.Path(b.__file__).resolve()
if here not in src.parents:
    raise SystemExit(f"langgraph.checkpoint.base comes from {src}, not from this repository")
print(f"==> langgraph.checkpoint.base is ours: {src.relative_to(here)}")
PY
