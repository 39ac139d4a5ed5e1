"""The fan-out sender: works through the outbox over one aiohttp session.

One background task reads the due deliveries a page at a time and starts a send for each, at
most `in_flight` at once across every push service and at most three quarters of them on any
one, so a slow push service never holds up the others (the deliveries of a service at its
share are held, a page at most, and sent on its slots as they free). Each send is pywebpush's
async path (`WebPusher.send_async`: RFC 8291 aes128gcm encryption for the subscriber, then
the POST) over the shared session, with the VAPID header made once per push-service origin
(hub/push/vapid.py). Its slot is free once the push service has answered; the outcome goes to
the store's next batch at once, and the delivery is left out of every pass until that batch is
on disk, so a restart never sends again what a push service acknowledged before it. The push
services' answers, as RFC 8030 and their documentation give them: 2xx delivered; 404/410 the
subscription is gone (deleted); 413 too large (failed); 429, and Microsoft's 406, throttled
(that service waits for its `Retry-After`, nothing counted against the message); 5xx and
timeouts tried again with exponential backoff and full jitter, up to `attempts`; 400/401/403
a configuration error of the hub (failed, nothing deleted). Logs name push services and
counts, never an endpoint (it identifies a phone).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

from hub.auth.accounts import utc_now
from hub.push.endpoints import InvalidSubscription, PushServices
from hub.push.outbox import OPEN, PAGE, Outbox, format_time
from hub.push.outbox import TABLE as DELIVERIES
from hub.push.payload import PayloadTooLarge, message
from hub.push.subscriptions import Subscriptions
from hub.push.vapid import Vapid
from hub.store import Store
from hub.store.base import Conflict, Document

log = logging.getLogger(__name__)

SUBSCRIPTIONS = "subscriptions"
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
# Deliveries passed over in a row (their service paused, or with a page already held) after
# which a pass stops reading the outbox.
LOOKAHEAD = 1000
# Outcomes written in one store batch at most.
WRITE_BATCH = 512
THROTTLED = frozenset({429, 406})
# The reason a delivery answered with a redirect fails with (outbox.REASONS: "refused").
REDIRECTED = "refused"
CONFIGURATION = frozenset({400, 401, 403})


class NoRedirects:
    """The shared session as pywebpush's WebPusher calls it, with redirects never followed.

    aiohttp follows redirects by default: a listed push service answering `307 Location:
    http://127.0.0.1:<port>/internal` would make the hub post to an address nobody listed,
    and its answer would count as the push service's. Only the listed origin is ever called;
    a 3xx is its answer, and the message is not delivered."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def post(self, url: str, **kwargs: Any) -> Any:
        """The session's POST of `url`, its redirects returned as they are, never followed."""
        return self._session.post(url, allow_redirects=False, **kwargs)


