"""The journal: numbered, checksummed records of changes, appended and fsynced in groups.

A record is one line: `<seq> <crc32 as 8 hex digits> <JSON list of effects>\\n`, the checksum
taken over `<seq> <JSON>`. The journal is a run of segment files, each named after the
sequence number of its first record. Only the last segment can end in a torn record (a crash
during a write not yet acknowledged): it is cut off at start-up. Anything else that does not
read back is corruption, and is reported rather than skipped.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.store.base import StoreCorrupt, StoreError

_sync = getattr(os, "fdatasync", os.fsync)


def encode(seq: int, effects: list[Any]) -> bytes:
    """One journal record."""
    payload = json.dumps(effects, ensure_ascii=False, separators=(",", ":")).encode()
    head = b"%d " % seq
    return b"%s%08x %s\n" % (head, zlib.crc32(head + payload), payload)


def decode(line: bytes) -> tuple[int, list[Any]] | None:
    """The sequence number and effects of a record (without its newline); None when torn."""
    try:
        seq_text, crc_text, payload = line.split(b" ", 2)
        seq = int(seq_text)
        if zlib.crc32(seq_text + b" " + payload) != int(crc_text, 16) or len(crc_text) != 8:
            return None
        effects = json.loads(payload)
    except ValueError:
        return None
    return (seq, effects) if isinstance(effects, list) else None


@dataclass
class Segment:
    """What one segment file holds: its good records and where they end."""

    path: Path
    records: list[tuple[int, list[Any]]]
    good_bytes: int
    size: int


def read_segment(path: Path) -> Segment:
    """Every record of a segment, up to the first one that does not read back."""
    data = path.read_bytes()
    records, position = [], 0
    while position < len(data):
        end = data.find(b"\n", position)
        record = decode(data[position:end]) if end >= 0 else None
        if record is None:
            break
        records.append(record)
        position = end + 1
    return Segment(path, records, position, len(data))


def segment_paths(folder: Path, stem: str) -> list[Path]:
    """The journal segments of a store, oldest first."""
    found = []
    for path in folder.glob(f"{stem}.journal.*"):
        number = path.name.rsplit(".", 1)[1]
        if number.isdigit():
            found.append((int(number), path))
    return [path for _, path in sorted(found)]


def segment_path(folder: Path, stem: str, first_seq: int) -> Path:
    """The name of the segment whose first record is `first_seq`."""
    return folder / f"{stem}.journal.{first_seq:012d}"


def read_journal(folder: Path, stem: str) -> list[Segment]:
    """Every segment of a store, oldest first, checking that the records run on without a
    gap and that only the last segment is cut short."""
    paths = segment_paths(folder, stem)
    segments, expected = [], None
    for i, path in enumerate(paths):
        segment = read_segment(path)
        if segment.good_bytes < segment.size and i < len(paths) - 1:
            raise StoreCorrupt(f"{path}: unreadable record at byte {segment.good_bytes}")
        for seq, _ in segment.records:
            if expected is not None and seq != expected:
                raise StoreCorrupt(f"{path}: record {seq} where {expected} was expected")
            expected = seq + 1
        segments.append(segment)
    return segments


def sync_folder(folder: Path) -> None:
    """Make a folder's entries (a new, renamed or removed file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GroupCommit:
    """Appends records to the open segment, sharing one fsync among the writers waiting.

    Every method is called with `mutex` held, the store's lock: records are numbered and
    buffered in the order the changes were applied. A writer waiting for its record either
    flushes everything buffered so far (releasing the lock meanwhile, so others can apply
    and buffer) or waits for the writer that is flushing."""

    def __init__(self, mutex: threading.Lock, path: Path, last_seq: int) -> None:
        self.cond = threading.Condition(mutex)
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        sync_folder(path.parent)
        self.seq = last_seq  # the last number given
        self.durable = last_seq  # the last number on disk
        self.bytes = os.fstat(self.fd).st_size
        self._buffer: list[bytes] = []
        self._flushing = False
        self.failed: BaseException | None = None

    def append(self, effects: list[Any]) -> int:
        """Number and buffer a record; return its number."""
        self.check()
        self.seq += 1
        record = encode(self.seq, effects)
        self._buffer.append(record)
        self.bytes += len(record)
        return self.seq

    def wait(self, seq: int) -> None:
        """Return once record `seq` is on disk (StoreError if the disk failed)."""
        while self.durable < seq:
            self.check()
            if self._flushing:
                self.cond.wait()
                continue
            self._flushing = True
            data, upto = b"".join(self._buffer), self.seq
            self._buffer.clear()
            self.cond.release()
            try:
                _write_all(self.fd, data)
                _sync(self.fd)
            except BaseException as exc:
                self.failed = exc
            finally:
                self.cond.acquire()
                self._flushing = False
                if self.failed is None:
                    self.durable = upto
                self.cond.notify_all()

    def drain(self) -> None:
        """Return, lock held, once nothing is buffered or being flushed."""
        while self._flushing or self.durable < self.seq:
            if self._flushing:
                self.cond.wait()
            else:
                self.wait(self.seq)

    def rotate(self, folder: Path, stem: str) -> None:
        """Continue in a new segment, once everything so far is on disk in the old one."""
        self.drain()
        path = segment_path(folder, stem, self.seq + 1)
        if path == self.path:
            # The open segment starts at the next record, so it holds none: reopened after a
            # crash between a rotation and its snapshot. Nothing to cut.
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # The new file's entry must outlive a power cut before a record in it is acknowledged.
            sync_folder(folder)
        except BaseException:
            os.close(fd)
            raise
        os.close(self.fd)
        self.fd, self.path, self.bytes = fd, path, 0

    def check(self) -> None:
        """StoreError once a write to the journal has failed: memory and disk may differ."""
        if self.failed is not None:
            raise StoreError(f"{self.path}: the journal could not be written") from self.failed

    def close(self) -> None:
        """Close the segment file."""
        os.close(self.fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
