"""Tests written from the mutants of hub/push/sender.py (mutmut; docs/testing.md, "Mutation
testing"): the real Sender over a store in a temp folder, on a fake clock, sending to the fake
push service on loopback (tests/fakepush.py); no app."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.push.endpoints import PushServices
from hub.push.outbox import Outbox
from hub.push.sender import (
    Answer,
    NoRedirects,
    Outcome,
    Sender,
    _ceil_format,
    _changes,
    _parse_time,
    _retry_after,
)
from hub.push.subscriptions import Subscriptions
from hub.push.vapid import Vapid
from hub.settings import DEFAULT_PUSH_SERVICES
from hub.store import Store, open_store
from tests.fakepush import FakePush, Phone, Sink

SUBJECT = "mailto:ops@hub.example"
NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-30T12:00:00Z"
NEUTRAL = {"en": ("Migrant Hub", "You have a new note."), "fil": ("Hub", "May bagong tala.")}
TEXTS = {
    "en": {"title": "Shelter line changed", "body": "The shelter line is now 2345."},
    "fil": {"title": "Nagbago ang linya", "body": "Ang linya ay 2345 na ngayon."},
}


class Clock:
    """A fake clock: the sender's and the outbox's `clock`."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    store: Store
    outbox: Outbox
    sender: Sender
    push: FakePush
    vapid: Vapid
    clock: Clock
    services: PushServices
    subscriptions: Subscriptions

    def make_sender(self, **overrides: Any) -> Sender:
        values: dict[str, Any] = {
            "outbox": self.outbox,
            "subscriptions": self.subscriptions,
            "vapid": self.vapid,
            "services": self.services,
            "neutral": NEUTRAL,
            "in_flight": 4,
            "attempts": 3,
            "timeout": 5.0,
            "clock": self.clock,
            "backoff": 0.2,
            **overrides,
        }
        return Sender(self.store, **values)


@pytest.fixture
def push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


@pytest.fixture
def rig(tmp_path: Path, push: FakePush) -> Iterator[Rig]:
    store = open_store(tmp_path / "store")
    clock = Clock()
    services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{push.origin}")
    vapid = Vapid.load(tmp_path / "vapid.pem", subject=SUBJECT)
    subscriptions = Subscriptions(
        store,
        services=services,
        confirm_days=30,
        locales=("en", "fil"),
        origins=("PH",),
        destinations=("HK",),
    )
    outbox = Outbox(store, clock=clock)
    made = Rig(store, outbox, None, push, vapid, clock, services, subscriptions)  # type: ignore[arg-type]
    made.sender = made.make_sender()
    yield made
    store.close()


@pytest.fixture
def fixed_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    # The full jitter's random wait is the whole bound, so due times are exact.
    monkeypatch.setattr(random, "uniform", lambda low, high: high)


@pytest.fixture
def small_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reads of 2 deliveries, at most 4 queued, and a poll an hour away: a sweep that waits
    # for the poll instead of going on as room frees shows as a test that never ends.
    monkeypatch.setattr("hub.push.sender.SWEEP", 2)
    monkeypatch.setattr("hub.push.sender.QUEUE_MAX", 4)
    monkeypatch.setattr("hub.push.sender.POLL_SECONDS", 3600.0)


def all_delivered(rig: Rig, ids: list[str]) -> Callable[[], bool]:
    """Whether every one of the deliveries is stored as delivered (to poll)."""
    return lambda: all(delivery(rig, i)["state"] == "delivered" for i in ids)


def add_sub(rig: Rig, phone: Phone, **fields: Any) -> dict[str, Any]:
    sub = phone.subscription
    doc: dict[str, Any] = {
        "id": f"s-{phone.id}",
        "token_hash": secrets.token_hex(32),
        "endpoint": sub["endpoint"],
        "push_service": rig.push.origin,
        "keys": sub["keys"],
        "locale": "en",
        "origin": "PH",
        "destination": "HK",
        "corridor": "PH-HK",
        "topics": ["safety"],
        "discreet": False,
        "created": NOW_TEXT,
        "confirmed": NOW_TEXT,
        "last_delivery": None,
    }
    doc.update(fields)
    rig.store.insert("subscriptions", {k: v for k, v in doc.items() if v is not _DROP})
    return doc


_DROP: Any = object()


def add_alert(rig: Rig, expires: timedelta = timedelta(days=2), **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"a-{secrets.token_hex(4)}",
        "push_topic": "topic-one",
        "version": 1,
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "texts": TEXTS,
        "topic": "safety",
        "urgency": "high",
        "expires": (NOW + expires).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "published",
    }
    doc.update(fields)
    rig.store.insert("alerts", doc)
    return doc


def add_delivery(rig: Rig, alert: dict[str, Any], sub_id: str | None, **fields: Any) -> str:
    doc: dict[str, Any] = {
        "alert_id": alert["id"],
        "subscription_id": sub_id,
        "push_service": rig.push.origin,
        "state": "pending",
        "attempts": 0,
        "due": NOW_TEXT,
        "reason": None,
        "updated": NOW_TEXT,
    }
    doc.update(fields)
    return rig.store.insert("deliveries", doc)


def delivery(rig: Rig, doc_id: str) -> dict[str, Any]:
    found = rig.store.get("deliveries", doc_id)
    assert found is not None
    return dict(found)


def fields(rig: Rig, doc_id: str) -> tuple[Any, ...]:
    d = delivery(rig, doc_id)
    return d["state"], d["attempts"], d["reason"], d["due"], d["updated"]


async def until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        await asyncio.sleep(0.005)


def run(rig: Rig, done: Callable[[], bool], sender: Sender | None = None) -> None:
    """Run the sender until `done()` (bounded), then stop it."""
    chosen = sender or rig.sender

    async def main() -> None:
        async with chosen.running():
            chosen.wake()
            await until(done)

    asyncio.run(main())


def written(rig: Rig, *ids: str) -> Callable[[], bool]:
    """Every one of the deliveries has an outcome on disk (it differs from what it is now)."""
    before = {doc_id: rig.store.get("deliveries", doc_id) for doc_id in ids}

    def check() -> bool:
        return all(rig.store.get("deliveries", i) != before[i] for i in ids)

    return check


