"""The documents in memory: tables by id, declared indexes, and writes applied all or none."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

from hub.store.base import Conflict, Document, StoreError

# The store's own bookkeeping (schema version, journal position, indexes) in the snapshot.
META_TABLE = "meta"
# What a write asks for, in the order given; ("insert", table, doc),
# ("update", table, id, changes, expect), ("delete", table, id, expect),
# ("delete_where", table, equals). Documents in them are already clean copies.
Op = tuple[Any, ...]
# What a write did, as the journal keeps it: ["put", table, id, doc] or ["del", table, id].
# Replaying effects needs no rule (unique fields, expectations): they were checked once.
Effect = list[Any]


def clean(value: Any, where: str = "document") -> Any:
    """A copy of a JSON value, refusing anything JSON cannot hold exactly."""
    if value is None or type(value) is str or type(value) is bool:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(f"{where}: {value!r} is not a JSON number")
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise StoreError(f"{where}: key {k!r} is not a string")
            out[k] = clean(v, f"{where}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [clean(v, f"{where}[]") for v in value]
    raise StoreError(f"{where}: {type(value).__name__} is not JSON")


def copy(value: Any) -> Any:
    """A copy of a clean JSON value that shares nothing mutable with it."""
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy(v) for v in value]
    return value


def key(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value, equal exactly when the values are equal as JSON
    (True is not 1, "1" is not 1). A string stands for itself: most indexed values are."""
    kind = type(value)
    if kind is str:
        same: str = value
        return same
    if kind is int or kind is float:
        return (2, value)
    if kind is bool:
        return (1, value)
    if value is None:
        return _NULL
    return (4, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


_NULL = (0, 0)


def order_key(value: Any) -> tuple[int, Any]:
    """An ordered stand-in for a JSON value: null < booleans < numbers < strings < the rest."""
    k = key(value)
    return (3, k) if type(k) is str else k  # type: ignore[return-value]


def new_id() -> str:
    """A random document id (96 bits)."""
    return secrets.token_urlsafe(12)


def check_table(table: str) -> None:
    """Refuse a table name the store cannot keep."""
    if not isinstance(table, str) or not table or table == META_TABLE:
        raise StoreError(f"not a table name for documents: {table!r}")


class Index:
    """The ids of a table's documents by the key of one field's value (one id is kept as a
    string, more as a set: most values, and every value of a unique field, have one)."""

    def __init__(self, field: str, unique: bool) -> None:
        self.field = field
        self.unique = unique
        self.entries: dict[Hashable, str | set[str]] = {}

    def add(self, doc_id: str, k: Hashable) -> None:
        """Enter a document under a key."""
        ids = self.entries.get(k)
        if ids is None:
            self.entries[k] = doc_id
        elif type(ids) is str:
            self.entries[k] = {ids, doc_id}
        else:
            ids.add(doc_id)  # type: ignore[union-attr]

    def remove(self, doc_id: str, k: Hashable) -> None:
        """Take a document out."""
        ids = self.entries.get(k)
        if ids == doc_id:
            del self.entries[k]
        elif isinstance(ids, set):
            ids.discard(doc_id)
            if len(ids) == 1:
                self.entries[k] = next(iter(ids))

    def get(self, k: Hashable) -> set[str] | tuple[str, ...]:
        """The ids under a key."""
        ids = self.entries.get(k, ())
        return (ids,) if type(ids) is str else ids  # type: ignore[return-value]

    def taken(self, doc_id: str, k: Hashable) -> bool:
        """Whether another document already holds this non-null key in a unique index."""
        if not self.unique or k is _NULL:
            return False
        ids = self.entries.get(k)
        return ids is not None and ids != doc_id


class Tables:
    """Every table's documents by id, with the declared indexes kept up to date.

    Not thread-safe: the store calls it under its lock. Stored documents are never changed in
    place (an update stores a new dict), so a shallow copy of the tables is a consistent view."""

    def __init__(
        self,
        docs: dict[str, dict[str, Document]],
        declared: Mapping[str, Mapping[str, bool]],
    ) -> None:
        self.docs = docs
        self.indexes: dict[str, dict[str, Index]] = {}
        for table, fields in declared.items():
            for field, unique in fields.items():
                self.add_index(table, field, unique)

    def declared(self) -> dict[str, dict[str, bool]]:
        """Each table's indexed fields, True for a unique one."""
        return {t: {f: i.unique for f, i in by.items()} for t, by in self.indexes.items() if by}

    def add_index(self, table: str, field: str, unique: bool) -> None:
        """Index a field of a table; StoreError if a unique one is already broken."""
        index = Index(field, unique)
        for doc_id, doc in self.docs.get(table, {}).items():
            k = key(doc.get(field))
            if index.taken(doc_id, k):
                raise StoreError(f"{table}.{field} is not unique: {doc.get(field)!r} repeats")
            index.add(doc_id, k)
        self.indexes.setdefault(table, {})[field] = index

    def put(self, table: str, doc_id: str, doc: Document, check: bool = True) -> None:
        """Store a document under its id, replacing any; Conflict on a unique field taken
        (unless `check` is off: for changes checked when first applied)."""
        docs = self.docs.setdefault(table, {})
        old = docs.get(doc_id)
        indexes = self.indexes.get(table)
        if indexes:
            moves = []
            for index in indexes.values():
                k = key(doc.get(index.field))
                was = None if old is None else key(old.get(index.field))
                if old is None or k != was:
                    if check and index.taken(doc_id, k):
                        raise Conflict(f"{table}.{index.field}: {doc.get(index.field)!r} is taken")
                    moves.append((index, was, k))
            for index, was, k in moves:
                if old is not None:
                    index.remove(doc_id, was)
                index.add(doc_id, k)
        docs[doc_id] = doc

    def remove(self, table: str, doc_id: str) -> None:
        """Forget a document (there must be one)."""
        old = self.docs[table].pop(doc_id)
        for index in self.indexes.get(table, {}).values():
            index.remove(doc_id, key(old.get(index.field)))

    def ids(self, table: str, equals: Mapping[str, Any]) -> Iterator[str]:
        """The ids of documents whose fields equal the values, through the narrowest index."""
        docs = self.docs.get(table, {})
        wanted: dict[str, Hashable] = {field: key(value) for field, value in equals.items()}
        candidates: Iterable[str] = docs
        if "id" in wanted:
            k = wanted.pop("id")
            candidates = [k] if type(k) is str and k in docs else []
        else:
            indexes = self.indexes.get(table, {})
            found = [indexes[f].get(k) for f, k in wanted.items() if f in indexes]
            if found:
                narrowest = min(found, key=len)
                candidates = list(narrowest)
        for doc_id in candidates:
            doc = docs[doc_id]
            if all(key(doc.get(field)) == k for field, k in wanted.items()):
                yield doc_id

    def matches(self, doc: Document, expect: Mapping[str, Any] | None) -> bool:
        """Whether a document's fields equal the expected values."""
        return expect is None or all(key(doc.get(f)) == key(v) for f, v in expect.items())

    def apply(self, ops: Iterable[Op]) -> list[Effect]:
        """Apply writes in order, all or none: on Conflict every one already applied is undone."""
        effects: list[Effect] = []
        undo: list[tuple[str, str, Document | None]] = []
        try:
            for op in ops:
                for table, doc_id, doc in self._resolve(op):
                    docs = self.docs.get(table, {})
                    previous = docs.get(doc_id)
                    if doc is None:
                        self.remove(table, doc_id)
                        effects.append(["del", table, doc_id])
                    else:
                        self.put(table, doc_id, doc)
                        effects.append(["put", table, doc_id, doc])
                    undo.append((table, doc_id, previous))
        except BaseException:
            for table, doc_id, previous in reversed(undo):
                if previous is None:
                    self.remove(table, doc_id)
                else:
                    self.put(table, doc_id, previous)
            raise
        return effects

    def _resolve(self, op: Op) -> list[tuple[str, str, Document | None]]:
        """What one write does: (table, id, new document or None to remove)."""
        kind, table = op[0], op[1]
        docs = self.docs.get(table, {})
        if kind == "insert":
            doc = op[2]
            if doc["id"] in docs:
                raise Conflict(f"{table}: id {doc['id']!r} is taken")
            return [(table, doc["id"], doc)]
        if kind == "delete_where":
            return [(table, doc_id, None) for doc_id in list(self.ids(table, op[2]))]
        doc_id, old = op[2], docs.get(op[2])
        expect = op[4] if kind == "update" else op[3]
        if old is None:
            raise Conflict(f"{table}: no document {doc_id!r}")
        if not self.matches(old, expect):
            raise Conflict(f"{table}: document {doc_id!r} changed since it was read")
        if kind == "update":
            return [(table, doc_id, {**old, **op[3], "id": doc_id})]
        return [(table, doc_id, None)]

    def replay(self, effects: Iterable[Effect]) -> None:
        """Apply effects read back from the journal (already checked when first applied)."""
        for effect in effects:
            if effect[0] == "put":
                self.put(effect[1], effect[2], effect[3], check=False)
            elif effect[2] in self.docs.get(effect[1], {}):
                self.remove(effect[1], effect[2])
