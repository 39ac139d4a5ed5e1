"""Writes as the embedded store applies them, and the batch that collects them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.store.base import StoreError
from hub.store.tables import Op, check_table, clean, new_id


class StoreBatch:
    """Writes collected in a `with` block, applied together when it ends."""

    def __init__(self, commit: Callable[[list[Op]], object]) -> None:
        self._commit = commit
        self._ops: list[Op] = []

    def __enter__(self) -> StoreBatch:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None and self._ops:
            self._commit(self._ops)

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document (with its own string `id`, or a new random one); return its id."""
        op = insert_op(table, doc)
        self._ops.append(op)
        return str(op[2]["id"])

    def update(
        self,
        table: str,
        doc_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> None:
        """Merge changes into a document whose fields equal `expect`."""
        self._ops.append(update_op(table, doc_id, changes, expect))

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> None:
        """Remove a document whose fields equal `expect`."""
        check_table(table)
        self._ops.append(("delete", table, doc_id, None if expect is None else clean(expect)))

    def delete_where(self, table: str, **equals: Any) -> None:
        """Remove every document whose fields equal the given values (none may match)."""
        check_table(table)
        self._ops.append(("delete_where", table, clean(equals, "delete_where")))


def insert_op(table: str, doc: Mapping[str, Any]) -> Op:
    """An insert, its document cleaned and given an id."""
    check_table(table)
    cleaned = clean(doc)
    doc_id = cleaned.setdefault("id", new_id())
    if not isinstance(doc_id, str) or not doc_id:
        raise StoreError(f"{table}: a document id is a non-empty string, not {doc_id!r}")
    return ("insert", table, cleaned)


def update_op(
    table: str, doc_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any] | None
) -> Op:
    """An update, its changes cleaned (a change of `id` is dropped)."""
    check_table(table)
    cleaned = clean(changes, "changes")
    cleaned.pop("id", None)
    return ("update", table, doc_id, cleaned, None if expect is None else clean(expect, "expect"))