def count_passes(sender: Sender, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Watch the sender's passes: one entry per pass, whether it was to sweep from the top."""
    passes: list[bool] = []
    real_pass = sender._pass

    async def counted_pass() -> None:
        passes.append(sender._reread)
        await real_pass()

    monkeypatch.setattr(sender, "_pass", counted_pass)
    return passes


def send_one(rig: Rig, phone: Phone, **alert_fields: Any) -> tuple[dict[str, Any], str]:
    sub = add_sub(rig, phone)
    alert = add_alert(rig, **alert_fields)
    doc_id = add_delivery(rig, alert, sub["id"])
    run(rig, written(rig, doc_id))
    return sub, doc_id


# -- delivered ----------------------------------------------------------------------------------


def test_a_delivered_message_its_headers_payload_and_what_is_written(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.push.sender")
    rig.clock.now = NOW + timedelta(microseconds=300_000)
    phone = rig.push.phone(server_key=rig.vapid.public_key)
    sub, doc_id = send_one(rig, phone, expires=timedelta(seconds=10))
    # Stored to the second: "updated" is the clock's second, the last delivery likewise.
    assert fields(rig, doc_id) == ("delivered", 1, None, NOW_TEXT, NOW_TEXT)
    stored = rig.store.get("subscriptions", sub["id"])
    assert stored is not None and stored["last_delivery"] == NOW_TEXT
    (received,) = rig.push.received(phone)
    assert received.payload == {
        "alert": delivery(rig, doc_id)["alert_id"],
        "tag": "topic-one",
        "locale": "en",
        "url": "/en/alerts#a-topic-one",
        "discreet": False,
        "title": "Shelter line changed",
        "body": "The shelter line is now 2345.",
    }
    headers = {k.lower(): v for k, v in received.headers.items()}
    # 9.7 s left: the TTL is rounded up to 10.
    assert headers["ttl"] == "10"
    assert headers["urgency"] == "high"
    assert headers["topic"] == "topic-one"
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=")
    assert "cookie" not in headers
    assert rig.push.problems == []
    assert "push: sent since the last report: delivered 1" in caplog.messages
    assert rig.sender.tally == {}


@pytest.mark.parametrize(
    ("expires", "ttl"),
    [
        (timedelta(days=40), "2419200"),
        (timedelta(days=28), "2419200"),
        (timedelta(days=27, hours=23, minutes=59, seconds=59), "2419199"),
        (timedelta(seconds=1), "1"),
    ],
)
def test_the_ttl_is_the_time_left_at_most_28_days(rig: Rig, expires: timedelta, ttl: str) -> None:
    phone = rig.push.phone()
    _sub, doc_id = send_one(rig, phone, expires=expires)
    assert delivery(rig, doc_id)["state"] == "delivered"
    (received,) = rig.push.received(phone)
    assert {k.lower(): v for k, v in received.headers.items()}["ttl"] == ttl


def test_a_ttl_under_a_second_is_one(rig: Rig) -> None:
    rig.clock.now = NOW + timedelta(microseconds=999_000)
    phone = rig.push.phone()
    _sub, doc_id = send_one(rig, phone, expires=timedelta(seconds=1))
    assert delivery(rig, doc_id)["state"] == "delivered"
    (received,) = rig.push.received(phone)
    assert {k.lower(): v for k, v in received.headers.items()}["ttl"] == "1"


def test_no_urgency_is_normal(rig: Rig) -> None:
    phone = rig.push.phone()
    send_one(rig, phone, urgency=None)
    (received,) = rig.push.received(phone)
    assert {k.lower(): v for k, v in received.headers.items()}["urgency"] == "normal"


def test_discreet_subscriptions_get_the_neutral_text_and_discreet_is_the_default(
    rig: Rig,
) -> None:
    phones = [rig.push.phone() for _ in range(3)]
    alert = add_alert(rig)
    a = add_sub(rig, phones[0], locale="fil", discreet=True)
    b = add_sub(rig, phones[1], locale="en", discreet=_DROP)
    c = add_sub(rig, phones[2], locale="fil", discreet=False)
    ids = [add_delivery(rig, alert, s["id"]) for s in (a, b, c)]
    run(rig, written(rig, *ids))
    got = [rig.push.messages(p)[0] for p in phones]
    assert [(m or {})["title"] for m in got] == ["Hub", "Migrant Hub", "Nagbago ang linya"]
    assert [(m or {})["body"] for m in got] == [
        "May bagong tala.",
        "You have a new note.",
        "Ang linya ay 2345 na ngayon.",
    ]
    assert [(m or {})["discreet"] for m in got] == [True, True, False]
    assert [(m or {})["locale"] for m in got] == ["fil", "en", "fil"]


# -- the push service's answers -----------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_deleted_and_its_other_deliveries_cut(rig: Rig, status: int) -> None:
    phone = rig.push.phone()
    rig.push.answer(phone, status)
    sub = add_sub(rig, phone)
    alert = add_alert(rig)
    later = add_alert(rig)
    doc_id = add_delivery(rig, alert, sub["id"])
    other = add_delivery(rig, later, sub["id"], due="2026-11-30T13:00:00Z")
    done = add_delivery(rig, later, sub["id"], state="delivered", due="2026-11-30T13:00:00Z")
    run(rig, written(rig, doc_id))
    assert fields(rig, doc_id) == ("gone", 1, None, NOW_TEXT, NOW_TEXT)
    assert delivery(rig, doc_id)["subscription_id"] is None
    assert rig.store.get("subscriptions", sub["id"]) is None
    cut = delivery(rig, other)
    assert (cut["state"], cut["reason"], cut["subscription_id"]) == ("gone", "unsubscribed", None)
    kept = delivery(rig, done)
    assert (kept["state"], kept["subscription_id"]) == ("delivered", None)


def test_two_deliveries_of_one_gone_phone_in_one_batch(rig: Rig) -> None:
    phone = rig.push.phone()
    rig.push.answer(phone, 410)
    sub = add_sub(rig, phone)
    ids = [add_delivery(rig, add_alert(rig), sub["id"]) for _ in range(2)]
    run(rig, written(rig, *ids))
    assert [delivery(rig, i)["state"] for i in ids] == ["gone", "gone"]
    assert [delivery(rig, i)["reason"] for i in ids] == [None, None]
    assert rig.store.get("subscriptions", sub["id"]) is None


def test_too_large_answer(rig: Rig) -> None:
    phone = rig.push.phone()
    rig.push.answer(phone, 413)
    sub, doc_id = send_one(rig, phone)
    assert fields(rig, doc_id) == ("failed", 1, "too_large", NOW_TEXT, NOW_TEXT)
    assert rig.store.get("subscriptions", sub["id"]) is not None


@pytest.mark.parametrize("status", [429, 406])
def test_a_throttled_message_waits_for_retry_after_without_counting(
    rig: Rig, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.push.sender")
    phone = rig.push.phone()
    rig.push.answer(phone, status, retry_after="7", times=1)
    sub = add_sub(rig, phone)
    alert = add_alert(rig)
    doc_id = add_delivery(rig, alert, sub["id"], attempts=1, reason="timeout", state="retrying")

    def moved() -> bool:
        return bool(delivery(rig, doc_id)["due"] != NOW_TEXT)

    run(rig, moved)
    assert fields(rig, doc_id) == ("retrying", 1, "timeout", "2026-11-30T12:00:07Z", NOW_TEXT)
    assert (
        caplog.messages.count(
            f"push: {rig.push.origin} throttles the hub ({status}): pausing it 7 s"
        )
        == 1
    )
    assert rig.push.received(phone) == []


def test_a_throttle_pauses_the_service_and_a_longer_one_wins(rig: Rig) -> None:
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    service = rig.push.origin
    before = time.monotonic()
    rig.sender._answer(doc, 0, service, 429, "100")
    first = rig.sender._paused[service]
    assert before + 99 < first <= time.monotonic() + 100
    assert rig.sender._paused_for(service) > 99
    # A shorter pause does not shorten it; a longer one lengthens it.
    rig.sender._answer(doc, 0, service, 429, "5")
    assert rig.sender._paused[service] == first
    rig.sender._answer(doc, 0, service, 429, "200")
    assert rig.sender._paused[service] > first + 99
    assert rig.sender._paused_for("other") == 0.0


def test_a_pause_over_is_forgotten(rig: Rig) -> None:
    rig.sender._paused["s"] = time.monotonic() + 0.5
    assert 0 < rig.sender._paused_for("s") <= 0.5
    rig.sender._paused["s"] = time.monotonic() - 0.001
    assert rig.sender._paused_for("s") == 0.0
    assert "s" not in rig.sender._paused


def test_a_redirect_is_refused_never_followed(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    with Sink() as sink:
        phone = rig.push.phone()
        rig.push.answer(phone, 307, location=f"{sink.origin}/internal")
        sub = add_sub(rig, phone)
        ids = [add_delivery(rig, add_alert(rig), sub["id"]) for _ in range(2)]
        run(rig, written(rig, *ids))
        assert sink.hits == []
    assert [fields(rig, i) for i in ids] == [("failed", 1, "refused", NOW_TEXT, NOW_TEXT)] * 2
    # Logged once for the service and the status.
    assert caplog.messages == [
        f"push: {rig.push.origin} answered a message with a redirect (307), which the hub "
        "never follows; the message counts as refused"
    ]


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_configuration_refusal(rig: Rig, status: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    rig.push.answer(phone, status)
    sub, doc_id = send_one(rig, phone)
    assert fields(rig, doc_id) == ("failed", 1, "configuration", NOW_TEXT, NOW_TEXT)
    assert rig.store.get("subscriptions", sub["id"]) is not None
    assert caplog.messages == [
        f"push: {rig.push.origin} refused a message with {status}: check "
        "HUB_VAPID_PRIVATE_KEY and HUB_VAPID_SUBJECT"
    ]


@pytest.mark.parametrize("status", [418, 402, 399])
def test_another_refusal(rig: Rig, status: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    outcome = rig.sender._answer(doc, 2, "svc", status, None)
    if status == 399:
        assert outcome == Outcome(doc, "failed", 3, "refused")
        return
    assert outcome == Outcome(doc, "failed", 3, "refused")
    rig.sender._answer(doc, 2, "svc", status, None)
    assert caplog.messages == [f"push: svc refused a message with {status}"]


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        (200, "delivered", None),
        (201, "delivered", None),
        (299, "delivered", None),
        (300, "failed", "refused"),
        (404, "gone", None),
        (410, "gone", None),
        (413, "failed", "too_large"),
        (400, "failed", "configuration"),
        (500, "retrying", "server_error"),
        (599, "retrying", "server_error"),
        (700, "retrying", "server_error"),
        (199, "failed", "refused"),
        (405, "failed", "refused"),
    ],
)
def test_each_status(
    rig: Rig, status: int, state: str, reason: str | None, fixed_jitter: None
) -> None:
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    outcome = rig.sender._answer(doc, 1, "svc", status, None)
    assert (outcome.state, outcome.attempts, outcome.reason) == (state, 2, reason)
    if state == "retrying":
        # The second try: a wait of up to twice the backoff (0.2 s), rounded up.
        assert outcome.due == "2026-11-30T12:00:01Z"
    else:
        assert outcome.due is None


def test_a_server_error_is_retried_with_doubling_backoff_then_failed(
    rig: Rig, fixed_jitter: None
) -> None:
    sender = rig.make_sender(backoff=10.0, attempts=4)
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    dues = [sender._answer(doc, n, "svc", 503, None).due for n in range(3)]
    assert dues == ["2026-11-30T12:00:10Z", "2026-11-30T12:00:20Z", "2026-11-30T12:00:40Z"]
    assert sender._answer(doc, 3, "svc", 503, None) == Outcome(doc, "failed", 4, "server_error")
    # Capped at 15 minutes.
    capped = rig.make_sender(backoff=1000.0, attempts=9)
    assert capped._answer(doc, 5, "svc", 500, None).due == "2026-11-30T12:15:00Z"


def test_a_server_error_waits_at_least_its_retry_after(rig: Rig, fixed_jitter: None) -> None:
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    outcome = rig.sender._answer(doc, 0, "svc", 503, "120")
    assert (outcome.state, outcome.due) == ("retrying", "2026-11-30T12:02:00Z")
    assert rig.sender._answer(doc, 0, "svc", 503, "").due == "2026-11-30T12:00:01Z"


def test_the_jitter_is_random_within_the_bound(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return 3.5

    monkeypatch.setattr(random, "uniform", uniform)
    sender = rig.make_sender(backoff=2.0, attempts=5)
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    assert sender._answer(doc, 1, "svc", 500, None).due == "2026-11-30T12:00:04Z"
    assert asked == [(0, 4.0)]


def test_a_server_error_through_the_loop(rig: Rig, fixed_jitter: None) -> None:
    phone = rig.push.phone()
    rig.push.answer(phone, 500)
    _sub, doc_id = send_one(rig, phone)
    assert fields(rig, doc_id) == (
        "retrying",
        1,
        "server_error",
        "2026-11-30T12:00:01Z",
        NOW_TEXT,
    )


def test_a_slow_service_is_a_timeout(rig: Rig, fixed_jitter: None) -> None:
    phone = rig.push.phone()
    rig.push.slow(phone, 1.0)
    sender = rig.make_sender(timeout=0.2)
    sub = add_sub(rig, phone)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"])
    run(rig, written(rig, doc_id), sender)
    assert fields(rig, doc_id) == ("retrying", 1, "timeout", "2026-11-30T12:00:01Z", NOW_TEXT)


def test_no_connection_is_a_server_error(tmp_path: Path, rig: Rig, fixed_jitter: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{origin}")
    sender = rig.make_sender(services=services)
    phone = rig.push.phone()
    sub = add_sub(rig, phone, endpoint=f"{origin}/push/{phone.id}", push_service=origin)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"], push_service=origin)
    run(rig, written(rig, doc_id), sender)
    assert fields(rig, doc_id) == (
        "retrying",
        1,
        "server_error",
        "2026-11-30T12:00:01Z",
        NOW_TEXT,
    )


# -- what fails before sending ------------------------------------------------------------------


def test_what_fails_before_a_message_is_sent(rig: Rig) -> None:
    phone = rig.push.phone()
    alert = add_alert(rig)
    big = add_alert(rig, texts={"en": {"title": "T", "body": "\U0001f600" * 1000}})
    no_text = add_sub(rig, rig.push.phone(), locale="th")
    unlisted = add_sub(rig, rig.push.phone(), endpoint="https://push.example.net/p/1")
    not_mapping = add_sub(rig, rig.push.phone(), keys="p256dh")
    bad_point = add_sub(rig, rig.push.phone(), keys={"p256dh": "AAAA", "auth": "AAAA"})
    no_keys = add_sub(rig, rig.push.phone(), keys={})
    fine = add_sub(rig, phone)
    ids = {
        "no_text": add_delivery(rig, alert, no_text["id"]),
        "not_listed": add_delivery(rig, alert, unlisted["id"]),
        "not_mapping": add_delivery(rig, alert, not_mapping["id"], attempts=2),
        "bad_point": add_delivery(rig, alert, bad_point["id"]),
        "no_keys": add_delivery(rig, alert, no_keys["id"]),
        "too_large": add_delivery(rig, big, fine["id"]),
        "cut": add_delivery(rig, alert, None),
        "deleted": add_delivery(rig, alert, "s-nobody"),
        "number": add_delivery(rig, alert, 7),  # type: ignore[arg-type]
    }
    run(rig, written(rig, *ids.values()))
    got = {name: fields(rig, i)[:3] for name, i in ids.items()}
    assert got == {
        "no_text": ("failed", 0, "no_text"),
        "not_listed": ("failed", 0, "not_listed"),
        "not_mapping": ("failed", 2, "bad_keys"),
        "bad_point": ("failed", 0, "bad_keys"),
        "no_keys": ("failed", 0, "bad_keys"),
        "too_large": ("failed", 0, "too_large"),
        "cut": ("gone", 0, "unsubscribed"),
        "deleted": ("gone", 0, "unsubscribed"),
        "number": ("gone", 0, "unsubscribed"),
    }
    assert rig.push.requests == 0
    # A failure before sending deletes nothing.
    assert rig.store.get("subscriptions", unlisted["id"]) is not None


def test_a_discreet_locale_without_a_neutral_text_has_no_text(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone(), locale="th", discreet=True)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"])
    run(rig, written(rig, doc_id))
    assert fields(rig, doc_id)[:3] == ("failed", 0, "no_text")


@pytest.mark.parametrize("status", ["withdrawn", "superseded", "rejected", None])
def test_a_withdrawn_or_missing_alert_cancels(rig: Rig, status: str | None) -> None:
    sub = add_sub(rig, rig.push.phone())
    alert = add_alert(rig, status=status) if status else {"id": "a-missing"}
    doc_id = add_delivery(rig, alert, sub["id"], attempts=1, state="retrying", reason="timeout")
    run(rig, written(rig, doc_id))
    assert fields(rig, doc_id) == ("cancelled", 1, None, NOW_TEXT, NOW_TEXT)
    assert rig.push.requests == 0


def test_an_expired_alert_fails(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone())
    alert = add_alert(rig, expires=timedelta(0))
    doc_id = add_delivery(rig, alert, sub["id"], attempts=None)
    run(rig, written(rig, doc_id))
    assert fields(rig, doc_id) == ("failed", 0, "expired", NOW_TEXT, NOW_TEXT)
    assert rig.push.requests == 0


def test_an_alert_not_published_or_without_expiry_is_left_alone(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    draft = add_alert(rig, status="pending")
    no_expiry = add_alert(rig, expires=timedelta(0))
    rig.store.update("alerts", no_expiry["id"], {"expires": None})
    bad_expiry = add_alert(rig)
    rig.store.update("alerts", bad_expiry["id"], {"expires": "soon"})
    missing = add_alert(rig)
    rig.store.insert("alerts", {k: v for k, v in missing.items() if k != "expires"} | {"id": "a-x"})
    held = [add_delivery(rig, a, sub["id"]) for a in (draft, no_expiry, bad_expiry, {"id": "a-x"})]
    sent = add_delivery(rig, add_alert(rig), sub["id"])
    run(rig, written(rig, sent))
    assert [fields(rig, i) for i in held] == [("pending", 0, None, NOW_TEXT, NOW_TEXT)] * 4
    # Left alone quietly: no unexpected error.
    assert caplog.messages == []
    assert len(rig.push.received(phone)) == 1
    assert rig.sender._busy == set()


def test_a_delivery_no_longer_open_is_not_sent(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    alert = add_alert(rig)
    doc_id = add_delivery(rig, alert, sub["id"], state="cancelled", due="2026-11-30T11:00:00Z")

    async def main() -> None:
        async with rig.sender.running():
            assert await rig.sender._attempt(doc_id, rig.push.origin) is None
            assert await rig.sender._attempt("nothing", rig.push.origin) is None

    asyncio.run(main())
    assert rig.push.requests == 0


def test_later_deliveries_wait_and_earlier_ones_go(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    alert = add_alert(rig)
    past = add_delivery(rig, alert, sub["id"], due="2026-11-30T11:59:59Z")
    later = add_delivery(rig, add_alert(rig), sub["id"], due="2026-11-30T12:00:01Z")
    retry = add_delivery(
        rig, add_alert(rig), sub["id"], state="retrying", attempts=1, due="2026-11-30T11:00:00Z"
    )
    run(
        rig,
        lambda: (
            delivery(rig, past)["state"] == "delivered"
            and delivery(rig, retry)["state"] == "delivered"
        ),
    )
    assert delivery(rig, later)["state"] == "pending"
    assert delivery(rig, retry)["attempts"] == 2


# -- the pure helpers ---------------------------------------------------------------------------


def test_retry_after_values() -> None:
    assert _retry_after(None, NOW) == 60.0
    assert _retry_after("", NOW) == 60.0
    assert _retry_after(" 7 ", NOW) == 7.0
    assert _retry_after("0", NOW) == 1.0
    assert _retry_after("1", NOW) == 1.0
    assert _retry_after("3600", NOW) == 3600.0
    assert _retry_after("3601", NOW) == 3600.0
    assert _retry_after("soon", NOW) == 60.0
    assert _retry_after("1.5", NOW) == 60.0
    assert _retry_after("Mon, 30 Nov 2026 12:00:30 GMT", NOW) == 30.0
    assert _retry_after("Mon, 30 Nov 2026 12:00:30 -0000", NOW) == 30.0
    assert _retry_after("Mon, 30 Nov 2026 14:00:30 +0200", NOW) == 30.0
    assert _retry_after("Mon, 30 Nov 2026 11:00:00 GMT", NOW) == 1.0
    assert _retry_after("Mon, 30 Nov 2026 18:00:00 GMT", NOW) == 3600.0
    # Too large for a float: the default.
    assert _retry_after("9" * 400, NOW) == 60.0


def test_ceil_format_and_parse_time() -> None:
    assert _ceil_format(NOW) == NOW_TEXT
    assert _ceil_format(NOW + timedelta(microseconds=1)) == "2026-11-30T12:00:01Z"
    assert _ceil_format(NOW + timedelta(microseconds=999_999)) == "2026-11-30T12:00:01Z"
    assert _parse_time(NOW_TEXT) == NOW
    assert _parse_time("2026-11-30T12:00:00") == NOW
    assert _parse_time("2026-11-30T12:00:00").tzinfo is UTC
    assert _parse_time("2026-11-30T14:00:00+02:00") == NOW


def test_changes() -> None:
    open_doc = {"id": "d", "state": "retrying"}
    assert _changes(Outcome(open_doc, "delivered", 2), NOW_TEXT) == (
        {"state": "delivered", "attempts": 2, "reason": None, "updated": NOW_TEXT},
        None,
    )
    assert _changes(Outcome(open_doc, "gone", 1), NOW_TEXT)[1] is None
    assert _changes(Outcome(open_doc, "failed", 3, "timeout", "x"), NOW_TEXT) == (
        {"state": "failed", "attempts": 3, "reason": "timeout", "updated": NOW_TEXT, "due": "x"},
        {"state": "retrying"},
    )
    assert _changes(Outcome(open_doc, "cancelled", 0), NOW_TEXT)[1] == {"state": "retrying"}


def test_answer_text_is_empty() -> None:
    assert asyncio.run(Answer(201, None).text()) == ""


def test_no_redirects_returns_the_redirect_and_its_retry_after() -> None:
    with FakePush() as fake, Sink() as sink:
        phone = fake.phone()
        fake.answer(phone, 307, location=f"{sink.origin}/x", retry_after="9")

        async def main() -> Answer:
            async with aiohttp.ClientSession() as session:
                return await NoRedirects(session).post(phone.endpoint, data=b"x")

        assert asyncio.run(main()) == Answer(307, "9")
        assert sink.hits == []


# -- the loop: slots, shares, pauses --------------------------------------------------------------


def test_one_service_gets_three_quarters_of_the_slots(rig: Rig) -> None:
    with FakePush() as other:
        services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{rig.push.origin},{other.origin}")
        sender = rig.make_sender(services=services, in_flight=4)
        rig.push.hold_after(0)
        alert = add_alert(rig)
        phones = [rig.push.phone() for _ in range(6)]
        for p in phones:
            add_delivery(rig, alert, add_sub(rig, p)["id"], due="2026-11-30T11:59:00Z")
        o_phone = other.phone()
        o_sub = add_sub(rig, o_phone, push_service=other.origin)
        # Due after the first service's: its queue is made second, and still gets a slot.
        o_id = add_delivery(
            rig, alert, o_sub["id"], push_service=other.origin, due="2026-11-30T12:00:00Z"
        )

        async def main() -> None:
            async with sender.running():
                sender.wake()
                await until(lambda: rig.push.holding >= 3 and other.accepted == 1)
                assert sender._share == 3
                assert rig.push.holding == 3
                rig.push.release()
                await until(lambda: rig.push.accepted == 6)
                await until(lambda: delivery(rig, o_id)["state"] == "delivered")

        asyncio.run(main())


@pytest.mark.parametrize(("in_flight", "share"), [(1, 1), (2, 1), (3, 2), (4, 3), (8, 6)])
def test_the_share(rig: Rig, in_flight: int, share: int) -> None:
    assert rig.make_sender(in_flight=in_flight)._share == share


def test_a_paused_service_is_not_sent_to(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    # The paused service's queue comes first: the others are still started.
    first = add_delivery(rig, add_alert(rig), sub["id"], due="2026-11-30T11:59:00Z")
    other = rig.push.phone()
    with FakePush() as second:
        services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{rig.push.origin},{second.origin}")
        sender = rig.make_sender(services=services)
        sender._paused[rig.push.origin] = time.monotonic() + 60
        s2 = second.phone()
        sub2 = add_sub(rig, s2, push_service=second.origin)
        d2 = add_delivery(rig, add_alert(rig), sub2["id"], push_service=second.origin)
        run(rig, lambda: delivery(rig, d2)["state"] == "delivered", sender)
    assert delivery(rig, first)["state"] == "pending"
    assert rig.push.requests == 0
    assert other.id


def test_without_a_vapid_subject_nothing_is_sent(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.push.sender")
    vapid = Vapid.load(tmp_path / "vapid.pem", subject="")
    sender = rig.make_sender(vapid=vapid)
    sub = add_sub(rig, rig.push.phone())
    doc_id = add_delivery(rig, add_alert(rig), sub["id"])

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: bool(caplog.messages))
            # Another round of the loop (it clears the event as it goes round): no new warning.
            event = sender._event
            assert event is not None
            event.set()
            await until(lambda: not event.is_set())
            assert delivery(rig, doc_id)["state"] == "pending"
            # The loop goes on waiting: once the subject is set, a wake sends.
            vapid.subject = SUBJECT
            sender.wake()
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert [m for m in caplog.messages if "VAPID" in m] == [
        "push: HUB_VAPID_SUBJECT is not set, so nothing is sent to push services; alerts "
        "wait in the outbox until it is set"
    ]


def test_wake_without_a_loop_does_nothing(rig: Rig) -> None:
    rig.sender.wake()
    assert rig.sender._loop is None


def test_state_after_running(rig: Rig) -> None:
    phone = rig.push.phone()
    send_one(rig, phone)
    s = rig.sender
    assert (s._loop, s._event, s._session, s._no_redirects) == (None, None, None, None)
    assert (s._queues, s._busy, s._queued, s._free) == ({}, set(), 0, 4)
    assert s._workers == set()


def test_many_deliveries_to_many_phones(rig: Rig) -> None:
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(12)]
    ids = [add_delivery(rig, alert, add_sub(rig, p)["id"]) for p in phones]
    run(rig, written(rig, *ids))
    assert [delivery(rig, i)["state"] for i in ids] == ["delivered"] * 12
    assert [len(rig.push.received(p)) for p in phones] == [1] * 12
    assert json.loads(json.dumps(rig.sender.tally)) == {}


def test_a_zero_jitter_waits_no_time(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    # `least or 0.0`: with no Retry-After, nothing is added to the random wait.
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    assert rig.sender._answer(doc, 0, "svc", 500, None).due == NOW_TEXT
    assert rig.sender._answer(doc, 0, "svc", 500, "3").due == "2026-11-30T12:00:03Z"


# -- writing outcomes ---------------------------------------------------------------------------


def _open(rig: Rig, doc_id: str) -> dict[str, Any]:
    return delivery(rig, doc_id)


def test_a_gone_phone_and_its_other_outcome_in_one_batch(rig: Rig) -> None:
    # One write: the 410 deletes the phone and cuts its deliveries, and the other outcome of
    # the same batch stands (it is settled by the batch, not made "unsubscribed").
    sub = add_sub(rig, rig.push.phone())
    alert = add_alert(rig)
    d1 = add_delivery(rig, alert, sub["id"])
    d2 = add_delivery(rig, add_alert(rig), sub["id"])
    d3 = add_delivery(rig, add_alert(rig), sub["id"])
    rig.clock.now = NOW + timedelta(seconds=5)
    other = add_sub(rig, rig.push.phone())
    d4 = add_delivery(rig, add_alert(rig), other["id"])
    rig.sender._commit(
        [
            Outcome(_open(rig, d4), "delivered", 1),
            Outcome(_open(rig, d1), "gone", 1),
            Outcome(_open(rig, d2), "retrying", 1, "server_error", "2026-11-30T12:01:00Z"),
        ]
    )
    stored = rig.store.get("subscriptions", other["id"])
    assert stored is not None and stored["last_delivery"] == "2026-11-30T12:00:05Z"
    assert rig.store.get("subscriptions", sub["id"]) is None
    got = {k: delivery(rig, v) for k, v in {"d1": d1, "d2": d2, "d3": d3}.items()}
    assert {
        k: (d["state"], d["reason"], d["subscription_id"], d["updated"]) for k, d in got.items()
    } == {
        "d1": ("gone", None, None, "2026-11-30T12:00:05Z"),
        "d2": ("retrying", "server_error", None, "2026-11-30T12:00:05Z"),
        "d3": ("gone", "unsubscribed", None, "2026-11-30T12:00:05Z"),
    }
    assert got["d2"]["due"] == "2026-11-30T12:01:00Z"
    assert got["d2"]["attempts"] == 1


def test_two_gone_deliveries_of_one_phone_in_one_batch(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone())
    other = add_sub(rig, rig.push.phone())
    d1 = add_delivery(rig, add_alert(rig), sub["id"])
    d2 = add_delivery(rig, add_alert(rig), sub["id"])
    d3 = add_delivery(rig, add_alert(rig), other["id"])
    d4 = add_delivery(rig, add_alert(rig), sub["id"])
    rig.sender._commit(
        [
            Outcome(_open(rig, d1), "gone", 1),
            Outcome(_open(rig, d2), "gone", 1),
            Outcome(_open(rig, d3), "delivered", 1),
            Outcome(_open(rig, d4), "retrying", 1, "timeout", "2026-11-30T12:01:00Z"),
        ]
    )
    # One batch: the phone deleted once, the retry of its other delivery stands.
    assert (delivery(rig, d4)["state"], delivery(rig, d4)["subscription_id"]) == ("retrying", None)
    assert rig.store.get("subscriptions", sub["id"]) is None
    assert [(delivery(rig, d)["state"], delivery(rig, d)["reason"]) for d in (d1, d2)] == [
        ("gone", None),
        ("gone", None),
    ]
    stored = rig.store.get("subscriptions", other["id"])
    assert stored is not None and stored["last_delivery"] == NOW_TEXT
    assert delivery(rig, d3)["subscription_id"] == other["id"]


def test_a_cut_delivery_then_others_in_the_batch(rig: Rig) -> None:
    # A delivery without a subscription changes no subscription, and the next outcomes are
    # still written in full.
    sub = add_sub(rig, rig.push.phone())
    gone = add_sub(rig, rig.push.phone())
    alert = add_alert(rig)
    cut = add_delivery(rig, alert, None)
    d1 = add_delivery(rig, alert, sub["id"])
    d2 = add_delivery(rig, add_alert(rig), gone["id"])
    rig.sender._commit(
        [
            Outcome(_open(rig, cut), "gone", 0, "unsubscribed"),
            Outcome(_open(rig, d1), "delivered", 1),
            Outcome(_open(rig, d2), "gone", 1),
        ]
    )
    assert delivery(rig, cut)["state"] == "gone"
    stored = rig.store.get("subscriptions", sub["id"])
    assert stored is not None and stored["last_delivery"] == NOW_TEXT
    assert rig.store.get("subscriptions", gone["id"]) is None


def test_an_unsubscribed_outcome_deletes_no_subscription(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone())
    d1 = add_delivery(rig, add_alert(rig), sub["id"])
    rig.sender._commit([Outcome(_open(rig, d1), "gone", 0, "unsubscribed")])
    assert rig.store.get("subscriptions", sub["id"]) is not None
    assert (delivery(rig, d1)["state"], delivery(rig, d1)["reason"]) == ("gone", "unsubscribed")


def test_an_outcome_over_a_delivery_cancelled_meanwhile(rig: Rig) -> None:
    # The batch fails (the retry is written only over the state it was worked out from);
    # each outcome is then written on its own: the cancellation stands, the others land.
    sub = add_sub(rig, rig.push.phone())
    gone = add_sub(rig, rig.push.phone())
    cut = add_delivery(rig, add_alert(rig), None)
    d1 = add_delivery(rig, add_alert(rig), sub["id"])
    d2 = add_delivery(rig, add_alert(rig), sub["id"])
    d3 = add_delivery(rig, add_alert(rig), gone["id"])
    d4 = add_delivery(rig, add_alert(rig), gone["id"])
    seen = _open(rig, d1)
    rig.store.update("deliveries", d1, {"state": "cancelled"})
    rig.clock.now = NOW + timedelta(seconds=3)
    rig.sender._commit(
        [
            Outcome(seen, "retrying", 1, "timeout", "2026-11-30T12:05:00Z"),
            Outcome(_open(rig, cut), "failed", 0, "expired"),
            Outcome(_open(rig, d2), "delivered", 1),
            Outcome(_open(rig, d3), "gone", 1),
            Outcome(_open(rig, d4), "gone", 0, "unsubscribed"),
        ]
    )
    assert delivery(rig, d1)["state"] == "cancelled"
    assert (delivery(rig, cut)["state"], delivery(rig, cut)["reason"]) == ("failed", "expired")
    assert delivery(rig, d2)["state"] == "delivered"
    assert delivery(rig, d2)["updated"] == "2026-11-30T12:00:03Z"
    stored = rig.store.get("subscriptions", sub["id"])
    assert stored is not None and stored["last_delivery"] == "2026-11-30T12:00:03Z"
    assert rig.store.get("subscriptions", gone["id"]) is None
    assert delivery(rig, d3)["subscription_id"] is None
    assert (delivery(rig, d3)["state"], delivery(rig, d3)["reason"]) == ("gone", None)
    assert delivery(rig, d4)["subscription_id"] is None


def test_an_unsubscribed_outcome_in_a_failed_batch_deletes_nothing(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone())
    d0 = add_delivery(rig, add_alert(rig), sub["id"])
    d1 = add_delivery(rig, add_alert(rig), sub["id"])
    seen = _open(rig, d0)
    rig.store.update("deliveries", d0, {"state": "cancelled"})
    rig.sender._commit(
        [
            Outcome(seen, "failed", 0, "expired"),
            Outcome(_open(rig, d1), "gone", 0, "unsubscribed"),
        ]
    )
    assert rig.store.get("subscriptions", sub["id"]) is not None
    assert delivery(rig, d1)["subscription_id"] == sub["id"]
    assert delivery(rig, d0)["state"] == "cancelled"


# -- the loop over time: retries falling due, pauses ending, wakes, paging ---------------------


def test_a_delivery_due_later_is_sent_when_it_falls_due(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"], due="2026-11-30T12:00:01Z")
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            # The sweep notes when the first later one falls due (not the 30 s backstop).
            await until(lambda: sender._next_due < math.inf, timeout=5)
            assert sender._next_due <= time.monotonic() + 1.0
            rig.clock.now = NOW + timedelta(seconds=1)
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert delivery(rig, doc_id)["attempts"] == 1


def test_a_retry_wakes_the_loop_at_its_time(rig: Rig, fixed_jitter: None) -> None:
    phone = rig.push.phone()
    rig.push.answer(phone, 503, times=1)
    sub = add_sub(rig, phone)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.make_sender(backoff=0.5)

    async def main() -> None:
        # No wake: only the written retry can wake the loop (else the 30 s backstop).
        async with sender.running():
            await until(lambda: delivery(rig, doc_id)["state"] == "retrying", timeout=5)
            assert delivery(rig, doc_id)["due"] == "2026-11-30T12:00:01Z"
            rig.clock.now = NOW + timedelta(seconds=1)
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert fields(rig, doc_id) == (
        "delivered",
        2,
        None,
        "2026-11-30T12:00:01Z",
        "2026-11-30T12:00:01Z",
    )
    assert sender.tally == {}


def test_a_throttled_service_goes_on_after_its_pause(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.push.sender")
    phone = rig.push.phone()
    rig.push.answer(phone, 429, retry_after="1", times=1)
    sub = add_sub(rig, phone)
    doc_id = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: delivery(rig, doc_id)["due"] != NOW_TEXT, timeout=5)
            assert sender._paused_for(rig.push.origin) > 0
            # The fake clock moves on once the pause is over.
            await until(lambda: sender._paused_for(rig.push.origin) == 0, timeout=5)
            rig.clock.now = NOW + timedelta(seconds=1)
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    # The throttled try counted nothing: the delivery took one try.
    assert fields(rig, doc_id)[:3] == ("delivered", 1, None)
    assert rig.push.refused == [(phone.id, 429)]
    tallies = [m for m in caplog.messages if m.startswith("push: sent")]
    assert tallies == [
        "push: sent since the last report: pending 1",
        "push: sent since the last report: delivered 1",
    ]


def test_wake_from_another_thread_sends_what_was_queued(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    first = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, first)["state"] == "delivered", timeout=5)
            await until(lambda: not sender._workers and sender._next_due == math.inf)
            second = add_delivery(rig, add_alert(rig), sub["id"])
            await asyncio.to_thread(sender.wake)
            await until(lambda: delivery(rig, second)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert len(rig.push.received(phone)) == 2


def test_sweeps_in_pages_while_the_queues_have_room(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pages and a small queue bound: the sweep goes on from where it stopped as the
    # queue empties, through both open states.
    monkeypatch.setattr("hub.push.sender.SWEEP", 2)
    monkeypatch.setattr("hub.push.sender.QUEUE_MAX", 4)
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(9)]
    ids = []
    for n, p in enumerate(phones):
        state = "retrying" if n % 3 == 0 else "pending"
        due = f"2026-11-30T11:59:{n:02d}Z"
        ids.append(
            add_delivery(rig, alert, add_sub(rig, p)["id"], state=state, due=due, attempts=n % 3)
        )
    later = add_delivery(
        rig, alert, add_sub(rig, rig.push.phone())["id"], due="2026-11-30T12:00:09Z"
    )
    sender = rig.make_sender(in_flight=1)
    reads: list[tuple[int, Any, dict[str, Any]]] = []
    real_page = rig.store.page

    def page(table: str, where: Any, **kwargs: Any) -> Any:
        if "order_by" in kwargs:  # the sender's sweep (the outbox's tidy reads too)
            held = sum(len(queue) for queue in sender._queues.values())
            reads.append((held, where, kwargs))
        return real_page(table, where, **kwargs)

    monkeypatch.setattr(rig.store, "page", page)

    async def main() -> None:
        # No wake: the first pass starts by itself, and only the freed room kicks the next.
        async with sender.running():
            await until(all_delivered(rig, ids), 5)
            await until(lambda: sender._next_due < math.inf, timeout=5)
            assert sender._next_due > time.monotonic() + 5

    asyncio.run(main())
    assert [len(rig.push.received(p)) for p in phones] == [1] * 9
    assert delivery(rig, later)["state"] == "pending"
    # The first pass reads two pages of pending ones (the queue then holds its bound of 4),
    # the second of them after the first page's last delivery; never more than the bound.
    first, second = reads[:2]
    assert first == (0, {"state": "pending"}, {"order_by": "due", "after": None, "limit": 2})
    assert second == (
        2,
        {"state": "pending"},
        {"order_by": "due", "after": {"due": "2026-11-30T11:59:02Z", "id": ids[2]}, "limit": 2},
    )
    # The queue's room is freed by the sends: that read goes on from where the sweep stopped.
    assert reads[2][1:] == (
        {"state": "pending"},
        {"order_by": "due", "after": {"due": "2026-11-30T11:59:05Z", "id": ids[5]}, "limit": 2},
    )
    assert all(queued + 2 <= 4 for queued, _where, _kwargs in reads)
    assert {where["state"] for _queued, where, _kwargs in reads} == {"pending", "retrying"}


def test_a_failing_read_of_the_outbox_is_logged_and_tried_again(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, phone)["id"])
    real_page = rig.store.page
    failures = [1]

    def page(*args: Any, **kwargs: Any) -> Any:
        if failures:
            failures.pop()
            raise OSError("disk")
        return real_page(*args, **kwargs)

    monkeypatch.setattr(rig.store, "page", page)
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: bool(caplog.messages), timeout=5)
            assert sender._next_due > time.monotonic() + 25
            sender.wake()
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert caplog.messages == ["push: reading the outbox failed; trying again"]


def test_an_unexpected_error_of_one_send_leaves_it_and_the_others_go(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    alert = add_alert(rig)
    broken = add_delivery(rig, alert, sub["id"], attempts="many", due="2026-11-30T11:59:00Z")
    fine = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.make_sender(in_flight=1)
    run(rig, lambda: delivery(rig, fine)["state"] == "delivered", sender)
    assert fields(rig, broken) == ("pending", "many", None, "2026-11-30T11:59:00Z", NOW_TEXT)
    assert caplog.messages == [f"push: a send to {rig.push.origin} failed unexpectedly"]
    assert sender._busy == set()


def test_outcomes_that_cannot_be_written_stay_open_and_are_sent_again(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, phone)["id"])
    real_batch = rig.store.batch
    failures = [1]

    def batch() -> Any:
        if failures:
            failures.pop()
            raise OSError("disk full")
        return real_batch()

    monkeypatch.setattr(rig.store, "batch", batch)
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: bool(caplog.messages), timeout=5)
            assert delivery(rig, doc_id)["state"] == "pending"
            await until(lambda: doc_id not in sender._busy, timeout=5)
            sender.wake()
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)

    asyncio.run(main())
    assert caplog.messages == ["push: outcomes could not be written; they stay as they were"]
    assert len(rig.push.received(phone)) == 2


def test_the_tally_of_what_was_sent(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hub.push.sender")
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(5)]
    rig.push.answer(phones[1], 410)
    rig.push.answer(phones[2], 413)
    rig.push.answer(phones[3], 413)
    ids = [add_delivery(rig, alert, add_sub(rig, p)["id"]) for p in phones]
    run(rig, written(rig, *ids))
    assert caplog.messages == [
        "push: sent since the last report: delivered 2, failed (too_large) 2, gone 1"
    ]


def test_sends_under_way_at_shutdown_are_finished_and_written(rig: Rig) -> None:
    phone = rig.push.phone()
    rig.push.slow(phone, 0.3)
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, phone)["id"])
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: rig.push.requests >= 1, timeout=5)

    asyncio.run(main())
    assert fields(rig, doc_id)[:3] == ("delivered", 1, None)


def test_a_full_write_queue_holds_the_senders_back(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.push.sender.WRITE_BATCH", 1)
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(8)]
    ids = [add_delivery(rig, alert, add_sub(rig, p)["id"]) for p in phones]
    run(rig, written(rig, *ids))
    assert [delivery(rig, i)["state"] for i in ids] == ["delivered"] * 8


def test_retry_after_as_a_date_is_read_against_the_clock(rig: Rig) -> None:
    # The date is compared with the sender's clock (a mutant passing None falls back to 60 s).
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    date = "Mon, 30 Nov 2026 12:00:30 GMT"
    throttled = rig.sender._answer(doc, 0, "svc", 429, date)
    assert (throttled.state, throttled.attempts, throttled.due) == (
        "pending",
        0,
        "2026-11-30T12:00:30Z",
    )
    failing = rig.sender._answer(doc, 0, "svc", 503, date)
    assert (failing.state, failing.due) == ("retrying", "2026-11-30T12:00:30Z")


def test_an_alert_is_read_once_a_second_for_all_its_sends(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_get = rig.store.get

    def get(table: str, doc_id: str) -> Any:
        if table == "alerts":
            reads.append(doc_id)
        return real_get(table, doc_id)

    monkeypatch.setattr(rig.store, "get", get)
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(4)]
    ids = [add_delivery(rig, alert, add_sub(rig, p)["id"]) for p in phones]
    moment = [1000.0]
    sender = rig.make_sender(in_flight=1)
    run(rig, written(rig, *ids), sender)
    assert reads.count(alert["id"]) == 1
    # At most 1,000 alerts are kept: the 1,002nd read empties the cache.
    monkeypatch.setattr("hub.push.sender.time.monotonic", lambda: moment[0])
    reads.clear()
    sender = rig.make_sender()
    for n in range(1001):
        sender._alert(f"a-{n}")
    assert len(reads) == 1001
    sender._alert("a-0")
    assert len(reads) == 1001
    sender._alert("a-1001")
    sender._alert("a-0")
    assert len(reads) == 1003
    # Read again once a second is over, not before.
    sender._alert("a-5")
    assert len(reads) == 1004
    moment[0] += 1.0
    sender._alert("a-0")
    assert len(reads) == 1004
    moment[0] += 0.001
    sender._alert("a-0")
    assert len(reads) == 1005


def test_each_alert_has_its_own_message(rig: Rig) -> None:
    phone = rig.push.phone()
    sub = add_sub(rig, phone)
    first = add_alert(rig, push_topic="first")
    second = add_alert(rig, push_topic="second")
    ids = [add_delivery(rig, a, sub["id"]) for a in (first, second)]
    run(rig, written(rig, *ids))
    got = sorted(((m or {})["alert"], (m or {})["tag"]) for m in rig.push.messages(phone))
    assert got == sorted([(first["id"], "first"), (second["id"], "second")])


def test_each_status_is_logged_once_per_service(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    for status in (418, 402, 418, 402):
        rig.sender._answer(doc, 0, "svc", status, None)
    rig.sender._answer(doc, 0, "other", 418, None)
    assert caplog.messages == [
        "push: svc refused a message with 418",
        "push: svc refused a message with 402",
        "push: other refused a message with 418",
    ]


@pytest.mark.parametrize("status", [300, 399])
def test_every_3xx_is_logged_as_a_redirect(
    rig: Rig, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    assert rig.sender._answer(doc, 0, "svc", status, None) == Outcome(doc, "failed", 1, "refused")
    assert caplog.messages == [
        f"push: svc answered a message with a redirect ({status}), which the hub never "
        "follows; the message counts as refused"
    ]


@pytest.mark.parametrize("fallback", [False, True])
def test_outcomes_without_an_answer_delete_no_subscription(rig: Rig, fallback: bool) -> None:
    # Cancelled, retrying and failed outcomes (no reason, or one) leave the phone alone, in
    # the batch and, when the batch fails, one by one.
    subs = [add_sub(rig, rig.push.phone()) for _ in range(4)]
    ids = [add_delivery(rig, add_alert(rig), s["id"]) for s in subs]
    outcomes = [
        Outcome(_open(rig, ids[0]), "cancelled", 0),
        Outcome(_open(rig, ids[1]), "retrying", 1, "timeout", "2026-11-30T12:01:00Z"),
        Outcome(_open(rig, ids[2]), "failed", 1, "refused"),
        Outcome(_open(rig, ids[3]), "pending", 0, None, "2026-11-30T12:01:00Z"),
    ]
    if fallback:
        stale = add_delivery(rig, add_alert(rig), None)
        seen = _open(rig, stale)
        rig.store.update("deliveries", stale, {"state": "cancelled"})
        outcomes.insert(0, Outcome(seen, "failed", 0, "expired"))
    rig.sender._commit(outcomes)
    assert [rig.store.get("subscriptions", s["id"]) is not None for s in subs] == [True] * 4
    assert [delivery(rig, i)["state"] for i in ids] == [
        "cancelled",
        "retrying",
        "failed",
        "pending",
    ]
    assert [delivery(rig, i)["subscription_id"] for i in ids] == [s["id"] for s in subs]


def test_a_service_with_an_empty_queue_does_not_hold_up_the_next(rig: Rig) -> None:
    # While the first service's last message is under way (its queue empty), another
    # service's new message is started at once, not at the next look at the outbox.
    slow = rig.push.phone()
    rig.push.slow(slow, 0.5)
    with FakePush() as second:
        services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{rig.push.origin},{second.origin}")
        sender = rig.make_sender(services=services)
        first = add_delivery(rig, add_alert(rig), add_sub(rig, slow)["id"])
        phone = second.phone()
        sub = add_sub(rig, phone, push_service=second.origin)

        async def main() -> None:
            async with sender.running():
                sender.wake()
                await until(lambda: rig.push.requests >= 1, timeout=5)
                other = add_delivery(rig, add_alert(rig), sub["id"], push_service=second.origin)
                sender.wake()
                await until(lambda: delivery(rig, other)["state"] == "delivered", timeout=5)
                await until(lambda: delivery(rig, first)["state"] == "delivered", timeout=5)

        asyncio.run(main())


def test_the_tally_is_logged_when_the_sender_is_idle(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.push.sender")
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, rig.push.phone())["id"])
    sender = rig.sender
    line = "push: sent since the last report: delivered 1"

    async def main() -> None:
        async with sender.running():
            sender.wake()
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)
            await until(lambda: not sender._workers and not sender._busy, timeout=5)
            # The next pass finds nothing under way: it reports what was sent.
            sender.wake()
            await until(lambda: line in caplog.messages, timeout=5)

    asyncio.run(main())
    assert caplog.messages == [line]


def test_a_sweep_stops_at_the_first_later_delivery(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In due order, the first delivery not yet due ends the sweep of its state: no further
    # page is read for it.
    monkeypatch.setattr("hub.push.sender.SWEEP", 2)
    sub = add_sub(rig, rig.push.phone())
    now = add_delivery(rig, add_alert(rig), sub["id"])
    for second in ("09", "10", "11"):
        add_delivery(rig, add_alert(rig), sub["id"], due=f"2026-11-30T12:00:{second}Z")
    sender = rig.sender
    reads: list[Any] = []
    real_page = rig.store.page

    def page(table: str, where: Any, **kwargs: Any) -> Any:
        if "order_by" in kwargs:
            reads.append((where["state"], kwargs.get("after")))
        return real_page(table, where, **kwargs)

    monkeypatch.setattr(rig.store, "page", page)

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, now)["state"] == "delivered", timeout=5)
            await until(lambda: sender._next_due < math.inf, timeout=5)

    asyncio.run(main())
    assert reads == [("pending", None), ("retrying", None)]


def test_each_page_goes_on_after_the_last_one_read(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.push.sender.SWEEP", 3)
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(7)]
    ids = [
        add_delivery(rig, alert, add_sub(rig, p)["id"], due=f"2026-11-30T11:59:{n:02d}Z")
        for n, p in enumerate(phones)
    ]
    afters: list[Any] = []
    real_page = rig.store.page

    def page(table: str, where: Any, **kwargs: Any) -> Any:
        if "order_by" in kwargs and where == {"state": "pending"}:
            afters.append(kwargs.get("after"))
        return real_page(table, where, **kwargs)

    monkeypatch.setattr(rig.store, "page", page)
    run(rig, written(rig, *ids))
    assert afters[:3] == [
        None,
        {"due": "2026-11-30T11:59:02Z", "id": ids[2]},
        {"due": "2026-11-30T11:59:05Z", "id": ids[5]},
    ]


def test_a_delivery_without_a_push_service_is_logged_under_an_empty_name(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    phone = rig.push.phone()
    rig.push.answer(phone, 418)
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, phone)["id"], push_service=None)
    run(rig, written(rig, doc_id))
    assert fields(rig, doc_id)[:3] == ("failed", 1, "refused")
    assert caplog.messages == ["push:  refused a message with 418"]


def test_a_throttled_service_stops_its_queue_at_once(rig: Rig) -> None:
    # The worker that met the 429 sends nothing more to that service during the pause.
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(3)]
    rig.push.answer(phones[0], 429, retry_after="60", times=1)
    ids = [
        add_delivery(rig, alert, add_sub(rig, p)["id"], due=f"2026-11-30T11:59:{n:02d}Z")
        for n, p in enumerate(phones)
    ]
    sender = rig.make_sender(in_flight=1)

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, ids[0])["due"] == "2026-11-30T12:01:00Z", 5)
            await until(lambda: not sender._workers, timeout=5)
            assert rig.push.requests == 1

    asyncio.run(main())
    assert [delivery(rig, i)["state"] for i in ids] == ["pending"] * 3
    assert rig.push.received(phones[1]) == []


