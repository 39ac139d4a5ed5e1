"""Alerts in a real store (hub/push/alerts.py, hub/push/drafts.py): each field a leader gets
wrong, Zawgyi, scope, the daily limit, and the steps of an alert's life (approve, reject,
withdraw, correct, edit) with what they leave in the outbox and what readers then see; and the
account's network name and trust (hub/auth/accounts.py).

The outbox and the subscriptions are the hub's own (hub/push/outbox.py, subscriptions.py) on
the test's store, each phone subscribed through Subscriptions.subscribe with a fresh P-256 key:
what a step queued or cancelled is read back from the deliveries in the store and the outbox's
report. The store is watched at its edge (`Watched`): the order of its durable writes shows an
alert published before anything of it is queued, and a write of the outbox made to fail stands
for the process stopping between the two. The sender is not started: `wake` counts its calls."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.auth.accounts import Account, Accounts
from hub.auth.fields import LOCALES, InvalidAccount
from hub.content.library import Library
from hub.content.loader import load_library
from hub.push.alerts import (
    MAX_EXPIRY,
    TABLE,
    Alerts,
    Draft,
    DraftRefused,
    InvalidAlert,
    LimitReached,
    NotAllowed,
    UnknownAlert,
    WrongState,
)
from hub.push.endpoints import PushServices
from hub.push.outbox import TABLE as DELIVERIES
from hub.push.outbox import Outbox
from hub.push.payload import BODY_MAX, TITLE_MAX
from hub.push.subscriptions import Subscriptions
from hub.settings import DEFAULT_PUSH_SERVICES, PROJECT_ROOT
from hub.store import Store
from hub.store.base import Batch, BatchContext, Document
from tests.conftest import Clock

PER_DAY = 3
# "Hello, the embassy's number changed" in Zawgyi: myanmartools is sure of it (p > 0.99).
ZAWGYI_BODY = "သင္၏ ပတ္စ္ပို႔ကို သင္ကိုယ္တိုင္ ထိန္းသိမ္းထားပါ"
ZAWGYI_AS_UNICODE = "သင်၏ ပတ်စ်ပို့ကို သင်ကိုယ်တိုင် ထိန်းသိမ်းထားပါ"
# Short Zawgyi ("mingalaba") the model cannot tell (p about 0.54): its stacked letter gives it
# away, but a conversion would be a guess.
ZAWGYI_UNSURE = "မဂၤလာပါ"
# Short Unicode ("insurance") the model is no surer of (p about 0.56): kept as it is.
UNICODE_UNSURE = "အာမခံ"


@pytest.fixture(scope="module")
def library() -> Library:
    loaded, _ = load_library(PROJECT_ROOT / "content")
    return loaded


# -- the store, watched at its edge ------------------------------------------------------------


class Crash(Exception):
    """The process stopping at a write: nothing of that write reaches the disk."""


# A durable write: (table, "insert" | "update" | "delete", document id, the fields written).
Write = tuple[str, str, str, dict[str, Any]]


class Watched:
    """The test's real store, seen from outside: every write once it is durable, in the order
    they became so, and a crash at any write to a table of `crash_on` (the disk failing, or a
    kill, under the part that writes there)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: list[Write] = []
        self.crash_on: set[str] = set()

    def crash(self, table: str) -> None:
        """Raise Crash if writes to `table` are to fail now."""
        if table in self.crash_on:
            raise Crash(table)

    @property
    def schema_version(self) -> int:
        return self.store.schema_version

    def get(self, table: str, doc_id: str) -> Document | None:
        return self.store.get(table, doc_id)

    def find(self, table: str, /, **equals: Any) -> list[Document]:
        return self.store.find(table, **equals)

    def find_one(self, table: str, /, **equals: Any) -> Document | None:
        return self.store.find_one(table, **equals)

    def count(self, table: str, /, **equals: Any) -> int:
        return self.store.count(table, **equals)

    def page(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str = "id",
        descending: bool = False,
        after: Mapping[str, Any] | None = None,
        limit: int = 100,
    ) -> list[Document]:
        return self.store.page(
            table, where, order_by=order_by, descending=descending, after=after, limit=limit
        )

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        self.crash(table)
        doc_id = self.store.insert(table, doc)
        self.writes.append((table, "insert", doc_id, dict(doc)))
        return doc_id

    def update(
        self,
        table: str,
        doc_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> bool:
        self.crash(table)
        done = self.store.update(table, doc_id, changes, expect=expect)
        if done:
            self.writes.append((table, "update", doc_id, dict(changes)))
        return done

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> bool:
        self.crash(table)
        done = self.store.delete(table, doc_id, expect=expect)
        if done:
            self.writes.append((table, "delete", doc_id, {}))
        return done

    def delete_where(self, table: str, /, **equals: Any) -> int:
        self.crash(table)
        gone = self.store.delete_where(table, **equals)
        if gone:
            self.writes.append((table, "delete", "", dict(equals)))
        return gone

    def batch(self) -> BatchContext:
        return _WatchedBatch(self, self.store.batch())

    def close(self) -> None:
        self.store.close()


class _WatchedBatch:
    """A batch of the real store whose writes join `Watched.writes` once it is applied."""

    def __init__(self, watched: Watched, context: BatchContext) -> None:
        self._watched = watched
        self._context = context
        self._batch: Batch | None = None
        self._written: list[Write] = []

    def __enter__(self) -> Batch:
        self._batch = self._context.__enter__()
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        # Conflict from the real batch leaves it unapplied: then nothing joins the writes.
        self._context.__exit__(kind, value, traceback)
        if kind is None:
            self._watched.writes.extend(self._written)

    def _real(self, table: str) -> Batch:
        self._watched.crash(table)
        assert self._batch is not None
        return self._batch

    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        doc_id = self._real(table).insert(table, doc)
        self._written.append((table, "insert", doc_id, dict(doc)))
        return doc_id

    def update(
        self,
        table: str,
        doc_id: str,
        changes: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> None:
        self._real(table).update(table, doc_id, changes, expect=expect)
        self._written.append((table, "update", doc_id, dict(changes)))

    def delete(self, table: str, doc_id: str, *, expect: Mapping[str, Any] | None = None) -> None:
        self._real(table).delete(table, doc_id, expect=expect)
        self._written.append((table, "delete", doc_id, {}))

    def delete_where(self, table: str, **equals: Any) -> None:
        self._real(table).delete_where(table, **equals)
        self._written.append((table, "delete", "", dict(equals)))


def steps(watched: Watched, since: int = 0) -> list[tuple[str, str, str]]:
    """The alerts' and deliveries' writes after the first `since`, in order, each as (table,
    alert id, what): the alert's status written (or the other fields' names), the state of a
    delivery of that alert."""
    found: list[tuple[str, str, str]] = []
    for table, _, doc_id, fields in watched.writes[since:]:
        if table == TABLE:
            found.append((table, doc_id, fields.get("status") or ",".join(sorted(fields))))
        elif table == DELIVERIES:
            delivery = watched.store.get(DELIVERIES, doc_id)
            assert delivery is not None
            found.append((table, delivery["alert_id"], fields["state"]))
    return found


# -- the hub's push parts on that store --------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def p256dh() -> str:
    """A browser's subscription public key: a fresh uncompressed P-256 point."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


class Wake:
    """The sender's wake (hub/push/sender.py Sender.wake), counted: the sender is not run."""

    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> None:
        self.times += 1


@pytest.fixture
def watched(store: Store) -> Watched:
    return Watched(store)


@pytest.fixture
def subscriptions(watched: Watched, clock: Clock, library: Library) -> Subscriptions:
    return Subscriptions(
        watched,
        services=PushServices.parse(DEFAULT_PUSH_SERVICES),
        confirm_days=30,
        locales=LOCALES,
        origins=library.site.origins,
        destinations=library.site.destinations,
        clock=clock,
    )


@pytest.fixture
def outbox(watched: Watched, clock: Clock) -> Outbox:
    return Outbox(watched, clock=clock)


@pytest.fixture
def wake() -> Wake:
    return Wake()


def _alerts(
    watched: Watched,
    clock: Clock,
    library: Library,
    outbox: Outbox,
    subscriptions: Subscriptions,
    wake: Callable[[], None],
) -> Alerts:
    return Alerts(
        watched,
        outbox=outbox,
        subscriptions=subscriptions,
        per_day=PER_DAY,
        wake=wake,
        library=library,
        clock=clock,
    )


@pytest.fixture
def alerts(
    watched: Watched,
    clock: Clock,
    library: Library,
    outbox: Outbox,
    subscriptions: Subscriptions,
    wake: Wake,
) -> Alerts:
    return _alerts(watched, clock, library, outbox, subscriptions, wake)


# Subscribes a phone: (corridor, locale, topics=("safety",)) -> its subscription's id.
Phone = Callable[..., str]


@pytest.fixture
def phone(subscriptions: Subscriptions) -> Phone:
    """Subscribe a phone as the alerts page does; its subscription's id."""

    def subscribe(corridor: str, locale: str, topics: Iterable[str] = ("safety",)) -> str:
        origin, destination = corridor.split("-")
        doc_id, _ = subscriptions.subscribe(
            {
                "subscription": {
                    "endpoint": f"https://fcm.googleapis.com/fcm/send/{b64(os.urandom(24))}",
                    "expirationTime": None,
                    "keys": {"p256dh": p256dh(), "auth": b64(os.urandom(16))},
                },
                "locale": locale,
                "origin": origin,
                "destination": destination,
                "topics": list(topics),
                "discreet": True,
            }
        )
        return doc_id

    return subscribe


def deliveries(store: Store, alert_id: str) -> dict[str, str]:
    """The alert's deliveries in the outbox: subscription id -> state."""
    return {d["subscription_id"]: d["state"] for d in store.find(DELIVERIES, alert_id=alert_id)}


def _leader(
    accounts: Accounts,
    email: str = "maria@example.org",
    *,
    corridors: Iterable[str] = ("PH-HK",),
    locales: Iterable[str] = ("en", "fil"),
    network: str = "Bayanihan HK",
    trusted: bool = False,
) -> Account:
    accounts.create(email, None, role="leader", corridors=corridors, locales=locales)
    if network:
        accounts.set_network(email, network)
    found = accounts.set_trusted(email, trusted)
    return found


@pytest.fixture
def leader(accounts: Accounts) -> Account:
    return _leader(accounts)


@pytest.fixture
def curator(accounts: Accounts) -> Account:
    return accounts.create("cura@example.org", None, role="curator")


def _draft(clock: Clock, **changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "texts": {
            "fil": {"title": "Bagong numero ng shelter", "body": "Tumawag sa 2345 6789."},
            "en": {"title": "New shelter number", "body": "Call 2345 6789."},
        },
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "topic": "safety",
        "urgency": "normal",
        "expires": (clock.now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "link": None,
    }
    return Draft(**{**fields, **changes})


def _in(clock: Clock, delta: timedelta) -> str:
    return (clock.now + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _problems(error: pytest.ExceptionInfo[DraftRefused]) -> set[tuple[str, str, str | None]]:
    return {(p.field, p.reason, p.value) for p in error.value.problems}


# -- a draft as it is stored -------------------------------------------------------------------


def test_a_leaders_alert_waits_for_a_curator_with_every_field_of_the_spec(
    alerts: Alerts, leader: Account, clock: Clock, phone: Phone, wake: Wake, store: Store
) -> None:
    phone("PH-HK", "en")
    before = alerts.generation
    doc = alerts.submit(leader, _draft(clock, link="help"))
    assert store.get(TABLE, doc["id"]) == doc
    assert doc["status"] == "pending"
    assert doc["version"] == 1 and doc["replaces"] is None
    assert doc["account_id"] == leader.id
    assert doc["network"] == "Bayanihan HK"
    assert doc["corridors"] == ["PH-HK"] and doc["locales"] == ["en", "fil"]
    assert doc["texts"]["en"] == {"title": "New shelter number", "body": "Call 2345 6789."}
    assert (doc["topic"], doc["urgency"], doc["link"]) == ("safety", "normal", "help")
    assert doc["expires"] == "2025-03-08T08:30:00Z"
    assert doc["created"] == "2025-03-01T08:30:00Z"
    assert (doc["published"], doc["reviewed_by"], doc["reason"], doc["withdrawn"]) == (
        None,
        None,
        None,
        None,
    )
    # A Web Push Topic: at most 32 characters of the URL-safe base64 alphabet.
    topic = doc["push_topic"]
    assert 16 <= len(topic) <= 32
    assert set(topic) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # Nothing of her person: no email, no display name.
    assert "maria" not in repr(doc).lower()
    # Nothing queued for the phone that would get it, and the sender left asleep.
    assert store.count(DELIVERIES) == 0 and wake.times == 0
    assert alerts.generation == before
    assert alerts.pending() == [doc]


def test_texts_are_trimmed_and_line_ends_made_one(
    alerts: Alerts, leader: Account, clock: Clock
) -> None:
    texts = {
        "en": {"title": "  New\tshelter \n number ", "body": "\r\n Line one  \r\nLine two\r\n"}
    }
    doc = alerts.submit(leader, _draft(clock, texts=texts, locales=["en"]))
    assert doc["texts"]["en"] == {"title": "New shelter number", "body": "Line one\nLine two"}


def test_text_lengths_are_counted_in_characters_up_to_the_limit(
    alerts: Alerts, leader: Account, clock: Clock
) -> None:
    # Four-byte characters: the limit is in code points, whatever the script.
    title, body = "\U0001f6a8" * TITLE_MAX, "ส" * BODY_MAX
    doc = alerts.submit(leader, _draft(clock, texts={"en": {"title": title, "body": body}}))
    assert doc["texts"]["en"] == {"title": title, "body": body}
    with pytest.raises(DraftRefused) as refused:
        alerts.check(
            leader, _draft(clock, texts={"en": {"title": title + "x", "body": body + "x"}})
        )
    assert _problems(refused) == {("title", "too_long", "en"), ("body", "too_long", "en")}
    assert {p.limit for p in refused.value.problems} == {TITLE_MAX, BODY_MAX}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"texts": {}}, ("texts", "required", None)),
        ({"texts": {"en": {"title": "", "body": "Call us."}}}, ("title", "required", "en")),
        ({"texts": {"en": {"title": "Hi", "body": " \r\n "}}}, ("body", "required", "en")),
        ({"texts": {"en": {"title": "Bell\x07", "body": "x"}}}, ("title", "control", "en")),
        ({"texts": {"en": {"title": "Hi", "body": "a\x00b"}}}, ("body", "control", "en")),
        # A right-to-left override makes "exe.gpj" read as "jpg.exe".
        ({"texts": {"en": {"title": "Hi", "body": "a\u202eb"}}}, ("body", "control", "en")),
        ({"texts": {"th": {"title": "Hi", "body": "x"}}}, ("texts", "not_target", "th")),
        ({"texts": {"xx": {"title": "Hi", "body": "x"}}}, ("texts", "unknown", "xx")),
        ({"corridors": []}, ("corridors", "required", None)),
        ({"corridors": ["PHHK"]}, ("corridors", "invalid", "PHHK")),
        ({"corridors": ["PH-PH"]}, ("corridors", "invalid", "PH-PH")),
        ({"corridors": ["PH-US"]}, ("corridors", "not_served", "PH-US")),
        ({"corridors": ["ID-HK"]}, ("corridors", "out_of_scope", "ID-HK")),
        ({"locales": []}, ("locales", "required", None)),
        ({"locales": ["en", "fil", "zz"]}, ("locales", "unknown", "zz")),
        ({"locales": ["en", "fil", "th"]}, ("locales", "out_of_scope", "th")),
        ({"topic": "sports"}, ("topic", "unknown", "sports")),
        ({"urgency": "very-high"}, ("urgency", "unknown", "very-high")),
        ({"expires": ""}, ("expires", "invalid", "")),
        ({"expires": "next week"}, ("expires", "invalid", "next week")),
        # Without its zone a time is nobody's: refused rather than read as UTC.
        ({"expires": "2025-03-05T09:00:00"}, ("expires", "invalid", "2025-03-05T09:00:00")),
        ({"expires": "2025-03-01T08:00:00Z"}, ("expires", "too_soon", "2025-03-01T08:00:00Z")),
        ({"expires": "2025-03-01T09:29:59Z"}, ("expires", "too_soon", "2025-03-01T09:29:59Z")),
        ({"expires": "2025-03-29T08:30:01Z"}, ("expires", "too_far", "2025-03-29T08:30:01Z")),
        ({"link": "https://evil.example/"}, ("link", "invalid", "https://evil.example/")),
        ({"link": "//evil.example/help"}, ("link", "invalid", "//evil.example/help")),
        ({"link": "javascript:alert(1)"}, ("link", "invalid", "javascript:alert(1)")),
        # Browsers read "/\" as "//": another site, as is a Windows-style path.
        ({"link": "/\\evil.example/help"}, ("link", "invalid", "/\\evil.example/help")),
        ({"link": "\\\\evil.example\\help"}, ("link", "invalid", "\\\\evil.example\\help")),
        ({"link": "help:80"}, ("link", "invalid", "help:80")),
        ({"link": "/en/../../admin"}, ("link", "invalid", "/en/../../admin")),
        ({"link": "help?x=1"}, ("link", "invalid", "help?x=1")),
        ({"link": "articles/no-such-article"}, ("link", "unknown", "articles/no-such-article")),
        ({"link": "services/nowhere"}, ("link", "unknown", "services/nowhere")),
        ({"link": "topics/sports"}, ("link", "unknown", "topics/sports")),
        ({"link": "admin"}, ("link", "unknown", "admin")),
    ],
)
def test_each_mistake_is_refused_by_its_field(
    alerts: Alerts,
    leader: Account,
    clock: Clock,
    changes: dict[str, Any],
    problem: tuple[str, str, str | None],
) -> None:
    with pytest.raises(DraftRefused) as refused:
        alerts.submit(leader, _draft(clock, **changes))
    assert _problems(refused) == {problem}
    assert alerts.of_author(leader.id) == []


