"""Embeddings for semantic search, and extracting the text to embed from a value.

`Embeddings` is LangChain's class when `langchain-core` is installed (as it is
with langgraph) and an equivalent base class otherwise. Stores do not check
the type: anything with `embed_documents`/`embed_query` (and optionally their
async twins) works, and plain functions are wrapped.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

EmbeddingsFunc = Callable[[Sequence[str]], list[list[float]]]
AEmbeddingsFunc = Callable[[Sequence[str]], Awaitable[list[list[float]]]]

__all__ = [
    "AEmbeddingsFunc",
    "Embeddings",
    "EmbeddingsFunc",
    "ensure_embeddings",
    "get_text_at_path",
    "index_text_paths",
    "tokenize_path",
]


try:
    # The class LangChain models derive from; langgraph itself depends on
    # langchain-core, so user code subclassing this one stays compatible.
    from langchain_core.embeddings import Embeddings
except ImportError:  # pragma: no cover - exercised only without langchain-core

    class Embeddings(ABC):  # type: ignore[no-redef]
        """What a store needs from an embedding model (LangChain's interface)."""

        @abstractmethod
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            """One vector per text."""

        @abstractmethod
        def embed_query(self, text: str) -> list[float]:
            """The vector of a search query."""

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            """Async `embed_documents` (in a worker thread unless overridden)."""
            return await asyncio.to_thread(self.embed_documents, texts)

        async def aembed_query(self, text: str) -> list[float]:
            """Async `embed_query` (in a worker thread unless overridden)."""
            return await asyncio.to_thread(self.embed_query, text)


class _FunctionEmbeddings(Embeddings):
    """Adapts a sync and/or async function of texts to the `Embeddings` interface."""

    def __init__(self, func: EmbeddingsFunc | None, afunc: AEmbeddingsFunc | None) -> None:
        self.func = func
        self.afunc = afunc

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.func is None:
            raise ValueError(
                "this store was given an async embedding function: use the async store "
                "methods (aput, asearch), or pass a sync function"
            )
        return self.func(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.afunc is not None:
            return await self.afunc(texts)
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


def ensure_embeddings(
    embed: Embeddings | EmbeddingsFunc | AEmbeddingsFunc | str | None,
) -> Embeddings:
    """Turn what an `IndexConfig["embed"]` may hold into an `Embeddings` object.

    Accepts an embeddings object, a sync or async function of a list of texts,
    or a `"provider:model"` string resolved through LangChain's
    `init_embeddings` (which needs the `langchain` package and the provider's).
    """
    if embed is None:
        raise ValueError(
            "an index config needs 'embed': an Embeddings object, a function, or 'provider:model'"
        )
    if isinstance(embed, str):
        return _embeddings_from_string(embed)
    if hasattr(embed, "embed_documents") and hasattr(embed, "embed_query"):
        return embed  # type: ignore[return-value]
    if callable(embed):
        if asyncio.iscoroutinefunction(embed):
            return _FunctionEmbeddings(None, embed)
        return _FunctionEmbeddings(embed, None)  # type: ignore[arg-type]
    raise TypeError(f"cannot use {type(embed).__name__} as embeddings")


def _embeddings_from_string(spec: str) -> Embeddings:
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise ValueError(f"embedding spec {spec!r} must look like 'provider:model'")
    try:
        module = importlib.import_module("langchain.embeddings")
    except ImportError as exc:
        # ValueError, as for any other unusable `embed` setting.
        raise ValueError(
            f"embedding spec {spec!r} needs the 'langchain' package and the package of "
            f"provider {provider!r} (for example: pip install langchain langchain-{provider}); "
            "or pass an Embeddings object or a function instead"
        ) from exc
    return module.init_embeddings(spec)


def embed_texts(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Embed the texts to store (the sync stores' `aembed_texts`)."""
    return embeddings.embed_documents(texts)


def embed_query(embeddings: Embeddings, text: str) -> list[float]:
    """Embed a search query (the sync stores' `aembed_query`)."""
    return embeddings.embed_query(text)


async def aembed_texts(embeddings: Embeddings, texts: list[str]) -> list[list[float]]:
    """Embed with the async method when the object has one, else in a worker thread."""
    aembed = getattr(embeddings, "aembed_documents", None)
    if aembed is not None:
        return await aembed(texts)
    return await asyncio.to_thread(embeddings.embed_documents, texts)


async def aembed_query(embeddings: Embeddings, text: str) -> list[float]:
    """Embed a search query (models may embed queries unlike documents)."""
    aembed = getattr(embeddings, "aembed_query", None)
    if aembed is not None:
        return await aembed(text)
    return await asyncio.to_thread(embeddings.embed_query, text)


def index_text_paths(index: Mapping[str, Any]) -> list[str]:
    """The field paths an index config embeds: `fields`, or `text_fields` (the
    key the reference's SQLite store reads), as a list; `["$"]` (the whole
    value) when neither is set. A single path may be given as a string."""
    chosen: Any = None
    for key in ("fields", "text_fields"):
        paths = index.get(key)
        if paths is None:
            continue
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
            raise ValueError(
                f"index config {key!r} must be a list of field paths or one path, got {paths!r}"
            )
        if chosen is not None and list(paths) != chosen:
            raise ValueError(
                "index config sets both 'fields' and 'text_fields' to different paths "
                f"({chosen!r} and {list(paths)!r}): keep one"
            )
        chosen = list(paths)
    return chosen or ["$"]


def tokenize_path(path: str) -> list[str]:
    """Split a field path into tokens: `"a.b[0].c"` -> `["a", "b", "[0]", "c"]`.

    `[...]` and `{...}` are single tokens (each counts only its own kind of
    bracket for nesting; an unclosed one runs to the end of the path); dots
    separate the other tokens and empty ones are dropped.
    """
    return list(_tokens(path))


@functools.lru_cache(maxsize=1024)
def _tokens(path: str) -> tuple[str, ...]:
    # An index has a few field paths, split again for every put.
    tokens: list[str] = []
    current = ""
    i = 0
    while i < len(path):
        char = path[i]
        if char in "[{":
            if current:
                tokens.append(current)
                current = ""
            close = "]" if char == "[" else "}"
            depth, j = 1, i + 1
            while j < len(path) and depth:
                if path[j] == char:
                    depth += 1
                elif path[j] == close:
                    depth -= 1
                j += 1
            tokens.append(path[i:j])
            i = j
            continue
        if char == ".":
            if current:
                tokens.append(current)
                current = ""
        else:
            current += char
        i += 1
    if current:
        tokens.append(current)
    return tuple(tokens)


def get_text_at_path(obj: Any, path: str | list[str]) -> list[str]:
    """Every text found at `path` inside `obj`.

    `"$"` (or an empty path) is the whole object as JSON; `*` every value of a
    dict or element of a list; `[*]` every list element; `[n]` one element
    (negative counts from the end); `{a,b.c}` several keys, each a dotted path
    of plain keys. Strings, numbers and booleans give their `str()`, lists and
    dicts their JSON (sorted keys); None and other types give nothing.
    """
    if isinstance(obj, Mapping) and not isinstance(obj, dict):
        obj = dict(obj)
    if not path or path == "$":
        return [_json(obj)]
    tokens = _tokens(path) if isinstance(path, str) else path
    found: list[str] = []

    def walk(value: Any, position: int) -> None:
        if position == len(tokens):
            _leaf(value, found)
            return
        token = tokens[position]
        if token.startswith("[") and token.endswith("]"):
            if not isinstance(value, list):
                return
            inner = token[1:-1]
            if inner == "*":
                for element in value:
                    walk(element, position + 1)
                return
            try:
                index = int(inner)
            except ValueError:
                return
            if -len(value) <= index < len(value):
                walk(value[index], position + 1)
        elif token.startswith("{") and token.endswith("}"):
            if not isinstance(value, dict):
                return
            for field in token[1:-1].split(","):
                keys = _tokens(field.strip())
                if not keys:
                    continue
                target = value
                for key in keys:
                    if not isinstance(target, dict) or key not in target:
                        break
                    target = target[key]
                else:
                    _leaf(target, found)
        elif token == "*":
            if isinstance(value, dict):
                value = value.values()
            elif not isinstance(value, list):
                return
            for element in value:
                walk(element, position + 1)
        elif isinstance(value, dict) and token in value:
            walk(value[token], position + 1)

    walk(obj, 0)
    return found


def _leaf(value: Any, found: list[str]) -> None:
    if isinstance(value, (str, int, float)):  # bool is an int
        found.append(str(value))
    elif isinstance(value, (dict, list)):
        found.append(_json(value))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