def test_no_more_sends_at_once_than_slots(rig: Rig) -> None:
    with FakePush() as other:
        services = PushServices.parse(f"{DEFAULT_PUSH_SERVICES},{rig.push.origin},{other.origin}")
        sender = rig.make_sender(services=services, in_flight=1)
        rig.push.hold_after(0)
        other.hold_after(0)
        alert = add_alert(rig)
        first = add_delivery(rig, alert, add_sub(rig, rig.push.phone())["id"])
        o_sub = add_sub(rig, other.phone(), push_service=other.origin)
        second = add_delivery(rig, alert, o_sub["id"], push_service=other.origin)

        def one_held_one_queued() -> bool:
            queued = sum(len(queue) for queue in sender._queues.values())
            return rig.push.holding + other.holding == 1 and queued == 1

        done = written(rig, first, second)

        async def main() -> None:
            async with sender.running():
                await until(one_held_one_queued, timeout=5)
                rig.push.release()
                other.release()
                await until(done, timeout=5)

        asyncio.run(main())


def test_one_look_at_the_outbox_starts_every_slot_the_share_allows(rig: Rig) -> None:
    # One pass, no other wake: three workers start at once for one service (in_flight 4).
    rig.push.hold_after(0)
    alert = add_alert(rig)
    ids = [add_delivery(rig, alert, add_sub(rig, rig.push.phone())["id"]) for _ in range(5)]
    sender = rig.make_sender(in_flight=4)
    done = written(rig, *ids)

    async def main() -> None:
        async with sender.running():
            await until(lambda: rig.push.holding == 3, timeout=5)
            rig.push.release()
            await until(done, timeout=5)

    asyncio.run(main())


