"""The store: write and read latency and start-up time, the hub's store beside plain TinyDB.

For each size (1k, 10k and 100k documents shaped like push subscriptions, their endpoint an
indexed unique field) the same documents go into the hub's store and into a plain TinyDB file
(its default JSONStorage), in one temp folder on the file system of --dir. Measured per store:

- write: an update of one random document, one at a time, p50 and p99 of each call (the hub:
  returned once its journal record is fsynced; plain TinyDB reads the whole file, rewrites it
  in place and fsyncs it, so a crash during a write can leave a file that does not open);
- the hub with 8 threads writing at once (group commit), p99 of each call and writes/s;
- the hub while snapshots are forced (a journal threshold of 256 KiB), p99;
- read: `get` by id and a find by the endpoint, p99;
- start-up: opening the store and reading one document; for the hub, from the snapshot alone
  (after a clean stop) and with a journal of 5,000 updates not yet folded in (the writer was
  killed, as a crash leaves it), the table's start-up column being the latter.

Plain TinyDB gets fewer writes and finds at the large sizes: each one reads or rewrites the
whole file. Budget: the hub's write p99 at most 20 ms at 100,000 documents (every write mode).
Exit status 0 when met, 1 when not. Not a test: figures for docs/benchmarks.md.
Run: .venv/bin/python bench/store.py [--sizes 1000,10000,100000] [--writes 500] [--dir PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tinydb import Query, TinyDB  # noqa: E402

from hub.store import open_store  # noqa: E402
from hub.store.migrations import MIGRATIONS, Schema  # noqa: E402

BUDGET_MS = 20.0
TABLE = "subscriptions"
JOURNAL_UPDATES = 5000
THREADS = 8


def _indexed(schema: Schema) -> None:
    schema.add_index(TABLE, "endpoint", unique=True)


SCHEMA = [*MIGRATIONS, _indexed]

# Opens a store, applies JOURNAL_UPDATES updates in batches and dies without closing it.
CRASH_AFTER_UPDATES = """
import os, sys
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from bench.store import SCHEMA, TABLE
from hub.store import open_store
store = open_store(Path(sys.argv[1]), migrations=SCHEMA)
ids = sorted(d["id"] for d in store.page(TABLE, limit=1000))
count = int(sys.argv[2])
for start in range(0, count, 100):
    with store.batch() as batch:
        for n in range(start, min(start + 100, count)):
            batch.update(TABLE, ids[n % len(ids)], {"confirmed": 1_800_000_000 + n})
os._exit(0)
"""


def documents(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Documents shaped like push subscriptions (about 400 bytes of JSON each)."""
    rng = random.Random(seed)
    services = (
        "fcm.googleapis.com/fcm/send",
        "web.push.apple.com",
        "updates.push.services.mozilla.com/wpush/v2",
    )
    docs = []
    for n in range(count):
        token = "".join(
            rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", k=140)
        )
        docs.append(
            {
                "id": f"s{n:07d}",
                "endpoint": f"https://{services[n % 3]}/{token}",
                "keys": {"p256dh": token[:87], "auth": token[87:109]},
                "locale": ("en", "fil", "id", "vi", "th", "km", "my")[n % 7],
                "origin": ("PH", "ID", "VN", "TH", "KH", "MM")[n % 6],
                "destination": ("HK", "SG", "MY", "TW", "SA", "AE")[n % 6],
                "discreet": n % 4 == 0,
                "created": 1_750_000_000 + n,
                "confirmed": 1_750_000_000 + n,
            }
        )
    return docs


def timed(calls: int, call: Callable[[int], object]) -> list[float]:
    """Milliseconds of each of `calls` calls."""
    spent = []
    for n in range(calls):
        start = time.perf_counter()
        call(n)
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def fsync_ms(folder: Path) -> float:
    """p50 of appending 200 bytes and fdatasync on this file system."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        spent = timed(50, lambda _: (os.write(fd, b"x" * 200), os.fdatasync(fd)))
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(spent)


def measure_hub(folder: Path, docs: list[dict[str, Any]], writes: int) -> dict[str, float]:
    """The hub's store at len(docs) documents."""
    path = folder / "hub.json"
    store = open_store(path, migrations=SCHEMA)
    with store.batch() as batch:
        for doc in docs:
            batch.insert(TABLE, doc)
    store.close()
    rng = random.Random(1)
    ids = [d["id"] for d in docs]
    endpoints = [d["endpoint"] for d in docs]
    out: dict[str, float] = {}

    start = time.perf_counter()
    store = open_store(path, migrations=SCHEMA)
    store.get(TABLE, ids[0])
    out["startup_snapshot_ms"] = (time.perf_counter() - start) * 1000
    picks = [rng.choice(ids) for _ in range(writes)]
    spent = timed(writes, lambda n: store.update(TABLE, picks[n], {"confirmed": n}))
    out["write_p50"], out["write_p99"] = pct(spent, 50), pct(spent, 99)
    out["get_p99"] = pct(timed(2000, lambda _: store.get(TABLE, rng.choice(ids))), 99)
    found = timed(2000, lambda _: store.find_one(TABLE, endpoint=rng.choice(endpoints)))
    out["find_p99"] = pct(found, 99)

    per_thread: list[list[float]] = [[] for _ in range(THREADS)]

    def writer(thread: int) -> None:
        own = random.Random(thread)
        per_thread[thread] = timed(
            writes // THREADS,
            lambda n: store.update(TABLE, own.choice(ids), {"confirmed": n}),
        )

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    together = [ms for spent in per_thread for ms in spent]
    out["threads_p99"] = pct(together, 99)
    out["threads_per_s"] = len(together) / elapsed
    store.close()

    # Snapshots forced: the journal is folded in every 256 KiB (about 600 updates).
    store = open_store(path, migrations=SCHEMA, snapshot_bytes=256 * 1024)
    spent = timed(max(writes, 1500), lambda n: store.update(TABLE, rng.choice(ids), {"n": n}))
    out["snapshots_p99"] = pct(spent, 99)
    store.close()

    subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_UPDATES, str(path), str(JOURNAL_UPDATES), str(ROOT)],
        check=True,
    )
    journal = sum(p.stat().st_size for p in folder.glob("hub.journal.*"))
    start = time.perf_counter()
    store = open_store(path, migrations=SCHEMA)
    store.get(TABLE, ids[0])
    out["startup_ms"] = (time.perf_counter() - start) * 1000
    out["journal_mb"] = journal / 1e6
    out["snapshot_mb"] = path.stat().st_size / 1e6
    store.close()
    return out


