"""Long-term memory stores: the interface LangGraph graphs use through `store=`.

A store keeps JSON-like documents (`dict` values) under a hierarchical
namespace (a tuple of strings) and a key. Every store implements `batch` and
`abatch`, which take a list of operations (`GetOp`, `PutOp`, `SearchOp`,
`ListNamespacesOp`) and return one result per operation; the convenience
methods (`get`, `put`, `search`, ...) are built on those.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple, TypedDict

from langgraph.checkpoint.errors import (
    InvalidConfigError,
    InvalidFilterError,
    UnsupportedOperationError,
)
from langgraph.store.base.embed import (
    AEmbeddingsFunc,
    Embeddings,
    EmbeddingsFunc,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)

# Re-exported for the store implementations.
from langgraph.store.base.filters import check_filter as check_filter
from langgraph.store.base.filters import compile_filter as compile_filter
from langgraph.store.base.filters import matches_filter as matches_filter

__all__ = [
    "AEmbeddingsFunc",
    "BaseStore",
    "Embeddings",
    "EmbeddingsFunc",
    "GetOp",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NOT_PROVIDED",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "ensure_embeddings",
    "get_text_at_path",
    "tokenize_path",
    "validate_op_namespace",
]


class NotProvided:
    """Marks an argument the caller did not pass (distinct from `None`)."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_PROVIDED = NotProvided()


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Item:
    """A stored document with its namespace, key and timestamps."""

    __slots__ = ("value", "key", "namespace", "created_at", "updated_at")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: tuple[str, ...],
        created_at: datetime,
        updated_at: datetime,
    ):
        self.value = value
        self.key = key
        # Rebuilt from storage, namespaces may arrive as lists.
        self.namespace = tuple(namespace)
        self.created_at = _as_datetime(created_at)
        self.updated_at = _as_datetime(updated_at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return False
        return (
            self.value == other.value
            and self.key == other.key
            and self.namespace == other.namespace
            and self.created_at == other.created_at
            and self.updated_at == other.updated_at
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def dict(self) -> dict:
        """JSON-friendly form (timestamps as ISO strings)."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({fields})"


class SearchItem(Item):
    """An `Item` found by `search`, with its relevance `score` (None without a query)."""

    __slots__ = ("score",)

    def __init__(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime,
        updated_at: datetime,
        score: float | None = None,
    ) -> None:
        super().__init__(
            value=value,
            key=key,
            namespace=namespace,
            created_at=created_at,
            updated_at=updated_at,
        )
        self.score = score

    def dict(self) -> dict:
        result = super().dict()
        result["score"] = self.score
        return result


class GetOp(NamedTuple):
    """Fetch one item by namespace and key."""

    namespace: tuple[str, ...]
    key: str
    refresh_ttl: bool = True


class SearchOp(NamedTuple):
    """Find items under a namespace prefix, by filter and/or semantic query."""

    namespace_prefix: tuple[str, ...]
    filter: dict[str, Any] | None = None
    limit: int = 10
    offset: int = 0
    query: str | None = None
    refresh_ttl: bool = True


NamespacePath = tuple[str | Literal["*"], ...]
"""A namespace pattern: labels, where `"*"` matches any one label."""

NamespaceMatchType = Literal["prefix", "suffix"]


class MatchCondition(NamedTuple):
    """A namespace pattern anchored at the start (`prefix`) or end (`suffix`)."""

    match_type: NamespaceMatchType
    path: NamespacePath


class ListNamespacesOp(NamedTuple):
    """List distinct namespaces, optionally filtered and truncated to a depth."""

    match_conditions: tuple[MatchCondition, ...] | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0


class PutOp(NamedTuple):
    """Store (or, with `value=None`, delete) one item."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any] | None
    # The field's name is public API; it hides tuple.index, which no caller uses on an op.
    index: Literal[False] | list[str] | None = None  # type: ignore[assignment]
    ttl: float | None = None


Op = GetOp | SearchOp | PutOp | ListNamespacesOp
Result = Item | list[Item] | list[SearchItem] | list[tuple[str, ...]] | None


class InvalidNamespaceError(InvalidConfigError, ValueError):
    """A namespace that stores refuse: empty, non-string labels, dots, reserved root."""


class IndexConfig(TypedDict, total=False):
    """Semantic search settings of a store."""

    dims: int
    """Length of the embedding vectors."""
    embed: Embeddings | EmbeddingsFunc | AEmbeddingsFunc | str
    """What computes embeddings: an Embeddings object, a function, or "provider:model"."""
    fields: list[str] | None
    """JSON paths of the text to embed (default: the whole value, `["$"]`)."""


class TTLConfig(TypedDict, total=False):
    """Expiry settings of a store (times in minutes)."""

    refresh_on_read: bool
    """Whether reads push the expiry back (default True)."""
    default_ttl: float | None
    """TTL of items put without one (None: never expire)."""
    sweep_interval_minutes: int | None
    """How often a background sweeper deletes expired items."""


def _check_labels(namespace: Sequence[Any]) -> None:
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} in {tuple(namespace)!r}: labels must be "
                f"strings, got {type(label).__name__}."
            )
        if not label:
            raise InvalidNamespaceError(
                f"Namespace labels cannot be empty strings: {tuple(namespace)!r}."
            )
        if "." in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} in {tuple(namespace)!r}: "
                "labels cannot contain '.'."
            )