def test_a_delivery_left_alone_is_free_for_the_next_sweep(rig: Rig) -> None:
    sub = add_sub(rig, rig.push.phone())
    draft = add_delivery(
        rig, add_alert(rig, status="pending"), sub["id"], due="2026-11-30T11:59:00Z"
    )
    sent = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.make_sender(in_flight=1)

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, sent)["state"] == "delivered", timeout=5)
            assert draft not in sender._busy

    asyncio.run(main())


def test_a_finished_worker_gives_its_slot_back_to_its_service(rig: Rig) -> None:
    # After a worker ends, the service again gets exactly its share (3 of 4), not more.
    sub = add_sub(rig, rig.push.phone())
    first = add_delivery(rig, add_alert(rig), sub["id"])
    sender = rig.make_sender(in_flight=4)

    def started_three() -> bool:
        queued = sum(len(queue) for queue in sender._queues.values())
        return rig.push.holding == 3 and queued == 2

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, first)["state"] == "delivered", timeout=5)
            await until(lambda: not sender._workers, timeout=5)
            rig.push.hold_after(1)
            alert = add_alert(rig)
            ids = [add_delivery(rig, alert, add_sub(rig, rig.push.phone())["id"]) for _ in range(5)]
            done = written(rig, *ids)
            sender.wake()
            await until(started_three, timeout=5)
            rig.push.release()
            await until(done, timeout=5)

    asyncio.run(main())


