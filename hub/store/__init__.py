"""Persistence behind one small interface; TinyDB (made durable) is the embedded default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hub.store.base import (
    Batch,
    Conflict,
    Document,
    Store,
    StoreCorrupt,
    StoreError,
    StoreLocked,
)
from hub.store.files import private_folder
from hub.store.lock import FolderLock, lock_path
from hub.store.migrations import MIGRATIONS, Migration
from hub.store.tinydb_store import SNAPSHOT_BYTES, TinyDBStore


def open_store(
    path: Path,
    *,
    snapshot_bytes: int = SNAPSHOT_BYTES,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Store:
    """Open the store whose snapshot is `path` (creating its folder), owning that folder
    until closed: StoreLocked if another process has it open."""
    return TinyDBStore(path, snapshot_bytes=snapshot_bytes, migrations=migrations)


def check_unlocked(path: Path) -> None:
    """StoreLocked (naming the lock file) if another process owns the store at `path`."""
    private_folder(path.parent)
    FolderLock(lock_path(path)).release()


__all__ = [
    "Batch",
    "Conflict",
    "Document",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreLocked",
    "TinyDBStore",
    "check_unlocked",
    "open_store",
]
