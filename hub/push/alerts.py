"""Alerts by peer leaders: submission, moderation, publication, withdrawal and correction.

An alert's life: a leader submits a draft (its fields checked by hub/push/drafts.py, her
daily limit here); it waits as "pending" for a curator, who approves it ("published": queued
in the outbox for every matching subscription) or rejects it with a reason the leader sees.
A trusted leader's alerts are published at once. A published alert can be withdrawn (gone
from the readers' page, its undelivered messages cancelled) or corrected: a new document,
version + 1, with the same Web Push topic, which supersedes the old one.

Times are ISO 8601 UTC strings to the second ("2026-11-30T06:12:00Z"), as hub/auth keeps them.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from hub.auth.accounts import Account, utc_now
from hub.auth.errors import Refused
from hub.auth.fields import LOCALES
from hub.auth.sessions import TIME_FORMAT
from hub.content.library import Library
from hub.push.drafts import (
    BIDI_CONTROLS,
    MAX_EXPIRY,
    MAX_REASON,
    MIN_EXPIRY,
    Checked,
    Draft,
    DraftRefused,
    Drafts,
    InvalidAlert,
    check_reason,
    check_translations,
)
from hub.store import Store
from hub.store.base import Conflict, Document

# The draft and its checks live in hub/push/drafts.py; their names are kept importable here.
__all__ = [
    "AUTHORS",
    "BIDI_CONTROLS",
    "KEEP",
    "LIVE_PAGE",
    "MAX_EXPIRY",
    "MAX_REASON",
    "MIN_EXPIRY",
    "MODERATORS",
    "PUSH_TOPIC_BYTES",
    "STATUSES",
    "TABLE",
    "Alerts",
    "Audience",
    "Checked",
    "Draft",
    "DraftRefused",
    "InvalidAlert",
    "LimitReached",
    "NotAllowed",
    "Queue",
    "Reach",
    "UnknownAlert",
    "WrongState",
]

TABLE = "alerts"
STATUSES = ("pending", "rejected", "published", "withdrawn", "superseded")
# Roles that moderate: approve, reject, edit translations, and withdraw or correct any alert.
MODERATORS = frozenset({"admin", "curator"})
# Roles that may submit an alert (those that hold the leader's role, hub/views/console/access.py).
AUTHORS = frozenset({"admin", "leader"})
# Published alerts read at once when looking for those not expired yet.
LIVE_PAGE = 100
# A Web Push Topic of random bytes, shared by every version of one alert.
PUSH_TOPIC_BYTES = 16  # 22 base64url characters, under the 32 Web Push allows


class Queue(Protocol):
    """What alerts need of the outbox (hub.push.outbox.Outbox)."""

    def enqueue(self, alert: Document, subscriptions: Iterable[Document]) -> int:
        """Queue one delivery of `alert` per subscription with a text in its locale."""
        ...

    def cancel(self, alert_id: str) -> int:
        """Cancel the alert's deliveries not yet made."""
        ...


class Audience(Protocol):
    """What alerts need of the subscriptions (hub.push.subscriptions.Subscriptions)."""

    def matching(
        self, corridors: Iterable[str], locales: Iterable[str], topic: str
    ) -> list[Document]:
        """The subscriptions of these corridors and locales that chose `topic`."""
        ...

    def count_matching(self, corridors: Iterable[str], locales: Iterable[str], topic: str) -> int:
        """How many subscriptions `matching` would give."""
        ...


