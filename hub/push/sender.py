"""The fan-out sender: works through the outbox over one aiohttp session.

One background task sweeps the outbox in due order, a chunk of `SWEEP` deliveries per store
read, and puts the ids of the due ones in a queue per push service; it goes on from where it
stopped while the queues have room, and from the top again when something was queued (`wake`)
or falls due. Each of at most `in_flight` workers holds one slot and sends, one after another,
what one push service's queue holds; a service gets at most three quarters of the slots, so a
slow one never holds up the others. Each message goes through pywebpush's async path
(`WebPusher.send_async`: RFC 8291 aes128gcm for its subscriber, a new ephemeral key and salt)
over the one shared session, seen through `NoRedirects` so a redirect is never followed, with
the VAPID header made once per push-service origin (hub/push/vapid.py). A slot goes on to the
next message once the push service has answered; the outcome goes to the store's next batch at
once, and the delivery is left out of every sweep until that batch is on disk, so a restart
never sends again what a push service acknowledged before it. The push services' answers, as
RFC 8030 and their documentation give them: 2xx delivered; 3xx refused (a redirect is never
followed: only a listed origin is called); 404/410 the subscription is gone (deleted, its
deliveries cut from it in the same write); 413 too large (failed); 429, and Microsoft's 406,
throttled (that service waits for its `Retry-After`, nothing counted against the message); 5xx
and timeouts tried again with exponential backoff and full jitter, up to `attempts`;
400/401/403 a configuration error of the hub (failed, nothing deleted). Logs name push services
and counts, never an endpoint (it identifies a phone).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import http_ece  # type: ignore[import-untyped]
from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

from hub.auth.accounts import utc_now
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.push.outbox import OPEN, Outbox, format_time, unlink
from hub.push.outbox import TABLE as DELIVERIES
from hub.push.payload import PayloadTooLarge, message
from hub.push.subscriptions import Subscriptions
from hub.push.vapid import Vapid
from hub.store import Store
from hub.store.base import Conflict, Document

log = logging.getLogger(__name__)

SUBSCRIPTIONS = "subscriptions"
ALERTS = "alerts"
# Seconds between looks at the outbox when nothing wakes the sender (a retry falls due, a
# pause ends: those wake it at their time; this is the backstop).
POLL_SECONDS = 30.0
# The least time between two passes over the outbox.
PASS_GAP_SECONDS = 0.05
# The first retry waits up to this many seconds, doubling with each try, capped.
BACKOFF_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60
# A throttled push service (429, 406) that says nothing of when to come back, and the longest
# wait taken from its Retry-After.
PAUSE_DEFAULT_SECONDS = 60.0
PAUSE_CAP_SECONDS = 3600.0
# Push services keep a message at most about four weeks (FCM's limit); a longer TTL is cut.
MAX_TTL_SECONDS = 28 * 24 * 3600
# At shutdown, sends under way get this long to finish and be recorded; the rest stay pending.
DRAIN_SECONDS = 5.0
# Deliveries read from the store at once. A read costs time in proportion to every open
# delivery (the store ranks the whole `state` index for each page), so few large reads, not
# many pages: 10,000 due deliveries are one read. What a read returns is dropped once its ids
# are queued, so it is all the memory a sweep takes beyond the queues.
SWEEP = 10_000
# Ids queued at most across the push services (a few MB); the sweep goes on as they are sent.
QUEUE_MAX = 200_000
# An alert read from the store is used this long (its withdrawal also cancels its deliveries,
# which each send reads first).
ALERT_SECONDS = 1.0
# Outcomes written in one store batch at most.
WRITE_BATCH = 512
THROTTLED = frozenset({429, 406})
CONFIGURATION = frozenset({400, 401, 403})
# The reason a delivery answered with a redirect fails with (outbox.REASONS: "refused").
REDIRECTED = "refused"
# What pywebpush raises for keys it cannot encrypt for (a missing or undecodable key, a point
# not on P-256); binascii.Error is a ValueError.
BAD_KEYS = (WebPushException, http_ece.ECEException, ValueError, TypeError, KeyError)


class NoRedirects:
    """The one shared session as pywebpush's WebPusher calls it, with redirects never followed.

    aiohttp follows redirects by default: a listed push service answering `307 Location:
    http://127.0.0.1:<port>/internal` would have the hub post to an address nobody listed and
    take that answer for the push service's. Only the listed origin is ever called; a 3xx is
    its answer, and the message is not delivered."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def post(self, url: str, **kwargs: Any) -> Answer:
        """POST `url` on the shared session, redirects returned as they are, never followed."""
        async with self._session.post(url, allow_redirects=False, **kwargs) as response:
            # Read to the end, so the connection goes back to the pool for the next message.
            await response.read()
            return Answer(response.status, response.headers.get("Retry-After"))