def test_every_refused_field_is_named_at_once(
    alerts: Alerts, leader: Account, clock: Clock
) -> None:
    draft = _draft(clock, corridors=["ID-HK"], topic="", link="https://x.example", expires="")
    with pytest.raises(DraftRefused) as refused:
        alerts.submit(leader, draft)
    assert {p[0] for p in _problems(refused)} == {"corridors", "topic", "link", "expires"}


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("help", "help"),
        ("safety", "safety"),
        ("/help/", "help"),
        ("articles/keep-your-passport", "articles/keep-your-passport"),
        # A reader's address pasted as it is: the locale goes, each reader gets her own.
        ("/fil/articles/keep-your-passport", "articles/keep-your-passport"),
        ("topics/at-work", "topics/at-work"),
        ("services/ae-dfwac", "services/ae-dfwac"),
        ("", None),
        ("   ", None),
    ],
)
def test_a_link_is_a_page_of_the_hub_without_its_locale(
    alerts: Alerts, leader: Account, clock: Clock, link: str, kept: str | None
) -> None:
    assert alerts.submit(leader, _draft(clock, link=link))["link"] == kept


def test_the_expiry_may_be_an_hour_to_four_weeks_away(
    alerts: Alerts, leader: Account, clock: Clock
) -> None:
    soonest = alerts.check(leader, _draft(clock, expires="2025-03-01T09:30:00Z"))
    latest = alerts.check(leader, _draft(clock, expires=_in(clock, MAX_EXPIRY)))
    assert soonest.draft.expires == "2025-03-01T09:30:00Z"
    assert latest.draft.expires == "2025-03-29T08:30:00Z"
    # Another zone is the same moment, stored in UTC.
    other = alerts.check(leader, _draft(clock, expires="2025-03-02T16:30:00+08:00"))
    assert other.draft.expires == "2025-03-02T08:30:00Z"


