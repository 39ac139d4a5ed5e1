"""Alerts by peer leaders: drafts, moderation, publication, withdrawal and correction.

An alert's life: a leader submits a draft (checked field by field, Burmese typed in Zawgyi
converted or refused, within her scope and her daily limit); it waits as "pending" for a
curator, who approves it ("published": queued in the outbox for every matching subscription)
or rejects it with a reason the leader sees. A trusted leader's alerts are published at once.
A published alert can be withdrawn (gone from the readers' page, its undelivered messages
cancelled) or corrected: a new document, version + 1, with the same Web Push topic, which
supersedes the old one.

Times are ISO 8601 UTC strings to the second ("2026-11-30T06:12:00Z"), as hub/auth keeps them.
"""

from __future__ import annotations

import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from hub.auth.accounts import Account, utc_now
from hub.auth.errors import Refused
from hub.auth.fields import CORRIDOR, LOCALES
from hub.auth.sessions import TIME_FORMAT
from hub.content.library import Library
from hub.content.text import ZAWGYI_THRESHOLD, Zawgyi, has_myanmar, zawgyi
from hub.push import TOPICS, URGENCIES
from hub.push.payload import BODY_MAX, TITLE_MAX
from hub.store import Store
from hub.store.base import Conflict, Document

TABLE = "alerts"
STATUSES = ("pending", "rejected", "published", "withdrawn", "superseded")
# Roles that moderate: approve, reject, edit translations, and withdraw or correct any alert.
MODERATORS = frozenset({"admin", "curator"})
# Roles that may submit an alert (those that hold the leader's role, hub/views/console/access.py).
AUTHORS = frozenset({"admin", "leader"})
# An alert lives at least this long: less leaves a curator no time to review it, and a phone
# that is off for a moment no time to get it.
MIN_EXPIRY = timedelta(hours=1)
# At most four weeks: the message's TTL is its time left, and FCM (Chrome, and Firefox on
# Android through it) keeps a message at most 2,419,200 s whatever TTL asks. Past that a phone
# switched on late could not get the alert anyway, and old news leaves the readers' page.
MAX_EXPIRY = timedelta(days=28)
MAX_REASON = 500
# Published alerts read at once when looking for those not expired yet.
LIVE_PAGE = 100
# A Web Push Topic of random bytes, shared by every version of one alert.
PUSH_TOPIC_BYTES = 16  # 22 base64url characters, under the 32 Web Push allows
# Characters that reorder the text around them (embeddings, overrides, isolates, marks): none of
# the hub's languages is written right to left, and they let one alert pass for another.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# What gives Burmese away as Zawgyi even when myanmartools is unsure (short text): Zawgyi's
# reuse of the Myanmar Extended code points (stacked and ligature forms; Burmese in Unicode has
# none of them) and the vowel sign E typed before its consonant, at the start of a word.
_ZAWGYI_HINT = re.compile("[\u1060-\u1097]|(?:^|[^\u1000-\u109f])\u1031")
# Below this probability the converted text reads as Unicode to myanmartools (its own cut-off).
_UNICODE_BELOW = 0.05
_LINK_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")


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