class LimitReached(InvalidAlert):
    """The account has submitted its `per_day` alerts in the last 24 hours."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "limit", "daily", f"at most {limit} alerts in 24 hours: try again later", limit=limit
        )


class NotAllowed(Refused):
    """This account may not do this to this alert (its role, or another author's alert)."""

    def __init__(self, what: str) -> None:
        super().__init__("account", "not_allowed", f"this account may not {what}")


class WrongState(Refused):
    """The alert is not in a state this step starts from (`reason`: the state it is in)."""

    def __init__(self, status: str, what: str) -> None:
        super().__init__("status", status, f"an alert that is {status} cannot be {what}")


class UnknownAlert(Refused, LookupError):
    """No alert has this id."""

    def __init__(self, alert_id: str) -> None:
        super().__init__("alert", "unknown", f"no alert has the id {alert_id!r}")


@dataclass(frozen=True)
class Reach:
    """How many subscribed phones an alert reaches, and how many in its corridors, with its
    topic, get nothing because it has no text in their language (by locale, those with any)."""

    phones: int
    without_text: Mapping[str, int] = field(default_factory=dict)

    @property
    def missed(self) -> int:
        """Phones in the target corridors left out for lack of a version in their language."""
        return sum(self.without_text.values())


class _Keep:
    """The marker for "leave this as it was" where None is a value of its own."""


KEEP: Final = _Keep()


class Alerts:
    """The alerts kept in the store, and the steps of their life.

    Steps that must not run twice (approve, reject, withdraw, correct) change a document only
    if its status is still the one read (`expect`), so two curators acting at once make one
    change and the other is refused with WrongState."""

    def __init__(
        self,
        store: Store,
        *,
        outbox: Queue,
        subscriptions: Audience,
        per_day: int,
        wake: Callable[[], None],
        library: Library,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._subscriptions = subscriptions
        self.per_day = per_day
        self._wake = wake
        self.library = library
        self.clock = clock
        self._drafts = Drafts(library)
        self.corridors = self._drafts.corridors
        # The daily limit's count and the insert are one step (two tabs submitting at once).
        self._submit_lock = threading.Lock()
        self._generation_lock = threading.Lock()
        # Starts from the clock, so a value from before a restart is never seen again.
        self._generation = int(self.clock().timestamp() * 1000)
        self._next_expiry: str | None = None
        self._expiry_known = False

    # -- reading -------------------------------------------------------------------------------

    def get(self, alert_id: str) -> Document | None:
        """The alert with this id, or None."""
        return self._store.get(TABLE, alert_id)

    def of_author(self, account_id: str) -> list[Document]:
        """Every alert of one author (each correction too), newest first."""
        return _newest_first(self._store.find(TABLE, account_id=account_id), "created")

    def pending(self) -> list[Document]:
        """The alerts waiting for a curator, oldest first (the order to review them in)."""
        docs = self._store.find(TABLE, status="pending")
        return sorted(docs, key=lambda d: (d["created"], d["id"]))

    def with_status(self, status: str) -> list[Document]:
        """The alerts in one state, newest first."""
        return _newest_first(self._store.find(TABLE, status=status), "created")

    def published(
        self, corridor: str | None, locale: str, now: datetime | None = None
    ) -> list[Document]:
        """What a reader's alerts page lists: published, not expired, with a text in `locale`,
        for `corridor` (any corridor when None), newest first."""
        moment = _format(now or self.clock())
        found = [
            doc
            for doc in self._live(moment)
            if locale in doc["texts"] and (corridor is None or corridor in doc["corridors"])
        ]
        return _newest_first(found, "published")

    @property
    def generation(self) -> int:
        """A number that changes whenever what readers see changes: an alert published,
        withdrawn or corrected, or one reaching its expiry."""
        now = _format(self.clock())
        with self._generation_lock:
            seen = self._generation
            if self._expiry_known and (self._next_expiry is None or self._next_expiry > now):
                return seen
        soonest = min((doc["expires"] for doc in self._live(now)), default=None)
        with self._generation_lock:
            if self._generation != seen:
                # Changed while the store was read: the next look works it out again.
                return self._generation
            if self._expiry_known:  # the soonest expiry has passed
                self._generation += 1
            self._next_expiry, self._expiry_known = soonest, True
            return self._generation

    def sent_today(self, account_id: str, now: datetime | None = None) -> int:
        """How many alerts the account submitted in the last 24 hours (whatever their state;
        corrections are not counted: they replace an alert, and a curator sees each one)."""
        since = _format((now or self.clock()) - timedelta(hours=24))
        return sum(
            1
            for doc in self._store.find(TABLE, account_id=account_id)
            if doc.get("replaces") is None and doc["created"] > since
        )

    def reach(self, corridors: Iterable[str], texts: Iterable[str], topic: str) -> Reach:
        """The subscribed phones an alert for `corridors` and `topic`, with a text in each
        locale of `texts`, reaches; and those in its corridors that it misses, by locale."""
        chosen = list(dict.fromkeys(corridors))
        written = set(texts)
        count = self._subscriptions.count_matching
        phones = count(chosen, [loc for loc in LOCALES if loc in written], topic) if written else 0
        without: dict[str, int] = {}
        for locale in LOCALES:
            if locale not in written:
                missed = count(chosen, [locale], topic)
                if missed:
                    without[locale] = missed
        return Reach(phones, without)

    # -- checking ------------------------------------------------------------------------------

    def check(self, account: Account, draft: Draft, now: datetime | None = None) -> Checked:
        """The draft cleaned (texts trimmed and NFC, Zawgyi converted, corridors upper-case,
        locales in the hub's order, the expiry in the stored form, the link a bare path), or
        DraftRefused naming every field that cannot go out, this account's scope included."""
        if account.role not in AUTHORS:
            raise NotAllowed("submit alerts")
        return self._drafts.check(draft, now or self.clock(), scope=_scope(account))

    # -- the steps of an alert's life ------------------------------------------------------------

    def submit(self, account: Account, draft: Draft) -> Document:
        """Store a leader's alert: pending, or published at once when she is trusted.

        DraftRefused for a field that cannot go out; LimitReached past `per_day` in 24 hours;
        InvalidAlert (field network, reason required) when her account has no network name to
        show readers; NotAllowed for a role that does not write alerts."""
        now = self.clock()
        checked = self.check(account, draft, now)
        if not account.network:
            raise InvalidAlert(
                "network", "required", "the account has no network name to show readers"
            )
        clean = checked.draft
        stamp = _format(now)
        doc: dict[str, Any] = {
            "push_topic": secrets.token_urlsafe(PUSH_TOPIC_BYTES),
            "version": 1,
            "replaces": None,
            "account_id": account.id,
            "network": account.network,
            "corridors": list(clean.corridors),
            "locales": list(clean.locales),
            "texts": {loc: dict(text) for loc, text in clean.texts.items()},
            "topic": clean.topic,
            "urgency": clean.urgency,
            "expires": clean.expires,
            "link": clean.link,
            "status": "pending",
            "reason": None,
            "created": stamp,
            "published": None,
            "reviewed_by": None,
            "withdrawn": None,
            "fanned_out": False,
        }
        with self._submit_lock:
            if self.sent_today(account.id, now) >= self.per_day:
                raise LimitReached(self.per_day)
            doc["id"] = self._store.insert(TABLE, doc)
        if account.trusted:
            return self._publish(doc, reviewer=None)
        return doc

    def approve(self, alert_id: str, by: Account) -> Document:
        """Publish a pending alert (a correction supersedes the version it replaces). WrongState
        when not pending, and with reason "expired" past its expiry; NotAllowed but for a
        curator or admin."""
        _moderator(by, "approve alerts")
        doc = self._require(alert_id)
        _expect(doc, "pending", "approved")
        if doc["expires"] <= _format(self.clock()):
            raise WrongState("expired", "approved")
        return self._publish(doc, reviewer=by.email)

    def reject(self, alert_id: str, by: Account, reason: str) -> Document:
        """Refuse a pending alert with a reason its author sees (InvalidAlert, field reason,
        when empty or longer than MAX_REASON characters)."""
        _moderator(by, "reject alerts")
        kept = check_reason(reason)
        doc = self._require(alert_id)
        _expect(doc, "pending", "rejected")
        changes = {"status": "rejected", "reason": kept, "reviewed_by": by.email}
        return self._change(doc, changes, "rejected")

    def withdraw(self, alert_id: str, by: Account) -> Document:
        """Take a published alert down: gone from the readers' page, its undelivered messages
        cancelled. Its author or a curator may; a pending one only its author (a curator
        rejects it, with a reason she reads)."""
        doc = self._require(alert_id)
        author = by.id == doc["account_id"]
        if by.role not in MODERATORS and not author:
            raise NotAllowed("withdraw another author's alert")
        if doc["status"] not in ("pending", "published") or not (
            author or doc["status"] == "published"
        ):
            raise WrongState(doc["status"], "withdrawn")
        was = doc["status"]
        changes = {"status": "withdrawn", "withdrawn": _format(self.clock())}
        changed = self._change(doc, changes, "withdrawn")
        if was == "published":
            self._bump()
            self._outbox.cancel(doc["id"])
        return changed

    def edit_texts(
        self, alert_id: str, by: Account, texts: Mapping[str, Mapping[str, str]]
    ) -> Document:
        """A curator's edit of a pending alert's texts: `texts` is the whole new set (a locale
        left out is removed; one not targeted yet is added to the alert's locales). Checked as
        a draft's texts are (DraftRefused)."""
        _moderator(by, "edit alerts")
        doc = self._require(alert_id)
        _expect(doc, "pending", "edited")
        kept, targets = check_translations(texts, doc["locales"])
        changes = {"texts": {loc: dict(t) for loc, t in kept.items()}, "locales": targets}
        return self._change(doc, changes, "edited")

    def correct(
        self,
        alert_id: str,
        by: Account,
        texts: Mapping[str, Mapping[str, str]],
        *,
        expires: str | None = None,
        link: str | _Keep | None = KEEP,
        urgency: str | None = None,
    ) -> Document:
        """A new version of a published alert, with the same push topic, so a phone that has
        not shown the old one gets only the new. Same corridors, locales and topic; new texts,
        and a new expiry, link or urgency when given.

        By a curator, or by a trusted author, it is published at once (the old version
        superseded, its undelivered messages cancelled); by an author not trusted it waits
        as pending, and the old version stays until a curator approves the correction."""
        old = self._require(alert_id)
        moderator = by.role in MODERATORS
        if not moderator and by.id != old["account_id"]:
            raise NotAllowed("correct another author's alert")
        _expect(old, "published", "corrected")
        now = self.clock()
        draft = Draft(
            texts=texts,
            corridors=old["corridors"],
            locales=old["locales"],
            topic=old["topic"],
            urgency=urgency if urgency is not None else old["urgency"],
            expires=expires if expires is not None else old["expires"],
            link=old["link"] if isinstance(link, _Keep) else link,
        )
        # A curator corrects in any locale; an author within her scope as it is now.
        checked = self._drafts.check(draft, now, scope=_scope(by))
        clean = checked.draft
        doc: dict[str, Any] = {
            **{k: v for k, v in old.items() if k != "id"},
            "version": old["version"] + 1,
            "replaces": old["id"],
            "texts": {loc: dict(t) for loc, t in clean.texts.items()},
            "urgency": clean.urgency,
            "expires": clean.expires,
            "link": clean.link,
            "status": "pending",
            "reason": None,
            "created": _format(now),
            "published": None,
            "reviewed_by": None,
            "withdrawn": None,
            "fanned_out": False,
        }
        doc["id"] = self._store.insert(TABLE, doc)
        if moderator or by.trusted:
            return self._publish(doc, reviewer=by.email if moderator else None)
        return doc

    def resume(self) -> int:
        """Queue the alerts published but not queued yet (the process stopped between the two;
        a correction's old version is cancelled again too); how many. For start-up: the outbox
        keeps one delivery per (alert, subscription), so one queued in part is only completed."""
        unsent = [
            d for d in self._store.find(TABLE, status="published") if not d.get("fanned_out", True)
        ]
        for doc in unsent:
            if doc.get("replaces"):
                self._outbox.cancel(doc["replaces"])
            self._fan_out(doc)
        if unsent:
            self._wake()
        return len(unsent)

    # -- helpers -------------------------------------------------------------------------------

    def _publish(self, doc: Mapping[str, Any], *, reviewer: str | None) -> Document:
        """Published, durably, before anything is queued: a crash in between leaves it
        published with `fanned_out` False, for `resume` to queue. Then the old version's
        messages are cancelled, the new ones queued, and the sender woken."""
        changes = {
            "status": "published",
            "published": _format(self.clock()),
            "reviewed_by": reviewer,
        }
        replaced = doc.get("replaces")
        try:
            with self._store.batch() as batch:
                batch.update(TABLE, doc["id"], changes, expect={"status": "pending"})
                if replaced is not None:
                    batch.update(
                        TABLE, replaced, {"status": "superseded"}, expect={"status": "published"}
                    )
        except Conflict as exc:
            current = self._require(doc["id"])
            if current["status"] != "pending":
                raise WrongState(current["status"], "published") from exc
            old = self.get(replaced) if replaced else None
            raise WrongState(old["status"] if old else "unknown", "corrected") from exc
        published = {**doc, **changes}
        self._bump()
        if replaced is not None:
            self._outbox.cancel(replaced)
        self._fan_out(published)
        self._wake()
        return {**published, "fanned_out": True}

    def _fan_out(self, doc: Mapping[str, Any]) -> None:
        written = [loc for loc in doc["locales"] if loc in doc["texts"]]
        matching = self._subscriptions.matching(doc["corridors"], written, doc["topic"])
        self._outbox.enqueue(dict(doc), matching)
        self._store.update(TABLE, doc["id"], {"fanned_out": True})

    def _change(self, doc: Mapping[str, Any], changes: Mapping[str, Any], what: str) -> Document:
        """Apply changes if the alert is still in the state read, else WrongState."""
        if not self._store.update(TABLE, doc["id"], changes, expect={"status": doc["status"]}):
            current = self._require(doc["id"])
            raise WrongState(current["status"], what)
        return {**doc, **changes}

    def _require(self, alert_id: str) -> Document:
        doc = self._store.get(TABLE, alert_id) if alert_id else None
        if doc is None:
            raise UnknownAlert(alert_id)
        return doc

    def _bump(self) -> None:
        with self._generation_lock:
            self._generation += 1
            self._expiry_known = False

    def _live(self, moment: str) -> list[Document]:
        """The published alerts not expired at `moment`, read a page at a time from the one
        that expires last: the expired ones, which stay in the store, are never copied out of
        it (reading every published alert took 80 ms with 2,000 of them, 390 ms with 10,000)."""
        found: list[Document] = []
        after: dict[str, Any] | None = None
        while True:
            docs = self._store.page(
                TABLE,
                {"status": "published"},
                order_by="expires",
                descending=True,
                after=after,
                limit=LIVE_PAGE,
            )
            live = [doc for doc in docs if doc["expires"] > moment]
            found.extend(live)
            if len(live) < LIVE_PAGE:
                return found
            after = {"expires": docs[-1]["expires"], "id": docs[-1]["id"]}


def _scope(account: Account) -> Account | None:
    """The scope an account writes within: its own corridors and locales, or None (any the
    hub has) for a moderator."""
    return None if account.role in MODERATORS else account


def _moderator(account: Account, what: str) -> None:
    if account.role not in MODERATORS:
        raise NotAllowed(what)


def _expect(doc: Mapping[str, Any], status: str, what: str) -> None:
    if doc["status"] != status:
        raise WrongState(doc["status"], what)


def _newest_first(docs: list[Document], key: str) -> list[Document]:
    return sorted(
        docs, key=lambda d: (d.get(key) or "", d.get("version", 1), d["id"]), reverse=True
    )


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)
