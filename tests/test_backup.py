"""`hub backup`: a consistent, checked copy of a store that a running hub is writing, snapshots
racing the copy, a destination that is not empty, damaged stores, and the command itself."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hub.store.backup
import hub.store.journal
from hub.settings import PROJECT_ROOT
from hub.store import Store, StoreError, open_store
from hub.store.backup import BackupError, backup
from hub.store.migrations import MIGRATIONS


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "hub.json"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    # Small enough that a few writes make the hub write a snapshot.
    opened = open_store(path, snapshot_bytes=4000)
    yield opened
    opened.close()


def _folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _contents(path: Path, tables: tuple[str, ...] = ("t", "u")) -> dict[str, list[Any]]:
    copy = open_store(path)
    try:
        return {t: sorted(copy.find(t), key=lambda d: d["id"]) for t in tables}
    finally:
        copy.close()


def _live(store: Store, tables: tuple[str, ...] = ("t", "u")) -> dict[str, list[Any]]:
    return {t: sorted(store.find(t), key=lambda d: d["id"]) for t in tables}


def _write(store: Store, prefix: str, count: int) -> None:
    for i in range(count):
        store.insert("t", {"id": f"{prefix}{i}", "n": i, "pad": "x" * 100})


# -- a store open in this process --------------------------------------------------------------


def test_a_backup_of_an_open_store_holds_it_all_in_one_snapshot(path: Path, tmp_path: Path) -> None:
    store = open_store(path, snapshot_bytes=4000)
    _write(store, "a", 50)  # several snapshots
    store.close()
    # Reopened with no snapshot due, so that the folder keeps still while it is copied.
    store = open_store(path)
    _write(store, "b", 10)
    with store.batch() as batch:
        batch.update("t", "a1", {"n": "one"})
        batch.insert("u", {"id": "u1", "email": "u@example.org"})
    assert store.delete("t", "a2")
    assert list(path.parent.glob("hub.journal.*")), "the journal holds writes"
    before = _folder(path.parent)
    dest = tmp_path / "backups" / "today"
    made = backup(path, dest)
    assert _folder(path.parent) == before  # the data folder, lock file included, untouched
    assert sorted(p.name for p in dest.iterdir()) == ["hub.json"]
    assert made.path == dest / "hub.json"
    assert made.tables == {"t": 59, "u": 1}
    assert made.seq == 62 and made.attempts == 1
    assert _contents(made.path) == _live(store)
    assert json.loads(made.path.read_text())["meta"]["1"]["seq"] == 62
    store.close()


def test_a_torn_last_record_is_left_out_and_left_alone(path: Path, tmp_path: Path) -> None:
    store = open_store(path)
    _write(store, "a", 5)
    # A journal as a write in progress (or a crash) leaves it: part of a record at the end.
    (segment,) = path.parent.glob("hub.journal.*")
    with segment.open("ab") as out:
        out.write(_record(6, [["put", "t", "half", {"id": "half"}]])[:30])
    before = _folder(path.parent)
    made = backup(path, tmp_path / "dest")
    assert _folder(path.parent) == before
    assert made.tables == {"t": 5} and made.seq == 5
    store.close()


def _race(
    store: Store, path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> Callable[[], int]:
    """Make the backup's first look at the journal come just after the hub has written a
    snapshot (and removed the segments it covers), then `after` more writes; return a
    function telling how many times the journal was listed."""
    listed: list[int] = []
    real = hub.store.journal.segment_paths

    def racing(folder: Path, stem: str) -> list[Path]:
        if not listed:
            inode = path.stat().st_ino
            deadline, i = time.monotonic() + 20, 0
            while path.stat().st_ino == inode and time.monotonic() < deadline:
                store.insert("t", {"id": f"during{i}", "pad": "y" * 300})
                i += 1
            # The snapshot thread removes the old segments right after its rename.
            while len(real(folder, stem)) > 1 and time.monotonic() < deadline:
                time.sleep(0.001)
            assert len(real(folder, stem)) == 1, "the hub wrote no snapshot"
            _write(store, "after", after)
        listed.append(1)
        return real(folder, stem)

    monkeypatch.setattr(hub.store.backup, "segment_paths", racing)
    return lambda: len(listed)


@pytest.mark.parametrize("after", [0, 3])
def test_a_snapshot_during_the_copy_makes_it_start_again(
    store: Store, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    _write(store, "acked", 5)  # in the journal only, when the backup starts
    assert json.loads(path.read_text())["meta"]["1"]["seq"] < 5
    listings = _race(store, path, monkeypatch, after)
    made = backup(path, tmp_path / "dest")
    assert listings() == 2 and made.attempts == 2
    assert _contents(made.path) == _live(store)
    assert {f"acked{i}" for i in range(5)} <= {d["id"] for d in _contents(made.path)["t"]}


def test_a_hub_that_snapshots_during_every_try_gets_a_clear_error(
    store: Store, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.store.backup, "ATTEMPTS", 3)
    real = hub.store.journal.segment_paths

    def always_racing(folder: Path, stem: str) -> list[Path]:
        inode = path.stat().st_ino
        deadline, i = time.monotonic() + 20, 0
        while path.stat().st_ino == inode and time.monotonic() < deadline:
            store.insert("t", {"id": f"w{time.monotonic_ns()}{i}", "pad": "y" * 300})
            i += 1
        return real(folder, stem)

    monkeypatch.setattr(hub.store.backup, "segment_paths", always_racing)
    with pytest.raises(BackupError, match="wrote a snapshot during each of 3 attempts"):
        backup(path, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


# -- the destination ---------------------------------------------------------------------------


def test_a_destination_that_is_not_empty_is_refused_and_left_alone(
    store: Store, path: Path, tmp_path: Path
) -> None:
    _write(store, "a", 3)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "hub.json").write_text("yesterday's backup")
    with pytest.raises(BackupError, match=f"{dest}: the folder is not empty"):
        backup(path, dest)
    assert _folder(dest) == {"hub.json": b"yesterday's backup"}
    (tmp_path / "file").write_text("x")
    with pytest.raises(BackupError, match="exists and is not a folder"):
        backup(path, tmp_path / "file")
    # An empty folder is fine, and stays once filled.
    (dest / "hub.json").unlink()
    assert backup(path, dest).tables == {"t": 3}


# -- damaged stores ----------------------------------------------------------------------------


def _record(seq: int, effects: list[Any]) -> bytes:
    payload = json.dumps(effects, separators=(",", ":")).encode()
    head = b"%d " % seq
    return b"%s%08x %s\n" % (head, zlib.crc32(head + payload), payload)


def _closed_store_with_journal(path: Path, count: int) -> Path:
    """A store left with a snapshot at record 0 and a journal of `count` inserts."""
    store = open_store(path)
    store.close()
    segment = path.parent / "hub.journal.000000000001"
    segment.write_bytes(
        b"".join(_record(i, [["put", "t", f"d{i}", {"id": f"d{i}"}]]) for i in range(1, count + 1))
    )
    return segment


def _cut_snapshot(path: Path, segment: Path) -> None:
    path.write_bytes(path.read_bytes()[:-8])


def _drop_record_2(path: Path, segment: Path) -> None:
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines[:1] + lines[2:]))


def _drop_records_1_and_2(path: Path, segment: Path) -> None:
    # As if the snapshot that folded them had been lost.
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.unlink()
    (path.parent / "hub.journal.000000000003").write_bytes(b"".join(lines[2:]))


def _damage_before_the_last_segment(path: Path, segment: Path) -> None:
    segment.write_bytes(segment.read_bytes().replace(b'"d2"}', b'"d9"}'))
    (path.parent / "hub.journal.000000000005").write_bytes(b"")


def _record_that_does_not_replay(path: Path, segment: Path) -> None:
    # Checksum fine, but no change the store can replay: only opening the copy tells.
    segment.write_bytes(segment.read_bytes() + _record(5, [["put", "t"]]))


def _data_of_a_newer_hub(path: Path, segment: Path) -> None:
    version = f'"schema_version":{len(MIGRATIONS)}'
    assert version in path.read_text()
    path.write_text(path.read_text().replace(version, '"schema_version":99'))


DAMAGE: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "snapshot cut short": (_cut_snapshot, r"hub\.json: not a store snapshot"),
    "a record missing": (
        _drop_record_2,
        "hub.journal.000000000001: record 3 where 2 was expected: the store is damaged",
    ),
    "the first records missing": (
        _drop_records_1_and_2,
        "the journal starts at record 3, but the snapshot ends at 0",
    ),
    "damage before the last segment": (
        _damage_before_the_last_segment,
        "hub.journal.000000000001: unreadable record at byte",
    ),
    "a record that does not replay": (
        _record_that_does_not_replay,
        r"the copy does not open \(IndexError",
    ),
    "data of a newer hub": (
        _data_of_a_newer_hub,
        "the copy does not open .*written by a newer hub",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_store_fails_clearly_and_leaves_no_backup(
    path: Path, tmp_path: Path, damage: str
) -> None:
    segment = _closed_store_with_journal(path, 4)
    assert backup(path, tmp_path / "good").tables == {"t": 4}
    harm, message = DAMAGE[damage]
    harm(path, segment)
    before = _folder(path.parent)
    with pytest.raises(StoreError, match=message):
        backup(path, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert _folder(path.parent) == before


def test_no_store_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match=r"var/hub\.json: no store to back up"):
        backup(tmp_path / "var" / "hub.json", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


# -- a hub writing in another process ----------------------------------------------------------

THREADS = 6
# Writes from several threads until killed. Thread t's step i is one batch: insert t/i, move
# t's counter to i and delete t/(i-2); it prints "<t> <i>" once the batch has returned. So
# every state the store can be in shows, for each thread, a counter j and the documents j-1
# and j (j alone for 0): anything else in a copy is a write torn apart, lost or invented.
WRITER = """
import os, sys, threading, time
from pathlib import Path
from hub.store import open_store