class InvalidAlert(Refused):
    """One field of a draft that cannot go out, and why (`value`: the locale of a text, the
    corridor or locale out of scope; `limit`: the length a text may have)."""

    def __init__(
        self,
        field: str,
        reason: str,
        message: str,
        *,
        value: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(field, reason, message, value=value)
        self.limit = limit


class DraftRefused(InvalidAlert):
    """A draft with one or more refused fields: all of them in `problems` (the first one is
    this error's own field and reason), so a form can mark each at once."""

    def __init__(self, problems: Sequence[InvalidAlert]) -> None:
        first = problems[0]
        message = "; ".join(str(p) for p in problems)
        super().__init__(first.field, first.reason, message, value=first.value, limit=first.limit)
        self.problems = tuple(problems)


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
class Draft:
    """What a leader writes: a title and a text per locale she writes in, who it is for, what
    it is about, how urgent, until when, and an optional page of the hub to open."""

    # locale -> {"title": ..., "body": ...}; only the locales written.
    texts: Mapping[str, Mapping[str, str]]
    corridors: Sequence[str]
    locales: Sequence[str]
    topic: str
    urgency: str = "normal"
    expires: str = ""  # ISO 8601 UTC
    # A path of the hub without its locale: "help", "safety", "topics/<id>",
    # "articles/<slug>", "services/<id>"; None for no link.
    link: str | None = None


@dataclass(frozen=True)
class Checked:
    """A draft as it will be stored (cleaned), and the locales whose text was converted from
    Zawgyi (the preview says so, for the author to read it again)."""

    draft: Draft
    converted: tuple[str, ...] = ()


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
        site = library.site
        self.corridors = tuple(
            f"{o}-{d}" for o in site.origins for d in site.destinations if o != d
        )
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
        return self._check(draft, now or self.clock(), scope=account)

    def _check(self, draft: Draft, moment: datetime, *, scope: Account | None) -> Checked:
        """`check` within the scope of an account, or of none (a curator's correction)."""
        problems: list[InvalidAlert] = []
        corridors = self._check_corridors(scope, draft.corridors, problems)
        locales = self._check_locales(scope, draft.locales, problems)
        # Against the locales asked for, kept or not: one mistake is reported once, by locales.
        asked = [code.strip().lower() for code in draft.locales] or list(LOCALES)
        texts, converted = _check_texts(draft.texts, asked, problems)
        if draft.topic not in TOPICS:
            problems.append(
                InvalidAlert(
                    "topic", "unknown", f"{draft.topic!r} is not a topic", value=draft.topic
                )
            )
        if draft.urgency not in URGENCIES:
            problems.append(
                InvalidAlert(
                    "urgency",
                    "unknown",
                    f"{draft.urgency!r} is not an urgency",
                    value=draft.urgency,
                )
            )
        expires = _check_expiry(draft.expires, moment, problems)
        link = self._check_link(draft.link, problems)
        if problems:
            raise DraftRefused(problems)
        cleaned = Draft(
            texts=texts,
            corridors=corridors,
            locales=locales,
            topic=draft.topic,
            urgency=draft.urgency,
            expires=expires,
            link=link,
        )
        return Checked(cleaned, converted)

    def _check_corridors(
        self, account: Account | None, wanted: Sequence[str], problems: list[InvalidAlert]
    ) -> list[str]:
        kept: set[str] = set()
        for text in wanted:
            code = text.strip().upper()
            match = CORRIDOR.fullmatch(code)
            if match is None or match[1] == match[2]:
                problems.append(
                    InvalidAlert("corridors", "invalid", f"{text!r} is not a corridor", value=text)
                )
            elif code not in self.corridors:
                problems.append(
                    InvalidAlert(
                        "corridors", "not_served", f"the hub does not serve {code}", value=code
                    )
                )
            elif not _reaches(account, code, account.corridors if account else ()):
                problems.append(
                    InvalidAlert(
                        "corridors", "out_of_scope", f"{code} is not one of yours", value=code
                    )
                )
            else:
                kept.add(code)
        if not wanted:
            problems.append(InvalidAlert("corridors", "required", "choose at least one corridor"))
        return sorted(kept)

    def _check_locales(
        self, account: Account | None, wanted: Sequence[str], problems: list[InvalidAlert]
    ) -> list[str]:
        kept: set[str] = set()
        for text in wanted:
            code = text.strip().lower()
            if code not in LOCALES:
                problems.append(
                    InvalidAlert("locales", "unknown", f"{text!r} is not a language", value=text)
                )
            elif not _reaches(account, code, account.locales if account else ()):
                problems.append(
                    InvalidAlert(
                        "locales", "out_of_scope", f"{code} is not one of yours", value=code
                    )
                )
            else:
                kept.add(code)
        if not wanted:
            problems.append(InvalidAlert("locales", "required", "choose at least one language"))
        return [code for code in LOCALES if code in kept]

    def _check_link(self, raw: str | None, problems: list[InvalidAlert]) -> str | None:
        """A page of the hub as a path without its locale, or None; never another site."""
        text = (raw or "").strip()
        if not text:
            return None
        path = text
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:]
        first, _, rest = path.partition("/")
        if first in LOCALES and rest:
            path = rest  # a reader's address pasted whole: /fil/help
        path = path.rstrip("/") if path.count("/") <= 2 else path
        segments = path.split("/")
        if (
            "//" in text
            or ":" in text
            or "\\" in text
            or not all(_LINK_SEGMENT.fullmatch(s) for s in segments)
        ):
            problems.append(
                InvalidAlert(
                    "link",
                    "invalid",
                    f"{text!r} is not a page of the hub (no other site)",
                    value=text,
                )
            )
            return None
        if not self._page_exists(segments):
            problems.append(
                InvalidAlert("link", "unknown", f"the hub has no page {text!r}", value=text)
            )
            return None
        return "/".join(segments)

    def _page_exists(self, segments: Sequence[str]) -> bool:
        library = self.library
        if len(segments) == 1:
            return segments[0] in ("help", "safety")
        if len(segments) != 2:
            return False
        kind, name = segments
        if kind == "topics":
            return library.topic(name) is not None
        if kind == "articles":
            return name in library.articles
        if kind == "services":
            return name in library.services
        return False

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
        kept = _one_line(reason)
        if not kept:
            raise InvalidAlert("reason", "required", "say why the alert is rejected")
        if len(kept) > MAX_REASON:
            raise InvalidAlert(
                "reason", "too_long", f"at most {MAX_REASON} characters", limit=MAX_REASON
            )
        if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in kept):
            raise InvalidAlert("reason", "control", "a reason has no control characters")
        doc = self._require(alert_id)
        _expect(doc, "pending", "rejected")
        changes = {"status": "rejected", "reason": kept, "reviewed_by": by.email}
        return self._change(doc, changes, "rejected")

    def withdraw(self, alert_id: str, by: Account) -> Document:
        """Take a pending or published alert down: gone from the readers' page, its undelivered
        messages cancelled. Its author or a curator may."""
        doc = self._require(alert_id)
        if by.role not in MODERATORS and by.id != doc["account_id"]:
            raise NotAllowed("withdraw another author's alert")
        if doc["status"] not in ("pending", "published"):
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
        problems: list[InvalidAlert] = []
        unknown = [loc for loc in texts if loc not in LOCALES]
        for loc in unknown:
            problems.append(
                InvalidAlert("locales", "unknown", f"{loc!r} is not a language", value=loc)
            )
        targets = [loc for loc in LOCALES if loc in doc["locales"] or loc in texts]
        kept, _ = _check_texts(
            {k: v for k, v in texts.items() if k not in unknown}, targets, problems
        )
        if problems:
            raise DraftRefused(problems)
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
        checked = self._check(draft, now, scope=None if moderator else by)
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


