"""The background snapshot when it cannot be written: tried again after another threshold's
worth of journal, not on every write, with one warning per run of failures."""

from __future__ import annotations

import json
import logging
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

    # The disk is back: the next try after the back-off succeeds and says so.
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
