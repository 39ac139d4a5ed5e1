"""The background snapshot when it cannot be written: tried again after another threshold's
worth of journal, not on every write, with one warning per run of failures."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

import hub.store.journal
from hub.store import open_store

THRESHOLD = 2000
LOGGER = "hub.store.tinydb_store"


def _snapshot_seq(path: Path) -> int:
    return int(json.loads(path.read_text())["meta"]["1"]["seq"])


def test_a_failing_snapshot_backs_off_and_warns_once_per_streak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    path = tmp_path / "var" / "hub.json"
    store = open_store(path, snapshot_bytes=THRESHOLD)
    real = hub.store.journal.segment_path
    tries: list[int] = []

    def uncreatable(folder: Path, stem: str, first_seq: int) -> Path:
        # Where the rotation would create the next journal file: a folder that is not there,
        # as on a full or read-only disk the file cannot be made.
        tries.append(first_seq)
        return tmp_path / "gone" / real(folder, stem, first_seq).name

    monkeypatch.setattr(hub.store.journal, "segment_path", uncreatable)
    for i in range(80):
        store.insert("t", {"id": f"d{i}", "pad": "x" * 400})
    written = sum(p.stat().st_size for p in path.parent.glob("hub.journal.*"))
    assert written > 10 * THRESHOLD
    # Every write past the threshold would try (and log) again without the back-off.
    assert 3 <= len(tries) <= written // THRESHOLD + 1, tries
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in failures] == [
        f"{path}: snapshot failed; trying again after each further {THRESHOLD} bytes of journal "
        "(start-up replays the whole journal until one succeeds)"
    ]
    assert failures[0].exc_info is not None and failures[0].exc_info[0] is FileNotFoundError
    assert _snapshot_seq(path) == 0  # nothing folded: the journal holds it all

    # The disk is back: the next try after the back-off succeeds and says so. (A failing try
    # still under way is let finish first, so the one that succeeds comes after.)
    under_way = store._snapshotter  # type: ignore[attr-defined]
    if under_way is not None:
        under_way.join(timeout=30)
    monkeypatch.setattr(hub.store.journal, "segment_path", real)
    caplog.clear()
    deadline, i = time.monotonic() + 30, 0
    while _snapshot_seq(path) == 0 and time.monotonic() < deadline:
        store.insert("u", {"id": f"e{i}", "pad": "x" * 100})
        i += 1
        time.sleep(0.001)
    assert _snapshot_seq(path) > 80
    deadline = time.monotonic() + 30
    while not caplog.records and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: snapshot written, after {len(tries)} failed tries"
    ]
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    store.close()
    reopened = open_store(path)
    assert reopened.count("t") == 80 and reopened.count("u") == i
    reopened.close()


def test_snapshots_keep_up_with_writers_that_never_pause(tmp_path: Path) -> None:
    """Six threads writing back to back: the journal is folded in again and again while they
    write, not once they stop (a snapshot thread waiting for the store's lock behind them)."""
    path = tmp_path / "var" / "hub.json"
    store = open_store(path, snapshot_bytes=THRESHOLD)
    folded: set[int] = set()

    def write(thread: int) -> None:
        for i in range(150):
            store.insert("t", {"id": f"{thread}-{i}", "pad": "x" * 200})
            if thread == 0:
                folded.add(_snapshot_seq(path))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # 900 records of ~260 bytes, a snapshot due every 2,000 bytes: starved, the snapshot thread
    # got one in while they wrote (or none).
    assert len(folded) >= 5, sorted(folded)
    store.close()
    reopened = open_store(path)
    assert reopened.count("t") == 900
    reopened.close()


def test_a_store_reopened_between_a_rotation_and_its_snapshot_closes(tmp_path: Path) -> None:
    """A crash after the journal moved to a new, empty file but before the snapshot was renamed
    into place: the reopened store appends to that file and closes cleanly."""
    path = tmp_path / "var" / "hub.json"
    store = open_store(path)
    for i in range(5):
        store.insert("t", {"id": f"d{i}"})
    # What a writer crossing the threshold does first, without the snapshot that follows.
    with store._mu:  # type: ignore[attr-defined]
        store._journal.rotate(store._folder, store._stem)  # type: ignore[attr-defined]
    names = sorted(p.name for p in path.parent.glob("hub.journal.*"))
    assert names[-1].endswith(".000000000006") and (path.parent / names[-1]).stat().st_size == 0
    store._lock.release()  # type: ignore[attr-defined]  # the process dies here
    reopened = open_store(path)
    reopened.close()  # raised FileExistsError: it made the open empty file again
    again = open_store(path)
    assert again.count("t") == 5
    again.insert("t", {"id": "d5"})
    again.close()
    assert open_store(path).count("t") == 6