def _validate_namespace(namespace: tuple[str, ...]) -> None:
    """Full check for a namespace written by `put`."""
    if not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    _check_labels(namespace)
    if namespace[0] == "langgraph":
        raise InvalidNamespaceError(
            f'Root label for namespace cannot be "langgraph" (reserved). Got: {namespace!r}'
        )


def validate_op_namespace(op: Op) -> None:
    """Raise `InvalidNamespaceError` if an operation names a malformed namespace.

    Labels must be non-empty strings without dots. This applies to every kind
    of operation (the namespace of a get/put, the prefix of a search, the
    patterns of a list_namespaces); the stricter rules for writing (non-empty
    namespace, no reserved `langgraph` root) are applied by `put`.
    """
    if isinstance(op, (GetOp, PutOp)):
        _check_labels(op.namespace)
    elif isinstance(op, SearchOp):
        _check_labels(op.namespace_prefix)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            _check_labels(condition.path)


def _ensure_ttl(ttl_config: TTLConfig | None, ttl: float | None | NotProvided) -> float | None:
    if isinstance(ttl, NotProvided):
        return (ttl_config or {}).get("default_ttl")
    return ttl


def _ensure_refresh(ttl_config: TTLConfig | None, refresh_ttl: bool | None) -> bool:
    if refresh_ttl is None:
        return (ttl_config or {}).get("refresh_on_read", True)
    return refresh_ttl