@dataclass(frozen=True)
class Answer:
    """What the sender keeps of a push service's answer (the body is read and dropped)."""

    status: int
    retry_after: str | None

    async def text(self) -> str:
        """Empty: pywebpush reads the text only to log it, and a body in a charset it cannot
        decode would raise there, after the push service took the message."""
        return ""


@dataclass(frozen=True)
class Outcome:
    """What one try of a delivery came to, as it is written to the store."""

    delivery: Document
    state: str
    attempts: int
    reason: str | None = None
    due: str | None = None


@dataclass(frozen=True)
class _Alert:
    """An alert as the sends of one second use it: the document, its expiry parsed."""

    doc: Document | None
    expires: datetime | None
    read: float


class Sender:
    """Sends what the outbox holds to the push services, under their error contract."""

    def __init__(
        self,
        store: Store,
        *,
        outbox: Outbox,
        subscriptions: Subscriptions,
        vapid: Vapid,
        services: PushServices,
        neutral: Mapping[str, tuple[str, str]],
        in_flight: int,
        attempts: int,
        timeout: float,
        clock: Callable[[], datetime] = utc_now,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._subscriptions = subscriptions
        self._vapid = vapid
        self._services = services
        self._neutral = neutral
        self._in_flight = in_flight
        self._attempts = attempts
        self._timeout = timeout
        self.clock = clock
        self.backoff = backoff
        # A quarter of the slots is kept for the other push services (with one slot, none).
        self._share = max(1, (3 * in_flight) // 4)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._event: asyncio.Event | None = None
        self._session: aiohttp.ClientSession | None = None
        self._no_redirects: NoRedirects | None = None
        # Ids of deliveries queued, being sent, or with an outcome not yet on disk: no sweep
        # queues them again.
        self._busy: set[str] = set()
        self._queues: dict[str, deque[str]] = {}
        self._queued = 0
        self._active: Counter[str] = Counter()
        self._free = in_flight
        self._workers: set[asyncio.Task[None]] = set()
        # Where the sweep of each open state stopped ((due, id) of the last delivery looked
        # at), or None: the next read starts at the top.
        self._cursor: dict[str, dict[str, Any] | None] = dict.fromkeys(OPEN)
        # Whether the next pass sweeps from the top: something was queued or fell due.
        self._reread = True
        # Whether the last sweep stopped for want of room in the queues: the room sends free
        # then kicks the next read (a state not reached yet, or the rest of one).
        self._unfinished = False
        # The earliest due time (monotonic) of an outcome written since the last sweep from
        # the top, and of the open deliveries that sweep left for later.
        self._soonest = math.inf
        self._next_due = math.inf
        self._paused: dict[str, float] = {}
        self._writes: list[Outcome] = []
        self._write_ready: asyncio.Event | None = None
        self._write_room: asyncio.Event | None = None
        self._stopping = False
        self._warned: set[tuple[str, str]] = set()
        self._payloads: dict[tuple[str, str, bool], bytes] = {}
        self._alerts: dict[str, _Alert] = {}
        # What was sent since the last log line: state (or failure reason) -> count.
        self.tally: Counter[str] = Counter()

    # -- control ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox again soon: something was queued (any thread may call it)."""
        loop = self._loop
        if loop is None:
            return
        with suppress(RuntimeError):  # the loop closed: the next start reads the outbox
            loop.call_soon_threadsafe(self._sweep_soon)

    def _sweep_soon(self) -> None:
        self._reread = True
        self._kick()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Send in the background for as long as the block runs."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._write_ready = asyncio.Event()
        self._write_room = asyncio.Event()
        self._write_room.set()
        self._stopping = False
        self._reread = True
        self._cursor = dict.fromkeys(OPEN)
        connector = aiohttp.TCPConnector(limit=self._in_flight, limit_per_host=self._in_flight)
        # No cookie jar: nothing one push service sets is kept, nor sent to another.
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._client_timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._no_redirects = NoRedirects(self._session)
        writer = asyncio.create_task(self._write_loop(), name="hub-push-writer")
        runner = asyncio.create_task(self._run(), name="hub-push-sender")
        try:
            yield
        finally:
            self._stopping = True
            self._event.set()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            if self._workers:
                await asyncio.wait(set(self._workers), timeout=DRAIN_SECONDS)
            for task in set(self._workers):
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            # What the push services answered is written before the session closes.
            self._write_ready.set()
            try:
                await asyncio.wait_for(writer, timeout=DRAIN_SECONDS)
            except TimeoutError:
                log.error("push: outcomes still unwritten at shutdown; those are sent again")
            await self._session.close()
            self._log_tally()
            self._queues.clear()
            self._busy.clear()
            self._queued = 0
            self._loop = self._event = self._session = self._no_redirects = None

    # -- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._event is not None
        warned = False
        while not self._stopping:
            self._event.clear()
            if not self._vapid.ready:
                if not warned:
                    log.warning(
                        "push: HUB_VAPID_SUBJECT is not set, so nothing is sent to push "
                        "services; alerts wait in the outbox until it is set"
                    )
                    warned = True
                await self._wait(POLL_SECONDS)
                continue
            try:
                await self._pass()
            except Exception:
                log.exception("push: reading the outbox failed; trying again")
                self._next_due = time.monotonic() + POLL_SECONDS
            # Finished alerts' deliveries folded, at most once a minute (cheap otherwise).
            await asyncio.to_thread(self._outbox.tidy_due)
            if not self._workers:
                self._log_tally()
            # Outcomes that wake the sender come in bursts: one pass after a short breath.
            await asyncio.sleep(PASS_GAP_SECONDS)
            wait = min(self._next_due, self._soonest) - time.monotonic()
            if not await self._wait(min(wait, POLL_SECONDS)):
                self._reread = True

    async def _wait(self, seconds: float) -> bool:
        """Wait for a kick or `seconds`; whether it was a kick."""
        assert self._event is not None
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(seconds, 0.01))
        except TimeoutError:
            return False
        return True

    async def _pass(self) -> None:
        """Queue the due deliveries not queued yet, from where the sweep stopped (from the top
        when asked to), while the queues have room, and start sends. A sweep that gets to the
        end of the due ones notes when the first of the others falls due."""
        if self._reread:
            self._reread = False
            self._cursor = dict.fromkeys(OPEN)
            self._soonest = math.inf
            self._payloads.clear()
        now = self._now()
        upcoming: str | None = None
        unfinished = False
        for state in OPEN:
            while not self._stopping:
                if self._queued + SWEEP > QUEUE_MAX:
                    unfinished = True
                    break
                page = await asyncio.to_thread(
                    self._store.page,
                    DELIVERIES,
                    {"state": state},
                    order_by="due",
                    after=self._cursor[state],
                    limit=SWEEP,
                )
                ended = len(page) < SWEEP
                for doc in page:
                    if doc["due"] > now:
                        # In order of due: this one and the rest are for later.
                        upcoming = min(upcoming or doc["due"], doc["due"])
                        ended = True
                        break
                    self._queue(doc)
                if ended:
                    self._cursor[state] = None
                    break
                self._cursor[state] = {"due": page[-1]["due"], "id": page[-1]["id"]}
        self._unfinished = unfinished
        if not unfinished:
            self._next_due = math.inf
            if upcoming is not None:
                seconds = (_parse_time(upcoming) - self.clock()).total_seconds()
                self._next_due = time.monotonic() + max(seconds, 0.0)
        self._dispatch()

    def _queue(self, doc: Document) -> None:
        """Put a due delivery in its push service's queue, unless it is there or being sent."""
        doc_id = doc["id"]
        if doc_id in self._busy:
            return
        self._busy.add(doc_id)
        service = str(doc.get("push_service") or "")
        queue = self._queues.get(service)
        if queue is None:
            queue = self._queues[service] = deque()
        queue.append(doc_id)
        self._queued += 1

    def _paused_for(self, service: str) -> float:
        until = self._paused.get(service)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._paused[service]
            return 0.0
        return left

    def _dispatch(self) -> None:
        """Start workers on the free slots, one service at a time in turn, each up to its
        share of the slots; a paused service's queue waits for the end of its pause."""
        if self._stopping:
            return
        while self._free > 0:
            started = False
            for service, queue in list(self._queues.items()):
                if not queue:
                    if not self._active[service]:
                        del self._queues[service]
                    continue
                if self._free <= 0:
                    break
                if self._active[service] >= self._share or self._paused_for(service) > 0:
                    continue
                self._active[service] += 1
                self._free -= 1
                task = asyncio.create_task(self._work(service, queue))
                self._workers.add(task)
                task.add_done_callback(self._workers.discard)
                started = True
            if not started:
                return

    async def _work(self, service: str, queue: deque[str]) -> None:
        """Send what `service`'s queue holds, one after another, on one slot.

        Each outcome goes to the store's next group commit; the slot goes on to the next
        message at once, and the delivery stays out of every sweep (`_busy`) until its outcome
        is on disk."""
        assert self._write_room is not None
        try:
            while queue and not self._stopping and self._paused_for(service) <= 0:
                doc_id = queue.popleft()
                self._queued -= 1
                if self._queued + SWEEP == QUEUE_MAX and self._unfinished:
                    self._kick()  # room for the next read of the sweep
                try:
                    outcome = await self._attempt(doc_id, service)
                except Exception:
                    outcome = None
                    # Left as it was: a later sweep tries it again.
                    log.exception("push: a send to %s failed unexpectedly", service)
                if outcome is None:
                    self._busy.discard(doc_id)
                    continue
                self._write(outcome)
                if not self._write_room.is_set():
                    # The disk is behind: wait for it rather than queue without bound.
                    await self._write_room.wait()
        finally:
            self._active[service] -= 1
            self._free += 1
            self._dispatch()

    def _kick(self) -> None:
        if self._event is not None:
            self._event.set()

    # -- one delivery -----------------------------------------------------------------------

    async def _attempt(self, doc_id: str, service: str) -> Outcome | None:
        """Send one delivery once; what it came to (None: leave it as it is)."""
        current = self._outbox.get(doc_id)
        if current is None or current["state"] not in OPEN:
            return None
        attempts = int(current.get("attempts") or 0)
        alert = self._alert(current["alert_id"])
        doc = alert.doc
        if doc is None or doc.get("status") in ("withdrawn", "superseded", "rejected"):
            return Outcome(current, "cancelled", attempts)
        if doc.get("status") != "published" or alert.expires is None:
            return None
        left = (alert.expires - self.clock()).total_seconds()
        if left <= 0:
            return Outcome(current, "failed", attempts, "expired")
        sub = self._subscription(current.get("subscription_id"))
        if sub is None:
            return Outcome(current, "gone", attempts, "unsubscribed")
        endpoint = sub.get("endpoint")
        try:
            origin = self._services.match(endpoint)
        except InvalidSubscription:
            return Outcome(current, "failed", attempts, "not_listed")
        locale = str(sub.get("locale"))
        discreet = bool(sub.get("discreet", True))
        try:
            data = self._payload(doc, locale, discreet)
        except KeyError:
            return Outcome(current, "failed", attempts, "no_text")
        except PayloadTooLarge:
            return Outcome(current, "failed", attempts, "too_large")
        keys = sub.get("keys")
        if not isinstance(keys, Mapping):
            return Outcome(current, "failed", attempts, "bad_keys")
        headers = {
            "Authorization": self._vapid.authorization(origin),
            "Urgency": str(doc.get("urgency") or "normal"),
            "Topic": str(doc["push_topic"]),
        }
        ttl = min(MAX_TTL_SECONDS, max(1, math.ceil(left)))
        try:
            answer = await self._post(str(endpoint), keys, data, headers, ttl)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return self._retry(current, attempts + 1, "timeout", None)
        # Before BAD_KEYS: some of aiohttp's errors (InvalidURL) are ValueErrors too.
        except aiohttp.ClientError:
            return self._retry(current, attempts + 1, "server_error", None)
        except BAD_KEYS:
            return Outcome(current, "failed", attempts, "bad_keys")
        return self._answer(current, attempts, service, answer.status, answer.retry_after)

    async def _post(
        self,
        endpoint: str,
        keys: Mapping[str, Any],
        data: bytes,
        headers: dict[str, str],
        ttl: int,
    ) -> Answer:
        """Encrypt and POST one message by pywebpush's async path over the shared session (a
        redirect never followed: `NoRedirects`); what the push service answered."""
        assert self._no_redirects is not None
        pusher = WebPusher(
            {"endpoint": endpoint, "keys": dict(keys)}, aiohttp_session=self._no_redirects
        )
        answer = await pusher.send_async(
            data,
            headers=headers,
            ttl=ttl,
            content_encoding="aes128gcm",
            timeout=self._client_timeout,
        )
        assert isinstance(answer, Answer)
        return answer

    def _answer(
        self, doc: Document, attempts: int, service: str, status: int, retry_after: str | None
    ) -> Outcome:
        tried = attempts + 1
        if 200 <= status < 300:
            return Outcome(doc, "delivered", tried)
        if status in (404, 410):
            return Outcome(doc, "gone", tried)
        if status == 413:
            return Outcome(doc, "failed", tried, "too_large")
        if status in THROTTLED:
            pause = _retry_after(retry_after, self.clock())
            until = time.monotonic() + pause
            if self._paused.get(service, 0.0) < until:
                self._paused[service] = until
                log.warning(
                    "push: %s throttles the hub (%d): pausing it %d s", service, status, pause
                )
            due = _ceil_format(self.clock() + timedelta(seconds=pause))
            return Outcome(doc, doc["state"], attempts, doc.get("reason"), due)
        if 300 <= status < 400:
            # Not followed (see NoRedirects): the message was not delivered.
            self._warn(
                service,
                status,
                "push: %s answered a message with a redirect (%d), which the hub never "
                "follows; the message counts as refused",
            )
            return Outcome(doc, "failed", tried, REDIRECTED)
        if status >= 500:
            wait = _retry_after(retry_after, self.clock()) if retry_after else None
            return self._retry(doc, tried, "server_error", wait)
        if status in CONFIGURATION:
            self._warn(
                service,
                status,
                "push: %s refused a message with %d: check HUB_VAPID_PRIVATE_KEY and "
                "HUB_VAPID_SUBJECT",
            )
            return Outcome(doc, "failed", tried, "configuration")
        self._warn(service, status, "push: %s refused a message with %d")
        return Outcome(doc, "failed", tried, "refused")

    def _warn(self, service: str, status: int, text: str) -> None:
        """Log `text` (with the service and the status) once per service and status."""
        if (service, str(status)) not in self._warned:
            self._warned.add((service, str(status)))
            log.error(text, service, status)

    def _retry(self, doc: Document, tried: int, reason: str, least: float | None) -> Outcome:
        if tried >= self._attempts:
            return Outcome(doc, "failed", tried, reason)
        # Full jitter: a random wait up to the doubled bound, so the phones of one alert that
        # met the same outage do not all come back at the same moment.
        bound = min(BACKOFF_CAP_SECONDS, self.backoff * 2 ** (tried - 1))
        wait = max(random.uniform(0, bound), least or 0.0)
        due = _ceil_format(self.clock() + timedelta(seconds=wait))
        return Outcome(doc, "retrying", tried, reason, due)

    def _alert(self, alert_id: str) -> _Alert:
        moment = time.monotonic()
        cached = self._alerts.get(alert_id)
        if cached is None or moment - cached.read > ALERT_SECONDS:
            if len(self._alerts) > 1000:
                self._alerts.clear()
            doc = self._store.get(ALERTS, alert_id)
            expires = None
            if doc is not None:
                with suppress(KeyError, TypeError, ValueError, AttributeError):
                    expires = _parse_time(doc["expires"])
            cached = self._alerts[alert_id] = _Alert(doc, expires, moment)
        return cached

    def _payload(self, alert: Document, locale: str, discreet: bool) -> bytes:
        key = (str(alert["id"]), locale, discreet)
        data = self._payloads.get(key)
        if data is None:
            data = message(alert, locale, discreet=discreet, neutral=self._neutral[locale])
            self._payloads[key] = data
        return data

    # Subscriptions.get_by_id reads the same document; read here so the sender needs nothing
    # of the subscriptions' API beyond the document's shape (tests and bench/push.py too).
    def _subscription(self, sub_id: object) -> Document | None:
        if not isinstance(sub_id, str):
            return None  # cut from a deleted subscription (outbox.unlink)
        return self._store.get(SUBSCRIPTIONS, sub_id)

    # -- writing outcomes -------------------------------------------------------------------

    def _write(self, outcome: Outcome) -> None:
        """Queue an outcome for the store's next batch (`_recorded` once it is on disk)."""
        assert self._write_ready is not None and self._write_room is not None
        self._writes.append(outcome)
        self._write_ready.set()
        if len(self._writes) > WRITE_BATCH:
            self._write_room.clear()

    async def _write_loop(self) -> None:
        """Write queued outcomes, a batch at a time, until stopped with none left."""
        assert self._write_ready is not None and self._write_room is not None
        while True:
            await self._write_ready.wait()
            self._write_ready.clear()
            while self._writes:
                taken, self._writes = self._writes[:WRITE_BATCH], self._writes[WRITE_BATCH:]
                if len(self._writes) <= WRITE_BATCH:
                    self._write_room.set()
                try:
                    await asyncio.to_thread(self._commit, taken)
                except Exception:
                    log.exception("push: outcomes could not be written; they stay as they were")
                    for outcome in taken:
                        self._busy.discard(outcome.delivery["id"])
                else:
                    for outcome in taken:
                        self._recorded(outcome)
            self._write_room.set()
            if self._stopping and not self._workers:
                return

    def _recorded(self, outcome: Outcome) -> None:
        """An outcome is on disk: the delivery may be read again."""
        self._busy.discard(outcome.delivery["id"])
        failed = outcome.state == "failed"
        self.tally[f"failed ({outcome.reason})" if failed else outcome.state] += 1
        if outcome.state in OPEN and outcome.due is not None:
            # A retry or a pause: the loop wakes when it falls due.
            seconds = (_parse_time(outcome.due) - self.clock()).total_seconds()
            soonest = time.monotonic() + max(seconds, 0.0)
            if soonest < self._soonest:
                self._soonest = soonest
                self._kick()

    def _commit(self, outcomes: list[Outcome]) -> None:
        """Write outcomes in one batch; when one of them no longer applies (its delivery was
        cancelled meanwhile, its subscription deleted), each on its own."""
        now = format_time(self.clock())
        # Outcomes this batch writes stand: `unlink` leaves those deliveries' states alone.
        written = {o.delivery["id"] for o in outcomes}
        # A phone's deliveries of several alerts may be answered 410 in one batch: deleting it
        # twice would fail the whole batch.
        removed: set[str] = set()
        try:
            with self._store.batch() as batch:
                for outcome in outcomes:
                    changes, expect = _changes(outcome, now)
                    batch.update(DELIVERIES, outcome.delivery["id"], changes, expect=expect)
                    sub_id = outcome.delivery.get("subscription_id")
                    if sub_id is None:
                        continue
                    if outcome.state == "delivered":
                        _delivered(batch, sub_id, now)
                    elif (
                        outcome.state == "gone" and outcome.reason is None and sub_id not in removed
                    ):
                        removed.add(sub_id)
                        # The 404/410 and the cut of the subscription's other deliveries from
                        # it are one write: no delivery is left naming a deleted phone.
                        _remove(batch, sub_id)
                        unlink(self._store, batch, sub_id, now, settled=written)
            return
        except Conflict:
            pass
        for outcome in outcomes:
            changes, expect = _changes(outcome, now)
            self._store.update(DELIVERIES, outcome.delivery["id"], changes, expect=expect)
            sub_id = outcome.delivery.get("subscription_id")
            if sub_id is None:
                continue
            if outcome.state == "delivered":
                self._store.update(SUBSCRIPTIONS, sub_id, {"last_delivery": now})
            elif outcome.state == "gone" and outcome.reason is None:
                self._store.delete(SUBSCRIPTIONS, sub_id)
                self._outbox.forget([sub_id])

    def _log_tally(self) -> None:
        if self.tally:
            counts = ", ".join(f"{name} {count}" for name, count in sorted(self.tally.items()))
            log.info("push: sent since the last report: %s", counts)
            self.tally.clear()

    def _now(self) -> str:
        return format_time(self.clock())


# The subscriptions helper's Subscriptions.delivered/remove write the same fields one document
# at a time; here they go in the outcome's batch (one fsync for many phones).
def _delivered(batch: Any, sub_id: str, when: str) -> None:
    batch.update(SUBSCRIPTIONS, sub_id, {"last_delivery": when})


def _remove(batch: Any, sub_id: str) -> None:
    batch.delete(SUBSCRIPTIONS, sub_id)


def _changes(outcome: Outcome, now: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    changes: dict[str, Any] = {
        "state": outcome.state,
        "attempts": outcome.attempts,
        "reason": outcome.reason,
        "updated": now,
    }
    if outcome.due is not None:
        changes["due"] = outcome.due
    # What the push service answered stands whatever happened meanwhile; anything else is
    # written only over the state it was worked out from (a cancellation meanwhile wins).
    settled = outcome.state in ("delivered", "gone")
    return changes, None if settled else {"state": outcome.delivery["state"]}


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # Python 3.11 reads the trailing "Z"
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ceil_format(moment: datetime) -> str:
    """`moment` as the store keeps times, rounded up to the second (never earlier)."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return format_time(moment)


def _retry_after(value: str | None, now: datetime) -> float:
    """Seconds a Retry-After asks for (seconds or an HTTP date), within the cap."""
    seconds = PAUSE_DEFAULT_SECONDS
    if value:
        text = value.strip()
        try:
            if text.isdigit():
                seconds = float(int(text))
            else:
                when = parsedate_to_datetime(text)
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                seconds = (when - now).total_seconds()
        except (TypeError, ValueError, OverflowError):
            seconds = PAUSE_DEFAULT_SECONDS
    return min(max(seconds, 1.0), PAUSE_CAP_SECONDS)
