"""The store after a crash: torn and corrupt journal tails, a half-written temp snapshot, the
lock between processes, and acknowledged writes under load surviving `kill -9`."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hub.settings import PROJECT_ROOT
from hub.store import StoreCorrupt, StoreLocked, open_store

# A child that writes documents d0..d<n-1> and dies without closing the store: what it
# leaves is the snapshot of an empty store and a journal of n records.
VANISH = """
import os, sys
from pathlib import Path
from hub.store import open_store
store = open_store(Path(sys.argv[1]))
for i in range(int(sys.argv[2])):
    store.insert("t", {"id": f"{sys.argv[3]}{i}", "n": i})
os._exit(0)
"""


def _vanish(path: Path, count: int, prefix: str = "d") -> None:
    subprocess.run(
        [sys.executable, "-c", VANISH, str(path), str(count), prefix],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=60,
    )


def _segments(path: Path) -> list[Path]:
    return sorted(path.parent.glob("hub.journal.*"))


def _ids(path: Path) -> list[str]:
    store = open_store(path)
    try:
        return sorted(d["id"] for d in store.find("t"))
    finally:
        store.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "hub.json"


# -- torn and corrupt journals -----------------------------------------------------------------


TEARS = {
    # A crash in the middle of writing the last record.
    "cut": lambda last: last[: len(last) // 2],
    # Still a well-formed record of valid JSON: only the checksum tells it from a good one.
    "changed": lambda last: last.replace(b'"n":4', b'"n":5'),
    # A whole line that is no record.
    "unparsable": lambda last: last[:-1].rstrip(b"]") + b"\n",
    # Bytes after a whole last record (a file system may leave zeros past the end).
    "trailing": lambda last: last + b"\x00\x00\x00garbage",
}


@pytest.mark.parametrize("tear", sorted(TEARS))
def test_a_torn_or_corrupt_last_record_is_dropped(path: Path, tear: str) -> None:
    _vanish(path, 5)
    (segment,) = _segments(path)
    data = segment.read_bytes()
    before_last = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
    last = data[len(before_last) :]
    assert last.startswith(b"5 ") and b'"n":4' in last
    segment.write_bytes(before_last + TEARS[tear](last))
    good = data if tear == "trailing" else before_last
    # A writer after the recovery appends behind the last good record, not behind the tear.
    _vanish(path, 2, prefix="after")
    assert segment.read_bytes().startswith(good)
    survivors = ["d0", "d1", "d2", "d3"] + (["d4"] if tear == "trailing" else [])
    assert _ids(path) == ["after0", "after1", *survivors]
    store = open_store(path)
    assert store.get("t", "d3") == {"id": "d3", "n": 3}
    store.close()


def test_a_bad_record_before_the_last_segment_is_reported(path: Path) -> None:
    _vanish(path, 3)
    (first,) = _segments(path)
    # A second segment, as a snapshot's rotation leaves it, then damage in the first.
    (path.parent / "hub.journal.000000000004").write_bytes(b"")
    first.write_bytes(first.read_bytes().replace(b'"n":1', b'"n":7'))
    with pytest.raises(StoreCorrupt, match=r"hub\.journal\.000000000001: unreadable record"):
        open_store(path)


def test_a_gap_in_the_journal_is_reported(path: Path) -> None:
    _vanish(path, 4)
    (segment,) = _segments(path)
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines[2:]))  # records 1 and 2 lost
    with pytest.raises(StoreCorrupt, match="resumes at record 3, but the snapshot ends at 0"):
        open_store(path)
    segment.write_bytes(b"".join(lines[:1] + lines[2:]))  # record 2 lost
    with pytest.raises(StoreCorrupt, match="record 3 where 2 was expected"):
        open_store(path)


def test_a_half_written_temp_snapshot_is_ignored_and_removed(path: Path) -> None:
    _vanish(path, 3)
    temp = path.with_name("hub.json.tmp")
    temp.write_bytes(b'{"meta": {"1": {"schema_version": 1, "seq": 99}}, "t": {"1": {"id": "x"')
    assert _ids(path) == ["d0", "d1", "d2"]
    assert not temp.exists()


def test_a_damaged_snapshot_is_reported_not_replaced(path: Path) -> None:
    _vanish(path, 1)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(StoreCorrupt, match=r"hub\.json: not a store snapshot"):
        open_store(path)


# -- the lock ----------------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from hub.store import open_store
store = open_store(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(60)
"""

