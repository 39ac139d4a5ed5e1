"""Delivery of alerts through the real app to the fake push service (tests/fakepush.py).

The alert and the subscriptions are put in the store in the shapes of the shared plan (the
consoles and the subscribe page are other tests' business), queued with `outbox.enqueue` and
sent by the app's own sender, which the fake checks (VAPID JWT, TTL, Content-Encoding) and
decrypts as a phone would."""

from __future__ import annotations

import base64
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.outbox import REASONS, Report
from hub.push.payload import NEUTRAL_LINE
from hub.settings import DEFAULT_PUSH_SERVICES, Settings
from tests.fakepush import FakePush, Phone, Sink

SUBJECT = "mailto:ops@hub.example"
TEXTS = {
    "en": {"title": "Shelter line changed", "body": "The embassy's shelter line is now 2345."},
    "fil": {"title": "Nagbago ang linya", "body": "Ang linya ng shelter ay 2345 na ngayon."},
    "my": {"title": "ဖုန်းနံပါတ် ပြောင်းပြီ", "body": "သံရုံး၏ ဖုန်းလိုင်း အသစ် 2345"},
}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


@pytest.fixture
def other_push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Start the real app with the fakes listed as push services; closed afterwards."""
    opened: list[TestClient] = []

    def factory(*fakes: FakePush, **overrides: Any) -> TestClient:
        origins = ",".join(f.origin for f in fakes)
        values: dict[str, Any] = {
            "data_dir": tmp_path / f"var{len(opened)}",
            "push_services": f"{DEFAULT_PUSH_SERVICES},{origins}",
            "vapid_subject": SUBJECT,
            "push_attempts": 4,
            "push_timeout_seconds": 5,
            **overrides,
        }
        client = TestClient(create_app(Settings(**values)))
        client.__enter__()
        opened.append(client)
        # Retries within a second or two, not minutes.
        client.app.state.sender.backoff = 0.2  # type: ignore[attr-defined]
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


def add_subscription(
    client: TestClient,
    push: FakePush,
    phone: Phone,
    *,
    locale: str = "en",
    discreet: bool = False,
) -> dict[str, Any]:
    """A subscription document as the subscriptions API stores it."""
    now = _stamp(datetime.now(UTC))
    sub = phone.subscription
    doc = {
        "id": f"s-{phone.id}",
        "token_hash": secrets.token_hex(32),
        "endpoint": sub["endpoint"],
        "push_service": push.origin,
        "keys": sub["keys"],
        "locale": locale,
        "origin": "PH",
        "destination": "HK",
        "corridor": "PH-HK",
        "topics": ["safety", "rules"],
        "discreet": discreet,
        "created": now,
        "confirmed": now,
        "last_delivery": None,
    }
    client.app.state.store.insert("subscriptions", doc)  # type: ignore[attr-defined]
    return doc


def add_alert(
    client: TestClient,
    *,
    expires: timedelta = timedelta(days=2),
    texts: dict[str, dict[str, str]] | None = None,
    urgency: str = "high",
) -> dict[str, Any]:
    """A published alert document as the alerts helper stores it."""
    now = datetime.now(UTC)
    doc = {
        "id": f"a-{secrets.token_hex(4)}",
        "push_topic": secrets.token_urlsafe(12),
        "version": 1,
        "replaces": None,
        "account_id": "leader-1",
        "network": "Mission for Migrant Workers",
        "corridors": ["PH-HK"],
        "locales": list((texts or TEXTS).keys()),
        "texts": texts or TEXTS,
        "topic": "safety",
        "urgency": urgency,
        "expires": _stamp(now + expires),
        "link": None,
        "status": "published",
        "reason": None,
        "created": _stamp(now),
        "published": _stamp(now),
        "reviewed_by": "curator@hub.example",
        "withdrawn": None,
    }
    client.app.state.store.insert("alerts", doc)  # type: ignore[attr-defined]
    return doc


def send(client: TestClient, alert: dict[str, Any], subs: list[dict[str, Any]]) -> int:
    """Queue the alert for the subscriptions and wake the app's sender."""
    state = client.app.state  # type: ignore[attr-defined]
    queued: int = state.outbox.enqueue(alert, subs)
    state.sender.wake()
    return queued


