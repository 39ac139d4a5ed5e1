"""The embedded default store: one TinyDB JSON file, guarded by a lock."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.table import Document as TinyDocument

from hub.store.base import Document

SCHEMA_VERSION = 1


class TinyDBStore:
    """A Store on a TinyDB file; ids are random strings kept in the `id` field."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # TinyDB is not thread-safe and Starlette runs sync work in threads.
        self._lock = threading.Lock()
        self._db = TinyDB(path, ensure_ascii=False, indent=None)
        meta = self._db.table("meta")
        if not meta.all():
            meta.insert({"schema_version": SCHEMA_VERSION})

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the file."""
        with self._lock:
            rows = self._db.table("meta").all()
        return int(rows[0]["schema_version"]) if rows else 0

    @staticmethod
    def _plain(doc: TinyDocument) -> Document:
        return dict(doc)

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document; return its new id."""
        doc_id = secrets.token_urlsafe(12)
        with self._lock:
            self._db.table(table).insert({**doc, "id": doc_id})
        return doc_id

    def get(self, table: str, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        with self._lock:
            found = self._db.table(table).get(Query().id == doc_id)
        if isinstance(found, list):
            found = found[0] if found else None
        return None if found is None else self._plain(found)

    def find(self, table: str, **equals: Any) -> list[Document]:
        """Documents whose fields equal the given values (all documents when none given)."""
        with self._lock:
            rows = self._db.table(table).all()
        return [
            self._plain(row)
            for row in rows
            if all(row.get(key) == value for key, value in equals.items())
        ]

    def update(self, table: str, doc_id: str, changes: Mapping[str, Any]) -> bool:
        """Merge changes into a document; False when there is no such document."""
        fields = {k: v for k, v in changes.items() if k != "id"}
        with self._lock:
            return bool(self._db.table(table).update(fields, Query().id == doc_id))

    def delete(self, table: str, doc_id: str) -> bool:
        """Remove a document; False when there was none."""
        with self._lock:
            return bool(self._db.table(table).remove(Query().id == doc_id))

    def close(self) -> None:
        """Flush and release the store."""
        with self._lock:
            self._db.close()
