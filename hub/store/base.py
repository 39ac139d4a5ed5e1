"""The small interface every store implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Document = dict[str, Any]


class Store(Protocol):
    """A document store: tables of JSON-like documents with string ids."""

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document; return its new id."""
        ...

    def get(self, table: str, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        ...

    def find(self, table: str, **equals: Any) -> list[Document]:
        """Documents whose fields equal the given values (all documents when none given)."""
        ...

    def update(self, table: str, doc_id: str, changes: Mapping[str, Any]) -> bool:
        """Merge changes into a document; False when there is no such document."""
        ...

    def delete(self, table: str, doc_id: str) -> bool:
        """Remove a document; False when there was none."""
        ...

    def close(self) -> None:
        """Flush and release the store."""
        ...
