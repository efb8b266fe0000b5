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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

EmbeddingsFunc = Callable[[Sequence[str]], list[list[float]]]
AEmbeddingsFunc = Callable[[Sequence[str]], Awaitable[list[list[float]]]]

__all__ = [
    "AEmbeddingsFunc",
    "Embeddings",
    "EmbeddingsFunc",
    "ensure_embeddings",
    "get_text_at_path",
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
            return _FunctionEmbeddings(None, embed)  # type: ignore[return-value]
        return _FunctionEmbeddings(embed, None)  # type: ignore[return-value, arg-type]
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


def tokenize_path(path: str) -> list[str]:
    """Split a field path into tokens: `"a.b[0].c"` -> `["a", "b", "[0]", "c"]`.

    Supports `[*]` (every element) and `{x,y}` (several keys at one level).
    """
    return list(_tokens(path))


@functools.lru_cache(maxsize=1024)
def _tokens(path: str) -> tuple[str, ...]:
    # An index has a few field paths, split again for every put.
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    for char in path:
        if char in "[{":
            if depth == 0 and current:
                tokens.append("".join(current))
                current = []
            depth += 1
            current.append(char)
        elif char in "]}":
            depth -= 1
            current.append(char)
            if depth == 0:
                tokens.append("".join(current))
                current = []
        elif char == "." and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tuple(tokens)


def get_text_at_path(obj: Any, path: str | list[str]) -> list[str]:
    """Every text found at `path` inside `obj` (non-strings are JSON-encoded).

    `"$"` means the whole object; `[*]` every list element; `[n]` one element
    (negative counts from the end); `{a,b}` several keys.
    """
    if not path or path == "$":
        return [_as_text(obj)]
    tokens = _tokens(path) if isinstance(path, str) else path
    found: list[str] = []

    def walk(value: Any, position: int) -> None:
        if position == len(tokens):
            if value is not None:
                found.append(_as_text(value))
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
            for key in token[1:-1].split(","):
                key = key.strip()
                if key in value:
                    walk(value[key], position + 1)
        elif isinstance(value, dict) and token in value:
            walk(value[token], position + 1)

    walk(obj, 0)
    return found


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
