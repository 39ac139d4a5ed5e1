"""Tests written from the mutants of hub/push/outbox.py (mutmut; docs/testing.md, "Mutation
testing"): every stored field the outbox writes, the bounds of its pages and folds, the order
it reads in, and what it does when another writer lands between its read and its batch. No
app: the real outbox on a store in a temporary folder, a fake clock, and a thin wrapper of the
store that runs "another request's write" just before a batch is applied."""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest

from hub.push import outbox as outbox_module
from hub.push.outbox import Outbox, Report, format_time, unlink
from hub.store import Store, open_store
from hub.store.base import Conflict
from tests.conftest import LocalZone

START = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
NOW = "2026-11-30T06:00:00Z"
LONG_AGO = "2026-11-30T03:00:00Z"  # three hours before START: settled long enough
FCM = "https://fcm.googleapis.com"


class Endless(BaseException):
    """Raised by the wrapper when a loop reads or writes far more than the test needs (a
    mutant that retries for ever): not an Exception, so nothing in the outbox swallows it."""


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Counting:
    """A batch that counts the writes put in it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ops = 0

    def insert(self, *args: Any, **kwargs: Any) -> str:
        self.ops += 1
        return str(self.inner.insert(*args, **kwargs))

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.ops += 1
        self.inner.update(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        self.ops += 1
        self.inner.delete(*args, **kwargs)


class Racing:
    """The real store; `before_commit` actions run (first first) just before a batch is
    applied, `batches` records the size of each batch applied or tried, and reads and batches
    beyond a budget raise Endless."""

    BUDGET = 200

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.before_commit: list[Callable[[], object]] = []
        # Run (first first) just before a read of `limit` rows.
        self.before_read: list[tuple[int, Callable[[], object]]] = []
        self.batches: list[int] = []
        self.pages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def page(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.pages += 1
        if self.pages > self.BUDGET:
            raise Endless("too many reads")
        if self.before_read and kwargs.get("limit") == self.before_read[0][0]:
            self.before_read.pop(0)[1]()
        return self.inner.page(*args, **kwargs)

    @contextmanager
    def batch(self) -> Iterator[Any]:
        with self.inner.batch() as batch:
            counting = Counting(batch)
            yield counting
            self.batches.append(counting.ops)
            if len(self.batches) > self.BUDGET:
                raise Endless("too many batches")
            if self.before_commit:
                self.before_commit.pop(0)()


Box = tuple[Racing, Outbox, Clock]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    store = open_store(tmp_path / "hub.json")
    racing = Racing(store)
    clock = Clock()
    yield racing, Outbox(cast(Store, racing), clock=clock), clock
    store.close()


def put(store: Racing, doc_id: str, alert_id: str, state: str, **fields: Any) -> None:
    doc: dict[str, Any] = {
        "id": doc_id,
        "alert_id": alert_id,
        "subscription_id": None,
        "push_service": FCM,
        "state": state,
        "attempts": 0 if state == "pending" else 1,
        "due": NOW,
        "reason": None,
        "updated": LONG_AGO,
    }
    doc.update(fields)
    store.inner.insert("deliveries", doc)


def put_many(store: Racing, alert_id: str, state: str, count: int, **fields: Any) -> None:
    with store.inner.batch() as batch:
        for n in range(count):
            doc = {
                "id": f"{alert_id}-{n:04d}",
                "alert_id": alert_id,
                "subscription_id": None,
                "state": state,
                "due": NOW,
                "reason": None,
                "updated": LONG_AGO,
            }
            doc.update(fields)
            batch.insert("deliveries", doc)


def alert(store: Racing, alert_id: str, status: str = "published", **fields: Any) -> None:
    store.inner.insert("alerts", {"id": alert_id, "status": status, "fanned_out": True, **fields})


def row(store: Racing, doc_id: str) -> dict[str, Any]:
    doc = store.inner.get("deliveries", doc_id)
    assert doc is not None
    return dict(doc)


def left(store: Racing, alert_id: str) -> int:
    return int(store.inner.count("deliveries", alert_id=alert_id))


# -- format_time ---------------------------------------------------------------------------


# The time converted to UTC, not to the process's zone, and written to the second
# (`astimezone(None)`, `strftime(None)`).
def test_format_time_writes_utc_to_the_second_wherever_the_process_runs(
    local_zone: LocalZone,
) -> None:
    local_zone("Asia/Manila")
    moment = datetime(2026, 11, 30, 15, 4, 5, 900, tzinfo=timezone(timedelta(hours=8)))
    assert format_time(moment) == "2026-11-30T07:04:05Z"


# -- unlink --------------------------------------------------------------------------------


# Each delivery of the subscription loses its link; an open one not in `settled` also becomes
# "gone" ("unsubscribed") at `now`; every key and value of those writes, and the count.
def test_unlink_cuts_every_delivery_and_ends_the_open_ones(box: Box) -> None:
    store, _, _ = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    put(store, "r1", "a1", "retrying", subscription_id="s1", due="2026-11-30T07:00:00Z")
    put(store, "r2", "a2", "retrying", subscription_id="s1")
    put(store, "d1", "a2", "delivered", subscription_id="s1")
    put(store, "f1", "a3", "failed", subscription_id="s1", reason="too_large")
    put(store, "x1", "a1", "pending", subscription_id="s2")
    with store.inner.batch() as batch:
        assert unlink(cast(Store, store), batch, "s1", "2026-11-30T06:30:00Z", settled=("r2",)) == 5
    assert row(store, "p1") == {
        "id": "p1",
        "alert_id": "a1",
        "subscription_id": None,
        "push_service": FCM,
        "state": "gone",
        "attempts": 0,
        "due": NOW,
        "reason": "unsubscribed",
        "updated": "2026-11-30T06:30:00Z",
    }
    assert row(store, "r1") == {
        "id": "r1",
        "alert_id": "a1",
        "subscription_id": None,
        "push_service": FCM,
        "state": "gone",
        "attempts": 1,
        "due": "2026-11-30T07:00:00Z",
        "reason": "unsubscribed",
        "updated": "2026-11-30T06:30:00Z",
    }
    # In `settled`: an outcome the same batch writes stands, only the link goes.
    assert row(store, "r2")["state"] == "retrying"
    assert row(store, "r2")["reason"] is None
    assert row(store, "r2")["updated"] == LONG_AGO
    settled = (("d1", "a2", "delivered", None), ("f1", "a3", "failed", "too_large"))
    for doc_id, alert_id, state, reason in settled:
        assert row(store, doc_id) == {
            "id": doc_id,
            "alert_id": alert_id,
            "subscription_id": None,
            "push_service": FCM,
            "state": state,
            "attempts": 1,
            "due": NOW,
            "reason": reason,
            "updated": LONG_AGO,
        }
    assert row(store, "x1")["subscription_id"] == "s2"
    assert row(store, "x1")["state"] == "pending"
    assert store.inner.count("deliveries", subscription_id="s1") == 0


# An open delivery settled meanwhile (between unlink's read and the batch) makes the batch
# fail, nothing applied (`expect` dropped, made None or its key or value read wrong).
def test_unlink_fails_when_an_open_delivery_changed_meanwhile(box: Box) -> None:
    store, _, _ = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    put(store, "d1", "a1", "delivered", subscription_id="s1")
    with pytest.raises(Conflict), store.inner.batch() as batch:
        unlink(cast(Store, store), batch, "s1", NOW)
        store.inner.update("deliveries", "p1", {"state": "delivered", "attempts": 1})
    assert row(store, "p1")["subscription_id"] == "s1"
    assert row(store, "d1")["subscription_id"] == "s1"
    # A settled one changing meanwhile does not stop the batch.
    with store.inner.batch() as batch:
        assert unlink(cast(Store, store), batch, "s1", NOW) == 2
        store.inner.update("deliveries", "d1", {"attempts": 2})
    assert row(store, "p1")["state"] == "delivered"
    assert row(store, "d1")["subscription_id"] is None


def test_unlink_of_a_subscription_without_deliveries_adds_nothing(box: Box) -> None:
    store, _, _ = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    with store.batch() as batch:
        assert unlink(cast(Store, store), batch, "s9", NOW) == 0
    assert store.batches == [0]


# -- enqueue -------------------------------------------------------------------------------


# One pending delivery per subscription whose locale the alert has a text in, every field
# written; a subscription already queued (this call or before, for this alert only) or in
# another locale is skipped, and those after it still count (`continue` turned `break`).
def test_enqueue_writes_one_pending_delivery_per_new_subscription(box: Box) -> None:
    store, outbox, clock = box
    texts = {"fil": {"title": "Linya"}, "th": {"title": "สาย"}}
    put(store, "other", "a0", "delivered", subscription_id="s5")
    assert outbox.enqueue({"id": "a1", "texts": texts}, [{"id": "s4", "locale": "fil"}]) == 1
    clock.now = START + timedelta(minutes=1, seconds=30)
    subs = [
        {"id": "s1", "locale": "en"},
        {"id": "s2", "locale": "fil", "push_service": FCM},
        {"id": "s2", "locale": "fil", "push_service": FCM},
        {"id": "s3"},
        {"id": "s4", "locale": "fil"},
        {"id": "s5", "locale": "th", "push_service": "https://push.example"},
    ]
    assert outbox.enqueue({"id": "a1", "texts": texts}, subs) == 2
    docs = sorted(store.inner.find("deliveries", alert_id="a1"), key=lambda d: d["subscription_id"])
    assert all(set(d) == {"id", *FIELDS} for d in docs)
    assert [{k: d[k] for k in FIELDS} for d in docs] == [
        queued("s2", FCM, "2026-11-30T06:01:30Z"),
        queued("s4", None, NOW),
        queued("s5", "https://push.example", "2026-11-30T06:01:30Z"),
    ]


FIELDS = (
    "alert_id",
    "subscription_id",
    "push_service",
    "state",
    "attempts",
    "due",
    "reason",
    "updated",
)


def queued(sub_id: str, service: str | None, when: str) -> dict[str, Any]:
    return {
        "alert_id": "a1",
        "subscription_id": sub_id,
        "push_service": service,
        "state": "pending",
        "attempts": 0,
        "due": when,
        "reason": None,
        "updated": when,
    }


def test_enqueue_stamps_updated_at_now(box: Box) -> None:
    store, outbox, clock = box
    clock.now = START + timedelta(seconds=7)
    outbox.enqueue({"id": "a1", "texts": {"fil": {}}}, [{"id": "s1", "locale": "fil"}])
    (doc,) = store.inner.find("deliveries")
    assert doc["updated"] == "2026-11-30T06:00:07Z"
    assert doc["due"] == "2026-11-30T06:00:07Z"


# An alert without texts (none, or None) reaches nobody (`or {}` turned `and {}`).
@pytest.mark.parametrize("texts", [None, {}, "absent"])
def test_an_alert_without_texts_reaches_nobody(box: Box, texts: Any) -> None:
    store, outbox, _ = box
    doc: dict[str, Any] = {"id": "a1"} if texts == "absent" else {"id": "a1", "texts": texts}
    assert outbox.enqueue(doc, [{"id": "s1", "locale": "fil"}, {"id": "s2"}]) == 0
    assert store.inner.count("deliveries") == 0


# 1,001 phones: written in batches of 500 at most (`>= PAGE` turned `>`), every one counted
# (`added +=` turned `=` or `-=`); queued again, none is added (the read of what is queued
# goes through every page: `_pages`' bound, its `after`, its page size).
def test_enqueue_writes_in_pages_and_a_second_time_adds_nothing(box: Box) -> None:
    store, outbox, _ = box
    subs = [{"id": f"s{n:04d}", "locale": "fil"} for n in range(1001)]
    assert outbox.enqueue({"id": "a1", "texts": {"fil": {}}}, subs) == 1001
    assert store.batches == [500, 500, 1]
    assert store.inner.count("deliveries", alert_id="a1") == 1001
    assert outbox.enqueue({"id": "a1", "texts": {"fil": {}}}, subs) == 0
    assert store.batches == [500, 500, 1]
    assert store.inner.count("deliveries", alert_id="a1") == 1001


# Each enqueue folds what is done (its `_tidy_quietly` limit turned None or dropped), quietly.
def test_enqueue_folds_a_finished_alert(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    store, outbox, _ = box
    alert(store, "done")
    put(store, "d1", "done", "delivered")
    put(store, "d2", "done", "cancelled")
    with caplog.at_level(logging.ERROR):
        assert outbox.enqueue({"id": "a1", "texts": {"fil": {}}}, [{"id": "s", "locale": "fil"}])
    assert left(store, "done") == 0
    assert store.inner.get("reports", "done") == {
        "id": "done",
        "delivered": 1,
        "gone": 0,
        "cancelled": 1,
        "reasons": {},
    }
    assert not caplog.records


# -- cancel --------------------------------------------------------------------------------


# The alert's pending and retrying deliveries become "cancelled" at now, in one batch per
# state; its settled ones and other alerts' stay; the count is of both states.
def test_cancel_ends_the_open_deliveries_of_that_alert_only(box: Box) -> None:
    store, outbox, clock = box
    put(store, "p1", "a1", "pending")
    put(store, "p2", "a1", "pending")
    put(store, "r1", "a1", "retrying")
    put(store, "d1", "a1", "delivered")
    put(store, "f1", "a1", "failed", reason="expired")
    put(store, "p9", "a2", "pending")
    clock.now = START + timedelta(minutes=5)
    assert outbox.cancel("a1") == 3
    assert store.batches == [2, 1]
    for doc_id, attempts in (("p1", 0), ("p2", 0), ("r1", 1)):
        assert row(store, doc_id) == {
            "id": doc_id,
            "alert_id": "a1",
            "subscription_id": None,
            "push_service": FCM,
            "state": "cancelled",
            "attempts": attempts,
            "due": NOW,
            "reason": None,
            "updated": "2026-11-30T06:05:00Z",
        }
    assert (row(store, "d1")["state"], row(store, "d1")["updated"]) == ("delivered", LONG_AGO)
    assert row(store, "f1")["state"] == "failed"
    assert (row(store, "p9")["state"], row(store, "p9")["updated"]) == ("pending", LONG_AGO)
    assert outbox.cancel("a1") == 0


# 600 pending: two batches, 500 then 100 (the page size dropped: 100 a batch).
def test_cancel_works_in_pages_of_500(box: Box) -> None:
    store, outbox, _ = box
    put_many(store, "a1", "pending", 600)
    assert outbox.cancel("a1") == 600
    assert store.batches == [500, 100]
    assert store.inner.count("deliveries", state="cancelled") == 600


# The sender settles one between cancel's read and its batch: the batch fails, the page is
# read again, the settled one keeps its outcome (`expect` dropped; `continue` turned `break`).
def test_cancel_reads_again_when_the_sender_settled_one_meanwhile(box: Box) -> None:
    store, outbox, _ = box
    put(store, "p1", "a1", "pending")
    put(store, "p2", "a1", "pending")
    put(store, "r1", "a1", "retrying")
    store.before_commit.append(
        lambda: store.inner.update("deliveries", "p1", {"state": "delivered", "attempts": 1})
    )
    assert outbox.cancel("a1") == 2
    assert store.batches == [2, 1, 1]
    assert [row(store, i)["state"] for i in ("p1", "p2", "r1")] == [
        "delivered",
        "cancelled",
        "cancelled",
    ]


# -- report --------------------------------------------------------------------------------


# The folded counts plus the live rows, state by state; failures by reason, a failure without
# one counted as "refused"; other alerts' rows left out.
def test_report_adds_the_folded_counts_and_the_live_rows(box: Box) -> None:
    store, outbox, _ = box
    store.inner.insert(
        "reports",
        {"id": "a1", "delivered": 3, "gone": 2, "cancelled": 1, "reasons": {"too_large": 4}},
    )
    put(store, "p1", "a1", "pending")
    put(store, "r1", "a1", "retrying")
    put(store, "d1", "a1", "delivered")
    put(store, "g1", "a1", "gone")
    put(store, "f1", "a1", "failed", reason="expired")
    put(store, "f2", "a1", "failed", reason="expired")
    put(store, "f3", "a1", "failed", reason=None)
    put(store, "f4", "a1", "failed", reason="too_large")
    put(store, "o1", "a2", "failed", reason="timeout")
    put(store, "o2", "a2", "delivered")
    put(store, "o3", "a2", "pending")
    assert outbox.report("a1") == Report(
        targeted=18,
        pending=1,
        retrying=1,
        delivered=4,
        gone=3,
        cancelled=1,
        failed={"too_large": 5, "expired": 2, "refused": 1},
    )
    assert outbox.report("a2") == Report(targeted=3, pending=1, delivered=1, failed={"timeout": 1})
    assert outbox.report("a3") == Report()


def test_report_of_folded_counts_alone(box: Box) -> None:
    store, outbox, _ = box
    store.inner.insert(
        "reports",
        {"id": "a1", "delivered": 5, "gone": 0, "cancelled": 2, "reasons": {"expired": 1}},
    )
    store.inner.insert("reports", {"id": "a2"})
    assert outbox.report("a1") == Report(
        targeted=8, delivered=5, cancelled=2, failed={"expired": 1}
    )
    assert outbox.report("a2") == Report()


# 501 failures: every page read, each row once (`_pages`: its bound `<`, its `after`, its
# page size).
def test_report_counts_every_failure_across_pages(box: Box) -> None:
    store, outbox, _ = box
    put_many(store, "a1", "failed", 501, reason="expired")
    assert outbox.report("a1") == Report(targeted=501, failed={"expired": 501})


# -- forget --------------------------------------------------------------------------------


# Each subscription once (a repeated id counted once), its deliveries counted together.
def test_forget_cuts_each_subscription_once_and_counts_all(box: Box) -> None:
    store, outbox, clock = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    put(store, "d1", "a2", "delivered", subscription_id="s1")
    put(store, "d2", "a2", "delivered", subscription_id="s2")
    put(store, "d3", "a2", "delivered", subscription_id="s3")
    clock.now = START + timedelta(minutes=2)
    assert outbox.forget(["s1", "s2", "s1"]) == 3
    assert store.batches == [2, 1]
    assert (row(store, "p1")["state"], row(store, "p1")["updated"]) == (
        "gone",
        "2026-11-30T06:02:00Z",
    )
    assert [row(store, i)["subscription_id"] for i in ("p1", "d1", "d2", "d3")] == [
        None,
        None,
        None,
        "s3",
    ]
    assert outbox.forget([]) == 0


def flip(store: Racing, doc_id: str) -> Callable[[], object]:
    def action() -> object:
        now = row(store, doc_id)["state"]
        after = "retrying" if now == "pending" else "pending"
        return store.inner.update("deliveries", doc_id, {"state": after})

    return action


# A delivery that changes between the read and the batch: read again, five tries in all
# (`range(5)` turned 6, `continue` turned `break`).
@pytest.mark.parametrize(("races", "cut"), [(1, 1), (4, 1), (5, 0)])
def test_forget_tries_five_times(box: Box, races: int, cut: int) -> None:
    store, outbox, _ = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    put(store, "p2", "a1", "pending", subscription_id="s2")
    store.before_commit.extend(flip(store, "p1") for _ in range(races))
    assert outbox.forget(["s1", "s2"]) == cut + 1
    assert row(store, "p1")["subscription_id"] == (None if cut else "s1")
    assert row(store, "p2")["subscription_id"] is None


# -- tidy: cutting deliveries from deleted subscriptions -----------------------------------


# A "gone" delivery whose subscription no longer exists: every delivery of that subscription
# is cut; one whose subscription exists, one already cut, and a settled one of a deleted
# subscription that is not "gone" are not reasons to cut anything.
def test_tidy_cuts_the_deliveries_of_subscriptions_gone_without_unlink(box: Box) -> None:
    store, outbox, _ = box
    store.inner.insert("subscriptions", {"id": "kept"})
    put(store, "g1", "a1", "gone", subscription_id="deleted")
    put(store, "p1", "a2", "pending", subscription_id="deleted")
    put(store, "g2", "a1", "gone", subscription_id="kept")
    put(store, "p2", "a2", "pending", subscription_id="kept")
    put(store, "g3", "a1", "gone", subscription_id=None)
    put(store, "u1", "a1", "pending", subscription_id=None)
    put(store, "d1", "a1", "delivered", subscription_id="other")
    put(store, "p3", "a2", "pending", subscription_id="other")
    assert outbox.tidy() == 2
    assert [row(store, i)["subscription_id"] for i in ("g1", "p1", "g2", "p2", "d1", "p3")] == [
        None,
        None,
        "kept",
        "kept",
        "other",
        "other",
    ]
    assert (row(store, "p1")["state"], row(store, "p1")["reason"]) == ("gone", "unsubscribed")
    assert row(store, "u1")["state"] == "pending"
    assert outbox.tidy() == 0


# At most `limit` "gone" deliveries examined (in order of id), then the folding gets what is
# left of the limit (`start=1` turned 2 or dropped, `>=` turned `>`, `limit - cut` turned
# `+` or its floor 0 turned 1); the next call goes on.
def test_tidy_examines_at_most_limit_gone_deliveries(box: Box) -> None:
    store, outbox, _ = box
    for n in (1, 2, 3):
        put(store, f"g{n}", "a1", "gone", subscription_id=f"s{n}")
    alert(store, "done")
    put(store, "d1", "done", "delivered")
    assert outbox.tidy(limit=2) == 2
    assert [row(store, f"g{n}")["subscription_id"] for n in (1, 2, 3)] == [None, None, "s3"]
    assert left(store, "done") == 1
    assert outbox.tidy() == 2
    assert row(store, "g3")["subscription_id"] is None
    assert left(store, "done") == 0


# The count is the rows cut plus the rows folded (`+` turned `-`).
def test_tidy_counts_rows_cut_and_rows_folded(box: Box) -> None:
    store, outbox, _ = box
    put(store, "g1", "a1", "gone", subscription_id="deleted")
    put(store, "p1", "a1", "pending", subscription_id="deleted")
    alert(store, "done")
    for n in range(3):
        put(store, f"d{n}", "done", "delivered")
    assert outbox.tidy() == 5
    assert outbox.tidy() == 0


# -- tidy: folding the alerts that are done ------------------------------------------------


# Folded once the newest row settled SETTLED (1 h) ago, to the second: the newest by
# `updated`, not by id nor the oldest.
def test_an_alert_is_folded_an_hour_after_its_newest_row_settled(box: Box) -> None:
    store, outbox, clock = box
    alert(store, "a1")
    put(store, "a-newest", "a1", "delivered", updated="2026-11-30T06:10:00Z")
    put(store, "z-oldest", "a1", "delivered", updated="2026-11-30T04:00:00Z")
    assert outbox.tidy() == 0
    clock.now = datetime(2026, 11, 30, 7, 9, 59, tzinfo=UTC)
    assert outbox.tidy() == 0
    assert left(store, "a1") == 2
    clock.now = datetime(2026, 11, 30, 7, 10, 0, tzinfo=UTC)
    assert outbox.tidy() == 2
    assert left(store, "a1") == 0


# Which alerts are folded: published, withdrawn or superseded, with no open row (pending or
# retrying), settled an hour ago, fanned out in full (an alert without the field counts as
# fanned out); one that is not done does not stop the others (`continue` turned `break`), and
# the counts of several alerts add up.
def test_which_alerts_are_folded(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put(store, "a1-1", "a1", "pending")
    put(store, "a1-2", "a1", "delivered")
    alert(store, "a2")
    put(store, "a2-1", "a2", "retrying")
    alert(store, "a3")
    put(store, "a3-1", "a3", "delivered", updated="2026-11-30T05:30:00Z")
    alert(store, "a4", "withdrawn")
    put(store, "a4-1", "a4", "cancelled")
    put(store, "a4-2", "a4", "delivered")
    alert(store, "a5", "superseded")
    put(store, "a5-1", "a5", "gone")
    store.inner.insert("alerts", {"id": "a6", "status": "published"})
    put(store, "a6-1", "a6", "failed", reason="expired")
    alert(store, "a7", fanned_out=False)
    put(store, "a7-1", "a7", "delivered")
    alert(store, "a8", "pending")
    assert outbox.tidy() == 4
    assert [left(store, f"a{n}") for n in range(1, 8)] == [2, 1, 1, 0, 0, 0, 1]
    assert outbox.report("a4") == Report(targeted=2, delivered=1, cancelled=1)
    assert outbox.report("a6") == Report(targeted=1, failed={"expired": 1})
    assert outbox.tidy() == 0


# What a fold keeps: one small document per alert, by its id, with the three counts and the
# failures by reason (none given: "refused"); a second fold of the same alert adds to it.
def test_the_folded_counts_and_a_second_fold(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put(store, "d1", "a1", "delivered")
    put(store, "d2", "a1", "delivered")
    put(store, "g1", "a1", "gone")
    put(store, "c1", "a1", "cancelled")
    put(store, "f1", "a1", "failed", reason="too_large")
    put(store, "f2", "a1", "failed", reason="too_large")
    put(store, "f3", "a1", "failed", reason=None)
    assert outbox.tidy() == 7
    assert store.inner.find("reports") == [
        {
            "id": "a1",
            "delivered": 2,
            "gone": 1,
            "cancelled": 1,
            "reasons": {"too_large": 2, "refused": 1},
        }
    ]
    # A resumed fan-out queued more, which settled since.
    put(store, "d3", "a1", "delivered")
    put(store, "f4", "a1", "failed", reason="too_large")
    put(store, "f5", "a1", "failed", reason="expired")
    assert outbox.tidy() == 3
    assert store.inner.find("reports") == [
        {
            "id": "a1",
            "delivered": 3,
            "gone": 1,
            "cancelled": 1,
            "reasons": {"too_large": 3, "refused": 1, "expired": 1},
        }
    ]
    assert outbox.report("a1") == Report(
        targeted=10,
        delivered=3,
        gone=1,
        cancelled=1,
        failed={"too_large": 3, "refused": 1, "expired": 1},
    )


# An alert of 501 rows: a fold takes a page at least (500 for a limit of 1, not 100), in
# batches of a page; the default limit takes both pages and counts both.
def test_folding_reads_a_page_at_least_and_writes_a_page_a_batch(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put_many(store, "a1", "delivered", 501)
    assert outbox.tidy(limit=1) == 500
    assert store.batches == [501]
    assert left(store, "a1") == 1
    assert outbox.tidy() == 1
    assert left(store, "a1") == 0

    alert(store, "a2")
    put_many(store, "a2", "gone", 501)
    store.batches.clear()
    assert outbox.tidy() == 501
    assert store.batches == [501, 2]
    assert outbox.report("a2") == Report(targeted=501, gone=501)


# The limit across alerts: 1 row of the first, then 500 of the second (a page, not
# `limit + folded`), and no second read of it once the limit is reached (`<` turned `<=`).
def test_the_fold_limit_counts_across_alerts(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put(store, "only", "a1", "delivered")
    alert(store, "a2", "withdrawn")  # read after the published ones
    put_many(store, "a2", "cancelled", 510)
    assert outbox.tidy(limit=501) == 501
    assert (left(store, "a1"), left(store, "a2")) == (0, 10)


# An open row past the first page keeps the whole alert (the pending and retrying counts).
@pytest.mark.parametrize("state", ["pending", "retrying"])
def test_an_open_row_anywhere_keeps_the_alert(box: Box, state: str) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put_many(store, "a1", "delivered", 500)
    put(store, "a1-zzzz", "a1", state)
    assert outbox.tidy(limit=1) == 0
    assert left(store, "a1") == 501


# The sender writes an outcome late, while the fold's batch is being made: that batch fails
# and nothing of the page is folded (the delete's `expect` dropped or misread); the next call
# folds the row with its new state.
def test_a_late_outcome_during_a_fold_is_kept(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1", "withdrawn")
    put(store, "c1", "a1", "cancelled")
    put(store, "c2", "a1", "cancelled")
    store.before_commit.append(
        lambda: store.inner.update("deliveries", "c1", {"state": "delivered"})
    )
    assert outbox.tidy() == 0
    assert left(store, "a1") == 2
    assert store.inner.get("reports", "a1") is None
    assert outbox.tidy() == 2
    assert outbox.report("a1") == Report(targeted=2, delivered=1, cancelled=1)


# A page that fails does not stop the next page (`continue` turned `break`), and the
# fold reads the alert again.
def test_a_failed_page_does_not_stop_the_next(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put_many(store, "a1", "delivered", 501)
    store.before_commit.append(
        lambda: store.inner.update("deliveries", "a1-0000", {"state": "gone"})
    )
    # The second page goes; the first is read again (with its row now "gone") and goes too.
    assert outbox.tidy() == 501
    assert store.batches == [501, 2, 501]
    assert left(store, "a1") == 0
    assert outbox.report("a1") == Report(targeted=501, delivered=500, gone=1)


# A fold also cuts the other deliveries of a subscription deleted on a 404/410 (one of its
# rows "gone"), even one the examination of "gone" rows did not reach (its limit).
def test_a_fold_cuts_the_other_deliveries_of_a_subscription_gone(box: Box) -> None:
    store, outbox, _ = box
    store.inner.insert("subscriptions", {"id": "alive"})
    alert(store, "done")
    put(store, "a0", "done", "gone", subscription_id=None)
    put(store, "r1", "done", "gone", subscription_id="sA")
    put(store, "r2", "done", "gone", subscription_id="sB")
    put(store, "r3", "done", "delivered", subscription_id="sC")
    put(store, "r4", "done", "gone", subscription_id="alive")
    alert(store, "open")
    put(store, "g1", "open", "pending", subscription_id="sB")
    put(store, "g2", "open", "pending", subscription_id="sC")
    put(store, "g3", "open", "pending", subscription_id="alive")
    assert outbox.tidy(limit=2) == 1 + 5
    assert left(store, "done") == 0
    assert (row(store, "g1")["state"], row(store, "g1")["subscription_id"]) == ("gone", None)
    assert (row(store, "g2")["state"], row(store, "g2")["subscription_id"]) == ("pending", "sC")
    assert (row(store, "g3")["state"], row(store, "g3")["subscription_id"]) == (
        "pending",
        "alive",
    )
    assert outbox.report("done") == Report(targeted=5, delivered=1, gone=4)


# A resumed fan-out queues a phone between the fold's check of the open rows and its read of
# the rows: nothing is folded, and the count says so (the "open row" answer 0 turned 1).
def test_a_row_queued_while_folding_stops_the_fold(box: Box) -> None:
    store, outbox, _ = box
    alert(store, "a1")
    put(store, "d1", "a1", "delivered")
    store.before_read.append((5000, lambda: put(store, "d2", "a1", "pending")))
    assert outbox.tidy() == 0
    assert left(store, "a1") == 2
    assert store.inner.get("reports", "a1") is None


# -- at start-up, and tidy_due ----------------------------------------------------------------


# A new Outbox (a restart) folds what is done at once.
def test_a_new_outbox_folds_at_once(box: Box) -> None:
    store, _, clock = box
    alert(store, "a1")
    put(store, "d1", "a1", "delivered")
    Outbox(cast(Store, store), clock=clock)
    assert left(store, "a1") == 0


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# At most once a minute, to the tick: 59.9 s after a run nothing, 60 s after it folds again
# (`<` turned `<=`, `-` turned `+`, the time kept or not).
def test_tidy_due_runs_at_most_once_a_minute(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    store, outbox, _ = box
    ticks = Monotonic()
    monkeypatch.setattr(outbox_module, "time", types.SimpleNamespace(monotonic=ticks))
    alert(store, "a1")
    put(store, "d1", "a1", "delivered")
    assert outbox.tidy_due() == 1
    alert(store, "a2")
    put(store, "d2", "a2", "delivered")
    ticks.now = 1059.9
    assert outbox.tidy_due() == 0
    assert left(store, "a2") == 1
    ticks.now = 1060.0
    assert outbox.tidy_due() == 1
    assert left(store, "a2") == 0
    alert(store, "a3")
    put(store, "d3", "a3", "delivered")
    ticks.now = 1100.0
    assert outbox.tidy_due() == 0
    ticks.now = 1120.0
    assert outbox.tidy_due() == 1


class Broken:
    """A store whose reads fail (a disk error)."""

    def __init__(self, store: Store) -> None:
        self.inner = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def page(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        raise OSError("disk error")


# A failing fold is logged with its words and the exception, never raised, and counts 0.
def test_a_failing_fold_is_logged_not_raised(
    box: Box, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _, clock = box
    monkeypatch.setattr(outbox_module, "time", types.SimpleNamespace(monotonic=Monotonic()))
    with caplog.at_level(logging.ERROR, logger="hub.push.outbox"):
        broken = Outbox(cast(Store, Broken(store.inner)), clock=clock)
        assert broken.tidy_due() == 0
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.ERROR, "push: folding finished deliveries failed; trying again later")
    ] * 2
    assert all(r.exc_info and isinstance(r.exc_info[1], OSError) for r in caplog.records)


# -- due, next_due, get -------------------------------------------------------------------


# The deliveries in a state due at `now` or before (to the second), in order of `due` then
# id, from after the one given; other states left out.
def test_due_in_order_of_due_from_after(box: Box) -> None:
    store, outbox, _ = box
    put(store, "r1", "a1", "retrying", due="2026-11-30T06:00:00Z")
    put(store, "r2", "a1", "retrying", due="2026-11-30T05:00:00Z")
    put(store, "r3", "a1", "retrying", due="2026-11-30T06:00:01Z")
    put(store, "r0", "a1", "retrying", due="2026-11-30T05:30:00Z")
    put(store, "p1", "a1", "pending", due="2026-11-30T04:00:00Z")
    ids = [d["id"] for d in outbox.due("retrying", NOW)]
    assert ids == ["r2", "r0", "r1"]
    after = row(store, "r2")
    assert [d["id"] for d in outbox.due("retrying", NOW, after=after)] == ["r0", "r1"]
    assert [d["id"] for d in outbox.due("pending", NOW)] == ["p1"]


# A page is 500 (not the store's default of 100).
def test_due_reads_a_page_of_500(box: Box) -> None:
    store, outbox, _ = box
    put_many(store, "a1", "pending", 501)
    page = outbox.due("pending", NOW)
    assert len(page) == 500
    assert [page[0]["id"], page[-1]["id"]] == ["a1-0000", "a1-0499"]


# The earliest due strictly after now among pending and retrying (one due at now exactly
# is not "after", whatever its id), or None.
def test_next_due_is_the_earliest_after_now(box: Box) -> None:
    store, outbox, _ = box
    assert outbox.next_due(NOW) is None
    put(store, "p1", "a1", "pending", due="2026-11-30T05:00:00Z")
    put(store, "zz", "a1", "retrying", due=NOW)
    put(store, "d1", "a1", "delivered", due="2026-11-30T06:00:30Z")
    assert outbox.next_due(NOW) is None
    put(store, "a9", "a1", "pending", due="2026-11-30T08:00:00Z")
    put(store, "b1", "a1", "pending", due="2026-11-30T07:30:00Z")
    assert outbox.next_due(NOW) == "2026-11-30T07:30:00Z"
    put(store, "r2", "a1", "retrying", due="2026-11-30T07:00:00Z")
    assert outbox.next_due(NOW) == "2026-11-30T07:00:00Z"


def test_get_reads_one_delivery(box: Box) -> None:
    store, outbox, _ = box
    put(store, "p1", "a1", "pending", subscription_id="s1")
    assert outbox.get("p1") == {
        "id": "p1",
        "alert_id": "a1",
        "subscription_id": "s1",
        "push_service": FCM,
        "state": "pending",
        "attempts": 0,
        "due": NOW,
        "reason": None,
        "updated": LONG_AGO,
    }
    assert outbox.get("p2") is None