def test_corridors_and_locales_are_kept_in_one_form(
    alerts: Alerts, accounts: Accounts, clock: Clock
) -> None:
    leader = _leader(accounts, corridors=("PH-HK", "PH-SG"), locales=("fil", "en"))
    doc = alerts.submit(
        leader, _draft(clock, corridors=[" ph-sg", "PH-HK", "PH-HK"], locales=["FIL", "en"])
    )
    assert doc["corridors"] == ["PH-HK", "PH-SG"]
    assert doc["locales"] == ["en", "fil"]


# -- Burmese typed in Zawgyi -------------------------------------------------------------------


@pytest.fixture
def burmese_leader(accounts: Accounts) -> Account:
    return _leader(accounts, "thida@example.org", corridors=("MM-TH",), locales=("my",))


def _burmese(clock: Clock, title: str, body: str) -> Draft:
    return _draft(
        clock, texts={"my": {"title": title, "body": body}}, corridors=["MM-TH"], locales=["my"]
    )


def test_zawgyi_is_converted_to_unicode_when_the_model_is_sure(
    alerts: Alerts, burmese_leader: Account, clock: Clock
) -> None:
    # The title alone (one word) is too short for the model: read with its body it converts.
    checked = alerts.check(burmese_leader, _burmese(clock, "ပတ္စ္ပို႔", ZAWGYI_BODY))
    assert checked.converted == ("my",)
    assert checked.draft.texts["my"] == {"title": "ပတ်စ်ပို့", "body": ZAWGYI_AS_UNICODE}
    doc = alerts.submit(burmese_leader, _burmese(clock, "ပတ္စ္ပို႔", ZAWGYI_BODY))
    assert doc["texts"]["my"]["body"] == ZAWGYI_AS_UNICODE


