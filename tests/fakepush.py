"""A fake Web Push service on loopback that behaves like the real ones, for tests and benches.

    with FakePush() as push:                 # serves http://127.0.0.1:<ephemeral port>
        settings = Settings(..., push_services=f"{DEFAULT_PUSH_SERVICES},{push.origin}",
                            vapid_subject="mailto:ops@hub.example")
        phone = push.phone()                 # a P-256 key pair and a 16-byte auth secret
        phone.subscription                   # {"endpoint", "expirationTime", "keys":
                                             #  {"p256dh", "auth"}}, as a browser gives it
        push.answer(phone, 410)              # every later message to it: 410 Gone
        push.answer(phone, 429, retry_after="2", times=1)   # the next one only
        push.answer(phone, 503, times=2)
        push.answer(phone, 307, location=f"{sink.origin}/internal")   # a redirect
        push.delay = 0.5; push.slow(phone, 2.0)   # answer everyone / one phone late
        push.hold_after(40); push.release()  # after 40 accepted, hold every request until
                                             # released (then those whose client is gone
                                             # are dropped, as an unacknowledged message)
        assert push.wait_for(10, timeout=20) # until 10 messages are accepted in all
        push.messages(phone)                 # the decrypted JSON payloads it accepted
        push.received(phone)                 # the same as Received (headers, payload, when)
        push.problems                        # requests it refused for a protocol error
        push.refused                         # (endpoint id, status) of scripted answers given

What a real push service checks, it checks, and refuses with 400, 401, 403 or 413, noting the
problem in `problems`: the `Authorization: vapid t=<JWT>, k=<key>` header (the JWT's ES256
signature against `k`, `aud` equal to this origin, `exp` in the future and at most 24 hours
ahead, `sub` a mailto: or https: URL; `k` the phone's applicationServerKey when the phone was
made with one), a `TTL` header, `Content-Encoding: aes128gcm`, a body of at most 4,096 bytes
that decrypts (RFC 8291) with the phone's private key and auth secret, `Urgency` and `Topic`
(at most 32 base64url characters) when present. `FakePush(decrypt=False)` only checks the
headers and takes any body to any `/push/<id>`, keeping only counts (the benchmark's mode: the
phone's side is not measured). `GET /stats` answers {"accepted", "first", "last", "problems"}.
`push.requests` counts every HTTP request it was sent, to any path.

`Sink()` is another loopback listener that answers 201 to any request and records each one
(`sink.hits`: method and path), the address a hostile push service would redirect the hub to.

Both run their own event loop in a thread, answer only on 127.0.0.1, and stop when the `with`
block ends, or by themselves after `lifetime` seconds. Other helpers: `phone_keys()`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import http_ece  # type: ignore[import-untyped]
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode as decode_jwt  # type: ignore[import-untyped]

MAX_BODY = 4096
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
SUBJECT = re.compile(r"(mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?)")
AUTHORIZATION = re.compile(r"vapid\s+(.*)", re.IGNORECASE)


def b64url(data: bytes) -> str:
    """Base64url without padding, as browsers write keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def phone_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A new phone's P-256 private key and 16-byte auth secret."""
    return ec.generate_private_key(ec.SECP256R1()), os.urandom(16)


@dataclass
class Phone:
    """One subscribed browser: its endpoint on the fake and its keys."""

    id: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    server_key: str | None = None

    @property
    def subscription(self) -> dict[str, Any]:
        """The PushSubscription JSON a browser hands over for it."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass(frozen=True)
class Received:
    """One message the fake accepted (201)."""

    headers: dict[str, str]
    payload: dict[str, Any] | None
    when: float


@dataclass
class _Script:
    status: int
    retry_after: str | None
    times: int | None
    location: str | None = None


@dataclass
class _State:
    phones: dict[str, Phone] = field(default_factory=dict)
    received: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))
    scripts: dict[str, list[_Script]] = field(default_factory=lambda: defaultdict(list))
    slow: dict[str, float] = field(default_factory=dict)
    accepted: int = 0


class _Loopback:
    """An aiohttp app on 127.0.0.1 (an ephemeral port) in a thread of its own, for at most
    `lifetime` seconds; a `with` block starts and stops it. Subclasses give `_app()`."""

    name = "loopback"

    def __init__(self, *, lifetime: float) -> None:
        self.lifetime = lifetime
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def start(self) -> None:
        """Serve in a new thread; RuntimeError when it does not start within 30 s."""
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        if not self._started.wait(30) or not self.port:
            raise RuntimeError(f"the {self.name} did not start")

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`: what to add to HUB_PUSH_SERVICES."""
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def _stopping(self) -> None:
        """What to do before the app stops."""

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._started.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.lifetime)
        except TimeoutError:
            pass
        finally:
            await self._stopping()
            await runner.cleanup()


