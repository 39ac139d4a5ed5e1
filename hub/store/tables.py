"""The documents in memory: tables by id, declared indexes, and writes applied all or none."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Iterator, Mapping
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
    if value is None or isinstance(value, bool | str):
        return value
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


def key(value: Any) -> tuple[int, Any]:
    """A hashable, ordered stand-in for a JSON value: equal exactly when the values are equal
    as JSON (True is not 1), ordered null < booleans < numbers < strings < the rest."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def new_id() -> str:
    """A random document id (96 bits)."""
    return secrets.token_urlsafe(12)


def check_table(table: str) -> None:
    """Refuse a table name the store cannot keep."""
    if not isinstance(table, str) or not table or table == META_TABLE:
        raise StoreError(f"not a table name for documents: {table!r}")


class Index:
    """The ids of a table's documents by the key of one field's value."""

    def __init__(self, field: str, unique: bool) -> None:
        self.field = field
        self.unique = unique
        self.entries: dict[tuple[int, Any], set[str]] = {}

    def add(self, doc_id: str, doc: Document) -> None:
        """Enter a document."""
        self.entries.setdefault(key(doc.get(self.field)), set()).add(doc_id)

    def remove(self, doc_id: str, doc: Document) -> None:
        """Take a document out."""
        k = key(doc.get(self.field))
        ids = self.entries.get(k)
        if ids is not None:
            ids.discard(doc_id)
            if not ids:
                del self.entries[k]

    def taken(self, doc_id: str, doc: Document) -> bool:
        """Whether another document already holds this document's non-null value."""
        value = doc.get(self.field)
        if not self.unique or value is None:
            return False
        return any(other != doc_id for other in self.entries.get(key(value), ()))


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
            if index.taken(doc_id, doc):
                raise StoreError(f"{table}.{field} is not unique: {doc.get(field)!r} repeats")
            index.add(doc_id, doc)
        self.indexes.setdefault(table, {})[field] = index

    def put(self, table: str, doc_id: str, doc: Document) -> None:
        """Store a document under its id, replacing any; Conflict on a unique field taken."""
        indexes = self.indexes.get(table, {}).values()
        for index in indexes:
            if index.taken(doc_id, doc):
                raise Conflict(f"{table}.{index.field}: {doc.get(index.field)!r} is taken")
        docs = self.docs.setdefault(table, {})
        old = docs.get(doc_id)
        for index in indexes:
            if old is not None:
                index.remove(doc_id, old)
            index.add(doc_id, doc)
        docs[doc_id] = doc

    def remove(self, table: str, doc_id: str) -> None:
        """Forget a document (there must be one)."""
        old = self.docs[table].pop(doc_id)
        for index in self.indexes.get(table, {}).values():
            index.remove(doc_id, old)

    def ids(self, table: str, equals: Mapping[str, Any]) -> Iterator[str]:
        """The ids of documents whose fields equal the values, through the narrowest index."""
        docs = self.docs.get(table, {})
        wanted = {field: key(value) for field, value in equals.items()}
        candidates: Iterable[str] = docs
        if "id" in wanted:
            k = wanted.pop("id")
            candidates = [k[1]] if k[0] == 3 and k[1] in docs else []
        else:
            indexes = self.indexes.get(table, {})
            found: list[set[str]] = [
                indexes[f].entries.get(k, set()) for f, k in wanted.items() if f in indexes
            ]
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
                self.put(effect[1], effect[2], effect[3])
            elif effect[2] in self.docs.get(effect[1], {}):
                self.remove(effect[1], effect[2])