def test_a_wake_while_the_queues_are_full_does_not_stall_the_rest_of_the_outbox(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, small_queues: None
) -> None:
    # A wake asks for a sweep from the top; when it comes while the queues have no room, the
    # sweep must still go on as they drain, not wait for the next poll (made an hour here).
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(8)]
    ids = [
        add_delivery(rig, alert, add_sub(rig, p)["id"], due=f"2026-11-30T11:59:{n:02d}Z")
        for n, p in enumerate(phones)
    ]
    sender = rig.make_sender(in_flight=1)
    passes = count_passes(sender, monkeypatch)
    rig.push.hold_after(0)  # the first send waits, so the queues stay full

    async def main() -> None:
        async with sender.running():
            assert await asyncio.to_thread(rig.push.wait_for, 0, 5.0, holding=1)
            assert sender._queued == 3
            before = len(passes)
            await asyncio.to_thread(sender.wake)
            await until(lambda: len(passes) > before, timeout=5)
            rig.push.release()
            await until(all_delivered(rig, ids), 10)

    asyncio.run(main())
    assert [len(rig.push.received(p)) for p in phones] == [1] * 8


def test_a_state_the_sweep_had_no_room_for_is_read_when_room_frees(
    rig: Rig, small_queues: None
) -> None:
    # The pending ones end the first read with the queue one short of room for a page: the
    # retrying ones, not read yet, go when sends free room, not at the next poll (an hour).
    alert = add_alert(rig)
    phones = [rig.push.phone() for _ in range(5)]
    ids = [
        add_delivery(
            rig,
            alert,
            add_sub(rig, p)["id"],
            state="pending" if n < 3 else "retrying",
            attempts=0 if n < 3 else 1,
            due=f"2026-11-30T11:59:{n:02d}Z",
        )
        for n, p in enumerate(phones)
    ]
    sender = rig.make_sender(in_flight=1)

    async def main() -> None:
        async with sender.running():  # no wake: the first pass starts by itself
            await until(all_delivered(rig, ids), 10)

    asyncio.run(main())
    assert [len(rig.push.received(p)) for p in phones] == [1] * 5