class FakePush(_Loopback):
    """The fake push service (see the module's docstring)."""

    name = "fake push service"

    def __init__(self, *, decrypt: bool = True, lifetime: float = 300.0) -> None:
        super().__init__(lifetime=lifetime)
        self.decrypt = decrypt
        self.delay = 0.0
        self.problems: list[str] = []
        self.refused: list[tuple[str, int]] = []
        self.requests = 0
        self.holding = 0
        # When the first and the last message were accepted (time.time()).
        self.first = 0.0
        self.last = 0.0
        self._state = _State()
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._hold_after: int | None = None
        self._release: asyncio.Event | None = None

    # -- life -------------------------------------------------------------------------------

    def __enter__(self) -> FakePush:
        self.start()
        return self

    def _app(self) -> web.Application:
        self._release = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._count])
        app.router.add_post("/push/{phone}", self._handle)
        app.router.add_get("/stats", self._stats)
        return app

    async def _stopping(self) -> None:
        if self._release is not None:
            self._release.set()

    # -- phones and scripts -----------------------------------------------------------------

    def phone(self, server_key: str | None = None) -> Phone:
        """A new fake phone subscribed on this service; with `server_key` (the hub's VAPID
        public key, base64url), a message signed with another key is refused (403)."""
        key, auth = phone_keys()
        phone_id = b64url(os.urandom(12))
        phone = Phone(phone_id, f"{self.origin}/push/{phone_id}", key, auth, server_key)
        with self._lock:
            self._state.phones[phone_id] = phone
        return phone

    def answer(
        self,
        phone: Phone,
        status: int,
        *,
        retry_after: str | None = None,
        times: int | None = None,
        location: str | None = None,
    ) -> None:
        """Answer the next `times` messages to `phone` (every one when None) with `status`
        (and a Retry-After or Location header when given), before any check of the message."""
        with self._lock:
            self._state.scripts[phone.id].append(_Script(status, retry_after, times, location))

    def slow(self, phone: Phone, seconds: float) -> None:
        """Answer messages to `phone` only after `seconds`."""
        with self._lock:
            self._state.slow[phone.id] = seconds

    def hold_after(self, count: int) -> None:
        """Once `count` messages have been accepted, hold every further request unanswered
        until `release()`."""
        with self._lock:
            self._hold_after = count

    def release(self) -> None:
        """Let held requests go on (a message whose client went away is then dropped)."""
        with self._lock:
            self._hold_after = None
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    # -- what arrived -----------------------------------------------------------------------

    @property
    def accepted(self) -> int:
        """Messages accepted (201) in all."""
        with self._lock:
            return self._state.accepted

    def received(self, phone: Phone) -> list[Received]:
        """The messages accepted for `phone`, in order."""
        with self._lock:
            return list(self._state.received.get(phone.id, ()))

    def messages(self, phone: Phone) -> list[dict[str, Any] | None]:
        """The decrypted JSON payloads accepted for `phone`, in order."""
        return [r.payload for r in self.received(phone)]

    def wait_for(self, count: int, timeout: float = 30.0, *, holding: int = 0) -> bool:
        """Wait until `count` messages have been accepted in all (and, with `holding`, that
        many requests are held); whether that happened within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._state.accepted < count or self.holding < holding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
            return True

    # -- the service ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        phone_id = request.match_info["phone"]
        with self._lock:
            phone = self._state.phones.get(phone_id)
            scripts = self._state.scripts.get(phone_id)
            script = scripts[0] if scripts else None
            if script is not None and script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    scripts.pop(0)  # type: ignore[union-attr]
            delay = self._state.slow.get(phone_id, self.delay)
        if phone is None and self.decrypt:
            return web.Response(status=404, text="no such subscription")
        body = await request.read()
        if script is not None:
            with self._lock:
                self.refused.append((phone_id, script.status))
            headers = {"Retry-After": script.retry_after} if script.retry_after else {}
            if script.location:
                headers["Location"] = script.location
            return web.Response(status=script.status, headers=headers)
        problem, status = self._check(request, phone, body)
        if problem:
            with self._lock:
                self.problems.append(problem)
            return web.Response(status=status, text=problem)
        payload = None
        if phone is not None and self.decrypt:
            try:
                plain = http_ece.decrypt(
                    body, private_key=phone.key, auth_secret=phone.auth, version="aes128gcm"
                )
                payload = json.loads(plain)
            except Exception as exc:
                with self._lock:
                    self.problems.append(f"does not decrypt: {exc!r}")
                return web.Response(status=400, text="does not decrypt")
        if delay:
            await asyncio.sleep(delay)
        await self._wait_if_held()
        transport = request.transport
        if transport is None or transport.is_closing():
            # The sender is gone before it could read the answer: not acknowledged.
            return web.Response(status=503)
        with self._changed:
            now = time.time()
            if self.decrypt:
                self._state.received[phone_id].append(Received(dict(request.headers), payload, now))
            self.first = self.first or now
            self.last = now
            self._state.accepted += 1
            self._changed.notify_all()
        return web.Response(
            status=201, headers={"Location": f"{self.origin}/m/{os.urandom(6).hex()}"}
        )

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self._lock:
            self.requests += 1
        return await handler(request)

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            stats = {"accepted": self._state.accepted, "first": self.first, "last": self.last}
        return web.json_response({**stats, "problems": self.problems[-5:]})

    async def _wait_if_held(self) -> None:
        assert self._release is not None
        with self._lock:
            held = self._hold_after is not None and self._state.accepted >= self._hold_after
            if held:
                self.holding += 1
                self._changed.notify_all()
        if not held:
            return
        try:
            await self._release.wait()
        finally:
            with self._changed:
                self.holding -= 1

    def _check(self, request: web.Request, phone: Phone | None, body: bytes) -> tuple[str, int]:
        """What is wrong with a message, and the status a push service answers; ("", 0)."""
        found = AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
        if not found:
            return "no vapid Authorization header", 401
        parts = dict(p.strip().split("=", 1) for p in found.group(1).split(",") if "=" in p.strip())
        token, key = parts.get("t", ""), parts.get("k", "")
        # A signature checked once is known good (a push service sees the same header for
        # hours); the claims are still checked against the clock each time.
        claims = self._verified.get((token, key))
        if claims is None:
            try:
                claims = decode_jwt(token, key)
            except Exception:
                return "the VAPID JWT does not verify against k", 401
            if len(self._verified) < 256:
                self._verified[(token, key)] = claims
        now = time.time()
        if claims.get("aud") != self.origin:
            return f"aud {claims.get('aud')!r} is not {self.origin}", 403
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= now or exp > now + 24 * 3600:
            return f"exp {exp!r} is not within the next 24 hours", 403
        if not isinstance(claims.get("sub"), str) or not SUBJECT.fullmatch(claims["sub"]):
            return f"sub {claims.get('sub')!r} is not a mailto: or https: URL", 403
        if phone is not None and phone.server_key is not None and key != phone.server_key:
            return "k is not the key the phone subscribed with", 403
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return "no TTL header", 400
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return "Content-Encoding is not aes128gcm", 415
        if len(body) > MAX_BODY:
            return f"{len(body)} bytes", 413
        urgency = request.headers.get("Urgency")
        if urgency is not None and urgency not in ("very-low", "low", "normal", "high"):
            return f"Urgency {urgency!r}", 400
        topic = request.headers.get("Topic")
        if topic is not None and not TOPIC.fullmatch(topic):
            return f"Topic {topic!r}", 400
        return "", 0


class Sink(_Loopback):
    """A loopback listener that answers 201 to any request and records it (see the module's
    docstring): where a redirect must never take the hub."""

    name = "sink"

    def __init__(self, *, lifetime: float = 300.0) -> None:
        super().__init__(lifetime=lifetime)
        self.hits: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Sink:
        self.start()
        return self

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        with self._lock:
            self.hits.append((request.method, request.path))
        return web.Response(status=201)