store = open_store(Path(sys.argv[1]), snapshot_bytes=4096)
PAD = "x" * 2000

def say(line):
    os.write(1, (line + "\\n").encode())

def work(t):
    deadline, i = time.monotonic() + 60, 0
    store.insert("counters", {"id": f"t{t}", "n": -1})
    say(f"{t} -1")
    while time.monotonic() < deadline:
        with store.batch() as batch:
            batch.insert("docs", {"id": f"t{t}/{i}", "v": i, "pad": PAD})
            batch.update("counters", f"t{t}", {"n": i})
            if i >= 2:
                batch.delete("docs", f"t{t}/{i - 2}")
        say(f"{t} {i}")
        i += 1
        # Threads writing flat out starve the snapshot thread of the store's lock (one
        # snapshot in seconds); with this pause the hub writes dozens a second.
        time.sleep(0.002)

for t in range(int(sys.argv[2])):
    threading.Thread(target=work, args=(t,), daemon=True).start()
say("ready")
time.sleep(60)
os._exit(1)
"""


def _acked(lines: list[bytes]) -> dict[int, int]:
    """Each thread's last acknowledged step."""
    last: dict[int, int] = {}
    for line in list(lines):
        if line.endswith(b"\n") and line != b"ready\n":
            thread, step = map(int, line.split())
            last[thread] = max(last.get(thread, -2), step)
    return last


