"""The small interface every store implements, and the errors it raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Document = dict[str, Any]


class StoreError(RuntimeError):
    """The store cannot do what was asked (a bad argument, a failed disk, a bad data folder)."""


class StoreLocked(StoreError):
    """Another process owns the data folder: its lock file is held."""


class StoreCorrupt(StoreError):
    """The data folder holds something that cannot be read back without losing data."""


class Conflict(StoreError):
    """A write broke a rule the caller set: a unique field already taken, an id already used,
    a missing document or an `expect` that no longer holds. Nothing was written."""


class Batch(Protocol):
    """Writes collected in order and applied together: all of them, or none.

    Each write sees the ones before it in the same batch. An update or delete of a missing
    document, or one whose `expect` does not hold, rejects the whole batch with Conflict."""

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document (with its own string `id`, or a new random one); return its id."""
        ...

    def update(
        self,
        table: str,
        doc_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> None:
        """Merge changes into a document whose fields equal `expect`."""
        ...

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> None:
        """Remove a document whose fields equal `expect`."""
        ...

    def delete_where(self, table: str, **equals: Any) -> None:
        """Remove every document whose fields equal the given values (none may match)."""
        ...


class Store(Protocol):
    """A document store: named tables of JSON documents, each with a string `id`.

    Synchronous and thread-safe: any thread may call any method at any time (views call it
    through `anyio.to_thread`). A write method returns only once the write is durable (on disk
    for the embedded store, committed for a database); a write that raises left nothing.
    Documents are plain JSON (dict, list, str, int, float, bool, None); what is returned is
    the caller's own copy. Field matching is exact JSON equality (True is not 1) and a missing
    field equals None. Fields declared indexed (by a migration) are found without a scan, and
    a unique one refuses a second document with the same non-null value (Conflict). Which
    fields are indexed never changes a result, only its cost."""

    @property
    def schema_version(self) -> int:
        """The number of the last migration applied to the data."""
        ...

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document (with its own string `id`, or a new random one); return its id."""
        ...

    def get(self, table: str, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        ...

    def find(self, table: str, /, **equals: Any) -> list[Document]:
        """Documents whose fields equal the given values (all documents when none given)."""
        ...

    def find_one(self, table: str, /, **equals: Any) -> Document | None:
        """One document whose fields equal the given values (the least id), or None."""
        ...

    def count(self, table: str, /, **equals: Any) -> int:
        """How many documents have fields equal to the given values."""
        ...

    def page(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str = "id",
        descending: bool = False,
        after: Mapping[str, Any] | None = None,
        limit: int = 100,
    ) -> list[Document]:
        """At most `limit` documents matching `where`, ordered by one field then id, starting
        after the document `after` (the last of the previous page).

        Order across JSON types: null, booleans, numbers, strings, then anything else."""
        ...

    def update(
        self,
        table: str,
        doc_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        """Merge changes into a document (its `id` never changes); False when there is no such
        document or its fields do not equal `expect`."""
        ...

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> bool:
        """Remove a document; False when there was none or its fields do not equal `expect`."""
        ...

    def delete_where(self, table: str, /, **equals: Any) -> int:
        """Remove every document whose fields equal the given values; return how many."""
        ...

    def batch(self) -> BatchContext:
        """A batch to fill in a `with` block: applied, durably and as one, when the block ends
        without an exception (Conflict if a write in it fails: then nothing is applied)."""
        ...

    def close(self) -> None:
        """Make everything durable and release the store (and its data folder)."""
        ...


class BatchContext(Protocol):
    """What `Store.batch()` returns: a context manager giving a Batch."""

    def __enter__(self) -> Batch: ...

    def __exit__(self, kind: object, value: object, traceback: object) -> None: ...
