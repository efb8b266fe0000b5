"""Generate the sync twin of every async source module that asks for one.

Async code is the source; its sync form is derived, so the two cannot drift.
A module opts in with marker comments (anywhere, usually under the docstring):

    # async-to-sync: generates _sync_runner.py
    # async-to-sync: rename AsyncConnection=Connection aput=put

and may mark single lines:

    import asyncio  # async-only            (dropped from the sync module)
    lock = asyncio.Lock()  # sync: lock = threading.Lock()   (line replaced)

The rewrite works on tokens, so it never touches code by accident: `async`
before `def`/`with`/`for` and `await` are removed, and names are renamed
(the common async/sync pairs below plus the module's own `rename`s). Renames
also apply, whole word, inside strings and comments, so docstrings name the
sync classes. The result is formatted with ruff.

    python scripts/async_to_sync.py            # write the sync modules
    python scripts/async_to_sync.py --check    # fail if one is stale (make lint)
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"#\s*async-to-sync:\s*(generates|rename)\s+(.*)$")
ASYNC_ONLY = re.compile(r"#\s*async-only\s*$")
SYNC_LINE = re.compile(r"#\s*sync:\s*(.*)$")

COMMON_RENAMES = {
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Generator",
    "AsyncContextManager": "ContextManager",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "asynccontextmanager": "contextmanager",
    "AsyncExitStack": "ExitStack",
    "enter_async_context": "enter_context",
    "StopAsyncIteration": "StopIteration",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
}


class MarkerError(ValueError):
    pass


def _markers(source: str, path: Path) -> tuple[Path | None, dict[str, str]]:
    target: Path | None = None
    renames: dict[str, str] = {}
    for line in source.splitlines():
        match = MARKER.search(line)
        if not match:
            continue
        kind, rest = match.groups()
        if kind == "generates":
            target = path.parent / rest.strip()
            continue
        for pair in rest.split():
            old, sep, new = pair.partition("=")
            if not sep or not old.isidentifier() or not new.isidentifier():
                raise MarkerError(f"{path}: bad rename {pair!r} (expected Old=New)")
            renames[old] = new
    return target, renames


def _rewrite_lines(source: str) -> str:
    """Apply the line markers: drop `# async-only` lines, swap `# sync:` lines."""
    out = []
    for line in source.splitlines(keepends=True):
        if MARKER.search(line):
            continue
        if ASYNC_ONLY.search(line):
            continue
        match = SYNC_LINE.search(line)
        if match:
            indent = line[: len(line) - len(line.lstrip())]
            line = f"{indent}{match.group(1).rstrip()}\n"
        out.append(line)
    return "".join(out)


def _rewrite_tokens(source: str, renames: dict[str, str]) -> str:
    words = re.compile(
        r"\b(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True))) + r")\b"
    )
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(position: tuple[int, int]) -> int:
        return offsets[position[0] - 1] + position[1]

    edits: list[tuple[int, int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for index, token in enumerate(tokens):
        start, end = at(token.start), at(token.end)
        if token.type == tokenize.NAME and token.string == "await":
            edits.append((start, _skip_spaces(source, end), ""))
        elif token.type == tokenize.NAME and token.string == "async":
            following = tokens[index + 1].string if index + 1 < len(tokens) else ""
            if following in ("def", "with", "for"):
                edits.append((start, _skip_spaces(source, end), ""))
        elif token.type == tokenize.NAME and token.string in renames:
            edits.append((start, end, renames[token.string]))
        elif token.type in (tokenize.STRING, tokenize.COMMENT) or token.type == getattr(
            tokenize, "FSTRING_MIDDLE", -1
        ):
            replaced = words.sub(lambda m: renames[m.group(1)], token.string)
            if replaced != token.string:
                edits.append((start, end, replaced))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _skip_spaces(source: str, position: int) -> int:
    while position < len(source) and source[position] == " ":
        position += 1
    return position


def _ruff(args: list[str], code: str, target: Path) -> str:
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff if ruff.exists() else "ruff"), *args, "--stdin-filename", str(target), "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode:
        raise SystemExit(f"ruff {args[0]} failed on the sync form of {target}:\n{result.stderr}")
    return result.stdout


def _format(code: str, target: Path) -> str:
    """Imports sorted (renames can reorder them) and formatted, as `make format` leaves files."""
    sorted_imports = _ruff(
        ["check", "--select", "I", "--fix", "--quiet", "--exit-zero"], code, target
    )
    return _ruff(["format"], sorted_imports, target)


def generate(path: Path) -> tuple[Path, str] | None:
    source = path.read_text()
    target, renames = _markers(source, path)
    if target is None:
        return None
    relative = path.relative_to(ROOT)
    header = (
        f"# Generated from {path.name} by scripts/async_to_sync.py; do not edit.\n"
        f"# Edit {relative} and run `make sync`.\n"
    )
    code = _rewrite_tokens(_rewrite_lines(source), {**COMMON_RENAMES, **renames})
    return target, _format(header + code, target)


def sources() -> list[Path]:
    found = []
    for path in sorted((ROOT / "libs").rglob("*.py")):
        text = path.read_text()
        if "async-to-sync: generates" in text:
            found.append(path)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated module is stale")
    args = parser.parse_args()
    stale = []
    for path in sources():
        generated = generate(path)
        if generated is None:
            continue
        target, code = generated
        current = target.read_text() if target.exists() else None
        if current == code:
            continue
        if args.check:
            stale.append(target.relative_to(ROOT))
        else:
            target.write_text(code)
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(
            "stale generated sync modules (run `make sync`):", *stale, sep="\n  ", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