def report(client: TestClient, alert: dict[str, Any]) -> Report:
    result: Report = client.app.state.outbox.report(alert["id"])  # type: ignore[attr-defined]
    return result


def settle(client: TestClient, alert: dict[str, Any], timeout: float = 30.0) -> Report:
    """The alert's report once nothing of it is pending or retrying (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        found = report(client, alert)
        if found.pending == 0 and found.retrying == 0:
            return found
        assert time.monotonic() < deadline, f"still open after {timeout} s: {found}"
        time.sleep(0.05)


def subscription(client: TestClient, doc: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.app.state.store.get(  # type: ignore[attr-defined]
        "subscriptions", doc["id"]
    )
    return found


def delivery(client: TestClient, alert: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
    (found,) = client.app.state.store.find(  # type: ignore[attr-defined]
        "deliveries", alert_id=alert["id"], subscription_id=sub["id"]
    )
    assert isinstance(found, dict)
    return found


# -- what each phone receives -----------------------------------------------------------------


def test_each_phone_decrypts_its_own_language_and_discreet_ones_only_neutral_fields(
    make_app: AppFactory, push: FakePush
) -> None:
    client = make_app(push)
    app_state = client.app.state  # type: ignore[attr-defined]
    phones = {name: push.phone(server_key=app_state.vapid.public_key) for name in "abcde"}
    subs = {
        "a": add_subscription(client, push, phones["a"], locale="en"),
        "b": add_subscription(client, push, phones["b"], locale="fil"),
        "c": add_subscription(client, push, phones["c"], locale="my", discreet=True),
        "d": add_subscription(client, push, phones["d"], locale="en", discreet=True),
        # No text in Thai: nothing is queued for her.
        "e": add_subscription(client, push, phones["e"], locale="th"),
    }
    alert = add_alert(client)
    assert send(client, alert, list(subs.values())) == 4
    assert push.wait_for(4, timeout=30), push.problems
    assert settle(client, alert) == Report(targeted=4, delivered=4)
    assert push.problems == []

    for name, locale in (("a", "en"), ("b", "fil")):
        (payload,) = push.messages(phones[name])
        assert payload == {
            "alert": alert["id"],
            "tag": alert["push_topic"],
            "locale": locale,
            "url": f"/{locale}/alerts#a-{alert['push_topic']}",
            "discreet": False,
            "title": TEXTS[locale]["title"],
            "body": TEXTS[locale]["body"],
        }
    site = app_state.library.site
    for name, locale in (("c", "my"), ("d", "en")):
        (received,) = push.received(phones[name])
        payload = received.payload
        assert payload is not None
        assert payload["discreet"] is True and payload["locale"] == locale
        assert payload["title"] == site.name(locale, discreet=True)
        assert payload["body"] == app_state.i18n.gettext(locale, NEUTRAL_LINE)
        # Nothing of the alert's words, in any language, is in what the lock screen gets.
        raw = repr(payload)
        for text in TEXTS.values():
            assert text["title"] not in raw and text["body"] not in raw
    assert push.messages(phones["e"]) == []

    (first,) = push.received(phones["a"])
    headers = {k.lower(): v for k, v in first.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "high"
    assert headers["topic"] == alert["push_topic"]
    # The seconds left until the alert expires (two days), never 0.
    assert 2 * 86400 - 120 < int(headers["ttl"]) <= 2 * 86400
    assert headers["authorization"].startswith("vapid t=")
    # One VAPID header for the one push service, reused for every message.
    assert len({r.headers["Authorization"] for p in phones.values() for r in push.received(p)}) == 1
    for name in "abcd":
        sub = subscription(client, subs[name])
        assert sub is not None and sub["last_delivery"] is not None
        assert delivery(client, alert, subs[name])["state"] == "delivered"


def test_an_expired_alert_is_not_sent(make_app: AppFactory, push: FakePush) -> None:
    client = make_app(push)
    sub = add_subscription(client, push, push.phone())
    alert = add_alert(client, expires=timedelta(seconds=-5))
    assert send(client, alert, [sub]) == 1
    assert settle(client, alert) == Report(targeted=1, failed={"expired": 1})
    assert push.accepted == 0 and push.refused == []
    assert "expired" in REASONS


def test_a_withdrawn_alert_s_queued_deliveries_are_cancelled(
    make_app: AppFactory, push: FakePush
) -> None:
    # No subject: nothing is sent, so the deliveries are still queued when it is withdrawn.
    client = make_app(push, vapid_subject="")
    subs = [add_subscription(client, push, push.phone()) for _ in range(3)]
    alert = add_alert(client)
    assert send(client, alert, subs) == 3
    # Queued twice: no second delivery for the same phone.
    assert send(client, alert, subs) == 0
    assert report(client, alert) == Report(targeted=3, pending=3)
    assert client.app.state.outbox.cancel(alert["id"]) == 3  # type: ignore[attr-defined]
    assert report(client, alert) == Report(targeted=3, cancelled=3)
    assert push.accepted == 0


def test_nothing_is_sent_until_the_subject_is_set(
    make_app: AppFactory, push: FakePush, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.push.sender")
    client = make_app(push, vapid_subject="")
    assert client.app.state.vapid.ready is False  # type: ignore[attr-defined]
    sub = add_subscription(client, push, push.phone())
    alert = add_alert(client)
    send(client, alert, [sub])
    time.sleep(1.0)
    assert push.accepted == 0 and push.refused == []
    assert report(client, alert) == Report(targeted=1, pending=1)
    warnings = [r.getMessage() for r in caplog.records if "HUB_VAPID_SUBJECT" in r.getMessage()]
    assert len(warnings) == 1


# -- the push services' error contract ------------------------------------------------------


def test_410_deletes_the_subscription_and_counts_it_gone(
    make_app: AppFactory, push: FakePush
) -> None:
    client = make_app(push)
    gone_phone, live_phone = push.phone(), push.phone()
    push.answer(gone_phone, 410)
    gone = add_subscription(client, push, gone_phone)
    live = add_subscription(client, push, live_phone)
    alert = add_alert(client)
    send(client, alert, [gone, live])
    assert settle(client, alert) == Report(targeted=2, delivered=1, gone=1)
    assert subscription(client, gone) is None
    assert subscription(client, live) is not None
    assert push.refused == [(gone_phone.id, 410)]
    assert len(push.messages(live_phone)) == 1


def test_410_leaves_no_delivery_naming_the_gone_subscription(
    make_app: AppFactory, push: FakePush
) -> None:
    # The phone has a delivery of a second alert, not due for an hour: the 410 of the first
    # deletes the subscription, and the same write cuts both of its deliveries from it (the
    # open one counted gone, "unsubscribed"), so a deleted phone leaves no link behind.
    client = make_app(push)
    gone_phone, live_phone = push.phone(), push.phone()
    push.answer(gone_phone, 410)
    gone = add_subscription(client, push, gone_phone)
    live = add_subscription(client, push, live_phone)
    first, later = add_alert(client), add_alert(client)
    store = client.app.state.store  # type: ignore[attr-defined]
    outbox = client.app.state.outbox  # type: ignore[attr-defined]
    # Both queued before the sender looks, and the outbox's own tidying (which would cut what
    # the sender left behind) just done, so not due for a minute: only the sender's write may.
    outbox.tidy_due()
    outbox.enqueue(first, [gone, live])
    outbox.enqueue(later, [gone])
    (waiting,) = store.find("deliveries", alert_id=later["id"])
    store.update(
        "deliveries", waiting["id"], {"due": _stamp(datetime.now(UTC) + timedelta(hours=1))}
    )
    client.app.state.sender.wake()  # type: ignore[attr-defined]
    assert settle(client, first) == Report(targeted=2, delivered=1, gone=1)
    assert subscription(client, gone) is None
    docs = store.find("deliveries")
    assert len(docs) == 3
    assert [d for d in docs if d.get("subscription_id") == gone["id"]] == []
    cut = store.get("deliveries", waiting["id"])
    assert (cut["state"], cut["reason"], cut["subscription_id"]) == ("gone", "unsubscribed", None)
    assert report(client, later) == Report(targeted=1, gone=1)
    # The live phone's delivery still names it (its last delivery is noted on it).
    assert [d["state"] for d in docs if d.get("subscription_id") == live["id"]] == ["delivered"]
    assert push.refused == [(gone_phone.id, 410)]


def test_the_sender_s_loop_tidies_the_outbox(
    make_app: AppFactory, push: FakePush, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "gone" delivery still naming a subscription deleted without unlink (as an older hub
    # left them): the sender's loop tidies after its passes and cuts it, with nothing enqueued
    # (an enqueue tidies too). Tidying is let run on every pass instead of once a minute.
    monkeypatch.setattr("hub.push.outbox.TIDY_SECONDS", 0.0)
    client = make_app(push)
    store = client.app.state.store  # type: ignore[attr-defined]
    now = _stamp(datetime.now(UTC))
    orphan = {
        "id": f"d-{secrets.token_hex(8)}",
        "alert_id": "a-finished",
        "subscription_id": "s-deleted-long-ago",
        "push_service": push.origin,
        "state": "gone",
        "attempts": 1,
        "due": now,
        "reason": None,
        "updated": now,
    }
    store.insert("deliveries", orphan)
    client.app.state.sender.wake()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while store.get("deliveries", orphan["id"])["subscription_id"] is not None:
        assert time.monotonic() < deadline, "the sender's loop never tidied the outbox"
        time.sleep(0.05)
    assert store.get("deliveries", orphan["id"])["state"] == "gone"


def test_401_marks_a_configuration_error_and_deletes_nothing(
    make_app: AppFactory, push: FakePush, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    client = make_app(push)
    phones = [push.phone(), push.phone()]
    for phone in phones:
        push.answer(phone, 401)
    subs = [add_subscription(client, push, phone) for phone in phones]
    alert = add_alert(client)
    send(client, alert, subs)
    assert settle(client, alert) == Report(targeted=2, failed={"configuration": 2})
    assert all(subscription(client, sub) is not None for sub in subs)
    # One log line for the service, naming it and never an endpoint.
    lines = [r.getMessage() for r in caplog.records if "401" in r.getMessage()]
    assert len(lines) == 1 and push.origin in lines[0]
    assert not any("/push/" in r.getMessage() for r in caplog.records)


def test_413_fails_that_message_with_its_reason(make_app: AppFactory, push: FakePush) -> None:
    client = make_app(push)
    big, fine = push.phone(), push.phone()
    push.answer(big, 413)
    subs = [add_subscription(client, push, big), add_subscription(client, push, fine)]
    alert = add_alert(client)
    send(client, alert, subs)
    assert settle(client, alert) == Report(targeted=2, delivered=1, failed={"too_large": 1})
    assert subscription(client, subs[0]) is not None


def test_429_pauses_the_push_service_for_its_retry_after_then_delivers(
    make_app: AppFactory, push: FakePush
) -> None:
    client = make_app(push, push_attempts=1)
    phone = push.phone()
    push.answer(phone, 429, retry_after="2", times=1)
    sub = add_subscription(client, push, phone)
    alert = add_alert(client)
    started = time.time()
    send(client, alert, [sub])
    # With one attempt allowed, a 429 counted as a failure would fail it: it is not.
    assert settle(client, alert, timeout=20) == Report(targeted=1, delivered=1)
    assert push.refused == [(phone.id, 429)]
    (received,) = push.received(phone)
    assert received.when - started >= 2.0
    assert delivery(client, alert, sub)["attempts"] == 1


@pytest.mark.parametrize("retry_after", [None, "soon"])
def test_429_without_a_usable_retry_after_pauses_for_the_default(
    make_app: AppFactory, push: FakePush, retry_after: str | None
) -> None:
    client = make_app(push)
    phone = push.phone()
    push.answer(phone, 429, retry_after=retry_after, times=1)
    sub = add_subscription(client, push, phone)
    alert = add_alert(client)
    send(client, alert, [sub])
    deadline = time.monotonic() + 10
    while not push.refused and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    # Still waiting (the default pause is a minute), nothing counted against it.
    found = delivery(client, alert, sub)
    assert found["state"] == "pending" and found["attempts"] == 0
    due = datetime.strptime(found["due"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=50) < due - datetime.now(UTC) <= timedelta(seconds=61)
    assert push.accepted == 0


def test_5xx_is_tried_again_with_backoff_then_delivered(
    make_app: AppFactory, push: FakePush
) -> None:
    client = make_app(push, push_attempts=3)
    flaky, broken = push.phone(), push.phone()
    push.answer(flaky, 503, times=2)
    push.answer(broken, 500)
    subs = [add_subscription(client, push, flaky), add_subscription(client, push, broken)]
    alert = add_alert(client)
    send(client, alert, subs)
    assert settle(client, alert, timeout=30) == Report(
        targeted=2, delivered=1, failed={"server_error": 1}
    )
    assert len(push.messages(flaky)) == 1
    assert delivery(client, alert, subs[0])["attempts"] == 3
    assert delivery(client, alert, subs[1])["attempts"] == 3
    assert push.refused.count((broken.id, 500)) == 3
    assert subscription(client, subs[1]) is not None


def test_a_timeout_is_tried_again(make_app: AppFactory, push: FakePush) -> None:
    client = make_app(push, push_attempts=2, push_timeout_seconds=1)
    phone = push.phone()
    push.slow(phone, 3.0)
    sub = add_subscription(client, push, phone)
    alert = add_alert(client)
    send(client, alert, [sub])
    assert settle(client, alert, timeout=30) == Report(targeted=1, failed={"timeout": 1})
    assert delivery(client, alert, sub)["attempts"] == 2


def test_a_slow_push_service_does_not_hold_up_another(
    make_app: AppFactory, push: FakePush, other_push: FakePush
) -> None:
    client = make_app(push, other_push, push_in_flight=4)
    # The slow service answers nothing until released; its 5 phones are more than its share
    # of the slots (3 of 4).
    push.hold_after(0)
    slow = [add_subscription(client, push, push.phone()) for _ in range(5)]
    fast = [add_subscription(client, other_push, other_push.phone()) for _ in range(6)]
    alert = add_alert(client)
    # The slow service's phones are being sent before the fast one's are queued: it must have
    # left a slot free.
    send(client, alert, slow)
    assert push.wait_for(0, timeout=10, holding=3)
    send(client, alert, fast)
    assert other_push.wait_for(6, timeout=10), "the fast service waited for the slow one"
    assert push.accepted == 0 and push.holding == 3
    push.release()
    assert settle(client, alert, timeout=30) == Report(targeted=11, delivered=11)


def test_a_report_counts_each_outcome(make_app: AppFactory, push: FakePush) -> None:
    client = make_app(push, push_attempts=1)
    phones = [push.phone() for _ in range(6)]
    push.answer(phones[0], 410)
    push.answer(phones[1], 404)
    push.answer(phones[2], 403)
    push.answer(phones[3], 502)
    subs = [add_subscription(client, push, phone) for phone in phones]
    alert = add_alert(client)
    send(client, alert, subs)
    assert settle(client, alert) == Report(
        targeted=6,
        delivered=2,
        gone=2,
        failed={"configuration": 1, "server_error": 1},
    )
    assert report(client, alert).failed_total == 2


@pytest.mark.parametrize("status", [307, 308, 302])
def test_a_redirect_is_never_followed_and_the_message_fails(
    make_app: AppFactory, push: FakePush, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A listed push service answering with a redirect to another loopback address (an
    # internal service) must not make the hub post there, nor count the message delivered.
    caplog.set_level(logging.ERROR, logger="hub.push.sender")
    with Sink() as internal:
        client = make_app(push)
        redirecting, fine = push.phone(), push.phone()
        push.answer(redirecting, status, location=f"{internal.origin}/internal")
        subs = [add_subscription(client, push, redirecting), add_subscription(client, push, fine)]
        alert = add_alert(client)
        send(client, alert, subs)
        assert settle(client, alert) == Report(targeted=2, delivered=1, failed={"refused": 1})
        assert internal.hits == []
    assert push.refused == [(redirecting.id, status)]
    assert delivery(client, alert, subs[0])["attempts"] == 1
    # Its subscription stays (a redirect says nothing of the phone), with no delivery noted.
    kept = subscription(client, subs[0])
    assert kept is not None and kept["last_delivery"] is None
    lines = [r.getMessage() for r in caplog.records if "redirect" in r.getMessage()]
    assert len(lines) == 1 and push.origin in lines[0] and str(status) in lines[0]
    assert not any(
        "/push/" in r.getMessage() or "/internal" in r.getMessage() for r in caplog.records
    )


def test_keys_that_cannot_be_used_fail_that_message_only(
    make_app: AppFactory, push: FakePush
) -> None:
    client = make_app(push)
    broken, fine = push.phone(), push.phone()
    subs = [add_subscription(client, push, broken), add_subscription(client, push, fine)]
    # Not a point on P-256 (65 bytes, but the wrong first byte), as a stored copy gone bad.
    client.app.state.store.update(  # type: ignore[attr-defined]
        "subscriptions", subs[0]["id"], {"keys": {**subs[0]["keys"], "p256dh": "B" + "A" * 86}}
    )
    alert = add_alert(client)
    send(client, alert, subs)
    assert settle(client, alert) == Report(targeted=2, delivered=1, failed={"bad_keys": 1})
    assert push.refused == [] and push.problems == []
    assert push.messages(broken) == [] and len(push.messages(fine)) == 1


def test_an_endpoint_no_longer_listed_is_not_called(
    make_app: AppFactory, push: FakePush, tmp_path: Path
) -> None:
    # A subscription stored while the fake was listed, sent after it no longer is.
    client = make_app(push, push_services=DEFAULT_PUSH_SERVICES)
    sub = add_subscription(client, push, push.phone())
    alert = add_alert(client)
    send(client, alert, [sub])
    assert settle(client, alert) == Report(targeted=1, failed={"not_listed": 1})
    assert push.accepted == 0 and push.refused == []
    assert subscription(client, sub) is not None


def test_fakepush_refuses_what_a_push_service_refuses(push: FakePush) -> None:
    # The fake is only worth its checks: a message without VAPID, or with a wrong key, fails.
    import httpx2 as httpx

    phone = push.phone()
    bare = httpx.post(phone.endpoint, content=b"x", headers={"TTL": "60"})
    assert bare.status_code == 401
    token = base64.urlsafe_b64encode(b"{}").decode()
    forged = httpx.post(
        phone.endpoint,
        content=b"x",
        headers={"TTL": "60", "Authorization": f"vapid t=a.{token}.b, k=AAAA"},
    )
    assert forged.status_code == 401
    assert len(push.problems) == 2 and push.accepted == 0
