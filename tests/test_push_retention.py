"""What the outbox keeps (security review F2): a deleted subscription leaves no link in the
deliveries, by whichever way it goes (her DELETE, the purge of unconfirmed ones, a 404/410 of
its push service), and an alert's finished deliveries are folded into counts and deleted, its
report the same before and after."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.endpoints import PushServices
from hub.push.outbox import FOLD_ROWS, PAGE, REPORTS, SETTLED, TABLE, Outbox, Report
from hub.push.subscriptions import Subscriptions
from hub.settings import Settings
from hub.store import Store, open_store
from tests.test_subscriptions_api import SERVICES, bearer, body

START = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """A settable clock shared by the outbox and the subscriptions."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def alert_doc(*, status: str = "published", hours: int = 48, **extra: Any) -> dict[str, Any]:
    """An alert as hub/push/alerts.py stores it (the fields the outbox reads)."""
    return {
        "id": f"a-{secrets.token_hex(4)}",
        "push_topic": secrets.token_urlsafe(12),
        "corridors": ["PH-HK"],
        "locales": ["fil"],
        "texts": {"fil": {"title": "Linya", "body": "Ang linya ay 2345 na."}},
        "topic": "safety",
        "urgency": "high",
        "expires": stamp(START + timedelta(hours=hours)),
        "status": status,
        "fanned_out": True,
        **extra,
    }