def _list_namespaces_op(
    prefix: NamespacePath | None,
    suffix: NamespacePath | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> ListNamespacesOp:
    conditions = []
    if prefix:
        conditions.append(MatchCondition(match_type="prefix", path=tuple(prefix)))
    if suffix:
        conditions.append(MatchCondition(match_type="suffix", path=tuple(suffix)))
    return ListNamespacesOp(
        match_conditions=tuple(conditions) or None,
        max_depth=max_depth,
        limit=limit,
        offset=offset,
    )


class BaseStore(ABC):
    """Interface of every store: `batch`/`abatch` plus convenience methods."""

    supports_ttl: bool = False
    ttl_config: TTLConfig | None = None

    __slots__ = ("__weakref__",)

    @abstractmethod
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations in order; one result per operation."""

    @abstractmethod
    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async `batch`."""

    # -- builders shared by the sync and async methods --

    def _put_op(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None,
        ttl: float | None | NotProvided,
    ) -> PutOp:
        _validate_namespace(namespace)
        if not isinstance(value, Mapping):
            raise InvalidConfigError(f"store values must be dicts, got {type(value).__name__}")
        if ttl not in (None, NOT_PROVIDED) and not self.supports_ttl:
            raise UnsupportedOperationError(
                f"{type(self).__name__} does not support TTL (ttl={ttl!r})"
            )
        return PutOp(namespace, str(key), dict(value), index, _ensure_ttl(self.ttl_config, ttl))

    # -- sync --

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """The item at `namespace`/`key`, or None."""
        return self.batch(
            [GetOp(namespace, str(key), _ensure_refresh(self.ttl_config, refresh_ttl))]
        )[0]  # type: ignore[return-value]

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Items under `namespace_prefix` matching `filter`, ranked by `query` if given.

        Filter values match by equality, or by operator dicts such as
        `{"score": {"$gte": 3}}` (`$eq $ne $gt $gte $lt $lte`).
        """
        op = SearchOp(
            namespace_prefix,
            filter,
            limit,
            offset,
            query,
            _ensure_refresh(self.ttl_config, refresh_ttl),
        )
        return self.batch([op])[0]  # type: ignore[return-value]

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
    ) -> None:
        """Store `value` (a dict); `index` picks the fields to embed, `ttl` is in minutes."""
        self.batch([self._put_op(namespace, key, value, index, ttl)])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        """Remove an item (no error if absent)."""
        self.batch([PutOp(namespace, str(key), None, ttl=None)])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Distinct namespaces matching the prefix/suffix patterns (`"*"` = any label)."""
        op = _list_namespaces_op(prefix, suffix, max_depth, limit, offset)
        return self.batch([op])[0]  # type: ignore[return-value]

    # -- async --

    async def _arun_op(self, op: Op) -> Any:
        """Run one operation for an async convenience method; subclasses may
        route it elsewhere (`AsyncBatchedBaseStore` queues it for a batch)."""
        return (await self.abatch([op]))[0]

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """Async `get`."""
        op = GetOp(namespace, str(key), _ensure_refresh(self.ttl_config, refresh_ttl))
        return await self._arun_op(op)

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        """Async `search`."""
        op = SearchOp(
            namespace_prefix,
            filter,
            limit,
            offset,
            query,
            _ensure_refresh(self.ttl_config, refresh_ttl),
        )
        return await self._arun_op(op)

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
    ) -> None:
        """Async `put`."""
        await self._arun_op(self._put_op(namespace, key, value, index, ttl))

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        """Async `delete`."""
        await self._arun_op(PutOp(namespace, str(key), None, ttl=None))

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Async `list_namespaces`."""
        return await self._arun_op(_list_namespaces_op(prefix, suffix, max_depth, limit, offset))


def namespace_matches(namespace: tuple[str, ...], condition: MatchCondition) -> bool:
    """Whether a namespace matches a prefix/suffix pattern (`"*"` matches any label)."""
    if condition.match_type not in ("prefix", "suffix"):
        raise InvalidFilterError(
            f"match_type must be 'prefix' or 'suffix', got {condition.match_type!r}"
        )
    path = tuple(condition.path)
    if len(path) > len(namespace):
        return False
    window = (
        namespace[: len(path)]
        if condition.match_type == "prefix"
        else namespace[len(namespace) - len(path) :]
    )
    return all(p == "*" or p == label for p, label in zip(path, window))


def texts_to_embed(ops: Sequence[Op], index: IndexConfig | None) -> list[tuple[int, str, str]]:
    """(op position, field path, text) for every put that is indexed."""
    if index is None:
        return []
    found = []
    for position, op in enumerate(ops):
        if not isinstance(op, PutOp) or op.value is None or op.index is False:
            continue
        for path in op.index or index.get("fields") or ["$"]:
            for text in get_text_at_path(op.value, path):
                found.append((position, path, text))
    return found


def vectors_by_field(
    texts: list[tuple[int, str, str]], vectors: list[list[float]]
) -> dict[int, list[tuple[str, list[float]]]]:
    """Each put's (field name, vector) pairs. A path that found several texts
    (`tags[*]`) names them `tags[*].0`, `tags[*].1`..., as the reference does,
    so that every stored field name is distinct."""
    counts: dict[tuple[int, str], int] = {}
    for position, path, _ in texts:
        counts[(position, path)] = counts.get((position, path), 0) + 1
    seen: dict[tuple[int, str], int] = {}
    embedded: dict[int, list[tuple[str, list[float]]]] = {}
    for (position, path, _), vector in zip(texts, vectors):
        field = path
        if counts[(position, path)] > 1:
            n = seen.get((position, path), 0)
            seen[(position, path)] = n + 1
            field = f"{path}.{n}"
        embedded.setdefault(position, []).append((field, vector))
    return embedded


def queries_to_embed(ops: Sequence[Op], index: IndexConfig | None) -> list[str]:
    """The distinct search queries of a batch that need a query vector."""
    if index is None:
        return []
    return sorted({op.query for op in ops if isinstance(op, SearchOp) and op.query})


def cosine_similarities(query: list[float], vectors: list[list[float]]) -> list[float]:
    """Cosine similarity of `query` with each vector (numpy when installed)."""
    if not vectors:
        return []
    try:
        import numpy as np
    except ImportError:
        norm_q = math.sqrt(sum(x * x for x in query)) or 1.0
        scores = []
        for vector in vectors:
            norm_v = math.sqrt(sum(x * x for x in vector)) or 1.0
            scores.append(sum(a * b for a, b in zip(query, vector)) / (norm_q * norm_v))
        return scores
    matrix = np.asarray(vectors, dtype=float)
    q = np.asarray(query, dtype=float)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(q) or 1.0)
    norms[norms == 0] = 1.0
    return (matrix @ q / norms).tolist()


def now_utc() -> datetime:
    """Timestamp used for `created_at` / `updated_at`."""
    return datetime.now(timezone.utc)