def test_unicode_burmese_is_kept_as_typed(
    alerts: Alerts, burmese_leader: Account, clock: Clock
) -> None:
    checked = alerts.check(burmese_leader, _burmese(clock, UNICODE_UNSURE, ZAWGYI_AS_UNICODE))
    assert checked.converted == ()
    assert checked.draft.texts["my"] == {"title": UNICODE_UNSURE, "body": ZAWGYI_AS_UNICODE}
    short = alerts.check(burmese_leader, _burmese(clock, UNICODE_UNSURE, UNICODE_UNSURE))
    assert short.draft.texts["my"]["body"] == UNICODE_UNSURE


def test_zawgyi_that_cannot_be_converted_surely_is_refused(
    alerts: Alerts, burmese_leader: Account, clock: Clock
) -> None:
    with pytest.raises(DraftRefused) as refused:
        alerts.submit(burmese_leader, _burmese(clock, ZAWGYI_UNSURE, ZAWGYI_UNSURE))
    assert _problems(refused) == {("title", "zawgyi", "my"), ("body", "zawgyi", "my")}
    assert "Unicode" in str(refused.value)


# "Warning" typed in Unicode (the model: 0.000 Zawgyi) and "The embassy's phone number has
# changed" typed in Zawgyi (1.000): converting the title as Zawgyi would garble it.
UNICODE_TITLE = "သတိပေးချက်"
ZAWGYI_NEWS = "သံ႐ုံး၏ ဖုန္းနံပါတ္ ေျပာင္းလဲသြားပါၿပီ။"
ZAWGYI_NEWS_AS_UNICODE = "သံရုံး၏ ဖုန်းနံပါတ် ပြောင်းလဲသွားပါပြီ။"
# "How are you?" typed in Zawgyi (1.000), on its own as a title.
ZAWGYI_TITLE = "ေနေကာင္းလား"
ZAWGYI_TITLE_AS_UNICODE = "နေကောင်းလား"


def test_the_title_and_the_body_are_each_read_as_what_they_are(
    alerts: Alerts, burmese_leader: Account, clock: Clock
) -> None:
    # A Unicode title with a Zawgyi body: the body converted, the title kept as typed.
    checked = alerts.check(burmese_leader, _burmese(clock, UNICODE_TITLE, ZAWGYI_NEWS))
    assert checked.draft.texts["my"] == {"title": UNICODE_TITLE, "body": ZAWGYI_NEWS_AS_UNICODE}
    assert checked.converted == ("my",)
    # A Zawgyi title with a Unicode body: the title converted, the body kept.
    checked = alerts.check(burmese_leader, _burmese(clock, ZAWGYI_TITLE, ZAWGYI_AS_UNICODE))
    assert checked.draft.texts["my"] == {
        "title": ZAWGYI_TITLE_AS_UNICODE,
        "body": ZAWGYI_AS_UNICODE,
    }
    assert checked.converted == ("my",)


def test_a_short_field_goes_by_the_whole_text_but_is_refused_beside_unicode(
    alerts: Alerts, burmese_leader: Account, clock: Clock
) -> None:
    # Too short to tell alone, the title goes with its Zawgyi body: both converted.
    checked = alerts.check(burmese_leader, _burmese(clock, ZAWGYI_UNSURE, ZAWGYI_BODY))
    assert checked.draft.texts["my"] == {"title": "မင်္ဂလာပါ", "body": ZAWGYI_AS_UNICODE}
    # Beside a Unicode body the same title is a guess: refused, the body not.
    with pytest.raises(DraftRefused) as refused:
        alerts.check(burmese_leader, _burmese(clock, ZAWGYI_UNSURE, ZAWGYI_AS_UNICODE))
    assert _problems(refused) == {("title", "zawgyi", "my")}


