"""A consistent copy of a store's data folder, taken while a hub may be running in it.

The running hub holds the folder's lock, so the copy takes none and changes nothing there.
It reads `hub.json`, then the journal segments, and keeps them only if they fit together: the
records after the snapshot's last one follow it without a gap, and `hub.json` is still the
file that was read (a snapshot renamed over it meanwhile may have removed segments the copy
needs: then it starts again). A torn last record (a write in progress) is cut, as opening does.
The copy is then opened with the store's own code in a folder inside the destination, folded
into one snapshot, and that single `hub.json` is what the destination receives.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from hub.store.base import StoreCorrupt, StoreError
from hub.store.files import FOLDER_MODE, private_folder, write_private
from hub.store.journal import Segment, read_segment, segment_paths, sync_folder
from hub.store.migrations import MIGRATIONS
from hub.store.snapshot import read_snapshot
from hub.store.tables import META_TABLE
from hub.store.tinydb_store import TinyDBStore

# Tries before giving up on a hub that writes a snapshot during every one (each is a snapshot
# of at least HUB_STORE_SNAPSHOT_BYTES of writes, so this is rarely more than a second try).
ATTEMPTS = 10
# Where the copy is opened and folded, inside the destination (same file system: one rename).
STAGING = ".hub-backup-in-progress"


class BackupError(StoreError):
    """The backup could not be made; nothing was left in the destination."""


@dataclass
class Backup:
    """What a backup holds and how it went."""

    path: Path  # the snapshot written
    seq: int  # the last journal record in it
    tables: dict[str, int] = field(default_factory=dict)  # documents per table
    schema_version: int = 0
    attempts: int = 1  # 1 unless a snapshot was written during a copy
    copied_bytes: int = 0  # snapshot and journal read from the data folder
    seconds: float = 0.0


@dataclass
class _Copy:
    """The store's files as copied into the staging folder in one attempt."""

    version: int
    last_seq: int  # the last whole record (the snapshot's last one when the journal has none)
    copied_bytes: int


def backup(store_path: Path, dest: Path) -> Backup:
    """Copy the store at `store_path` (its `hub.json`) into the new or empty folder `dest`
    as one checked snapshot, without its lock; BackupError (or OSError) when it cannot."""
    started = time.monotonic()
    _check_dest(dest)
    created = not dest.exists()
    # The copy holds what the data folder holds (password hashes, TOTP secrets): owner only.
    private_folder(dest)
    staging = dest / STAGING
    final = dest / store_path.name
    try:
        copy, attempts = _copy_consistent(store_path, staging)
        result = _verify(store_path, copy, staging / store_path.name)
        with open(staging / store_path.name, "rb") as folded:
            os.fsync(folded.fileno())
        os.replace(staging / store_path.name, final)
        sync_folder(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    result.path, result.attempts, result.copied_bytes = final, attempts, copy.copied_bytes
    result.seconds = time.monotonic() - started
    return result


def _check_dest(dest: Path) -> None:
    if dest.exists() or dest.is_symlink():
        if not dest.is_dir():
            raise BackupError(f"{dest}: exists and is not a folder (give a new or empty folder)")
        if any(dest.iterdir()):
            raise BackupError(f"{dest}: the folder is not empty (give a new or empty folder)")


def _copy_consistent(store_path: Path, staging: Path) -> tuple[_Copy, int]:
    for attempt in range(1, ATTEMPTS + 1):
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=FOLDER_MODE)
        copy = _copy_once(store_path, staging)
        if copy is not None:
            return copy, attempt
        time.sleep(0.01 * attempt)
    raise BackupError(
        f"{store_path.parent}: the hub wrote a snapshot during each of {ATTEMPTS} attempts "
        "to copy the store; try again when it is less busy"
    )


