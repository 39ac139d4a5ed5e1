"""The snapshot: every table in TinyDB's JSON format, replaced whole and atomically.

`{"meta": {"1": {...}}, "<table>": {"1": {<document with its "id">}, ...}, ...}`: the file
`tinydb.TinyDB(path)` reads, with the store's ids in each document's `id` field (TinyDB's own
numeric keys are only positions). The `meta` row holds the schema version, the number of the
last journal record folded in, and the declared indexes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.store.base import Document, StoreCorrupt
from hub.store.files import create_private
from hub.store.journal import sync_folder
from hub.store.tables import META_TABLE

# Documents encoded per write: each is its own small json.dumps, so a snapshot written in a
# background thread gives the GIL back to writers between documents.
_CHUNK = 512


@dataclass
class Snapshot:
    """What a snapshot holds."""

    docs: dict[str, dict[str, Document]] = field(default_factory=dict)
    version: int = 0
    seq: int = 0
    indexes: dict[str, dict[str, bool]] = field(default_factory=dict)


def temp_path(path: Path) -> Path:
    """Where a snapshot is written before it replaces the old one."""
    return path.with_name(path.name + ".tmp")


def read_snapshot(path: Path) -> Snapshot:
    """The snapshot at `path` (an empty one when there is no file)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Snapshot()
    try:
        data = json.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        meta_rows = list(data.get(META_TABLE, {}).values())
        meta: dict[str, Any] = meta_rows[0] if meta_rows else {}
        docs = {
            table: {doc["id"]: doc for doc in rows.values()}
            for table, rows in data.items()
            if table != META_TABLE
        }
        indexes = meta.get("indexes", {})
        return Snapshot(docs, int(meta.get("schema_version", 0)), int(meta.get("seq", 0)), indexes)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreCorrupt(f"{path}: not a store snapshot ({exc!r})") from exc


def write_snapshot(path: Path, snapshot: Snapshot) -> None:
    """Replace the snapshot at `path`: a temp file written, fsynced and renamed over it, and
    the folder fsynced, so the file is the old one or the new one, whole, at any moment.

    The temp file is created anew with mode 0600 (a leftover one could have any mode), so the
    snapshot is never readable by others, whatever the umask."""
    meta = {"schema_version": snapshot.version, "seq": snapshot.seq, "indexes": snapshot.indexes}
    temp = temp_path(path)
    temp.unlink(missing_ok=True)
    with open(create_private(temp), "w", encoding="utf-8") as out:
        # One document a line: a snapshot can be read and grepped as it is.
        out.write(f'{{"{META_TABLE}": {{"1": {_dumps(meta)}}}')
        for table, docs in snapshot.docs.items():
            out.write(f",\n{_dumps(table)}: {{")
            parts = []
            for position, doc in enumerate(docs.values(), start=1):
                parts.append(f'{"," if position > 1 else ""}\n"{position}": {_dumps(doc)}')
                if len(parts) >= _CHUNK:
                    out.write("".join(parts))
                    parts.clear()
            out.write("".join(parts) + "}")
        out.write("}\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    sync_folder(path.parent)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