def measure_tinydb(folder: Path, docs: list[dict[str, Any]], writes: int) -> dict[str, float]:
    """Plain TinyDB (JSONStorage) at len(docs) documents."""
    path = folder / "plain.json"
    db = TinyDB(path)
    table = db.table(TABLE)
    table.insert_multiple(docs)
    db.close()
    rng = random.Random(1)
    endpoints = [d["endpoint"] for d in docs]
    out: dict[str, float] = {}
    start = time.perf_counter()
    db = TinyDB(path)
    table = db.table(TABLE)
    table.get(doc_id=1)
    out["startup_ms"] = (time.perf_counter() - start) * 1000
    # TinyDB's own ids are 1..n in insertion order.
    picks = [rng.randint(1, len(docs)) for _ in range(writes)]
    spent = timed(writes, lambda n: table.update({"confirmed": n}, doc_ids=[picks[n]]))
    out["write_p50"], out["write_p99"] = pct(spent, 50), pct(spent, 99)
    reads = max(5, writes * 4)
    out["get_p99"] = pct(timed(reads, lambda _: table.get(doc_id=rng.randint(1, len(docs)))), 99)
    endpoint = Query().endpoint
    found = timed(reads, lambda _: table.get(endpoint == rng.choice(endpoints)))
    out["find_p99"] = pct(found, 99)
    out["snapshot_mb"] = path.stat().st_size / 1e6
    db.close()
    return out


def main() -> int:
    """Measure, print the table and the budget's verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--writes", type=int, default=500, help="the hub's writes per size")
    parser.add_argument("--dir", type=Path, help="where the temp folders go (default: TMPDIR)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = Path(tempfile.mkdtemp(prefix="hub-store-bench-", dir=args.dir))
    try:
        print(f"store bench: {os.cpu_count()} cores, data in {base}")
        print(f"fsync (append 200 B + fdatasync) p50 {fsync_ms(base):.2f} ms")
        rows = []
        for size in sizes:
            docs = documents(size)
            hub_dir, plain_dir = base / f"hub-{size}", base / f"plain-{size}"
            hub_dir.mkdir()
            plain_dir.mkdir()
            hub = measure_hub(hub_dir, docs, args.writes)
            plain_writes = max(3, min(args.writes, 200_000 // size))
            plain = measure_tinydb(plain_dir, docs, plain_writes)
            rows.append((size, hub, plain))
            shutil.rmtree(hub_dir)
            shutil.rmtree(plain_dir)
        head = (
            f"{'docs':>7} {'store':<12} {'write p50':>9} {'write p99':>9} {'8 threads':>9} "
            f"{'writes/s':>8} {'snapshots':>9} {'get p99':>8} {'find p99':>8} "
            f"{'start-up':>9} {'file MB':>7}"
        )
        print("\nwrite, read and start-up in ms; 8 threads and snapshots: write p99")
        print(head)
        for size, hub, plain in rows:
            print(
                f"{size:>7} {'hub':<12} {hub['write_p50']:>9.2f} {hub['write_p99']:>9.2f} "
                f"{hub['threads_p99']:>9.2f} {hub['threads_per_s']:>8.0f} "
                f"{hub['snapshots_p99']:>9.2f} {hub['get_p99']:>8.3f} {hub['find_p99']:>8.3f} "
                f"{hub['startup_ms']:>9.1f} {hub['snapshot_mb']:>7.1f}"
            )
            print(
                f"{'':>7} {'plain TinyDB':<12} {plain['write_p50']:>9.2f} "
                f"{plain['write_p99']:>9.2f} {'':>9} {'':>8} {'':>9} {plain['get_p99']:>8.3f} "
                f"{plain['find_p99']:>8.3f} {plain['startup_ms']:>9.1f} "
                f"{plain['snapshot_mb']:>7.1f}"
            )
            print(
                f"{'':>7} {'':<12} hub start-up {hub['startup_snapshot_ms']:.1f} ms from the "
                f"snapshot alone, {hub['startup_ms']:.1f} ms with a journal of "
                f"{JOURNAL_UPDATES} updates ({hub['journal_mb']:.1f} MB) not folded in"
            )
        largest, hub, _ = rows[-1]
        worst = max(hub["write_p99"], hub["threads_p99"], hub["snapshots_p99"])
        met = worst <= BUDGET_MS
        print(
            f"\nbudget: hub write p99 at {largest} documents {worst:.2f} ms (worst of the three "
            f"modes) <= {BUDGET_MS:.0f} ms: {'met' if met else 'not met'}"
        )
        return 0 if met else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
