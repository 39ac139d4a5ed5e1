"""Push fan-out: one alert to 10,000 subscriptions on the loopback fake push service.

Three rates of messages per second, side by side in each run, against the same fake push
service (a lean HTTP/1.1 server in its own process, checking each message's VAPID header, TTL
and Content-Encoding but not decrypting, as the phone's side is not what is measured):

- the hub's sender: `hub serve` (bench/common.py's way) on a data folder whose outbox holds
  one delivery per subscription, timed from the first message the fake accepts to the last,
  and the CPU seconds its process spent over that time;
- a naive loop: `pywebpush.webpush()` once per subscription, one after the other (a new
  connection and a new VAPID signature each time), as the library's README shows it;
- the crypto bound: the work each message needs and nothing else, in one loop with no HTTP:
  the aes128gcm encryption for the subscriber (a new ephemeral key, ECDH, HKDF, AES-GCM: the
  http_ece call pywebpush's WebPusher.encode makes, which the hub's sender goes through, without
  pywebpush's per-message copy of the subscription and wrapping) and VAPID signing (py_vapid).
  Two ways to count the signing, both shown: one signature per message, as the naive loop signs
  ("encrypt + sign each"), and one per push service, as the hub signs (its header is made once
  per origin and reused for hours, so per message it is the encryption alone: "encrypt, sign
  once"). The second is the stricter bound: the hub cannot beat it.

Budget (docs/benchmarks.md): the hub at least 4x the naive loop and at least half the crypto
bound. Rates are wall-clock, so they move with the load of a shared machine; each figure is
also given as CPU microseconds per message of the process doing it (the hub's own process for
the sender), which moves much less. Several runs (the three interleaved in each), medians.
Exit status 0 when the budget is met against the bound with a signature per message (the
issue's "encryption plus signing"), 1 when not; the line for the stricter bound says whether
that is met too. Not a test: figures for docs/benchmarks.md.
Settings from the environment: BENCH_PUSH_PHONES (10000), BENCH_PUSH_NAIVE (messages of the
naive loop, 1000), BENCH_PUSH_CRYPTO (2000), BENCH_PUSH_RUNS (3), and the hub's own
HUB_PUSH_IN_FLIGHT. The hub's CPU counts any process it started.
Run: .venv/bin/python bench/push.py
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import http_ece  # type: ignore[import-untyped]  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from py_vapid import Vapid02  # noqa: E402
from py_vapid.jwt import decode as decode_jwt  # noqa: E402
from pywebpush import webpush  # noqa: E402

from hub.push.outbox import Outbox  # noqa: E402
from hub.push.payload import message  # noqa: E402
from hub.settings import DEFAULT_PUSH_SERVICES  # noqa: E402
from hub.store import open_store  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import cpu_seconds  # noqa: E402

SUBJECT = "mailto:ops@hub.example"
HOST = "127.0.0.1"
# Seconds the hub is given to start before the deliveries fall due.
START_SECONDS = 15
HUB_BUDGET_NAIVE = 4.0
HUB_BUDGET_CRYPTO = 0.5
TEXTS = {
    "en": {
        "title": "The embassy's shelter line changed",
        "body": "Call 2345 6789 day or night. The old number no longer answers. " * 3,
    }
}
ALERT: dict[str, Any] = {
    "id": "bench-alert",
    "push_topic": "bench-topic",
    "version": 1,
    "replaces": None,
    "account_id": "leader",
    "network": "A peer network",
    "corridors": ["PH-HK"],
    "locales": ["en"],
    "texts": TEXTS,
    "topic": "safety",
    "urgency": "normal",
    "expires": "2099-01-01T00:00:00Z",
    "link": None,
    "status": "published",
    "reason": None,
    "created": "2026-11-30T00:00:00Z",
    "published": "2026-11-30T00:00:00Z",
    "reviewed_by": "curator@hub.example",
    "withdrawn": None,
}


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _subscriptions(count: int, origin: str) -> list[dict[str, Any]]:
    """`count` browsers' subscriptions on the fake (a P-256 key and an auth secret each)."""
    subs = []
    for number in range(count):
        point = (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        subs.append(
            {
                "endpoint": f"{origin}/push/p{number}",
                "keys": {"p256dh": _b64url(point), "auth": _b64url(os.urandom(16))},
            }
        )
    return subs


# -- the fake, in its own process ---------------------------------------------------------------


class _Fake(asyncio.Protocol):
    """One connection to the bench's fake push service: HTTP/1.1 keep-alive, each POST checked
    (a VAPID header whose JWT verifies against its key, for this origin, unexpired; `TTL`;
    `Content-Encoding: aes128gcm`; at most 4,096 bytes) and answered 201 without decrypting.
    A lean server of its own (tests/fakepush.py decrypts, and costs more than the sender it
    would measure); a VAPID header is verified once, as the test fake does."""

    stats: ClassVar[dict[str, Any]] = {"accepted": 0, "first": 0.0, "last": 0.0, "problems": []}
    verified: ClassVar[dict[str, bool]] = {}
    origin: ClassVar[str] = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = self.buffer[:head_end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            end = head_end + 4 + int(headers.get("content-length", "0"))
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            self.transport.write(self._answer(lines[0], headers, body))

    def _answer(self, request_line: str, headers: dict[str, str], body: bytes) -> bytes:
        stats = self.stats
        if request_line.startswith("GET /mark"):
            # The next message accepted is the first one timed.
            stats["first"] = stats["last"] = 0.0
        if request_line.startswith(("GET /stats", "GET /mark")):
            data = json.dumps(stats).encode()
            return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)
        problem = self._problem(headers, body)
        if problem:
            stats["problems"].append(problem)
            return b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
        now = time.time()
        stats["accepted"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        return b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"

    def _problem(self, headers: dict[str, str], body: bytes) -> str:
        authorization = headers.get("authorization", "")
        if authorization not in self.verified:
            try:
                parts = dict(
                    p.strip().split("=", 1) for p in authorization.split(" ", 1)[1].split(",")
                )
                claims = decode_jwt(parts["t"], parts["k"])
            except Exception:
                return "no verified VAPID header"
            if claims.get("aud") != self.origin or not claims.get("sub"):
                return f"claims {claims}"
            self.verified[authorization] = True
        if not headers.get("ttl", "").isdigit():
            return "no TTL"
        if headers.get("content-encoding") != "aes128gcm" or len(body) > 4096:
            return "not an aes128gcm body of at most 4,096 bytes"
        return ""


def serve_fake() -> int:
    """Run the bench's fake until stdin closes (or for half an hour); print its port first."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Fake, HOST, 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        _Fake.origin = f"http://{HOST}:{port}"
        print(port, flush=True)
        closed = loop.run_in_executor(None, sys.stdin.read)
        await asyncio.wait_for(closed, timeout=1800)
        server.close()

    asyncio.run(run())
    return 0


def _stats(origin: str, path: str = "/stats") -> dict[str, Any]:
    with urllib.request.urlopen(f"{origin}{path}", timeout=10) as answer:
        stats: dict[str, Any] = json.load(answer)
        return stats


def _tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of process `pid` and of every process it started, and they started (the
    hub's encryption workers and the server they are forked from), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue  # ended meanwhile
    tree = {pid}
    grown = True
    while grown:
        grown = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grown = True
    own = cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(cpu_seconds(child) or 0.0 for child in tree - {pid})


def _wait_accepted(
    origin: str, count: int, timeout: float, pid: int
) -> tuple[dict[str, Any], float]:
    """The fake's stats once it has accepted `count` in all, and the CPU seconds process
    `pid` and its children spent from the first of them to the last (a child started meanwhile
    counts whole)."""
    deadline = time.monotonic() + timeout
    started = _stats(origin)["accepted"]
    cpu_first: float | None = None
    while True:
        stats = _stats(origin)
        if cpu_first is None and stats["accepted"] > started:
            cpu_first = _tree_cpu_seconds(pid)
        if stats["accepted"] >= count or time.monotonic() > deadline:
            cpu_last = _tree_cpu_seconds(pid)
            return stats, (cpu_last or 0.0) - (cpu_first or 0.0)
        time.sleep(0.05)


# -- the three rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Messages per second (wall clock) and CPU microseconds per message of one way to send."""

    per_second: float
    cpu_us: float


def encrypt_message(data: bytes, keys: dict[str, str]) -> bytes:
    """`data` encrypted for one subscriber (RFC 8291 aes128gcm) as WebPusher.encode does it: a
    new ephemeral P-256 key and a random salt, the subscriber's p256dh and auth secret."""
    receiver = base64.urlsafe_b64decode(keys["p256dh"] + "=" * (-len(keys["p256dh"]) % 4))
    auth = base64.urlsafe_b64decode(keys["auth"] + "=" * (-len(keys["auth"]) % 4))
    body: bytes = http_ece.encrypt(
        data,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=receiver,
        auth_secret=auth,
        version="aes128gcm",
    )
    return body


def crypto_bound(subs: list[dict[str, Any]], data: bytes, origin: str, *, sign_each: bool) -> Rate:
    """Encryption and signing alone: a signature per message, or one for the run (the hub's
    one per push service)."""
    vapid = Vapid02(ec.generate_private_key(ec.SECP256R1()))
    claims = {"aud": origin, "sub": SUBJECT, "exp": int(time.time()) + 12 * 3600}
    started, cpu = time.perf_counter(), time.process_time()
    if not sign_each:
        vapid.sign(dict(claims))
    for sub in subs:
        encrypt_message(data, sub["keys"])
        if sign_each:
            vapid.sign(dict(claims))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Rate(len(subs) / elapsed, cpu * 1e6 / len(subs))


def naive_loop(subs: list[dict[str, Any]], data: bytes, origin: str) -> Rate:
    """`pywebpush.webpush()` called once per subscription (its CPU: this process only)."""
    vapid = Vapid02(ec.generate_private_key(ec.SECP256R1()))
    before = _stats(origin)["accepted"]
    started, cpu = time.perf_counter(), time.process_time()
    for sub in subs:
        webpush(
            sub,
            data.decode(),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},
            ttl=3600,
            timeout=10,
        )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert _stats(origin)["accepted"] - before == len(subs), "the fake did not accept them all"
    return Rate(len(subs) / elapsed, cpu * 1e6 / len(subs))


def hub_sender(subs: list[dict[str, Any]], origin: str, folder: Path) -> tuple[Rate, str]:
    """The hub's sender (hub serve) fanning one alert out to `subs`: its rate and CPU per
    message (its whole process), and the tail of its log."""
    data_dir = folder / "var"
    store = open_store(data_dir / "hub.json")
    try:
        docs = []
        with store.batch() as batch:
            for number, sub in enumerate(subs):
                doc = {
                    "id": f"s{number:06d}",
                    "token_hash": f"{number:064x}",
                    "endpoint": sub["endpoint"],
                    "push_service": origin,
                    "keys": sub["keys"],
                    "locale": "en",
                    "origin": "PH",
                    "destination": "HK",
                    "corridor": "PH-HK",
                    "topics": ["safety"],
                    "discreet": False,
                    "created": "2026-11-30T00:00:00Z",
                    "confirmed": "2026-11-30T00:00:00Z",
                    "last_delivery": None,
                }
                batch.insert("subscriptions", doc)
                docs.append(doc)
        store.insert("alerts", ALERT)
        # Due a little after the hub has started: its start-up is not part of the fan-out.
        later = datetime.now(UTC) + timedelta(seconds=START_SECONDS)
        Outbox(store, clock=lambda: later).enqueue(ALERT, docs)
    finally:
        store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PORT": "0",
        "HUB_PUSH_SERVICES": f"{DEFAULT_PUSH_SERVICES},{origin}",
        "HUB_VAPID_SUBJECT": SUBJECT,
    }
    if os.environ.get("HUB_PUSH_IN_FLIGHT"):
        env["HUB_PUSH_IN_FLIGHT"] = os.environ["HUB_PUSH_IN_FLIGHT"]
    before = _stats(origin, "/mark")
    log_path = folder / "hub.log"
    with log_path.open("wb") as log:
        hub = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--host", HOST],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        stats, cpu = _wait_accepted(origin, before["accepted"] + len(subs), 600, hub.pid)
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait(30)
    tail = log_path.read_text(errors="replace")[-1500:]
    sent = stats["accepted"] - before["accepted"]
    if sent < len(subs):
        raise RuntimeError(f"the hub sent {sent} of {len(subs)}:\n{tail}")
    # From the first message of this run to the last (the fake times them from the mark): the
    # hub's start-up is not counted, nor the time since the messages of the naive loop.
    rate = (len(subs) - 1) / (stats["last"] - stats["first"])
    return Rate(rate, cpu * 1e6 / len(subs)), tail


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> int:
    """Run the three, several times, and print them side by side with the budget."""
    phones = _int_env("BENCH_PUSH_PHONES", 10_000)
    naive_count = _int_env("BENCH_PUSH_NAIVE", 1_000)
    crypto_count = _int_env("BENCH_PUSH_CRYPTO", 2_000)
    runs = max(1, _int_env("BENCH_PUSH_RUNS", 3))
    names = ("hub", "naive", "sign_each", "sign_once")
    found: dict[str, list[Rate]] = {name: [] for name in names}
    fake = subprocess.Popen(
        [sys.executable, __file__, "fake"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None and fake.stdin is not None
        origin = f"http://{HOST}:{int(fake.stdout.readline())}"
        subs = _subscriptions(phones, origin)
        data = message(ALERT, "en", discreet=False, neutral=("Notes", "You have a new note."))
        print(f"one alert, {len(data)} bytes of JSON, to {phones:,} subscriptions on the fake")
        print(f"{os.cpu_count()} CPUs; load average (1, 5, 15 min) at the start: {_load()}")
        for run in range(1, runs + 1):
            found["sign_each"].append(
                crypto_bound(subs[:crypto_count], data, origin, sign_each=True)
            )
            found["sign_once"].append(
                crypto_bound(subs[:crypto_count], data, origin, sign_each=False)
            )
            found["naive"].append(naive_loop(subs[:naive_count], data, origin))
            with tempfile.TemporaryDirectory(prefix="bench-push-") as folder:
                hub, _ = hub_sender(subs, origin, Path(folder))
            found["hub"].append(hub)
            each = ", ".join(f"{n} {found[n][-1].per_second:,.0f}/s" for n in names)
            print(f"run {run}: {each}; load {_load()}", flush=True)
        problems = _stats(origin)["problems"]
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(30)
    rate = {n: statistics.median(r.per_second for r in found[n]) for n in names}
    cpu = {n: statistics.median(r.cpu_us for r in found[n]) for n in names}
    labels = {
        "hub": ("hub sender (hub serve)", phones),
        "naive": ("naive pywebpush.webpush()", naive_count),
        "sign_each": ("encrypt + sign each", crypto_count),
        "sign_once": ("encrypt, sign once", crypto_count),
    }
    print(f"medians of {runs} run(s):")
    print(f"{'':30}{'messages':>10}{'msg/s':>10}{'CPU us/msg':>12}")
    for name in names:
        label, count = labels[name]
        print(f"{label:30}{count:>10,}{rate[name]:>10,.0f}{cpu[name]:>12,.0f}")

    def ratio(name: str) -> float:
        # The median of each run's ratio: the three of a run shared its load.
        return statistics.median(
            h.per_second / o.per_second for h, o in zip(found["hub"], found[name], strict=True)
        )

    def cpu_ratio(name: str) -> float:
        return statistics.median(
            o.cpu_us / h.cpu_us for h, o in zip(found["hub"], found[name], strict=True)
        )

    to_naive, to_each, to_once = ratio("naive"), ratio("sign_each"), ratio("sign_once")
    print(f"hub / naive:               {to_naive:5.2f}x (budget at least {HUB_BUDGET_NAIVE:.0f}x)")
    print(
        f"hub / encrypt + sign each: {to_each:5.2f}x (budget at least {HUB_BUDGET_CRYPTO}); "
        f"by CPU per message {cpu_ratio('sign_each'):.2f}x"
    )
    print(
        f"hub / encrypt, sign once:  {to_once:5.2f}x (the stricter bound: "
        f"{'met' if to_once >= HUB_BUDGET_CRYPTO else 'missed'}); "
        f"by CPU per message {cpu_ratio('sign_once'):.2f}x"
    )
    print(f"load average at the end: {_load()}")
    met = to_naive >= HUB_BUDGET_NAIVE and to_each >= HUB_BUDGET_CRYPTO and not problems
    if problems:
        print(f"the fake refused messages: {problems}")
    print("budget met" if met else "BUDGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(serve_fake() if sys.argv[1:] == ["fake"] else main())
