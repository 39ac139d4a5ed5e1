"""Persistence behind one small interface; TinyDB is the embedded default."""

from __future__ import annotations

from pathlib import Path

from hub.store.base import Document, Store
from hub.store.tinydb_store import TinyDBStore


def open_store(path: Path) -> Store:
    """Open the store file, creating it and its folder when missing."""
    return TinyDBStore(path)


__all__ = ["Document", "Store", "TinyDBStore", "open_store"]