def _wrong(state: dict[str, list[Any]], before: dict[int, int], after: dict[int, int]) -> list[str]:
    """What in a copy is no state the writer went through between `before` (acknowledged
    when the backup started) and `after` (when it ended, plus one write in flight)."""
    counters = {d["id"]: d["n"] for d in state["counters"]}
    docs: dict[str, set[int]] = {}
    for doc in state["docs"]:
        thread, step = doc["id"].split("/")
        if doc["v"] != int(step) or doc["pad"] != "x" * 2000:
            return [f"{doc['id']}: {doc['v']}"]
        docs.setdefault(thread, set()).add(int(step))
    wrong = []
    for thread in range(THREADS):
        n = counters.get(f"t{thread}", -2)
        if not before.get(thread, -2) <= n <= after.get(thread, -2) + 1:
            wrong.append(f"t{thread}: counter {n}, acked {before.get(thread)}..{after.get(thread)}")
        if docs.pop(f"t{thread}", set()) != {i for i in (n - 1, n) if i >= 0}:
            wrong.append(f"t{thread}: counter {n}, documents {sorted(docs.get(f't{thread}', []))}")
    return wrong + [f"{thread}: documents of no thread" for thread in docs]


ROUNDS = 12


@pytest.mark.slow
def test_backups_of_a_store_being_written_hold_every_acknowledged_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "var" / "hub.json"
    # A copy as slow as one of a big store on a busy disk: a pause between reading hub.json
    # and the journal, on each backup's first try, lets the hub's snapshots overtake some.
    real = hub.store.journal.segment_paths
    first_try = [True]

    def slow(folder: Path, stem: str) -> list[Path]:
        if first_try[0]:
            first_try[0] = False
            time.sleep(random.uniform(0, 0.02))
        return real(folder, stem)

    monkeypatch.setattr(hub.store.backup, "segment_paths", slow)
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(THREADS)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[bytes] = []
    reader = threading.Thread(target=lines.extend, args=(child.stdout,), daemon=True)
    reader.start()
    attempts = []
    try:
        deadline = time.monotonic() + 30
        while len(_acked(lines)) < THREADS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(_acked(lines)) == THREADS, child.stderr.read() if child.stderr else ""
        start = _acked(lines)
        for round_ in range(ROUNDS):
            first_try[0] = True
            before = _acked(lines)
            made = backup(path, tmp_path / f"backup{round_}")
            after = _acked(lines)
            attempts.append(made.attempts)
            state = _contents(made.path, ("docs", "counters"))
            assert _wrong(state, before, after) == [], f"round {round_}, attempts {attempts}"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the writer stopped by itself"
    assert all(after[t] > start[t] + ROUNDS for t in range(THREADS))  # it wrote all along
    # Some backups had to start again: a snapshot did overtake a copy.
    assert any(a > 1 for a in attempts), attempts