# -- timing-only mutants: waits, due times and pauses measured in real seconds -----------------


def test_after_a_retry_is_sent_the_loop_goes_back_to_waiting(
    rig: Rig, fixed_jitter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kills `_run`'s `self._reread = True` after a timed-out wait made None/False, and
    # `_wait`'s timed-out `return False` made `return True`: the retry's wake time, once
    # passed, is never reset, and the loop goes round every few tens of ms until stopped.
    rig.clock.now = NOW + timedelta(milliseconds=700)  # the retry falls due 0.3 s later
    phone = rig.push.phone()
    rig.push.answer(phone, 500, times=1)
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, phone)["id"])
    sender = rig.sender
    passes = count_passes(sender, monkeypatch)

    async def main() -> None:
        async with sender.running():
            await until(lambda: delivery(rig, doc_id)["state"] == "retrying", timeout=5)
            assert delivery(rig, doc_id)["due"] == "2026-11-30T12:00:01Z"
            rig.clock.now = NOW + timedelta(seconds=1)
            await until(lambda: delivery(rig, doc_id)["state"] == "delivered", timeout=5)
            before = len(passes)
            await asyncio.sleep(0.6)
            # At most the one pass of the retry's own wake; the loop then waits for the poll.
            assert len(passes) - before <= 2

    asyncio.run(main())
    assert fields(rig, doc_id)[:3] == ("delivered", 2, None)