# -- checks ------------------------------------------------------------------------------------


def _check_texts(
    texts: Mapping[str, Mapping[str, str]],
    targets: Sequence[str],
    problems: list[InvalidAlert],
) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    """The texts cleaned, in the hub's locale order, and the locales converted from Zawgyi."""
    kept: dict[str, dict[str, str]] = {}
    converted: list[str] = []
    for locale in LOCALES:
        if locale not in texts:
            continue
        text = texts[locale]
        if locale not in targets:
            problems.append(
                InvalidAlert(
                    "texts",
                    "not_target",
                    f"a text in {locale}, not a target language",
                    value=locale,
                )
            )
            continue
        title = _one_line(str(text.get("title", "")))
        body = _paragraphs(str(text.get("body", "")))
        fine = True
        for name, value in (("title", title), ("body", body)):
            fine = _check_characters(name, value, locale, problems) and fine
        if fine:
            outcome = _unicode(title, body)
            if outcome is None:
                problems.append(
                    InvalidAlert(
                        "body",
                        "zawgyi",
                        "this Burmese text looks typed in Zawgyi and cannot be converted "
                        "surely: type it in Unicode",
                        value=locale,
                    )
                )
                continue
            if outcome != (title, body):
                converted.append(locale)
                title, body = outcome
        for name, value, limit in (("title", title, TITLE_MAX), ("body", body, BODY_MAX)):
            if not value:
                problems.append(
                    InvalidAlert(name, "required", f"the {name} is empty", value=locale)
                )
            elif len(value) > limit:
                problems.append(
                    InvalidAlert(
                        name,
                        "too_long",
                        f"the {name} has {len(value)} characters, more than {limit}",
                        value=locale,
                        limit=limit,
                    )
                )
        kept[locale] = {"title": title, "body": body}
    unknown = [loc for loc in texts if loc not in LOCALES]
    for loc in unknown:
        problems.append(InvalidAlert("texts", "unknown", f"{loc!r} is not a language", value=loc))
    if not texts:
        problems.append(
            InvalidAlert("texts", "required", "write a title and a text in one language")
        )
    return kept, tuple(converted)


