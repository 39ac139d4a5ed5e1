"""The embedded default store: documents in memory, a journal fsynced before each write is
acknowledged, and a TinyDB JSON snapshot that the journal is folded into.

In the data folder, for a store at `hub.json`: `hub.lock` (held while open), `hub.json` (the
snapshot), `hub.journal.<first record>` (segments of the journal since the snapshot) and,
only while a snapshot is being written, `hub.json.tmp`.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub.settings import STORE_SNAPSHOT_BYTES
from hub.store.base import Document, StoreCorrupt, StoreError
from hub.store.batch import StoreBatch, insert_op, update_op
from hub.store.files import private_folder
from hub.store.journal import GroupCommit, read_journal, segment_path, segment_paths
from hub.store.lock import FolderLock, lock_path
from hub.store.migrations import MIGRATIONS, Migration, migrate
from hub.store.snapshot import Snapshot, read_snapshot, temp_path, write_snapshot
from hub.store.tables import (
    Effect,
    Op,
    Tables,
    check_table,
    clean,
    copy,
    order_key,
)

log = logging.getLogger(__name__)

# Journal bytes after which the snapshot is rewritten in the background (start-up replays
# at most about this much).
SNAPSHOT_BYTES = STORE_SNAPSHOT_BYTES
# The longest a write waits for the snapshot thread to take the lock first (seconds): a bound,
# not the usual wait (one journal flush at most).
SNAPSHOT_TURN_SECONDS = 1.0


class TinyDBStore:
    """A Store in a data folder that it owns while open (see hub.store.base.Store)."""

    def __init__(
        self,
        path: Path,
        *,
        snapshot_bytes: int = SNAPSHOT_BYTES,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        private_folder(path.parent)
        self.path = path
        self._folder, self._stem = path.parent, path.stem
        self._snapshot_bytes = snapshot_bytes
        self._mu = threading.Lock()
        self._closed = False
        self._snapshotter: threading.Thread | None = None
        # Clear while the snapshot thread cuts the journal: writers then wait for it. Writers
        # that never pause could otherwise keep the lock from it (threading.Lock is not fair)
        # and keep adding records to the drain it waits for, and the journal would grow for as
        # long as they write.
        self._snapshot_turn = threading.Event()
        self._snapshot_turn.set()
        # Journal bytes at which a snapshot is next tried, and the failures in a row: after a
        # failure, the next try waits for another threshold's worth of journal, not one write.
        self._snapshot_due = snapshot_bytes
        self._snapshot_failures = 0
        self._lock = FolderLock(lock_path(path))
        try:
            self._open(migrations)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, migrations: Sequence[Migration]) -> None:
        # A temp snapshot is only ever a snapshot not yet renamed: the journal still has it all.
        temp_path(self.path).unlink(missing_ok=True)
        snapshot = read_snapshot(self.path)
        tables = Tables(snapshot.docs, snapshot.indexes)
        segments = read_journal(self._folder, self._stem)
        fresh = [r for segment in segments for r in segment.records if r[0] > snapshot.seq]
        if fresh and fresh[0][0] != snapshot.seq + 1:
            raise StoreCorrupt(
                f"{self._folder}: the journal resumes at record {fresh[0][0]}, "
                f"but the snapshot ends at {snapshot.seq}"
            )
        for _, effects in fresh:
            tables.replay(effects)
        last_seq = fresh[-1][0] if fresh else snapshot.seq
        tail = segments[-1] if segments else None
        if tail is not None and tail.good_bytes < tail.size:
            log.warning(
                "%s: dropped a torn last record (%d bytes, never acknowledged)",
                tail.path,
                tail.size - tail.good_bytes,
            )
            with open(tail.path, "r+b") as torn:
                torn.truncate(tail.good_bytes)
                os.fsync(torn.fileno())
        self._tables = tables
        self._version = migrate(tables, snapshot.version, migrations)
        self._snapshot_seq = snapshot.seq
        if self._version != snapshot.version or not self.path.exists():
            # Migrated data becomes durable in one step: the new snapshot.
            self._write_snapshot(self._view(), last_seq)
            journal = segment_path(self._folder, self._stem, last_seq + 1)
        elif tail is not None and (not tail.records or tail.records[-1][0] == last_seq):
            journal = tail.path
        else:
            journal = segment_path(self._folder, self._stem, last_seq + 1)
        self._journal = GroupCommit(self._mu, journal, last_seq)
        self._journal.bytes = sum(p.stat().st_size for p in segment_paths(self._folder, self._stem))

    # -- reading ---------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The number of the last migration applied to the data."""
        return self._version

    def get(self, table: str, doc_id: str) -> Document | None:
        """The document with this id, or None."""
        with self._mu:
            self._check_open()
            doc = self._tables.docs.get(table, {}).get(doc_id)
            return None if doc is None else copy(doc)

    def find(self, table: str, /, **equals: Any) -> list[Document]:
        """Documents whose fields equal the given values (all documents when none given), in
        no set order."""
        wanted = clean(equals, "find")
        with self._mu:
            self._check_open()
            docs = self._tables.docs.get(table, {})
            return [copy(docs[i]) for i in self._tables.ids(table, wanted)]

    def find_one(self, table: str, /, **equals: Any) -> Document | None:
        """One document whose fields equal the given values (the least id), or None."""
        wanted = clean(equals, "find_one")
        with self._mu:
            self._check_open()
            found = min(self._tables.ids(table, wanted), default=None)
            return None if found is None else copy(self._tables.docs[table][found])

    def count(self, table: str, /, **equals: Any) -> int:
        """How many documents have fields equal to the given values."""
        wanted = clean(equals, "count")
        with self._mu:
            self._check_open()
            if not wanted:
                return len(self._tables.docs.get(table, {}))
            return sum(1 for _ in self._tables.ids(table, wanted))

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
        after the document `after` (the last of the previous page)."""
        wanted = clean(where or {}, "where")
        start = None if after is None else (order_key(clean(after.get(order_by))), str(after["id"]))
        with self._mu:
            self._check_open()
            docs = self._tables.docs.get(table, {})
            ranked = (
                (order_key(docs[i].get(order_by)), i) for i in self._tables.ids(table, wanted)
            )
            if start is not None:
                ranked = (r for r in ranked if (r < start if descending else r > start))
            candidates = list(ranked)
            # A page of most of the candidates (the push sender's sweep reads 10,000 at once)
            # is one sort; a heap pays for itself only when it keeps few of many.
            if limit >= len(candidates) // 4:
                chosen = sorted(candidates, reverse=descending)[: max(limit, 0)]
            else:
                pick = heapq.nlargest if descending else heapq.nsmallest
                chosen = pick(max(limit, 0), candidates)
            return [copy(docs[i]) for _, i in chosen]

    # -- writing ---------------------------------------------------------------------------

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add a document (with its own string `id`, or a new random one); return its id."""
        op = insert_op(table, doc)
        self._commit([op])
        return str(op[2]["id"])

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
        op = update_op(table, doc_id, changes, expect)
        return bool(self._commit([op], soft=True))

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> bool:
        """Remove a document; False when there was none or its fields do not equal `expect`."""
        check_table(table)
        op = ("delete", table, doc_id, None if expect is None else clean(expect, "expect"))
        return bool(self._commit([op], soft=True))

    def delete_where(self, table: str, /, **equals: Any) -> int:
        """Remove every document whose fields equal the given values; return how many."""
        check_table(table)
        return len(self._commit([("delete_where", table, clean(equals, "delete_where"))]))

    def batch(self) -> StoreBatch:
        """A batch to fill in a `with` block: applied, durably and as one, when the block ends
        without an exception (Conflict if a write in it fails: then nothing is applied)."""
        return StoreBatch(self._commit)

    def _commit(self, ops: Sequence[Op], soft: bool = False) -> list[Effect]:
        """Apply writes, journal them and return once they are on disk. With `soft`, a
        single update or delete of a missing or changed document does nothing and returns []."""
        self._snapshot_turn.wait(SNAPSHOT_TURN_SECONDS)
        with self._mu:
            self._check_open()
            self._journal.check()
            if soft:
                _, table, doc_id, *_ = ops[0]
                doc = self._tables.docs.get(table, {}).get(doc_id)
                if doc is None or not self._tables.matches(doc, ops[0][-1]):
                    return []
            effects = self._tables.apply(ops)
            if not effects:
                return effects
            seq = self._journal.append(effects)
            self._journal.wait(seq)
            if self._journal.bytes >= self._snapshot_due and self._snapshotter is None:
                self._snapshotter = threading.Thread(
                    target=self._snapshot_in_background, name="hub-store-snapshot", daemon=True
                )
                self._snapshotter.start()
            return effects

    # -- snapshots and closing -------------------------------------------------------------

    def _view(self) -> dict[str, dict[str, Document]]:
        # Documents are replaced, never changed in place: copying the tables freezes them.
        return {table: dict(docs) for table, docs in self._tables.docs.items()}

    def _write_snapshot(self, view: dict[str, dict[str, Document]], seq: int) -> None:
        write_snapshot(self.path, Snapshot(view, self._version, seq, self._tables.declared()))
        self._snapshot_seq = seq
        # Every record up to seq is in the snapshot now; the current segment holds none.
        for path in segment_paths(self._folder, self._stem):
            if int(path.name.rsplit(".", 1)[1]) <= seq:
                path.unlink(missing_ok=True)

    def _snapshot_in_background(self) -> None:
        try:
            # Writers wait until the journal is cut: the cut drains every buffered record, and
            # with writers still adding records it could chase them for as long as they write.
            self._snapshot_turn.clear()
            try:
                with self._mu:
                    if self._closed:
                        return
                    self._journal.rotate(self._folder, self._stem)
                    view, seq = self._view(), self._journal.seq
            finally:
                self._snapshot_turn.set()
            self._write_snapshot(view, seq)
        except Exception:
            # The journal still holds everything: the next snapshot (or close) tries again.
            with self._mu:
                self._snapshot_due = self._journal.bytes + self._snapshot_bytes
                self._snapshot_failures += 1
                failures = self._snapshot_failures
            if failures == 1:
                log.exception(
                    "%s: snapshot failed; trying again after each further %d bytes of journal "
                    "(start-up replays the whole journal until one succeeds)",
                    self.path,
                    self._snapshot_bytes,
                )
            else:
                log.debug("%s: snapshot failed again (%d in a row)", self.path, failures)
        else:
            with self._mu:
                self._snapshot_due = self._snapshot_bytes
                failures, self._snapshot_failures = self._snapshot_failures, 0
            if failures:
                log.info("%s: snapshot written, after %d failed tries", self.path, failures)
        finally:
            with self._mu:
                self._snapshotter = None

    def close(self) -> None:
        """Fold the journal into the snapshot and release the data folder."""
        with self._mu:
            if self._closed:
                return
            self._closed = True
            snapshotter = self._snapshotter
        if snapshotter is not None:
            snapshotter.join()
        try:
            with self._mu:
                self._journal.drain()
                if self._snapshot_seq != self._journal.seq or not self.path.exists():
                    self._journal.rotate(self._folder, self._stem)
                    self._write_snapshot(self._view(), self._journal.seq)
                self._journal.close()
                # The snapshot holds every record now.
                for path in segment_paths(self._folder, self._stem):
                    path.unlink(missing_ok=True)
        finally:
            self._lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
