"""The durable outbox: one delivery per (alert, subscription), worked through by the sender.

A delivery is `{id, alert_id, subscription_id, push_service, state, attempts, due, reason,
updated}`. States: "pending" (not tried yet), "retrying" (a try met a 5xx or a timeout; `due`
is when to try again), then one of "delivered" (the push service took it), "gone" (its
subscription is no more: 404 or 410), "failed" (`reason` says why) or "cancelled" (the alert
was withdrawn or corrected before it went). Every change is written to the store before the
sender moves on, so a restart, even after `kill -9`, resumes the pending and retrying ones
and never sends again one a push service acknowledged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub import N_
from hub.auth.accounts import utc_now
from hub.auth.sessions import TIME_FORMAT
from hub.store import Store
from hub.store.base import Conflict, Document

TABLE = "deliveries"
STATES = ("pending", "retrying", "delivered", "gone", "failed", "cancelled")
# The states the sender still works on.
OPEN = ("pending", "retrying")
# Documents read or written at once: the store's reads and batches stay a bounded size however
# many phones an alert reaches.
PAGE = 500
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


class Outbox:
    """Deliveries of alerts to subscriptions, kept in the store so a restart resumes them."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self.clock = clock

    def enqueue(self, alert: Mapping[str, Any], subscriptions: Iterable[Mapping[str, Any]]) -> int:
        """One pending delivery of `alert` to each subscription whose locale it has a text in
        (discreet ones too: the text is read in the app); how many were added. A subscription
        the alert already has a delivery for is skipped. Durable when it returns."""
        alert_id = str(alert["id"])
        texts = alert.get("texts") or {}
        now = self._now()
        added = 0
        chunk: list[Document] = []
        for sub in subscriptions:
            # One id per (alert, subscription): queuing the alert again adds nothing.
            doc_id = f"{alert_id}.{sub['id']}"
            if sub.get("locale") not in texts or self._store.get(TABLE, doc_id) is not None:
                continue
            chunk.append(
                {
                    "id": doc_id,
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
        return added + self._insert(chunk)

    def _insert(self, docs: list[Document]) -> int:
        if not docs:
            return 0
        try:
            with self._store.batch() as batch:
                for doc in docs:
                    batch.insert(TABLE, doc)
        except Conflict:
            # Queued at the same moment by another caller: add only what it did not.
            fresh = [doc for doc in docs if self._store.get(TABLE, doc["id"]) is None]
            if len(fresh) == len(docs):
                raise
            return self._insert(fresh)
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
        """Where the alert's deliveries stand: counts by state, failures by reason."""
        counts = {
            state: self._store.count(TABLE, alert_id=alert_id, state=state) for state in STATES
        }
        failed = Counter[str]()
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
