"""The durable outbox: one delivery per (alert, subscription), worked through by the sender.

A delivery is `{id, alert_id, subscription_id, push_service, state, attempts, due, reason,
updated}`. States: "pending" (not tried yet), "retrying" (a try met a 5xx or a timeout; `due`
is when to try again), then one of "delivered" (the push service took it), "gone" (its
subscription is no more: 404 or 410), "failed" (`reason` says why) or "cancelled" (the alert
was withdrawn or corrected before it went). Every change is written to the store before the
sender moves on, so a restart, even after `kill -9`, resumes the pending and retrying ones
and never sends again one a push service acknowledged.

Nothing here outlives its use. A delivery's id is random (never made from the subscription's),
and when a subscription is deleted its deliveries lose `subscription_id` in the same batch
(`unlink`): the open ones become "gone" ("unsubscribed"), the others keep their state. Once
none of an alert's deliveries is open and the last settled a while ago (`SETTLED`), `tidy`
folds them into counts in the `reports` table (one small document per alert, by its id) and
deletes them; `report` adds the two, so its answer is the same before and after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import N_
from hub.auth.accounts import utc_now
from hub.auth.sessions import TIME_FORMAT
from hub.store import Store
from hub.store.base import Batch, Conflict, Document

log = logging.getLogger(__name__)

TABLE = "deliveries"
# The folded counts of alerts whose deliveries are deleted: {id (the alert's), delivered, gone,
# cancelled, reasons: {failure reason: count}}.
REPORTS = "reports"
SUBSCRIPTIONS = "subscriptions"
ALERTS = "alerts"
STATES = ("pending", "retrying", "delivered", "gone", "failed", "cancelled")
# The states the sender still works on.
OPEN = ("pending", "retrying")
# Documents read or written at once: the store's reads and batches stay a bounded size however
# many phones an alert reaches.
PAGE = 500
# An alert's deliveries are folded once the last of them settled this long ago: an outcome the
# sender writes late (a send under way when the alert was withdrawn, which the push service
# then acknowledged) still lands on its row, and the leader's console reads live rows a while.
SETTLED = timedelta(hours=1)
# Deliveries folded (or examined for unlinking) in one `tidy` at most: a call takes a few
# batches, never a pass over an outbox of millions. `enqueue` folds at least as many as it adds.
FOLD_ROWS = 5000
# The least time between two `tidy_due` runs (the sender's loop may call it on every pass).
TIDY_SECONDS = 60.0
UNSUBSCRIBED = "unsubscribed"
# Why a delivery failed: the code kept in the store, and what a leader's report says (English
# here, translated in the console's templates).
REASONS: dict[str, str] = {
    "expired": N_("The alert expired before it could be sent."),
    "too_large": N_("The push service refused the message as too large."),
    "configuration": N_(
        "The push service refused the hub's credentials (a configuration error of the hub)."
    ),
    "refused": N_("The push service refused the message."),
    "server_error": N_("The push service kept failing; the hub gave up after several tries."),
    "timeout": N_("The push service did not answer in time; the hub gave up after several tries."),
    "no_text": N_("The alert has no text in the subscriber's language."),
    "not_listed": N_("The phone's push service is not on the hub's list."),
    "bad_keys": N_("The phone's encryption keys could not be used."),
}


def format_time(moment: datetime) -> str:
    """A time as the store keeps it: ISO 8601 UTC to the second."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


@dataclass(frozen=True)
class Report:
    """Where an alert's deliveries stand; counts only, nothing of any one phone."""

    targeted: int = 0
    pending: int = 0
    retrying: int = 0
    delivered: int = 0
    gone: int = 0
    cancelled: int = 0
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def failed_total(self) -> int:
        """Deliveries that failed, whatever the reason."""
        return sum(self.failed.values())