def _copy_once(store_path: Path, staging: Path) -> _Copy | None:
    """Copy the snapshot, then the journal, into `staging`; None when a snapshot replaced
    `hub.json` meanwhile (the copy may lack records). A mismatch with the same `hub.json`
    throughout is damage: StoreCorrupt."""
    folder, stem = store_path.parent, store_path.stem
    try:
        fd = os.open(store_path, os.O_RDONLY)
    except FileNotFoundError:
        raise BackupError(f"{store_path}: no store to back up (no such file)") from None
    try:
        with os.fdopen(os.dup(fd), "rb") as source:
            raw = source.read()
        write_private(staging / store_path.name, raw)
        copied = len(raw)
        segments = []
        for path in segment_paths(folder, stem):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return None  # listed, then removed by a snapshot that finished meanwhile
            write_private(staging / path.name, data)
            segments.append(read_segment(staging / path.name))
            copied += len(data)
        # The file held open keeps its inode from being reused: another inode at the path
        # now means a snapshot was renamed over it while the journal was read.
        if os.stat(store_path).st_ino != os.fstat(fd).st_ino:
            return None
    finally:
        os.close(fd)
    version, seq = _snapshot_position(store_path, raw)
    problem, last_seq = _journal_problem(segments, seq)
    if problem is not None:
        raise StoreCorrupt(f"{folder}: {problem}: the store is damaged, no backup made")
    tail = segments[-1] if segments else None
    if tail is not None and tail.good_bytes < tail.size:
        # A record being appended (or torn by a crash): never acknowledged, cut as opening does.
        with open(tail.path, "r+b") as torn:
            torn.truncate(tail.good_bytes)
    for segment in segments:
        if not segment.records:
            # Just rotated to: it holds nothing, and a store reopened on an empty segment
            # named after its next record cannot rotate (the name is taken) when it closes.
            segment.path.unlink()
    return _Copy(version, last_seq, copied)


def _snapshot_position(path: Path, raw: bytes) -> tuple[int, int]:
    """The schema version and last record of a snapshot's bytes (the copy is checked whole
    when it is opened)."""
    try:
        rows = list(json.loads(raw).get(META_TABLE, {}).values())
        row = rows[0] if rows else {}
        return int(row.get("schema_version", 0)), int(row.get("seq", 0))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreCorrupt(f"{path}: not a store snapshot ({exc!r}), no backup made") from exc


def _journal_problem(segments: list[Segment], seq: int) -> tuple[str | None, int]:
    """What keeps the segments from continuing a snapshot ending at record `seq` without a
    gap (None when they do), and the last whole record after it."""
    if segments and _first_seq(segments[0]) > seq + 1:
        named = _first_seq(segments[0])
        return f"the journal starts at record {named}, but the snapshot ends at {seq}", seq
    first: int | None = None
    expected: int | None = None
    for i, segment in enumerate(segments):
        name = segment.path.name
        if segment.good_bytes < segment.size and i < len(segments) - 1:
            return f"{name}: unreadable record at byte {segment.good_bytes}", seq
        for number, _ in segment.records:
            if expected is not None and number != expected:
                return f"{name}: record {number} where {expected} was expected", seq
            first = number if first is None else first
            expected = number + 1
    if first is None or expected is None or expected - 1 <= seq:
        return None, seq
    if first > seq + 1:
        return f"the journal resumes at record {first}, but the snapshot ends at {seq}", seq
    return None, expected - 1


def _first_seq(segment: Segment) -> int:
    return int(segment.path.name.rsplit(".", 1)[1])


def _verify(store_path: Path, copy: _Copy, staged: Path) -> Backup:
    """Open the copy at `staged` with the store's own code (replaying the journal, rebuilding
    indexes), fold it into one snapshot there and read that back."""
    try:
        # The copy keeps the data's schema version: this hub's newer migrations are not run.
        store = TinyDBStore(staged, migrations=MIGRATIONS[: copy.version])
        store.close()
        folded = read_snapshot(staged)
    except Exception as exc:
        raise BackupError(
            f"{store_path.parent}: the copy does not open ({type(exc).__name__}: {exc}); "
            "the store may be damaged, no backup made"
        ) from exc
    if folded.seq != copy.last_seq or list(staged.parent.glob(f"{staged.stem}.journal.*")):
        raise BackupError(
            f"{store_path.parent}: the folded copy ends at record {folded.seq}, "
            f"not {copy.last_seq}; no backup made"
        )
    (staged.parent / f"{staged.stem}.lock").unlink(missing_ok=True)
    tables = {table: len(docs) for table, docs in sorted(folded.docs.items())}
    return Backup(staged, folded.seq, tables, folded.version)