def test_a_wait_of_no_time_is_a_hundredth_of_a_second(rig: Rig) -> None:
    # Kills `_wait`'s least wait `max(seconds, 0.01)` made `max(seconds, 1.01)`.
    sender = rig.sender

    async def main() -> None:
        async with sender.running():
            start = time.monotonic()
            assert await sender._wait(0.0) is False
            assert time.monotonic() - start < 0.9  # the mutant waits 1.01 s

    asyncio.run(main())


def test_the_next_due_of_a_sweep_is_the_first_later_delivery_even_under_a_second(
    rig: Rig,
) -> None:
    # Kills `_pass`'s `max(seconds, 0.0)` for the first later delivery made `max(seconds, 1.0)`.
    rig.clock.now = NOW + timedelta(milliseconds=700)
    sub = add_sub(rig, rig.push.phone())
    add_delivery(rig, add_alert(rig), sub["id"], due="2026-11-30T12:00:01Z")  # 0.3 s ahead
    sender = rig.sender

    async def main() -> None:
        await sender._pass()
        left = sender._next_due - time.monotonic()
        assert 0.0 < left < 0.9

    asyncio.run(main())
    assert sender._queued == 0


def test_a_recorded_retry_wakes_the_loop_at_its_time_even_under_a_second(rig: Rig) -> None:
    # Kills `_recorded`'s `max(seconds, 0.0)` made `max(seconds, 1.0)`.
    rig.clock.now = NOW + timedelta(milliseconds=700)
    doc = {"id": "d1", "state": "pending", "reason": None, "attempts": 0}
    sender = rig.sender
    sender._recorded(Outcome(doc, "retrying", 1, "server_error", "2026-11-30T12:00:01Z"))
    left = sender._soonest - time.monotonic()
    assert 0.0 < left < 0.9
    assert sender.tally == {"retrying": 1}