def unlink(
    store: Store,
    batch: Batch,
    subscription_id: str,
    now: str,
    *,
    settled: Collection[str] = (),
) -> int:
    """Add to `batch` what cuts a deleted subscription's deliveries from it; how many.

    Put it in the batch that deletes the subscription. Every delivery of it loses
    `subscription_id`; an open one also becomes "gone" ("unsubscribed"), unless its id is in
    `settled` (an outcome this batch already writes for it stands). The batch fails with
    Conflict if one of them changed meanwhile: read again and retry."""
    docs = store.find(TABLE, subscription_id=subscription_id)
    for doc in docs:
        if doc["state"] in OPEN and doc["id"] not in settled:
            batch.update(
                TABLE,
                doc["id"],
                {"state": "gone", "reason": UNSUBSCRIBED, "subscription_id": None, "updated": now},
                expect={"state": doc["state"]},
            )
        else:
            batch.update(TABLE, doc["id"], {"subscription_id": None})
    return len(docs)


class Outbox:
    """Deliveries of alerts to subscriptions, kept in the store so a restart resumes them.

    Made at start-up, it folds what it can at once (`tidy`, bounded)."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self.clock = clock
        # One enqueue at a time: a subscription already queued for the alert is skipped by a
        # read before the writes, not by the store (delivery ids are random).
        self._enqueue_lock = threading.Lock()
        # `report` reads the folded counts and the live rows under it, and a fold moves rows
        # from one to the other under it: a report never sees a row twice or not at all.
        self._fold_lock = threading.Lock()
        self._tidy_lock = threading.Lock()
        self._tidied: float | None = None
        self._tidy_quietly(FOLD_ROWS)

    def enqueue(self, alert: Mapping[str, Any], subscriptions: Iterable[Mapping[str, Any]]) -> int:
        """One pending delivery of `alert` to each subscription whose locale it has a text in
        (discreet ones too: the text is read in the app); how many were added. A subscription
        the alert already has a delivery for is skipped. Durable when it returns; then folds
        at least as many finished deliveries as it added (`tidy`)."""
        alert_id = str(alert["id"])
        texts = alert.get("texts") or {}
        now = self._now()
        added = 0
        with self._enqueue_lock:
            # Queuing the alert again (a resumed fan-out) adds only what is missing.
            queued = {doc.get("subscription_id") for doc in self._pages({"alert_id": alert_id})}
            chunk: list[Document] = []
            for sub in subscriptions:
                if sub.get("locale") not in texts or sub["id"] in queued:
                    continue
                queued.add(sub["id"])
                chunk.append(
                    {
                        "alert_id": alert_id,
                        "subscription_id": sub["id"],
                        "push_service": sub.get("push_service"),
                        "state": "pending",
                        "attempts": 0,
                        "due": now,
                        "reason": None,
                        "updated": now,
                    }
                )
                if len(chunk) >= PAGE:
                    added += self._insert(chunk)
                    chunk = []
            added += self._insert(chunk)
        self._tidy_quietly(max(FOLD_ROWS, added))
        return added

    def _insert(self, docs: list[Document]) -> int:
        if docs:
            with self._store.batch() as batch:
                for doc in docs:
                    batch.insert(TABLE, doc)
        return len(docs)

    def cancel(self, alert_id: str) -> int:
        """The alert's pending and retrying deliveries become "cancelled" (it was withdrawn
        or replaced by a correction); how many."""
        now = self._now()
        cancelled = 0
        for state in OPEN:
            while True:
                docs = self._store.page(TABLE, {"alert_id": alert_id, "state": state}, limit=PAGE)
                if not docs:
                    break
                try:
                    with self._store.batch() as batch:
                        for doc in docs:
                            batch.update(
                                TABLE,
                                doc["id"],
                                {"state": "cancelled", "updated": now},
                                expect={"state": state},
                            )
                except Conflict:
                    # The sender settled one of them meanwhile: read the page again.
                    continue
                cancelled += len(docs)
        return cancelled

    def report(self, alert_id: str) -> Report:
        """Where the alert's deliveries stand: counts by state, failures by reason (the folded
        counts and the rows still kept, added)."""
        with self._fold_lock:
            folded = self._store.get(REPORTS, alert_id) or {}
            failed = Counter[str](folded.get("reasons") or {})
            counts = {
                state: self._store.count(TABLE, alert_id=alert_id, state=state)
                + (failed.total() if state == "failed" else int(folded.get(state) or 0))
                for state in STATES
            }
            for doc in self._pages({"alert_id": alert_id, "state": "failed"}):
                failed[doc.get("reason") or "refused"] += 1
        return Report(
            targeted=sum(counts.values()),
            pending=counts["pending"],
            retrying=counts["retrying"],
            delivered=counts["delivered"],
            gone=counts["gone"],
            cancelled=counts["cancelled"],
            failed=dict(failed),
        )

    # -- keeping the outbox small ---------------------------------------------------------

    def forget(self, subscription_ids: Iterable[str]) -> int:
        """Cut the deliveries of deleted subscriptions from them (`unlink`), in one batch per
        subscription; how many deliveries. For a caller that deleted them in a batch of its
        own without `unlink`."""
        changed = 0
        now = self._now()
        for sub_id in dict.fromkeys(subscription_ids):
            for _ in range(5):
                try:
                    with self._store.batch() as batch:
                        count = unlink(self._store, batch, sub_id, now)
                except Conflict:
                    continue  # one of them changed (or was folded) meanwhile: read again
                changed += count
                break
        return changed

    def tidy(self, limit: int = FOLD_ROWS) -> int:
        """Fold the deliveries of alerts that are done into their counts and delete them, and
        cut deliveries from subscriptions deleted without `unlink`; about `limit` rows at
        most. How many rows were folded or cut.

        An alert is done when none of its deliveries is open, the last settled `SETTLED` ago
        or more, and its fan-out finished (one cut short waits for `Alerts.resume`, which
        would queue its folded subscriptions again)."""
        with self._tidy_lock:
            cut = self._cut_orphans(limit)
            return cut + self._fold(max(limit - cut, 0))

    def tidy_due(self) -> int:
        """`tidy` at most once a `TIDY_SECONDS` (cheap otherwise: the sender's loop may call it
        on every pass); errors are logged, not raised."""
        moment = time.monotonic()
        if self._tidied is not None and moment - self._tidied < TIDY_SECONDS:
            return 0
        self._tidied = moment
        return self._tidy_quietly(FOLD_ROWS)

    def _tidy_quietly(self, limit: int) -> int:
        try:
            return self.tidy(limit)
        except Exception:
            # Nothing is lost: the rows stay, and the next call folds them.
            log.exception("push: folding finished deliveries failed; trying again later")
            return 0

    def _cut_orphans(self, limit: int) -> int:
        """Deliveries marked "gone" whose subscription was deleted (the sender deletes one
        on a 404 or 410 in its own batch): cut every delivery of those subscriptions."""
        orphans: dict[str, None] = {}
        for seen, doc in enumerate(self._pages({"state": "gone"}), start=1):
            sub_id = doc.get("subscription_id")
            if sub_id is not None and self._store.get(SUBSCRIPTIONS, sub_id) is None:
                orphans[sub_id] = None
            if seen >= limit:
                break
        return self.forget(orphans) if orphans else 0

    def _fold(self, limit: int) -> int:
        if limit <= 0:
            return 0
        cutoff = format_time(self.clock() - SETTLED)
        folded = 0
        for alert in self._done_candidates():
            alert_id = str(alert["id"])
            if self._store.count(TABLE, alert_id=alert_id, state="pending") or self._store.count(
                TABLE, alert_id=alert_id, state="retrying"
            ):
                continue
            newest = self._store.page(
                TABLE, {"alert_id": alert_id}, order_by="updated", descending=True, limit=1
            )
            if not newest or str(newest[0].get("updated") or "") > cutoff:
                continue
            while folded < limit:
                # At most FOLD_ROWS rows copied out at once, however large `limit` is.
                moved = self._fold_alert(alert_id, min(limit - folded, FOLD_ROWS))
                if not moved:
                    break
                folded += moved
            if folded >= limit:
                break
        return folded

    def _done_candidates(self) -> Iterator[Document]:
        """Alerts that may have deliveries to fold: queued in full, with rows in the outbox."""
        for status in ("published", "withdrawn", "superseded"):
            for alert in self._store.find(ALERTS, status=status):
                if alert.get("fanned_out", True) and self._store.count(TABLE, alert_id=alert["id"]):
                    yield alert

    def _fold_alert(self, alert_id: str, limit: int) -> int:
        """Move up to `limit` of the alert's deliveries (a page at least) into its counts, a
        page per batch."""
        # One read for the call: the store ranks every row of the alert for each page asked,
        # so a page at a time would cost the square of an alert's phones.
        rows = self._store.page(TABLE, {"alert_id": alert_id}, limit=max(limit, PAGE))
        if any(doc["state"] in OPEN for doc in rows):
            return 0
        # A subscription the sender deleted on a 404 or 410 (its delivery "gone") keeps no
        # link in its other deliveries either, once this one is folded.
        orphans = {
            str(doc["subscription_id"])
            for doc in rows
            if doc["state"] == "gone"
            and doc.get("subscription_id") is not None
            and self._store.get(SUBSCRIPTIONS, doc["subscription_id"]) is None
        }
        if orphans:
            self.forget(orphans)
        folded = 0
        for first in range(0, len(rows), PAGE):
            docs = rows[first : first + PAGE]
            try:
                self._fold_page(alert_id, docs)
            except Conflict:
                continue  # the sender settled one of them late: the next call reads it again
            folded += len(docs)
        return folded

    def _fold_page(self, alert_id: str, docs: list[Document]) -> None:
        states = Counter(doc["state"] for doc in docs)
        reasons = Counter(
            str(doc.get("reason") or "refused") for doc in docs if doc["state"] == "failed"
        )
        with self._fold_lock:
            kept = self._store.get(REPORTS, alert_id)
            report: Document = {"id": alert_id}
            for state in ("delivered", "gone", "cancelled"):
                report[state] = int((kept or {}).get(state) or 0) + states[state]
            merged = Counter[str]((kept or {}).get("reasons") or {})
            merged.update(reasons)
            report["reasons"] = dict(merged)
            with self._store.batch() as batch:
                for doc in docs:
                    batch.delete(TABLE, doc["id"], expect={"state": doc["state"]})
                if kept is None:
                    batch.insert(REPORTS, report)
                else:
                    batch.update(REPORTS, alert_id, report)

    def due(self, state: str, now: str, *, after: Document | None = None) -> list[Document]:
        """A page of deliveries in `state` due at `now` or before, in order of `due`, starting
        after the delivery `after` (the last of the previous page)."""
        page = self._store.page(TABLE, {"state": state}, order_by="due", after=after, limit=PAGE)
        return [doc for doc in page if doc["due"] <= now]

    def next_due(self, now: str) -> str | None:
        """The earliest `due` after `now` of an open delivery, or None."""
        found = [
            page[0]["due"]
            for state in OPEN
            if (
                page := self._store.page(
                    TABLE,
                    {"state": state},
                    order_by="due",
                    after={"due": now, "id": "\U0010ffff"},
                    limit=1,
                )
            )
        ]
        return min(found, default=None)

    def get(self, delivery_id: str) -> Document | None:
        """One delivery, or None."""
        return self._store.get(TABLE, delivery_id)

    def _pages(self, where: Mapping[str, Any]) -> Iterator[Document]:
        after: Document | None = None
        while True:
            docs = self._store.page(TABLE, where, after=after, limit=PAGE)
            yield from docs
            if len(docs) < PAGE:
                return
            after = docs[-1]

    def _now(self) -> str:
        return format_time(self.clock())