@dataclass(frozen=True)
class Outcome:
    """What one try of a delivery came to, as it is written to the store."""

    delivery: Document
    state: str
    attempts: int
    reason: str | None = None
    due: str | None = None


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
        self._slots = asyncio.Semaphore(in_flight)
        self._busy: set[str] = set()
        self._active: Counter[str] = Counter()
        # Deliveries read for a service already using its share of the slots, sent next on
        # its slots as they free (at most a page each); the services that had more than that.
        self._held: defaultdict[str, deque[Document]] = defaultdict(deque)
        self._overflow: set[str] = set()
        self._paused: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._write_ready: asyncio.Event | None = None
        self._stopping = False
        self._warned: set[tuple[str, str]] = set()
        self._payloads: dict[tuple[str, str, bool], bytes] = {}
        self._alerts: dict[str, Document | None] = {}
        # What was sent since the last log line: state (or failure reason) -> count.
        self.tally: Counter[str] = Counter()

    # -- control ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox again soon: something was queued (any thread may call it)."""
        loop, event = self._loop, self._event
        if loop is None or event is None:
            return
        with suppress(RuntimeError):  # the loop closed: the next start reads the outbox
            loop.call_soon_threadsafe(event.set)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Send in the background for as long as the block runs."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._write_ready = asyncio.Event()
        self._slots = asyncio.Semaphore(self._in_flight)
        self._stopping = False
        connector = aiohttp.TCPConnector(limit=self._in_flight, limit_per_host=self._in_flight)
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._client_timeout)
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
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)
            for task in set(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            # What the push services answered is written before the session closes.
            self._write_ready.set()
            try:
                await asyncio.wait_for(writer, timeout=DRAIN_SECONDS)
            except TimeoutError:
                log.error("push: outcomes still unwritten at shutdown; those are sent again")
            await self._session.close()
            self._log_tally()
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
                deferred = await self._pass()
                delay = await asyncio.to_thread(self._idle_seconds, deferred)
            except Exception:
                log.exception("push: reading the outbox failed; trying again")
                delay = POLL_SECONDS
            if not self._tasks:
                self._log_tally()
            # Outcomes that wake the sender (a retry queued, a service's held ones sent) come
            # in bursts: one pass after a short breath reads the outbox for all of them.
            await asyncio.sleep(PASS_GAP_SECONDS)
            await self._wait(delay - PASS_GAP_SECONDS)

    async def _wait(self, seconds: float) -> None:
        assert self._event is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=max(seconds, 0.01))

    async def _pass(self) -> bool:
        """Start a send for every due delivery, or hold it for its push service; whether some
        were left for a later pass (their service paused, or too many waiting for it)."""
        self._payloads.clear()
        self._alerts.clear()
        now = self._now()
        deferred = False
        # Deliveries passed over in a row: past LOOKAHEAD of them, the rest of the outbox is
        # left for the pass that follows once the held ones have gone, rather than read now.
        passed = 0
        for state in OPEN:
            after: Document | None = None
            while not self._stopping and passed < LOOKAHEAD:
                page = await asyncio.to_thread(self._outbox.due, state, now, after=after)
                for doc in page:
                    if doc["id"] in self._busy:
                        continue
                    service = str(doc.get("push_service") or "")
                    if self._paused_for(service) > 0:
                        deferred = True
                        passed += 1
                        continue
                    if self._active[service] >= self._share:
                        held = self._held[service]
                        if len(held) < PAGE:
                            held.append(doc)
                            self._busy.add(doc["id"])
                        else:
                            self._overflow.add(service)
                            deferred = True
                            passed += 1
                        continue
                    passed = 0
                    await self._slots.acquire()
                    if self._stopping:
                        self._slots.release()
                        return deferred
                    self._start(doc, service)
                if len(page) < PAGE:
                    break
                after = page[-1]
        return deferred or passed >= LOOKAHEAD

    def _idle_seconds(self, deferred: bool) -> float:
        """How long to wait before the next pass if nothing wakes the sender."""
        waits = [POLL_SECONDS]
        now = self.clock()
        upcoming = self._outbox.next_due(format_time(now))
        if upcoming is not None:
            waits.append((_parse_time(upcoming) - now).total_seconds())
        if deferred:
            waits.extend(p for p in (self._paused_for(s) for s in self._paused) if p > 0)
        return min(waits)

    def _paused_for(self, service: str) -> float:
        until = self._paused.get(service)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._paused[service]
            return 0.0
        return left

    def _start(self, doc: Document, service: str) -> None:
        self._busy.add(doc["id"])
        self._active[service] += 1
        task = asyncio.create_task(self._deliver(doc, service))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, doc: Document, service: str) -> None:
        """Send `doc`, then the ones held for its service, on the one slot it was given.

        The slot is free again once the push service has answered: the outcome is then queued
        for the store's next group commit, and the delivery stays out of every pass (`_busy`)
        until that commit is on disk."""
        try:
            while True:
                try:
                    outcome = await self._attempt(doc, service)
                except Exception:
                    outcome = None
                    # Left as it was: a later pass tries it again.
                    log.exception("push: a send to %s failed unexpectedly", service)
                if outcome is None:
                    self._busy.discard(doc["id"])
                else:
                    recorded = self._write(outcome)
                    if len(self._writes) > WRITE_BATCH:
                        # The disk is behind: wait for it rather than queue without bound.
                        with suppress(Exception):
                            await asyncio.shield(recorded)
                held = self._held[service]
                if self._stopping or self._paused_for(service) > 0:
                    # Back to the outbox: a pass after the pause reads them again.
                    for left in held:
                        self._busy.discard(left["id"])
                    held.clear()
                if not held:
                    break
                doc = held.popleft()
        finally:
            self._active[service] -= 1
            self._slots.release()
            if service in self._overflow and not self._held[service]:
                self._overflow.discard(service)
                self._kick()

    def _recorded(self, outcome: Outcome, future: asyncio.Future[None]) -> None:
        """An outcome is on disk (or could not be written): the delivery may be read again."""
        self._busy.discard(outcome.delivery["id"])
        if future.cancelled() or future.exception() is not None:
            log.error("push: an outcome could not be written; the delivery stays as it was")
            return
        failed = outcome.state == "failed"
        self.tally[f"failed ({outcome.reason})" if failed else outcome.state] += 1
        if outcome.state in OPEN:
            self._kick()

    def _kick(self) -> None:
        if self._event is not None:
            self._event.set()

    # -- one delivery -----------------------------------------------------------------------

    async def _attempt(self, doc: Document, service: str) -> Outcome | None:
        """Send one delivery once; what it came to (None: leave it as it is)."""
        current = self._outbox.get(doc["id"])
        if current is None or current["state"] not in OPEN:
            return None
        attempts = int(current.get("attempts") or 0)
        alert = self._alert(current["alert_id"])
        if alert is None or alert.get("status") in ("withdrawn", "superseded", "rejected"):
            return Outcome(current, "cancelled", attempts)
        if alert.get("status") != "published":
            return None
        now = self.clock()
        left = (_parse_time(alert["expires"]) - now).total_seconds()
        if left <= 0:
            return Outcome(current, "failed", attempts, "expired")
        sub = self._subscription(current["subscription_id"])
        if sub is None:
            return Outcome(current, "gone", attempts, "unsubscribed")
        try:
            origin = self._services.match(sub.get("endpoint"))
        except InvalidSubscription:
            return Outcome(current, "failed", attempts, "not_listed")
        locale = str(sub.get("locale"))
        discreet = bool(sub.get("discreet", True))
        try:
            data = self._payload(alert, locale, discreet)
        except KeyError:
            return Outcome(current, "failed", attempts, "no_text")
        except PayloadTooLarge:
            return Outcome(current, "failed", attempts, "too_large")
        headers = {
            "Authorization": self._vapid.authorization(origin),
            "Urgency": str(alert.get("urgency") or "normal"),
            "Topic": str(alert["push_topic"]),
        }
        ttl = min(MAX_TTL_SECONDS, max(1, math.ceil(left)))
        try:
            status, retry_after = await self._post(sub, data, headers, ttl)
        except (WebPushException, ValueError, TypeError):
            return Outcome(current, "failed", attempts, "bad_keys")
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return self._retry(current, attempts + 1, "timeout", None)
        except aiohttp.ClientError:
            return self._retry(current, attempts + 1, "server_error", None)
        return self._answer(current, attempts, service, status, retry_after)

    async def _post(
        self, sub: Document, data: bytes, headers: dict[str, str], ttl: int
    ) -> tuple[int, str | None]:
        """Encrypt and send one message with pywebpush's async path over the shared session;
        the status and Retry-After of the answer."""
        pusher = WebPusher(
            {"endpoint": sub["endpoint"], "keys": sub["keys"]}, aiohttp_session=self._no_redirects
        )
        response = await pusher.send_async(
            data, headers, ttl=ttl, content_encoding="aes128gcm", timeout=self._client_timeout
        )
        assert isinstance(response, aiohttp.ClientResponse)
        return response.status, response.headers.get("Retry-After")

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
            # A redirect is never followed (see NoRedirects): the message was not delivered.
            if (service, str(status)) not in self._warned:
                self._warned.add((service, str(status)))
                log.error(
                    "push: %s answered a message with a redirect (%d), which the hub never "
                    "follows; the message counts as refused",
                    service,
                    status,
                )
            return Outcome(doc, "failed", tried, REDIRECTED)
        if status >= 500:
            wait = _retry_after(retry_after, self.clock()) if retry_after else None
            return self._retry(doc, tried, "server_error", wait)
        reason = "configuration" if status in CONFIGURATION else "refused"
        if (service, str(status)) not in self._warned:
            self._warned.add((service, str(status)))
            log.error(
                "push: %s refused a message with %d%s",
                service,
                status,
                ": check HUB_VAPID_PRIVATE_KEY and HUB_VAPID_SUBJECT"
                if reason == "configuration"
                else "",
            )
        return Outcome(doc, "failed", tried, reason)

    def _retry(self, doc: Document, tried: int, reason: str, least: float | None) -> Outcome:
        if tried >= self._attempts:
            return Outcome(doc, "failed", tried, reason)
        # Full jitter: a random wait up to the doubled bound, so the phones of one alert that
        # met the same outage do not all come back at the same moment.
        bound = min(BACKOFF_CAP_SECONDS, self.backoff * 2 ** (tried - 1))
        wait = max(random.uniform(0, bound), least or 0.0)
        due = _ceil_format(self.clock() + timedelta(seconds=wait))
        return Outcome(doc, "retrying", tried, reason, due)

    def _alert(self, alert_id: str) -> Document | None:
        if alert_id not in self._alerts:
            self._alerts[alert_id] = self._store.get("alerts", alert_id)
        return self._alerts[alert_id]

    def _payload(self, alert: Document, locale: str, discreet: bool) -> bytes:
        key = (str(alert["id"]), locale, discreet)
        data = self._payloads.get(key)
        if data is None:
            data = message(alert, locale, discreet=discreet, neutral=self._neutral[locale])
            self._payloads[key] = data
        return data

    # Subscriptions.get_by_id reads the same document; read here so the sender needs nothing
    # of the subscriptions' API beyond the document's shape (tests and bench/push.py too).
    def _subscription(self, sub_id: str) -> Document | None:
        return self._store.get(SUBSCRIPTIONS, sub_id)

    # -- writing outcomes -------------------------------------------------------------------

    def _write(self, outcome: Outcome) -> asyncio.Future[None]:
        """Queue an outcome for the store's next batch; the future is done once it is on disk."""
        assert self._loop is not None and self._write_ready is not None
        future: asyncio.Future[None] = self._loop.create_future()
        future.add_done_callback(lambda done: self._recorded(outcome, done))
        self._writes.append((outcome, future))
        self._write_ready.set()
        return future

    async def _write_loop(self) -> None:
        """Write queued outcomes, a batch at a time, until stopped with none left."""
        assert self._write_ready is not None
        while True:
            await self._write_ready.wait()
            self._write_ready.clear()
            while self._writes:
                taken, self._writes = self._writes[:WRITE_BATCH], self._writes[WRITE_BATCH:]
                try:
                    await asyncio.to_thread(self._commit, [o for o, _ in taken])
                except Exception as exc:
                    for _, future in taken:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in taken:
                        if not future.done():
                            future.set_result(None)
            if self._stopping and not self._tasks:
                return

    def _commit(self, outcomes: list[Outcome]) -> None:
        """Write outcomes in one batch; when one of them no longer applies (its delivery was
        cancelled meanwhile, its subscription deleted), each on its own."""
        now = format_time(self.clock())
        try:
            with self._store.batch() as batch:
                for outcome in outcomes:
                    changes, expect = _changes(outcome, now)
                    batch.update(DELIVERIES, outcome.delivery["id"], changes, expect=expect)
                    sub_id = outcome.delivery["subscription_id"]
                    if outcome.state == "delivered":
                        _delivered(batch, sub_id, now)
                    elif outcome.state == "gone" and outcome.reason is None:
                        _remove(batch, sub_id)
            return
        except Conflict:
            pass
        for outcome in outcomes:
            changes, expect = _changes(outcome, now)
            self._store.update(DELIVERIES, outcome.delivery["id"], changes, expect=expect)
            sub_id = outcome.delivery["subscription_id"]
            if outcome.state == "delivered":
                self._store.update(SUBSCRIPTIONS, sub_id, {"last_delivery": now})
            elif outcome.state == "gone" and outcome.reason is None:
                self._store.delete(SUBSCRIPTIONS, sub_id)

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
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
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
