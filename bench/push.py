"""Push fan-out: one alert to 10,000 subscriptions on the loopback fake push service.

Three rates of messages per second, in one run, against the same fake push service (a lean
HTTP/1.1 server in its own process, checking each message's VAPID header, TTL and
Content-Encoding but not decrypting, as the phone's side is not what is measured):

- the hub's sender: `hub serve` (bench/common.py's way) on a data folder whose outbox holds
  one delivery per subscription, timed from the first message the fake accepts to the last;
- a naive loop: `pywebpush.webpush()` once per subscription, one after the other (a new
  connection and a new VAPID signature each time), as the library's README shows it;
- the crypto bound: the work each message needs and nothing else, done in one loop: the
  aes128gcm encryption for the subscriber (pywebpush's `WebPusher.encode`) and a VAPID
  signature (py_vapid), with no HTTP at all.

Budget (docs/benchmarks.md): the hub at least 4x the naive loop and at least half the crypto
bound. Exit status 0 when met, 1 when not. Not a test: figures for docs/benchmarks.md.
Settings from the environment: BENCH_PUSH_PHONES (10000), BENCH_PUSH_NAIVE (messages of the
naive loop, 1000), BENCH_PUSH_CRYPTO (2000), and the hub's own HUB_PUSH_IN_FLIGHT.
Run: .venv/bin/python bench/push.py
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from py_vapid import Vapid02  # noqa: E402
from py_vapid.jwt import decode as decode_jwt  # noqa: E402
from pywebpush import WebPusher, webpush  # noqa: E402

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
        if request_line.startswith("GET /stats"):
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


def _stats(origin: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{origin}/stats", timeout=10) as answer:
        stats: dict[str, Any] = json.load(answer)
        return stats


def _wait_accepted(
    origin: str, count: int, timeout: float, pid: int
) -> tuple[dict[str, Any], float]:
    """The fake's stats once it has accepted `count` in all, and the CPU seconds process
    `pid` spent from the first of them to the last."""
    deadline = time.monotonic() + timeout
    started = _stats(origin)["accepted"]
    cpu_first: float | None = None
    while True:
        stats = _stats(origin)
        if cpu_first is None and stats["accepted"] > started:
            cpu_first = cpu_seconds(pid)
        if stats["accepted"] >= count or time.monotonic() > deadline:
            cpu_last = cpu_seconds(pid)
            return stats, (cpu_last or 0.0) - (cpu_first or 0.0)
        time.sleep(0.05)


# -- the three rates ---------------------------------------------------------------------------


def crypto_bound(subs: list[dict[str, Any]], data: bytes, origin: str) -> float:
    """Messages per second of encryption and signing alone."""
    vapid = Vapid02(ec.generate_private_key(ec.SECP256R1()))
    started = time.perf_counter()
    for sub in subs:
        WebPusher(sub).encode(data, "aes128gcm")
        vapid.sign({"aud": origin, "sub": SUBJECT, "exp": int(time.time()) + 12 * 3600})
    return len(subs) / (time.perf_counter() - started)


def naive_loop(subs: list[dict[str, Any]], data: bytes, origin: str) -> float:
    """Messages per second of `pywebpush.webpush()` called once per subscription."""
    vapid = Vapid02(ec.generate_private_key(ec.SECP256R1()))
    before = _stats(origin)["accepted"]
    started = time.perf_counter()
    for sub in subs:
        webpush(
            sub,
            data.decode(),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},
            ttl=3600,
            timeout=10,
        )
    elapsed = time.perf_counter() - started
    assert _stats(origin)["accepted"] - before == len(subs), "the fake did not accept them all"
    return len(subs) / elapsed


def hub_sender(subs: list[dict[str, Any]], origin: str, folder: Path) -> tuple[float, float, str]:
    """Messages per second of the hub's sender (hub serve) fanning one alert out to `subs`,
    its CPU milliseconds per message, and the tail of its log."""
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
    before = _stats(origin)
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
    # From the first message of this run to the last: the hub's start-up is not counted.
    first = max(stats["first"], before["last"])
    rate = (len(subs) - 1) / (stats["last"] - first)
    return rate, cpu * 1000 / len(subs), tail


def main() -> int:
    """Run the three and print them side by side with the budget."""
    phones = _int_env("BENCH_PUSH_PHONES", 10_000)
    naive_count = _int_env("BENCH_PUSH_NAIVE", 1_000)
    crypto_count = _int_env("BENCH_PUSH_CRYPTO", 2_000)
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
        crypto = crypto_bound(subs[:crypto_count], data, origin)
        naive = naive_loop(subs[:naive_count], data, origin)
        with tempfile.TemporaryDirectory(prefix="bench-push-") as folder:
            hub, hub_cpu, _ = hub_sender(subs, origin, Path(folder))
        problems = _stats(origin)["problems"]
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(30)
    print(f"one alert, {len(data)} bytes of JSON, to {phones:,} subscriptions on the loopback fake")
    print(f"{'':28}{'messages':>10}{'msg/s':>10}")
    print(f"{'hub sender (hub serve)':28}{phones:>10,}{hub:>10,.0f}   {hub_cpu:.2f} ms CPU each")
    print(f"{'naive pywebpush.webpush()':28}{naive_count:>10,}{naive:>10,.0f}")
    print(f"{'crypto bound (encrypt+sign)':28}{crypto_count:>10,}{crypto:>10,.0f}")
    to_naive, to_crypto = hub / naive, hub / crypto
    met = to_naive >= HUB_BUDGET_NAIVE and to_crypto >= HUB_BUDGET_CRYPTO and not problems
    print(f"hub / naive:  {to_naive:.2f}x (budget at least {HUB_BUDGET_NAIVE:.0f}x)")
    print(f"hub / crypto: {to_crypto:.2f}x (budget at least {HUB_BUDGET_CRYPTO})")
    if problems:
        print(f"the fake refused messages: {problems}")
    print("budget met" if met else "BUDGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(serve_fake() if sys.argv[1:] == ["fake"] else main())