OPEN = """
import sys
from pathlib import Path
from hub.store import StoreLocked, open_store
try:
    open_store(Path(sys.argv[1])).close()
except StoreLocked as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_second_process_gets_the_lock_error_until_the_first_is_gone(path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        second = subprocess.run(
            [sys.executable, "-c", OPEN, str(path)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 3, second.stderr
        lock = path.parent / "hub.lock"
        assert second.stdout.strip() == (
            f"{lock} is held by process {holder.pid}: another hub is using this data folder "
            "(stop it first, or give this one its own HUB_DATA_DIR)"
        )
        with pytest.raises(StoreLocked, match=str(lock)):  # in this process too
            open_store(path)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # The kernel let go of the dead holder's lock.
    open_store(path).close()


def test_hub_serve_on_a_locked_folder_exits_with_the_lock_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    store = open_store(data_dir / "hub.json")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    try:
        served = subprocess.run(
            [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(port)],
            env={**os.environ, "HUB_DATA_DIR": str(data_dir)},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        store.close()
    assert served.returncode == 1
    assert served.stderr.startswith(f"hub: {data_dir / 'hub.lock'} is held by process ")
    assert "Traceback" not in served.stderr + served.stdout


# -- kill -9 under load ------------------------------------------------------------------------

THREADS = 6
ROUNDS = 20
# Writes from several threads until killed: per thread, step i inserts a document (i % 3 == 0),
# inserts one and moves a counter in one batch (i % 3 == 1), or deletes the document of step
# i - 2 (i % 3 == 2); it prints "<thread> <step>" once the write has returned. A small
# snapshot threshold makes kills land during snapshots and journal rotations too.
WRITER = """
import json, os, sys, threading, time
from pathlib import Path
from hub.store import open_store

folder, round_, threads, dump = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = open_store(folder / "hub.json", snapshot_bytes=16384)
# What the parent checks, without the padding.
docs = [{"id": d["id"], "v": d["v"]} for d in store.find("docs")]
Path(dump).write_text(json.dumps({"docs": docs, "counters": store.find("counters")}))

# Bigger documents make longer snapshots, so that more kills land in one.
PAD = "x" * 2000

def say(line):
    os.write(1, (line + "\\n").encode())

def work(thread):
    prefix = f"r{round_}t{thread}"
    store.insert("counters", {"id": prefix, "n": -1})
    say(f"{thread} -1")
    deadline, i = time.monotonic() + 30, 0
    while time.monotonic() < deadline:
        if i % 3 == 0:
            store.insert("docs", {"id": f"{prefix}i{i}", "v": i, "pad": PAD})
        elif i % 3 == 1:
            with store.batch() as batch:
                batch.insert("docs", {"id": f"{prefix}i{i}", "v": i, "pad": PAD})
                batch.update("counters", prefix, {"n": i})
        else:
            assert store.delete("docs", f"{prefix}i{i - 2}")
        say(f"{thread} {i}")
        i += 1

say("ready")
for thread in range(threads):
    threading.Thread(target=work, args=(thread,), daemon=True).start()
time.sleep(40)
os._exit(1)
"""


def _missing(state: dict[str, list[dict[str, Any]]], acked: dict[str, int]) -> list[str]:
    """Each acknowledged write that the state does not show."""
    docs = {d["id"]: d for d in state["docs"]}
    counters = {d["id"]: d["n"] for d in state["counters"]}
    missing = []
    for prefix, last in acked.items():
        batches = [i for i in range(last + 1) if i % 3 == 1]
        if counters.get(prefix, -2) < (batches[-1] if batches else -1):
            missing.append(f"{prefix}: counter {counters.get(prefix)} < {batches[-1:]}")
        for i in range(last + 1):
            doc_id = f"{prefix}i{i}"
            deleted_at = i + 2 if i % 3 == 0 else None
            if i % 3 == 2 or deleted_at == last + 1:
                continue  # a delete step, or a document whose delete may be in flight
            if deleted_at is not None and deleted_at <= last:
                if doc_id in docs:
                    missing.append(f"{doc_id}: deleted, but there")
            elif docs.get(doc_id, {}).get("v") != i:
                missing.append(f"{doc_id}: {docs.get(doc_id)}")
    return missing


def _writer_round(
    folder: Path, round_: int, dump: Path, lifetime: float
) -> tuple[str, list[bytes]]:
    """Run the writer until it has reopened the store and then for `lifetime` seconds, kill
    it with SIGKILL; return its state dump ("" if it never got ready: then its stderr) and
    the lines it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), str(round_), str(THREADS), str(dump)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[bytes] = []
    reader = threading.Thread(target=lines.extend, args=(child.stdout,), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while b"ready\n" not in lines and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        ready = b"ready\n" in lines
        if ready:
            time.sleep(lifetime)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
    assert child.stderr is not None
    if not ready:
        return "", [child.stderr.read()]
    return dump.read_text(), lines


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9_at_random_moments(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    acked: dict[str, int] = {}  # "r<round>t<thread>" -> its last acknowledged step
    for round_ in range(ROUNDS):
        dump = tmp_path / f"state-{round_}.json"
        state, lines = _writer_round(folder, round_, dump, rng.uniform(0.02, 0.6))
        assert state, f"round {round_} (seed {seed}): the store did not open: {lines}"
        dump.unlink()
        # The child opened what the previous kill left: every write acknowledged is there.
        assert _missing(json.loads(state), acked) == [], f"round {round_} (seed {seed})"
        for line in lines:
            if line.endswith(b"\n") and line != b"ready\n":
                thread, step = line.split()
                prefix = f"r{round_}t{int(thread)}"
                acked[prefix] = max(acked.get(prefix, -2), int(step))
    assert sum(last for last in acked.values()) > ROUNDS * THREADS  # the children did write
    store = open_store(folder / "hub.json", snapshot_bytes=16384)
    assert _missing({t: store.find(t) for t in ("docs", "counters")}, acked) == []
    store.close()