def store_bytes(folder: Path) -> bytes:
    """Every byte the store keeps in its data folder (snapshot and journal)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def states(store: Store, alert_id: str) -> list[tuple[str, str | None, str | None]]:
    return sorted(
        (d["state"], d["reason"], d["subscription_id"])
        for d in store.find(TABLE, alert_id=alert_id)
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def clock() -> Clock:
    return Clock()


Domain = tuple[Store, Subscriptions, Outbox]


@pytest.fixture
def domain(folder: Path, clock: Clock) -> Iterator[Domain]:
    store = open_store(folder / "hub.json")
    subscriptions = Subscriptions(
        store,
        services=PushServices.parse(SERVICES),
        confirm_days=30,
        locales=("en", "fil"),
        origins=("PH",),
        destinations=("HK",),
        clock=clock,
    )
    yield store, subscriptions, Outbox(store, clock=clock)
    store.close()


def subscribe(subscriptions: Subscriptions, count: int) -> list[tuple[str, str]]:
    return [subscriptions.subscribe(body()) for _ in range(count)]


def all_subs(store: Store) -> list[dict[str, Any]]:
    return store.find("subscriptions")


# -- F2 (a): a deleted subscription keeps no link -------------------------------------------


def test_her_delete_through_the_api_leaves_her_id_nowhere_in_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", push_services=SERVICES)
    with TestClient(create_app(settings)) as client:
        state = client.app.state  # type: ignore[attr-defined]
        store: Store = state.store
        made = [state.subscriptions.subscribe(body()) for _ in range(3)]
        (hers, token), others = made[0], [doc_id for doc_id, _ in made[1:]]
        sent, waiting = alert_doc(), alert_doc()
        for alert in (sent, waiting):
            store.insert("alerts", alert)
            assert state.outbox.enqueue(alert, all_subs(store)) == 3
        (done,) = store.find(TABLE, alert_id=sent["id"], subscription_id=hers)
        store.update(TABLE, done["id"], {"state": "delivered", "attempts": 1})
        before = state.outbox.report(sent["id"])

        response = client.delete(f"/api/subscriptions/{hers}", headers=bearer(token))
        assert response.status_code == 204

        # The one she had received counts as delivered still; the one waiting will never go.
        assert states(store, sent["id"]) == sorted(
            [("delivered", None, None)] + [("pending", None, o) for o in others]
        )
        assert states(store, waiting["id"]) == sorted(
            [("gone", "unsubscribed", None)] + [("pending", None, o) for o in others]
        )
        assert state.outbox.report(sent["id"]) == before
        assert state.outbox.report(waiting["id"]) == Report(targeted=3, pending=2, gone=1)
    kept = store_bytes(tmp_path / "var")
    assert hers.encode() not in kept
    assert all(other.encode() in kept for other in others)  # the search would find one


@pytest.mark.parametrize("way", ["purge", "gone at its push service"])
def test_every_other_deletion_cuts_the_deliveries_too(
    domain: Domain, folder: Path, clock: Clock, way: str
) -> None:
    store, subscriptions, outbox = domain
    made = subscribe(subscriptions, 2)
    alert = alert_doc()
    store.insert("alerts", alert)
    outbox.enqueue(alert, all_subs(store))
    old, kept = made[0][0], made[1][0]
    if way == "purge":
        clock.now = START + timedelta(days=20)
        subscriptions.confirm(kept, made[1][1])
        clock.now = START + timedelta(days=31)
        assert subscriptions.purge_unconfirmed() == 1
    else:
        assert subscriptions.remove(old)
    assert states(store, alert["id"]) == sorted(
        [("gone", "unsubscribed", None), ("pending", None, kept)]
    )
    store.close()
    assert old.encode() not in store_bytes(folder)
    assert kept.encode() in store_bytes(folder)


def test_a_subscription_the_sender_deleted_in_its_own_batch_is_cut_by_tidy(
    domain: Domain, folder: Path
) -> None:
    """The sender deletes a subscription answered 404/410 in its batch of outcomes (without
    `unlink`): the next tidy cuts every delivery of it, of this alert and of others."""
    store, subscriptions, outbox = domain
    (gone_id, _), (kept, _) = subscribe(subscriptions, 2)
    earlier, now = alert_doc(), alert_doc()
    for alert in (earlier, now):
        store.insert("alerts", alert)
        outbox.enqueue(alert, all_subs(store))
    for doc in store.find(TABLE, alert_id=earlier["id"]):
        store.update(TABLE, doc["id"], {"state": "delivered", "attempts": 1})
    (answered,) = store.find(TABLE, alert_id=now["id"], subscription_id=gone_id)
    # What sender.py's _commit writes for a 404.
    with store.batch() as batch:
        batch.update(TABLE, answered["id"], {"state": "gone", "attempts": 1, "reason": None})
        batch.delete("subscriptions", gone_id)
    reports = {a["id"]: outbox.report(a["id"]) for a in (earlier, now)}

    assert outbox.tidy() == 2
    assert store.count(TABLE, subscription_id=gone_id) == 0
    assert states(store, now["id"]) == [("gone", None, None), ("pending", None, kept)]
    assert {a["id"]: outbox.report(a["id"]) for a in (earlier, now)} == reports
    store.close()
    assert gone_id.encode() not in store_bytes(folder)


# -- F2 (b): finished alerts are folded into counts -----------------------------------------

OUTCOMES = (
    [("delivered", None)] * 200
    + [("gone", None)] * 40
    + [("gone", "unsubscribed")] * 11
    + [("cancelled", None)] * 20
    + [("failed", "too_large")] * 10
    + [("failed", "server_error")] * 15
    + [("failed", "expired")] * 5
)


def finished_alert(store: Store, outbox: Outbox, **alert: Any) -> dict[str, Any]:
    """An alert to 301 phones, each delivery settled as OUTCOMES says."""
    doc = alert_doc(**alert)
    store.insert("alerts", doc)
    subs = [
        {"id": f"s{n:04d}", "locale": "fil", "push_service": "https://fcm.googleapis.com"}
        for n in range(len(OUTCOMES))
    ]
    with store.batch() as batch:
        for sub in subs:
            if store.get("subscriptions", sub["id"]) is None:
                batch.insert("subscriptions", sub)
    assert outbox.enqueue(doc, subs) == 301
    rows = sorted(store.find(TABLE, alert_id=doc["id"]), key=lambda d: d["subscription_id"])
    with store.batch() as batch:
        for row, (state, reason) in zip(rows, OUTCOMES, strict=True):
            batch.update(TABLE, row["id"], {"state": state, "reason": reason, "attempts": 1})
    return doc


def expected_report() -> Report:
    return Report(
        targeted=301,
        delivered=200,
        gone=51,
        cancelled=20,
        failed={"too_large": 10, "server_error": 15, "expired": 5},
    )


def snapshot_deliveries(folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / "hub.json").read_text())
    return list(data.get(TABLE, {}).values())


@pytest.mark.parametrize("status", ["published", "withdrawn", "superseded"])
def test_a_finished_alert_is_folded_into_the_same_counts(
    domain: Domain, folder: Path, clock: Clock, status: str
) -> None:
    store, _, outbox = domain
    alert = finished_alert(store, outbox, status=status, hours=2)
    assert outbox.report(alert["id"]) == expected_report()
    # Settled just now: kept a while for outcomes the sender writes late.
    assert outbox.tidy() == 0 and store.count(TABLE, alert_id=alert["id"]) == 301

    clock.now = START + SETTLED + timedelta(minutes=1)
    assert outbox.tidy() == 301
    assert store.count(TABLE, alert_id=alert["id"]) == 0
    assert outbox.report(alert["id"]) == expected_report()
    assert store.get(REPORTS, alert["id"]) is not None
    store.close()
    assert not [d for d in snapshot_deliveries(folder) if d["alert_id"] == alert["id"]]
    again = open_store(folder / "hub.json")
    try:
        assert Outbox(again, clock=clock).report(alert["id"]) == expected_report()
    finally:
        again.close()


def test_an_alert_with_open_deliveries_or_a_cut_short_fan_out_is_not_folded(
    domain: Domain, clock: Clock
) -> None:
    store, _, outbox = domain
    waiting = finished_alert(store, outbox)
    (row,) = store.find(TABLE, alert_id=waiting["id"], subscription_id="s0000")
    store.update(TABLE, row["id"], {"state": "retrying"})
    cut_short = finished_alert(store, outbox, fanned_out=False)
    clock.now = START + timedelta(days=3)
    assert outbox.tidy() == 0
    assert store.count(TABLE, alert_id=waiting["id"]) == 301
    assert store.count(TABLE, alert_id=cut_short["id"]) == 301


def test_folding_is_bounded_per_call_and_the_report_is_right_in_between(
    domain: Domain, clock: Clock
) -> None:
    store, _, outbox = domain
    alert = finished_alert(store, outbox)
    clock.now = START + SETTLED * 2
    folded = outbox.tidy(limit=1)
    assert 0 < folded <= PAGE and store.count(TABLE, alert_id=alert["id"]) == 301 - folded
    assert outbox.report(alert["id"]) == expected_report()
    assert outbox.tidy() == 301 - folded
    assert outbox.report(alert["id"]) == expected_report()


def test_each_enqueue_and_each_start_fold_what_is_done(
    domain: Domain, folder: Path, clock: Clock
) -> None:
    """No timer is needed: rows are added only by enqueue, which folds at least as many."""
    store, _, outbox = domain
    first = finished_alert(store, outbox)
    clock.now = START + SETTLED * 2
    second = alert_doc()
    store.insert("alerts", second)
    assert outbox.enqueue(second, [{"id": "s9", "locale": "fil"}]) == 1
    assert store.count(TABLE, alert_id=first["id"]) == 0
    assert outbox.report(first["id"]) == expected_report()
    assert FOLD_ROWS >= PAGE

    third = finished_alert(store, outbox)
    clock.now += SETTLED * 2
    restarted = Outbox(store, clock=clock)  # what start-up makes
    assert store.count(TABLE, alert_id=third["id"]) == 0
    assert restarted.report(third["id"]) == expected_report()


def test_a_subscription_queued_again_gets_no_second_delivery(domain: Domain) -> None:
    store, subscriptions, outbox = domain
    subscribe(subscriptions, 3)
    alert = alert_doc()
    store.insert("alerts", alert)
    subs = all_subs(store)
    assert outbox.enqueue(alert, subs[:2]) == 2
    assert outbox.enqueue(alert, subs) == 1
    assert store.count(TABLE, alert_id=alert["id"]) == 3
    # Delivery ids are not made from the subscription's.
    assert not any(s["id"] in d["id"] for s in subs for d in store.find(TABLE))