def _queued_one(rig: Rig, sender: Sender) -> str:
    """A due delivery to the fake push service, in the sender's queue (not sent)."""
    doc_id = add_delivery(rig, add_alert(rig), add_sub(rig, rig.push.phone())["id"])
    sender._queue(delivery(rig, doc_id))
    return doc_id


def test_a_service_paused_under_a_second_more_gets_no_worker(rig: Rig) -> None:
    # Kills `_dispatch`'s `self._paused_for(service) > 0` made `> 1`.
    sender = rig.sender
    service = rig.push.origin
    doc_id = _queued_one(rig, sender)

    async def main() -> None:
        sender._paused[service] = time.monotonic() + 0.5
        sender._dispatch()
        started = set(sender._workers)
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
        assert not started
        assert (sender._free, sender._active[service]) == (4, 0)
        assert list(sender._queues[service]) == [doc_id]

    asyncio.run(main())


def test_a_worker_of_a_service_paused_under_a_second_more_sends_nothing(rig: Rig) -> None:
    # Kills `_work`'s `self._paused_for(service) <= 0` made `<= 1`.
    sender = rig.sender
    service = rig.push.origin
    doc_id = _queued_one(rig, sender)
    queue = sender._queues[service]

    async def main() -> None:
        sender._write_room = asyncio.Event()
        sender._write_room.set()
        sender._write_ready = asyncio.Event()
        sender._paused[service] = time.monotonic() + 0.5
        # As `_dispatch` starts a worker: its slot taken.
        sender._active[service] += 1
        sender._free -= 1
        await asyncio.wait_for(sender._work(service, queue), timeout=1.0)

    asyncio.run(main())
    assert list(queue) == [doc_id]
    assert (sender._queued, sender._free, sender._active[service]) == (1, 4, 0)
    assert sender._writes == []
    assert rig.push.requests == 0
    assert delivery(rig, doc_id)["state"] == "pending"


def test_a_wake_part_way_through_a_sweep_reads_again_from_the_top(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, small_queues: None
) -> None:
    # Kills `_sweep_soon`'s `self._reread = True` made None/False. One alert's fan-out shares
    # a due second, so deliveries queued later may sort (by id) before where a sweep stopped
    # for want of room: the wake must sweep from the top, or the newcomer waits for the poll
    # (made an hour here) after the rest of the sweep.
    alert = add_alert(rig)
    ids = [
        add_delivery(rig, alert, add_sub(rig, rig.push.phone())["id"], id=f"d-{n}")
        for n in (1, 2, 3, 4, 5, 6)
    ]
    sender = rig.make_sender(in_flight=1)
    passes = count_passes(sender, monkeypatch)
    rig.push.hold_after(0)  # the first send waits, so the queues stay full

    async def main() -> None:
        async with sender.running():
            assert await asyncio.to_thread(rig.push.wait_for, 0, 5.0, holding=1)
            # d-1 being sent, d-2 to d-4 queued: the sweep stopped after d-4.
            assert sender._queued == 3
            assert sender._cursor["pending"] == {"due": NOW_TEXT, "id": "d-4"}
            newcomer = add_delivery(rig, alert, add_sub(rig, rig.push.phone())["id"], id="d-0")
            before = len(passes)
            await asyncio.to_thread(sender.wake)
            await until(lambda: len(passes) > before, timeout=5)
            rig.push.release()
            await until(all_delivered(rig, ids), 5)
            # Sent as room freed, not left for the poll.
            await until(lambda: delivery(rig, newcomer)["state"] == "delivered", timeout=1)

    asyncio.run(main())
    assert rig.push.accepted == 7
