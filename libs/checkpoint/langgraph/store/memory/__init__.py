"""`InMemoryStore`: a store in process memory, with optional semantic search and TTL."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Literal

from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    _ensure_refresh,
    compile_filter,
    cosine_similarities,
    ensure_embeddings,
    get_text_at_path,
    namespace_matches,
    now_utc,
    queries_to_embed,
    texts_to_embed,
    tokenize_path,
    validate_op_namespace,
    vectors_by_field,
)
from langgraph.store.base.embed import aembed_query, aembed_texts, index_text_paths

__all__ = [
    "BaseStore",
    "GetOp",
    "IndexConfig",
    "InMemoryStore",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "PutOp",
    "SearchItem",
    "SearchOp",
    "ensure_embeddings",
    "get_text_at_path",
    "tokenize_path",
]


class InMemoryStore(BaseStore):
    """Store kept in dictionaries; thread safe.

    With `index={"dims": ..., "embed": ..., "fields": [...]}`, `search(query=...)`
    ranks items by cosine similarity of their embedded fields to the query.
    With `ttl={"default_ttl": minutes, "refresh_on_read": True}`, items expire.
    """

    supports_ttl = True

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        self._data: dict[tuple[str, ...], dict[str, Item]] = {}
        # (namespace, key) -> [(field path, vector), ...]
        self._vectors: dict[tuple[tuple[str, ...], str], list[tuple[str, list[float]]]] = {}
        # (namespace, key) -> (expires at, ttl minutes)
        self._expiry: dict[tuple[tuple[str, ...], str], tuple[datetime, float]] = {}
        self._lock = threading.RLock()
        self.ttl_config = ttl
        self.index_config: IndexConfig | None = None
        self.embeddings = None
        if index:
            self.index_config = {**index, "fields": index_text_paths(index)}
            self.embeddings = ensure_embeddings(index.get("embed"))

    # -- single operations without the batch machinery (the common case) --

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        op = GetOp(namespace, str(key), _ensure_refresh(self.ttl_config, refresh_ttl))
        validate_op_namespace(op)
        with self._lock:
            self._drop_expired()
            return self._get(op)

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | None | NotProvided = NOT_PROVIDED,
    ) -> None:
        op = self._put_op(namespace, key, value, index, ttl)
        vectors = []
        if self.embeddings is not None:  # embedded before the lock is taken
            texts = texts_to_embed([op], self.index_config)
            if texts:
                embedded = self.embeddings.embed_documents([t for _, _, t in texts])
                vectors = vectors_by_field(texts, embedded).get(0, [])
        with self._lock:  # _put_op validated the namespace (the stricter put rules)
            self._drop_expired()
            self._put(op, vectors)

    # -- batch --

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = self._checked(ops)
        if self.embeddings is None:
            return self._apply(ops, [], [], {})
        texts = texts_to_embed(ops, self.index_config)
        vectors = self.embeddings.embed_documents([t for _, _, t in texts]) if texts else []
        queries = queries_to_embed(ops, self.index_config)
        query_vectors = {q: self.embeddings.embed_query(q) for q in queries} if queries else {}
        return self._apply(ops, texts, vectors, query_vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = self._checked(ops)
        if self.embeddings is None:
            return self._apply(ops, [], [], {})
        texts = texts_to_embed(ops, self.index_config)
        vectors = await aembed_texts(self.embeddings, [t for _, _, t in texts]) if texts else []
        query_vectors = {}
        for query in queries_to_embed(ops, self.index_config):
            query_vectors[query] = await aembed_query(self.embeddings, query)
        return self._apply(ops, texts, vectors, query_vectors)

    @staticmethod
    def _checked(ops: Iterable[Op]) -> list[Op]:
        """The operations as a list, after rejecting malformed ones up front."""
        ops = list(ops)
        for op in ops:
            if not isinstance(op, (GetOp, SearchOp, ListNamespacesOp, PutOp)):
                raise ValueError(f"unknown store operation: {op!r}")
            validate_op_namespace(op)
            if isinstance(op, SearchOp):
                compile_filter(op.filter)  # raises if malformed
        return ops

    def _apply(
        self,
        ops: Sequence[Op],
        texts: list[tuple[int, str, str]],
        vectors: list[list[float]],
        query_vectors: dict[str, list[float]],
    ) -> list[Result]:
        embedded = vectors_by_field(texts, vectors)
        results: list[Result] = [None] * len(ops)
        with self._lock:
            self._drop_expired()
            # Reads see the store as it was before this batch; its writes land
            # afterwards, in order (so the last write to a key wins).
            writes = []
            for position, op in enumerate(ops):
                if isinstance(op, GetOp):
                    results[position] = self._get(op)
                elif isinstance(op, SearchOp):
                    results[position] = self._search(op, query_vectors)
                elif isinstance(op, ListNamespacesOp):
                    results[position] = self._list_namespaces(op)
                else:
                    writes.append((position, op))
            for position, op in writes:
                self._put(op, embedded.get(position, []))
        return results

    # -- operations (called with the lock held) --

    def _drop_expired(self) -> None:
        if not self._expiry:
            return
        now = now_utc()
        for (namespace, key), (expires_at, _) in list(self._expiry.items()):
            if expires_at <= now:
                self._remove(namespace, key)

    def _remove(self, namespace: tuple[str, ...], key: str) -> None:
        items = self._data.get(namespace)
        if items is not None:
            items.pop(key, None)
            if not items:
                del self._data[namespace]
        self._vectors.pop((namespace, key), None)
        self._expiry.pop((namespace, key), None)

    def _refresh(self, namespace: tuple[str, ...], key: str) -> None:
        entry = self._expiry.get((namespace, key))
        if entry is not None:
            minutes = entry[1]
            self._expiry[(namespace, key)] = (now_utc() + timedelta(minutes=minutes), minutes)

    def _get(self, op: GetOp) -> Item | None:
        item = self._data.get(tuple(op.namespace), {}).get(op.key)
        if item is not None and op.refresh_ttl:
            self._refresh(item.namespace, item.key)
        return item

    def _put(self, op: PutOp, vectors: list[tuple[str, list[float]]]) -> None:
        namespace = tuple(op.namespace)
        if op.value is None:
            self._remove(namespace, op.key)
            return
        now = now_utc()
        previous = self._data.get(namespace, {}).get(op.key)
        self._data.setdefault(namespace, {})[op.key] = Item(
            value=op.value,
            key=op.key,
            namespace=namespace,
            created_at=previous.created_at if previous else now,
            updated_at=now,
        )
        if op.index is not False and self.index_config is not None:
            self._vectors[(namespace, op.key)] = vectors
        else:
            self._vectors.pop((namespace, op.key), None)
        if op.ttl is not None:
            self._expiry[(namespace, op.key)] = (now + timedelta(minutes=op.ttl), op.ttl)
        else:
            self._expiry.pop((namespace, op.key), None)

    def _search(self, op: SearchOp, query_vectors: dict[str, list[float]]) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        matches = compile_filter(op.filter)
        found = (
            item
            for namespace, items in self._data.items()
            if namespace[: len(prefix)] == prefix
            for item in items.values()
            if matches(item.value)
        )
        ranked: list[tuple[Item, float | None]]
        if op.query and op.query in query_vectors:
            candidates = list(found)
            scores = self._scores(candidates, query_vectors[op.query])
            ranked = sorted(  # stable: ties keep insertion order; unembedded items last
                zip(candidates, scores),
                key=lambda pair: float("-inf") if pair[1] is None else pair[1],
                reverse=True,
            )
        elif op.offset >= 0 and op.limit >= 0:  # insertion order; stop once the page is full
            ranked = [(item, None) for item in islice(found, op.offset + op.limit)]
        else:
            ranked = [(item, None) for item in found]
        page = ranked[op.offset : op.offset + op.limit]
        if op.refresh_ttl:
            for item, _ in page:
                self._refresh(item.namespace, item.key)
        return [
            SearchItem(
                namespace=item.namespace,
                key=item.key,
                value=item.value,
                created_at=item.created_at,
                updated_at=item.updated_at,
                score=score,
            )
            for item, score in page
        ]

    def _scores(self, items: list[Item], query_vector: list[float]) -> list[float | None]:
        """Best cosine similarity of each item's vectors to the query (None: not embedded)."""
        owners: list[int] = []
        vectors: list[list[float]] = []
        for position, item in enumerate(items):
            for _, vector in self._vectors.get((item.namespace, item.key), ()):
                owners.append(position)
                vectors.append(vector)
        scores: list[float | None] = [None] * len(items)
        for position, score in zip(owners, cosine_similarities(query_vector, vectors)):
            best = scores[position]
            if best is None or score > best:
                scores[position] = score
        return scores

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = [
            ns
            for ns in self._data
            if all(namespace_matches(ns, c) for c in op.match_conditions or ())
        ]
        if op.max_depth is not None:
            namespaces = [ns[: op.max_depth] for ns in namespaces]
        unique = sorted(set(namespaces))
        return unique[op.offset : op.offset + op.limit]