def test_a_curators_translation_is_read_field_by_field_too(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    doc = alerts.submit(leader, _draft(clock))
    texts = {**doc["texts"], "my": {"title": UNICODE_TITLE, "body": ZAWGYI_NEWS}}
    edited = alerts.edit_texts(doc["id"], curator, texts)
    assert edited["texts"]["my"] == {"title": UNICODE_TITLE, "body": ZAWGYI_NEWS_AS_UNICODE}
    published = alerts.approve(doc["id"], curator)
    texts = {**published["texts"], "my": {"title": ZAWGYI_TITLE, "body": ZAWGYI_AS_UNICODE}}
    corrected = alerts.correct(doc["id"], curator, texts)
    assert corrected["texts"]["my"] == {
        "title": ZAWGYI_TITLE_AS_UNICODE,
        "body": ZAWGYI_AS_UNICODE,
    }


# -- scope and who writes ----------------------------------------------------------------------


def test_an_admin_writes_for_any_corridor_the_hub_serves(
    alerts: Alerts, accounts: Accounts, clock: Clock
) -> None:
    accounts.create("boss@example.org", None, role="admin")
    boss = accounts.set_network("boss@example.org", "Migrant Help Desk")
    texts = {"vi": {"title": "Số mới", "body": "Gọi 2345 6789."}}
    doc = alerts.submit(boss, _draft(clock, corridors=["VN-TW"], locales=["vi"], texts=texts))
    assert (doc["corridors"], doc["network"]) == (["VN-TW"], "Migrant Help Desk")


@pytest.mark.parametrize("role", ["curator", "translator"])
def test_roles_that_do_not_lead_cannot_submit(
    alerts: Alerts, accounts: Accounts, clock: Clock, role: str
) -> None:
    locales = ("en",) if role == "translator" else ()
    account = accounts.create(f"{role}@example.org", None, role=role, locales=locales)
    with pytest.raises(NotAllowed):
        alerts.submit(account, _draft(clock))


def test_a_leader_without_a_network_name_is_told_to_ask_for_one(
    alerts: Alerts, accounts: Accounts, clock: Clock
) -> None:
    nameless = _leader(accounts, network="")
    with pytest.raises(InvalidAlert) as refused:
        alerts.submit(nameless, _draft(clock))
    assert (refused.value.field, refused.value.reason) == ("network", "required")
    assert alerts.of_author(nameless.id) == []


# -- the daily limit ---------------------------------------------------------------------------


def test_the_daily_limit_counts_every_submitted_alert_over_24_hours(
    alerts: Alerts, accounts: Accounts, leader: Account, curator: Account, clock: Clock
) -> None:
    first = alerts.submit(leader, _draft(clock))
    clock.now += timedelta(hours=1)
    second = alerts.submit(leader, _draft(clock))
    # Rejected or withdrawn, they were still sent.
    alerts.reject(first["id"], curator, "Duplicate")
    alerts.withdraw(second["id"], leader)
    alerts.submit(leader, _draft(clock))
    assert alerts.sent_today(leader.id) == PER_DAY
    with pytest.raises(LimitReached) as refused:
        alerts.submit(leader, _draft(clock))
    assert (refused.value.field, refused.value.reason, refused.value.limit) == (
        "limit",
        "daily",
        PER_DAY,
    )
    assert len(alerts.of_author(leader.id)) == PER_DAY
    # Another leader has her own count.
    other = _leader(accounts, "ana@example.org")
    alerts.submit(other, _draft(clock))
    # 24 hours after the first, one more may go.
    clock.now += timedelta(hours=23, seconds=-1)
    with pytest.raises(LimitReached):
        alerts.submit(leader, _draft(clock))
    clock.now += timedelta(seconds=1)
    alerts.submit(leader, _draft(clock))


# -- publishing --------------------------------------------------------------------------------


def test_a_trusted_leaders_alert_is_published_at_once_and_queued_after_it_is_stored(
    alerts: Alerts,
    accounts: Accounts,
    clock: Clock,
    phone: Phone,
    outbox: Outbox,
    wake: Wake,
    watched: Watched,
    store: Store,
) -> None:
    trusted = _leader(accounts, trusted=True)
    fil = phone("PH-HK", "fil")
    phone("PH-HK", "fil", topics=("events",))
    phone("PH-SG", "fil")
    phone("PH-HK", "th")
    before = alerts.generation
    mark = len(watched.writes)
    doc = alerts.submit(trusted, _draft(clock))
    assert doc["status"] == "published" and doc["published"] == "2025-03-01T08:30:00Z"
    assert doc["reviewed_by"] is None
    assert deliveries(store, doc["id"]) == {fil: "pending"}
    report = outbox.report(doc["id"])
    assert (report.targeted, report.pending) == (1, 1)
    # Durable first: published on disk before the outbox wrote anything of it, and marked
    # queued only after.
    assert steps(watched, mark) == [
        (TABLE, doc["id"], "pending"),
        (TABLE, doc["id"], "published"),
        (DELIVERIES, doc["id"], "pending"),
        (TABLE, doc["id"], "fanned_out"),
    ]
    assert wake.times == 1
    stored = store.get(TABLE, doc["id"])
    assert stored is not None and stored["fanned_out"] is True
    assert alerts.generation != before


def test_approval_publishes_to_the_locales_with_a_text(
    alerts: Alerts,
    accounts: Accounts,
    curator: Account,
    clock: Clock,
    phone: Phone,
    outbox: Outbox,
    wake: Wake,
    store: Store,
) -> None:
    leader = _leader(accounts, locales=("en", "fil", "th"))
    en = phone("PH-HK", "en")
    phone("PH-HK", "th")  # targeted, but no Thai version yet: nothing to send her
    texts = {"en": {"title": "Hi", "body": "x"}}
    doc = alerts.submit(leader, _draft(clock, texts=texts, locales=["en", "th"]))
    assert deliveries(store, doc["id"]) == {} and wake.times == 0
    published = alerts.approve(doc["id"], curator)
    assert published["status"] == "published"
    assert published["reviewed_by"] == "cura@example.org"
    assert deliveries(store, doc["id"]) == {en: "pending"}
    assert outbox.report(doc["id"]).targeted == 1
    assert wake.times == 1


@pytest.mark.parametrize("role", ["leader", "translator"])
def test_only_curators_and_admins_moderate(
    alerts: Alerts, accounts: Accounts, leader: Account, clock: Clock, role: str
) -> None:
    doc = alerts.submit(leader, _draft(clock))
    account = (
        leader
        if role == "leader"
        else accounts.create("t@example.org", None, role="translator", locales=["en"])
    )
    steps: list[Callable[[], Document]] = [
        lambda: alerts.approve(doc["id"], account),
        lambda: alerts.reject(doc["id"], account, "No"),
        lambda: alerts.edit_texts(doc["id"], account, {"en": {"title": "a", "body": "b"}}),
    ]
    for step in steps:
        with pytest.raises(NotAllowed):
            step()
    assert alerts.get(doc["id"]) == doc


def test_an_alert_past_its_expiry_cannot_be_approved(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    doc = alerts.submit(leader, _draft(clock, expires=_in(clock, timedelta(hours=2))))
    clock.now += timedelta(hours=2)
    with pytest.raises(WrongState) as refused:
        alerts.approve(doc["id"], curator)
    assert refused.value.reason == "expired"


def test_rejection_keeps_the_reason_the_leader_sees(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    doc = alerts.submit(leader, _draft(clock))
    for reason, why in (("  ", "required"), ("x" * 501, "too_long"), ("a\x1bb", "control")):
        with pytest.raises(InvalidAlert) as refused:
            alerts.reject(doc["id"], curator, reason)
        assert (refused.value.field, refused.value.reason) == ("reason", why)
    rejected = alerts.reject(doc["id"], curator, "  The number is\nnot the shelter's. ")
    assert rejected["status"] == "rejected"
    assert rejected["reason"] == "The number is not the shelter's."
    assert alerts.of_author(leader.id)[0]["reason"] == "The number is not the shelter's."


# Which steps each state refuses (the state is the reason given).
STEPS_REFUSED = {
    "rejected": ("approve", "reject", "withdraw", "correct", "edit_texts"),
    "published": ("approve", "reject", "edit_texts"),
    "withdrawn": ("approve", "reject", "withdraw", "correct", "edit_texts"),
    "superseded": ("approve", "reject", "withdraw", "correct", "edit_texts"),
    # A curator rejects a pending alert, with a reason; only its author withdraws it.
    "pending": ("correct", "withdraw"),
}


@pytest.mark.parametrize("state", sorted(STEPS_REFUSED))
def test_each_state_refuses_the_steps_that_do_not_start_from_it(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock, state: str
) -> None:
    doc = alerts.submit(leader, _draft(clock))
    if state == "rejected":
        alerts.reject(doc["id"], curator, "No")
    elif state != "pending":
        alerts.approve(doc["id"], curator)
        if state == "withdrawn":
            alerts.withdraw(doc["id"], curator)
        elif state == "superseded":
            alerts.correct(doc["id"], curator, {"en": {"title": "Fixed", "body": "x"}})
    assert alerts.get(doc["id"])["status"] == state  # type: ignore[index]
    steps = {
        "approve": lambda: alerts.approve(doc["id"], curator),
        "reject": lambda: alerts.reject(doc["id"], curator, "No"),
        "withdraw": lambda: alerts.withdraw(doc["id"], curator),
        "correct": lambda: alerts.correct(doc["id"], curator, {"en": {"title": "a", "body": "b"}}),
        "edit_texts": lambda: alerts.edit_texts(
            doc["id"], curator, {"en": {"title": "a", "body": "b"}}
        ),
    }
    for name in STEPS_REFUSED[state]:
        with pytest.raises(WrongState) as refused:
            steps[name]()
        assert refused.value.reason == state, name
    assert alerts.get(doc["id"])["status"] == state  # type: ignore[index]


def test_an_unknown_alert_is_refused(alerts: Alerts, curator: Account) -> None:
    with pytest.raises(UnknownAlert):
        alerts.approve("no-such-id", curator)
    with pytest.raises(UnknownAlert):
        alerts.withdraw("", curator)


# -- withdrawing -------------------------------------------------------------------------------


def test_withdrawing_a_published_alert_cancels_what_is_not_delivered(
    alerts: Alerts,
    leader: Account,
    curator: Account,
    clock: Clock,
    phone: Phone,
    outbox: Outbox,
    store: Store,
) -> None:
    en, fil = phone("PH-HK", "en"), phone("PH-HK", "fil")
    doc = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    assert [a["id"] for a in alerts.published("PH-HK", "en")] == [doc["id"]]
    # The sender got one message out before the withdrawal (recorded as it records it).
    (sent,) = store.find(DELIVERIES, alert_id=doc["id"], subscription_id=fil)
    store.update(DELIVERIES, sent["id"], {"state": "delivered", "attempts": 1})
    before = alerts.generation
    clock.now += timedelta(minutes=5)
    gone = alerts.withdraw(doc["id"], leader)  # her own
    assert gone["status"] == "withdrawn" and gone["withdrawn"] == "2025-03-01T08:35:00Z"
    assert deliveries(store, doc["id"]) == {en: "cancelled", fil: "delivered"}
    report = outbox.report(doc["id"])
    assert (report.targeted, report.cancelled, report.delivered, report.pending) == (2, 1, 1, 0)
    assert alerts.published("PH-HK", "en") == []
    assert alerts.generation != before


def test_a_pending_alert_withdrawn_by_its_author_cancels_nothing(
    alerts: Alerts, leader: Account, clock: Clock, phone: Phone, watched: Watched
) -> None:
    phone("PH-HK", "en")
    doc = alerts.submit(leader, _draft(clock))
    mark = len(watched.writes)
    assert alerts.withdraw(doc["id"], leader)["status"] == "withdrawn"
    assert steps(watched, mark) == [(TABLE, doc["id"], "withdrawn")]


def test_a_leader_cannot_withdraw_or_correct_another_leaders_alert(
    alerts: Alerts,
    accounts: Accounts,
    leader: Account,
    curator: Account,
    clock: Clock,
    phone: Phone,
    store: Store,
) -> None:
    en = phone("PH-HK", "en")
    doc = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    other = _leader(accounts, "ana@example.org", trusted=True)
    with pytest.raises(NotAllowed):
        alerts.withdraw(doc["id"], other)
    with pytest.raises(NotAllowed):
        alerts.correct(doc["id"], other, {"en": {"title": "Mine now", "body": "x"}})
    assert alerts.get(doc["id"])["status"] == "published"  # type: ignore[index]
    assert deliveries(store, doc["id"]) == {en: "pending"}
    assert len(alerts.of_author(leader.id)) == 1


# -- correcting --------------------------------------------------------------------------------


def test_a_correction_replaces_the_old_version_under_the_same_topic(
    alerts: Alerts,
    leader: Account,
    curator: Account,
    clock: Clock,
    phone: Phone,
    outbox: Outbox,
    watched: Watched,
    store: Store,
) -> None:
    en = phone("PH-HK", "en")
    fil = phone("PH-HK", "fil")
    old = alerts.approve(alerts.submit(leader, _draft(clock, link="help"))["id"], curator)
    assert deliveries(store, old["id"]) == {en: "pending", fil: "pending"}
    mark = len(watched.writes)
    before = alerts.generation
    clock.now += timedelta(minutes=10)
    texts = {"en": {"title": "New shelter number (corrected)", "body": "Call 2345 6788."}}
    new = alerts.correct(old["id"], curator, texts, urgency="high")
    assert new["id"] != old["id"]
    assert (new["version"], new["replaces"], new["push_topic"]) == (2, old["id"], old["push_topic"])
    assert new["status"] == "published" and new["published"] == "2025-03-01T08:40:00Z"
    assert (new["corridors"], new["topic"], new["network"]) == (["PH-HK"], "safety", "Bayanihan HK")
    assert (new["urgency"], new["link"], new["expires"]) == ("high", "help", old["expires"])
    assert new["texts"] == texts
    assert alerts.get(old["id"])["status"] == "superseded"  # type: ignore[index]
    # The old one's undelivered messages go, then the new one to those with a text.
    assert deliveries(store, old["id"]) == {en: "cancelled", fil: "cancelled"}
    assert deliveries(store, new["id"]) == {en: "pending"}
    assert outbox.report(old["id"]).cancelled == 2
    # In this order: published and superseded at once, the old messages cancelled before
    # the new ones are queued (none of the old one goes out after the new).
    assert steps(watched, mark) == [
        (TABLE, new["id"], "pending"),
        (TABLE, new["id"], "published"),
        (TABLE, old["id"], "superseded"),
        (DELIVERIES, old["id"], "cancelled"),
        (DELIVERIES, old["id"], "cancelled"),
        (DELIVERIES, new["id"], "pending"),
        (TABLE, new["id"], "fanned_out"),
    ]
    assert [a["id"] for a in alerts.published("PH-HK", "en")] == [new["id"]]
    assert alerts.published("PH-HK", "fil") == []
    assert alerts.generation != before
    # A correction is not a new alert: the author's daily count is unchanged.
    assert alerts.sent_today(leader.id) == 1


def test_an_authors_correction_waits_for_review_while_the_old_version_stays(
    alerts: Alerts,
    leader: Account,
    curator: Account,
    clock: Clock,
    phone: Phone,
    watched: Watched,
    store: Store,
) -> None:
    en = phone("PH-HK", "en")
    old = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    texts = {"en": {"title": "Corrected", "body": "x"}}
    new = alerts.correct(old["id"], leader, texts)
    assert new["status"] == "pending" and new["replaces"] == old["id"]
    assert deliveries(store, new["id"]) == {}
    assert deliveries(store, old["id"]) == {en: "pending"}
    assert [a["id"] for a in alerts.published("PH-HK", "en")] == [old["id"]]
    mark = len(watched.writes)
    alerts.approve(new["id"], curator)
    assert alerts.get(old["id"])["status"] == "superseded"  # type: ignore[index]
    assert deliveries(store, old["id"]) == {en: "cancelled"}
    assert deliveries(store, new["id"]) == {en: "pending"}
    assert steps(watched, mark) == [
        (TABLE, new["id"], "published"),
        (TABLE, old["id"], "superseded"),
        (DELIVERIES, old["id"], "cancelled"),
        (DELIVERIES, new["id"], "pending"),
        (TABLE, new["id"], "fanned_out"),
    ]
    assert [a["id"] for a in alerts.published("PH-HK", "en")] == [new["id"]]


def test_a_correction_of_a_version_withdrawn_meanwhile_cannot_be_approved(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock, phone: Phone, store: Store
) -> None:
    en = phone("PH-HK", "en")
    old = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    new = alerts.correct(old["id"], leader, {"en": {"title": "Corrected", "body": "x"}})
    alerts.withdraw(old["id"], curator)
    with pytest.raises(WrongState) as refused:
        alerts.approve(new["id"], curator)
    assert refused.value.reason == "withdrawn"
    assert alerts.get(new["id"])["status"] == "pending"  # type: ignore[index]
    assert alerts.published("PH-HK", "en") == []
    # Nothing of either version goes to the phone.
    assert deliveries(store, old["id"]) == {en: "cancelled"}
    assert deliveries(store, new["id"]) == {}


def test_a_correction_is_checked_as_a_draft(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    old = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    with pytest.raises(DraftRefused) as refused:
        alerts.correct(old["id"], curator, {"en": {"title": "", "body": "x"}}, link="//x.example")
    assert _problems(refused) == {("title", "required", "en"), ("link", "invalid", "//x.example")}
    assert len(alerts.of_author(leader.id)) == 1


# -- a curator's translations ------------------------------------------------------------------


def test_a_curator_edits_and_adds_translations_of_a_pending_alert(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    doc = alerts.submit(leader, _draft(clock))
    texts = {
        "en": {"title": "New shelter number", "body": "Call 2345 6789 (24 hours)."},
        "th": {"title": "หมายเลขใหม่", "body": "โทร 2345 6789"},
    }
    edited = alerts.edit_texts(doc["id"], curator, texts)
    assert edited["texts"] == texts  # Filipino left out: removed
    assert edited["locales"] == ["en", "fil", "th"]
    assert edited["status"] == "pending"
    assert alerts.get(doc["id"]) == edited
    with pytest.raises(DraftRefused) as refused:
        alerts.edit_texts(doc["id"], curator, {"en": {"title": "x" * 81, "body": "b"}, "xx": {}})
    assert _problems(refused) == {("title", "too_long", "en"), ("locales", "unknown", "xx")}


# -- what readers see --------------------------------------------------------------------------


def ids(found: list[Document]) -> list[str]:
    return [str(a["id"]) for a in found]


def test_readers_see_published_unexpired_alerts_of_their_corridor_and_language_newest_first(
    alerts: Alerts, accounts: Accounts, curator: Account, clock: Clock
) -> None:
    leader = _leader(accounts, corridors=("PH-HK", "PH-SG"), trusted=True)
    alerts.per_day = 10
    first = alerts.submit(leader, _draft(clock, corridors=["PH-HK", "PH-SG"]))
    clock.now += timedelta(minutes=1)
    short = alerts.submit(leader, _draft(clock, expires=_in(clock, timedelta(hours=1))))
    clock.now += timedelta(minutes=1)
    fil_only = alerts.submit(
        leader, _draft(clock, texts={"fil": {"title": "Filipino", "body": "x"}})
    )
    clock.now += timedelta(minutes=1)
    singapore = alerts.submit(leader, _draft(clock, corridors=["PH-SG"]))
    withdrawn = alerts.submit(leader, _draft(clock))
    alerts.withdraw(withdrawn["id"], leader)
    untrusted = _leader(accounts, "ana@example.org")
    alerts.submit(untrusted, _draft(clock))  # pending
    assert ids(alerts.published("PH-HK", "en")) == [short["id"], first["id"]]
    assert ids(alerts.published("PH-HK", "fil")) == [fil_only["id"], short["id"], first["id"]]
    assert ids(alerts.published("PH-SG", "en")) == [singapore["id"], first["id"]]
    assert ids(alerts.published(None, "en")) == [singapore["id"], short["id"], first["id"]]
    assert alerts.published("PH-HK", "th") == []
    assert alerts.published("ID-HK", "en") == []
    # An hour after it was sent the short one is gone, and the generation says so.
    before = alerts.generation
    clock.now += timedelta(minutes=57, seconds=59)
    assert alerts.generation == before
    assert ids(alerts.published("PH-HK", "en")) == [short["id"], first["id"]]
    clock.now += timedelta(seconds=1)
    assert ids(alerts.published("PH-HK", "en")) == [first["id"]]
    assert alerts.generation != before


def test_the_generation_stays_while_nothing_readers_see_changes(
    alerts: Alerts, leader: Account, curator: Account, clock: Clock
) -> None:
    start = alerts.generation
    doc = alerts.submit(leader, _draft(clock))
    alerts.reject(doc["id"], curator, "No")
    other = alerts.submit(leader, _draft(clock))
    alerts.edit_texts(other["id"], curator, {"en": {"title": "a", "body": "b"}})
    alerts.withdraw(other["id"], leader)
    assert alerts.generation == start
    third = alerts.submit(leader, _draft(clock))
    alerts.approve(third["id"], curator)
    assert alerts.generation != start


def test_the_generation_is_new_after_a_restart(
    watched: Watched,
    clock: Clock,
    library: Library,
    alerts: Alerts,
    subscriptions: Subscriptions,
) -> None:
    first = alerts.generation
    clock.now += timedelta(seconds=1)
    again = _alerts(watched, clock, library, Outbox(watched, clock=clock), subscriptions, Wake())
    assert again.generation != first


def test_of_author_lists_her_own_newest_first(
    alerts: Alerts, accounts: Accounts, leader: Account, clock: Clock
) -> None:
    first = alerts.submit(leader, _draft(clock))
    clock.now += timedelta(seconds=1)
    second = alerts.submit(leader, _draft(clock))
    other = _leader(accounts, "ana@example.org")
    alerts.submit(other, _draft(clock))
    assert [a["id"] for a in alerts.of_author(leader.id)] == [second["id"], first["id"]]


# -- reach -------------------------------------------------------------------------------------


def test_the_reach_counts_phones_with_a_version_and_those_left_without(
    alerts: Alerts, phone: Phone
) -> None:
    for corridor, locale, topics in (
        ("PH-HK", "fil", ("safety",)),
        ("PH-HK", "fil", ("safety", "events")),
        ("PH-HK", "en", ("safety",)),
        ("PH-HK", "th", ("safety",)),
        ("PH-HK", "th", ("events",)),
        ("PH-SG", "fil", ("safety",)),
        ("PH-SG", "vi", ("safety",)),
    ):
        phone(corridor, locale, topics)
    reach = alerts.reach(["PH-HK"], ["fil"], "safety")
    assert reach.phones == 2
    assert dict(reach.without_text) == {"en": 1, "th": 1}
    assert reach.missed == 2
    both = alerts.reach(["PH-HK", "PH-SG"], ["fil", "en"], "safety")
    assert (both.phones, dict(both.without_text)) == (4, {"th": 1, "vi": 1})
    assert alerts.reach(["PH-HK"], [], "events").phones == 0


# -- the account's network and trust -----------------------------------------------------------


def test_an_accounts_network_name_is_cleaned_and_its_trust_kept(
    accounts: Accounts, store: Store
) -> None:
    made = accounts.create(
        "maria@example.org", None, role="leader", corridors=["PH-HK"], locales=["en"]
    )
    # Made before alerts existed, or never set: no name, not trusted.
    assert (made.network, made.trusted) == ("", False)
    named = accounts.set_network("maria@example.org", "  Bayanihan \t HK ")
    assert named.network == "Bayanihan HK"
    assert accounts.get("maria@example.org").network == "Bayanihan HK"  # type: ignore[union-attr]
    for raw, reason in (("x" * 101, "too_long"), ("A\x00B", "invalid"), ("A\u202eB", "invisible")):
        with pytest.raises(InvalidAccount) as refused:
            accounts.set_network("maria@example.org", raw)
        assert (refused.value.field, refused.value.reason) == ("network", reason)
    assert accounts.set_trusted("maria@example.org", True).trusted is True
    assert accounts.get("maria@example.org").trusted is True  # type: ignore[union-attr]
    with pytest.raises(InvalidAccount):
        accounts.set_trusted("maria@example.org", "on")  # type: ignore[arg-type]
    assert accounts.set_trusted("maria@example.org", False).trusted is False
    assert accounts.set_network("maria@example.org", "").network == ""


def test_old_account_documents_read_without_network_or_trust(store: Store) -> None:
    doc = {
        "id": "a1",
        "email": "old@example.org",
        "display_name": "",
        "role": "leader",
        "corridors": ["PH-HK"],
        "locales": ["en"],
        "active": True,
        "created": "2024-01-01T00:00:00Z",
        "last_sign_in": None,
        "password_hash": None,
        "credentials_changed": "x",
    }
    account = Account.from_document(doc)
    assert (account.network, account.trusted) == ("", False)


def test_what_readers_see_is_read_from_the_store_each_time_and_theirs_to_change(
    alerts: Alerts, accounts: Accounts, curator: Account, clock: Clock, store: Store
) -> None:
    trusted = _leader(accounts, trusted=True)
    alerts.per_day = 300
    # More live alerts than one page of the store holds, among many expired ones.
    for n in range(250):
        hours = 2 if n % 2 else 24 * 7
        alerts.submit(trusted, _draft(clock, expires=_in(clock, timedelta(hours=hours))))
        clock.now += timedelta(seconds=1)
    clock.now += timedelta(hours=2)
    shown = alerts.published("PH-HK", "en")
    assert len(shown) == 125
    assert [a["published"] for a in shown] == sorted((a["published"] for a in shown), reverse=True)
    # The caller's own copy: changing it changes nothing stored.
    shown[0]["texts"]["en"]["title"] = "Changed by a caller"
    assert alerts.published("PH-HK", "en")[0]["texts"]["en"]["title"] == "New shelter number"
    # A change written to the store by another way (a restored backup) is seen at once.
    store.update(TABLE, shown[0]["id"], {"status": "withdrawn"})
    assert len(alerts.published("PH-HK", "en")) == 124


def test_an_alert_published_but_not_queued_before_a_crash_is_queued_by_resume(
    alerts: Alerts,
    accounts: Accounts,
    leader: Account,
    curator: Account,
    clock: Clock,
    library: Library,
    phone: Phone,
    subscriptions: Subscriptions,
    watched: Watched,
    store: Store,
) -> None:
    en = phone("PH-HK", "en")
    old = alerts.approve(alerts.submit(leader, _draft(clock))["id"], curator)
    pending = alerts.submit(leader, _draft(clock))
    trusted = _leader(accounts, "ana@example.org", trusted=True)
    # The process stops as each step reaches the outbox: its first write fails.
    watched.crash_on.add(DELIVERIES)
    with pytest.raises(Crash):
        alerts.approve(pending["id"], curator)
    with pytest.raises(Crash):
        alerts.correct(old["id"], curator, {"en": {"title": "Fixed", "body": "x"}})
    with pytest.raises(Crash):
        alerts.submit(trusted, _draft(clock))
    # Published and durable, not queued yet: readers see them, the sender has nothing.
    stored = {d["id"]: d for d in store.find(TABLE, status="published")}
    assert len(stored) == 3
    assert {d["fanned_out"] for d in stored.values()} == {False}
    assert {d["id"] for d in alerts.published("PH-HK", "en")} == set(stored)
    assert any(d["replaces"] == old["id"] for d in stored.values())
    assert alerts.get(old["id"])["status"] == "superseded"  # type: ignore[index]
    assert [deliveries(store, doc_id) for doc_id in stored] == [{}, {}, {}]
    # Nor were the old version's messages cancelled.
    assert deliveries(store, old["id"]) == {en: "pending"}
    # The restart: start_push makes the parts anew and calls resume.
    watched.crash_on.clear()
    woken = Wake()
    again = _alerts(watched, clock, library, Outbox(watched, clock=clock), subscriptions, woken)
    assert again.resume() == 3
    assert [deliveries(store, doc_id) for doc_id in stored] == [{en: "pending"}] * 3
    assert deliveries(store, old["id"]) == {en: "cancelled"}
    assert woken.times == 1
    assert {d["fanned_out"] for d in store.find(TABLE, status="published")} == {True}
    # Once: the next start finds nothing to queue and writes nothing.
    mark = len(watched.writes)
    assert again.resume() == 0 and watched.writes[mark:] == []
    assert woken.times == 1