# -- the command -------------------------------------------------------------------------------


def _hub_backup(data_dir: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "backup", str(dest)],
        env={**os.environ, "HUB_DATA_DIR": str(data_dir)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_hub_backup_copies_an_open_store_and_says_what_it_copied(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    store = open_store(data_dir / "hub.json")  # held, as by a running hub
    try:
        _write(store, "a", 3)
        store.insert("u", {"id": "u1"})
        done = _hub_backup(data_dir, tmp_path / "dest")
        again = _hub_backup(data_dir, tmp_path / "dest")
    finally:
        store.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "t: 3 documents",
        "u: 1 documents",
        f"{tmp_path / 'dest' / 'hub.json'}: schema version {len(MIGRATIONS)}, last record 4 "
        + done.stdout.split("last record 4 ")[1].splitlines()[0],
    ]
    assert f"read from {data_dir} in " in done.stdout
    assert _contents(tmp_path / "dest" / "hub.json")["t"][0]["id"] == "a0"
    assert again.returncode == 1 and again.stdout == ""
    assert (
        again.stderr
        == f"hub: {tmp_path / 'dest'}: the folder is not empty (give a new or empty folder)\n"
    )


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # The usual umask, which `hub backup` inherits: files 0644 and folders 0755 unless asked.
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_a_backup_is_its_owner_s_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # It holds what the data folder holds: password hashes and TOTP secrets.
    data_dir = tmp_path / "var"
    store = open_store(data_dir / "hub.json")
    _write(store, "a", 3)
    store.insert("accounts", {"email": "ana@example.org", "password_hash": "$argon2id$"})
    try:
        # Every file the copy writes on its way, from its first byte: seen as it is written.
        staged: dict[str, int] = {}
        write = hub.store.backup.write_private

        def watching(path: Path, data: bytes) -> None:
            write(path, data)
            staged[path.name] = _mode(path)
            staged[path.parent.name] = _mode(path.parent)

        monkeypatch.setattr(hub.store.backup, "write_private", watching)
        backup(data_dir / "hub.json", tmp_path / "in-process")
        assert staged and set(staged.values()) <= {0o600, 0o700}, staged
        assert staged[hub.store.backup.STAGING] == 0o700
        done = _hub_backup(data_dir, tmp_path / "dest")
    finally:
        store.close()
    assert done.returncode == 0, done.stderr
    for dest in (tmp_path / "in-process", tmp_path / "dest"):
        assert _mode(dest) == 0o700
        assert {p.name: _mode(p) for p in dest.iterdir()} == {"hub.json": 0o600}
    # A folder made for it by its owner keeps her mode; the file in it is still private.
    own = tmp_path / "own"
    own.mkdir(mode=0o750)
    backup(data_dir / "hub.json", own)
    assert (_mode(own), _mode(own / "hub.json")) == (0o750, 0o600)


def test_hub_backup_of_a_damaged_store_is_one_line_and_a_failure(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    _closed_store_with_journal(data_dir / "hub.json", 2)
    (data_dir / "hub.journal.000000000001").write_bytes(_record(2, [["del", "t", "d1"]]))
    done = _hub_backup(data_dir, tmp_path / "dest")
    assert done.returncode == 1
    assert done.stderr.startswith("hub: ") and done.stderr.count("\n") == 1, done.stderr
    assert "the journal starts at record 1" not in done.stderr
    assert "resumes at record 2, but the snapshot ends at 0" in done.stderr
    assert not (tmp_path / "dest").exists()


def test_restoring_is_the_backup_in_place_of_the_store_files(
    store: Store, path: Path, tmp_path: Path
) -> None:
    _write(store, "a", 20)
    saved = _live(store)
    made = backup(path, tmp_path / "dest")
    _write(store, "later", 20)  # journal records after the backup, and snapshots
    store.close()
    # As operations.md says: the hub stopped, its hub.json and journal out, the backup's in.
    for old in [path, *path.parent.glob("hub.journal.*")]:
        old.unlink()
    (path.parent / "hub.json").write_bytes(made.path.read_bytes())
    assert _contents(path) == saved