def _check_characters(name: str, value: str, locale: str, problems: list[InvalidAlert]) -> bool:
    """Whether a title or body holds only characters a notification may show."""
    allowed = "\n" if name == "body" else ""
    bad = next(
        (
            ch
            for ch in value
            if (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in BIDI_CONTROLS
        ),
        None,
    )
    if bad is None:
        return True
    problems.append(
        InvalidAlert(
            name,
            "control",
            f"the {name} holds a control character (U+{ord(bad):04X})",
            value=locale,
        )
    )
    return False


def _unicode(title: str, body: str) -> tuple[str, str] | None:
    """The title and body in Unicode: as they are, converted from Zawgyi when the conversion
    is sure, or None when they look like Zawgyi and cannot be converted surely.

    Read as one text: a title alone is often too short for the model to tell."""
    whole = f"{title}\n{body}"
    if not has_myanmar(whole):
        return title, body
    model = zawgyi()
    probability = model.detector.get_zawgyi_probability(whole)
    if probability > ZAWGYI_THRESHOLD:
        new_title, new_body = (_converted(model, part) for part in (title, body))
        after = f"{new_title}\n{new_body}"
        if model.detector.get_zawgyi_probability(
            after
        ) < _UNICODE_BELOW and not _ZAWGYI_HINT.search(after):
            return new_title, new_body
        return None
    if probability >= _UNICODE_BELOW and _ZAWGYI_HINT.search(whole):
        return None
    return title, body


def _converted(model: Zawgyi, text: str) -> str:
    """Zawgyi text in Unicode by the conversion rules (Zawgyi.to_unicode would first ask the
    model again, which cannot tell for a short title on its own), then NFC."""
    for pattern, replacement in model.rules:
        text = pattern.sub(replacement, text)
    return unicodedata.normalize("NFC", text)


def _check_expiry(raw: str, now: datetime, problems: list[InvalidAlert]) -> str:
    """The expiry in the stored form, between MIN_EXPIRY and MAX_EXPIRY from now."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problems.append(InvalidAlert("expires", "invalid", f"{raw!r} is not a UTC time", value=raw))
        return raw
    if moment < now + MIN_EXPIRY:
        problems.append(
            InvalidAlert("expires", "too_soon", f"an alert lasts at least {MIN_EXPIRY}", value=raw)
        )
    elif moment > now + MAX_EXPIRY:
        problems.append(
            InvalidAlert(
                "expires", "too_far", f"an alert lasts at most {MAX_EXPIRY.days} days", value=raw
            )
        )
    return _format(moment)


def _one_line(text: str) -> str:
    """NFC, every run of whitespace (a line end too) one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _paragraphs(text: str) -> str:
    """NFC, line ends as "\\n" (a browser sends "\\r\\n"), tabs as spaces, each line's trailing
    spaces and the text's blank ends removed."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.replace("\t", " ").split("\n")]
    return "\n".join(lines).strip()


def _reaches(account: Account | None, code: str, held: Iterable[str]) -> bool:
    """Whether a corridor or locale is within an account's scope (None: no limit)."""
    return account is None or account.role in MODERATORS or code in held


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
