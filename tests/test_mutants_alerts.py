"""Mutation tests of hub/push/alerts.py (docs/testing.md, "Mutation testing"): each step of an
alert's life field by field, with its exact refusals, on the real module and a real store in a
temp folder. The outbox and the subscriptions are the module's own edges (its `Queue` and
`Audience` protocols): fakes that record what they were asked; the clock is the tests' fake.
No app is started."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest

from hub.auth.accounts import Account, utc_now
from hub.content.library import Library
from hub.content.loader import load_library
from hub.push.alerts import (
    KEEP,
    TABLE,
    Alerts,
    Draft,
    DraftRefused,
    InvalidAlert,
    LimitReached,
    NotAllowed,
    Reach,
    UnknownAlert,
    WrongState,
)
from hub.settings import PROJECT_ROOT
from hub.store import Store
from hub.store.base import BatchContext, Document
from tests.conftest import Clock, LocalZone

# The fake clock's start (tests/conftest.py Clock): 2025-03-01 08:30 UTC.
START = "2025-03-01T08:30:00Z"
START_MS = 1740817800000
WEEK_ON = "2025-03-08T08:30:00Z"

FIL = {"title": "Bagong numero ng shelter", "body": "Tumawag sa 2345 6789."}
EN = {"title": "New shelter number", "body": "Call 2345 6789."}


@pytest.fixture(scope="module")
def library() -> Library:
    loaded, _ = load_library(PROJECT_ROOT / "content")
    return loaded


# -- the edges: outbox, subscriptions, a store with hooks ------------------------------------


class FakeOutbox:
    """The outbox (Queue): what was queued and cancelled, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.queued: list[dict[str, Any]] = []

    def enqueue(self, alert: Document, subscriptions: Iterable[Document]) -> int:
        subs = tuple(s["id"] for s in subscriptions)
        self.calls.append(("enqueue", alert["id"], *subs))
        self.queued.append(dict(alert))
        return len(subs)

    def cancel(self, alert_id: str) -> int:
        self.calls.append(("cancel", alert_id))
        return 0


Asked = tuple[str, tuple[str, ...], tuple[str, ...], str]


class FakeAudience:
    """The subscriptions (Audience): one subscription per corridor and locale asked for, and
    counts given by the test."""

    def __init__(self) -> None:
        self.asked: list[Asked] = []
        self.counts: dict[tuple[tuple[str, ...], tuple[str, ...], str], int] = {}

    def matching(
        self, corridors: Iterable[str], locales: Iterable[str], topic: str
    ) -> list[Document]:
        cs, ls = tuple(corridors), tuple(locales)
        self.asked.append(("matching", cs, ls, topic))
        return [{"id": f"sub-{c}-{loc}"} for c in cs for loc in ls]

    def count_matching(self, corridors: Iterable[str], locales: Iterable[str], topic: str) -> int:
        cs, ls = tuple(corridors), tuple(locales)
        self.asked.append(("count", cs, ls, topic))
        return self.counts.get((cs, ls, topic), 0)


class Hooked:
    """The test's real store, with a hook run once before the next batch or update (another
    request's write landing just then), or after the next page read."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.before_batch: Callable[[], None] | None = None
        self.before_update: Callable[[], None] | None = None
        self.after_page: Callable[[], None] | None = None
        # Pages a test may read: a paging that never ends fails the test instead of hanging it.
        self.pages_left = 50

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def batch(self) -> BatchContext:
        hook, self.before_batch = self.before_batch, None
        if hook:
            hook()
        return self.store.batch()

    def update(self, table: str, doc_id: str, changes: Any, *, expect: Any = None) -> bool:
        hook, self.before_update = self.before_update, None
        if hook:
            hook()
        return self.store.update(table, doc_id, changes, expect=expect)

    def page(self, table: str, where: Any = None, **kwargs: Any) -> list[Document]:
        self.pages_left -= 1
        assert self.pages_left >= 0, "the pages never end"
        found = self.store.page(table, where, **kwargs)
        hook, self.after_page = self.after_page, None
        if hook:
            hook()
        return found


class Wake:
    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> None:
        self.times += 1


@dataclass
class Rig:
    alerts: Alerts
    store: Store
    hooked: Hooked
    outbox: FakeOutbox
    audience: FakeAudience
    wake: Wake
    clock: Clock
    per_day: int = 3
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def rig(store: Store, clock: Clock, library: Library) -> Rig:
    hooked = Hooked(store)
    outbox, audience, wake = FakeOutbox(), FakeAudience(), Wake()
    alerts = Alerts(
        cast(Store, hooked),
        outbox=outbox,
        subscriptions=audience,
        per_day=3,
        wake=wake,
        library=library,
        clock=clock,
    )
    return Rig(alerts, store, hooked, outbox, audience, wake, clock)


def person(
    role: str = "leader",
    *,
    ident: str = "acct-maria",
    email: str = "maria@example.org",
    corridors: tuple[str, ...] = ("PH-HK",),
    locales: tuple[str, ...] = ("en", "fil"),
    network: str = "Bayanihan HK",
    trusted: bool = False,
) -> Account:
    return Account(
        id=ident,
        email=email,
        display_name="Someone",
        role=role,
        corridors=corridors,
        locales=locales,
        active=True,
        created="2025-01-01T00:00:00Z",
        last_sign_in=None,
        credentials_changed="2025-01-01T00:00:00Z",
        network=network,
        trusted=trusted,
    )


MARIA = person()
TRUSTED = person(ident="acct-ana", email="ana@example.org", trusted=True)
OTHER = person(ident="acct-joy", email="joy@example.org")
CURATOR = person("curator", ident="acct-cura", email="cura@example.org", corridors=(), locales=())
ADMIN = person("admin", ident="acct-root", email="root@example.org", corridors=(), locales=())


def draft(**changes: Any) -> Draft:
    fields: dict[str, Any] = {
        "texts": {"fil": FIL, "en": EN},
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "topic": "safety",
        "urgency": "normal",
        "expires": WEEK_ON,
        "link": "help",
    }
    return Draft(**{**fields, **changes})


def later(clock: Clock, **delta: float) -> None:
    clock.now = clock.now + timedelta(**delta)


def stored(rig: Rig, alert_id: str) -> Document:
    found = rig.store.get(TABLE, alert_id)
    assert found is not None
    return found


# -- the errors --------------------------------------------------------------------------------


def test_each_refusal_names_its_field_reason_and_words() -> None:
    # LimitReached, NotAllowed, WrongState, UnknownAlert: each string and keyword of __init__.
    limit = LimitReached(3)
    assert (limit.field, limit.reason, limit.value, limit.limit) == ("limit", "daily", None, 3)
    assert str(limit) == "at most 3 alerts in 24 hours: try again later"
    no = NotAllowed("approve alerts")
    assert (no.field, no.reason, no.value) == ("account", "not_allowed", None)
    assert str(no) == "this account may not approve alerts"
    wrong = WrongState("pending", "approved")
    assert (wrong.field, wrong.reason, wrong.value) == ("status", "pending", None)
    assert str(wrong) == "an alert that is pending cannot be approved"
    unknown = UnknownAlert("a-1")
    assert isinstance(unknown, LookupError)
    assert (unknown.field, unknown.reason, unknown.value) == ("alert", "unknown", None)
    assert str(unknown) == "no alert has the id 'a-1'"


# -- made --------------------------------------------------------------------------------------


def test_an_alerts_keeps_what_it_is_given(rig: Rig, library: Library, clock: Clock) -> None:
    # __init__: per_day, library, clock, the corridors of the drafts, the first generation.
    alerts = rig.alerts
    assert alerts.per_day == 3
    assert alerts.library is library
    assert alerts.clock is clock
    assert alerts.corridors[:3] == ("PH-HK", "PH-SG", "PH-MY")
    assert len(alerts.corridors) == 53
    assert alerts.generation == START_MS
    assert alerts.generation == START_MS


def test_the_default_clock_is_utc_now(store: Store, library: Library) -> None:
    alerts = Alerts(
        store,
        outbox=FakeOutbox(),
        subscriptions=FakeAudience(),
        per_day=1,
        wake=Wake(),
        library=library,
    )
    assert alerts.clock is utc_now


# -- submit --------------------------------------------------------------------------------------


def test_a_submitted_alert_is_stored_with_every_field(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft(urgency="high"))
    topic = doc["push_topic"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", topic)
    assert doc == {
        "id": doc["id"],
        "push_topic": topic,
        "version": 1,
        "replaces": None,
        "account_id": "acct-maria",
        "network": "Bayanihan HK",
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "texts": {"en": EN, "fil": FIL},
        "topic": "safety",
        "urgency": "high",
        "expires": WEEK_ON,
        "link": "help",
        "status": "pending",
        "reason": None,
        "created": START,
        "published": None,
        "reviewed_by": None,
        "withdrawn": None,
        "fanned_out": False,
    }
    assert stored(rig, doc["id"]) == doc
    assert rig.alerts.get(doc["id"]) == doc
    assert rig.alerts.get("no-such-alert") is None
    assert rig.outbox.calls == [] and rig.audience.asked == [] and rig.wake.times == 0
    assert rig.alerts.generation == START_MS
    second = rig.alerts.submit(MARIA, draft())
    assert second["push_topic"] != topic


class Ticking(Clock):
    """A clock one second on at each reading."""

    def __call__(self) -> datetime:
        moment = self.now
        self.now = moment + timedelta(seconds=1)
        return moment


def test_submit_checks_the_draft_at_the_moment_it_stamps(store: Store, library: Library) -> None:
    # submit reads the clock once: the draft is checked at the time it is stamped with.
    clock = Ticking()
    alerts = Alerts(
        store,
        outbox=FakeOutbox(),
        subscriptions=FakeAudience(),
        per_day=3,
        wake=Wake(),
        library=library,
        clock=clock,
    )
    doc = alerts.submit(MARIA, draft(expires="2025-03-01T09:30:01Z"))  # an hour from 08:30:01
    assert (doc["created"], doc["expires"]) == ("2025-03-01T08:30:01Z", "2025-03-01T09:30:01Z")
    # ... and its daily limit counted back from that same moment: alerts created 24 hours
    # less a second before it still count.
    for n in range(2):
        store.insert(
            TABLE,
            {"id": f"old-{n}", "account_id": "acct-maria", "created": "2025-02-28T08:30:03Z"},
        )
    with pytest.raises(LimitReached):
        alerts.submit(MARIA, draft())  # stamped 08:30:02: counts back to 08:30:02 the day before


def test_times_are_stamped_in_utc_wherever_the_hub_runs(rig: Rig, local_zone: LocalZone) -> None:
    # _format turns the moment into UTC, not into the process's local zone.
    local_zone("Asia/Manila")
    doc = rig.alerts.submit(TRUSTED, draft())
    assert (doc["created"], doc["published"]) == (START, START)
    assert rig.alerts.sent_today("acct-ana") == 1


def test_only_leaders_and_admins_submit(rig: Rig) -> None:
    for role in ("curator", "viewer", "editor"):
        with pytest.raises(NotAllowed) as refused:
            rig.alerts.submit(person(role), draft())
        assert str(refused.value) == "this account may not submit alerts"
    # An admin writes for any corridor (no scope), a leader only within hers.
    doc = rig.alerts.submit(ADMIN, draft(corridors=["MM-KR"], locales=["my"], texts={"my": EN}))
    assert doc["corridors"] == ["MM-KR"] and doc["account_id"] == "acct-root"
    with pytest.raises(DraftRefused) as out:
        rig.alerts.submit(MARIA, draft(corridors=["MM-KR"]))
    assert out.value.field == "corridors"
    assert rig.store.count(TABLE) == 1


def test_no_network_name_is_refused_after_the_draft_is_checked(rig: Rig) -> None:
    nameless = person(network="")
    with pytest.raises(InvalidAlert) as refused:
        rig.alerts.submit(nameless, draft())
    assert not isinstance(refused.value, DraftRefused)
    assert (refused.value.field, refused.value.reason) == ("network", "required")
    assert str(refused.value) == "the account has no network name to show readers"
    with pytest.raises(DraftRefused):
        rig.alerts.submit(nameless, draft(topic="gossip"))
    assert rig.store.count(TABLE) == 0


def test_the_daily_limit_counts_the_last_24_hours_to_the_second(rig: Rig) -> None:
    for _ in range(3):
        rig.alerts.submit(MARIA, draft())
    with pytest.raises(LimitReached) as refused:
        rig.alerts.submit(MARIA, draft())
    assert refused.value.limit == 3
    assert str(refused.value) == "at most 3 alerts in 24 hours: try again later"
    rig.alerts.submit(OTHER, draft())  # another leader's count is her own
    later(rig.clock, hours=24, seconds=-1)
    with pytest.raises(LimitReached):
        rig.alerts.submit(MARIA, draft(expires="2025-03-09T08:30:00Z"))
    later(rig.clock, seconds=1)  # exactly 24 hours on: those three no longer count
    rig.alerts.submit(MARIA, draft(expires="2025-03-09T08:30:00Z"))
    assert rig.store.count(TABLE, account_id="acct-maria") == 4


def test_sent_today_counts_originals_created_after_the_cutoff(rig: Rig) -> None:
    base = {"account_id": "acct-maria", "status": "pending"}
    rig.store.insert(TABLE, {**base, "id": "a", "replaces": None, "created": START})
    rig.store.insert(TABLE, {**base, "id": "b", "created": "2025-02-28T08:30:01Z"})  # no key
    rig.store.insert(TABLE, {**base, "id": "c", "replaces": "a", "created": START})
    rig.store.insert(
        TABLE, {**base, "id": "d", "replaces": None, "created": "2025-02-28T08:30:00Z"}
    )
    rig.store.insert(
        TABLE, {**base, "id": "e", "account_id": "x", "replaces": None, "created": START}
    )
    assert rig.alerts.sent_today("acct-maria") == 2
    # `now` given, in another zone: its UTC time is what counts.
    manila = timezone(timedelta(hours=8))

    def at_manila(day: int, hour: int, minute: int, second: int = 0) -> int:
        moment = datetime(2025, 3, day, hour, minute, second, tzinfo=manila)
        return rig.alerts.sent_today("acct-maria", moment)

    assert at_manila(2, 16, 29, 59) == 1
    assert at_manila(2, 16, 30) == 0
    assert at_manila(1, 16, 30) == 2


def test_a_trusted_leaders_alert_is_published_and_queued(rig: Rig) -> None:
    doc = rig.alerts.submit(TRUSTED, draft())
    assert doc["status"] == "published"
    assert doc["published"] == START
    assert doc["reviewed_by"] is None
    assert doc["fanned_out"] is True
    assert stored(rig, doc["id"]) == doc
    assert rig.audience.asked == [("matching", ("PH-HK",), ("en", "fil"), "safety")]
    assert rig.outbox.calls == [("enqueue", doc["id"], "sub-PH-HK-en", "sub-PH-HK-fil")]
    # What was queued: the published alert, before it was marked queued.
    assert rig.outbox.queued == [{**doc, "fanned_out": False}]
    assert rig.wake.times == 1
    assert rig.alerts.generation == START_MS + 1


# -- check ---------------------------------------------------------------------------------------


def test_check_reads_the_clock_unless_given_a_time(rig: Rig) -> None:
    soon = "2025-03-01T09:00:00Z"  # half an hour from the clock
    with pytest.raises(DraftRefused) as refused:
        rig.alerts.check(MARIA, draft(expires=soon))
    assert (refused.value.field, refused.value.reason) == ("expires", "too_soon")
    early = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)
    checked = rig.alerts.check(MARIA, draft(expires=soon, corridors=[" ph-hk "]), early)
    assert checked.draft.expires == soon
    assert checked.draft.corridors == ("PH-HK",) or list(checked.draft.corridors) == ["PH-HK"]
    with pytest.raises(NotAllowed) as no:
        rig.alerts.check(CURATOR, draft())
    assert str(no.value) == "this account may not submit alerts"
    # An admin has no scope; a leader's is her own corridors.
    assert list(rig.alerts.check(ADMIN, draft(corridors=["VN-TW"])).draft.corridors) == ["VN-TW"]
    with pytest.raises(DraftRefused):
        rig.alerts.check(MARIA, draft(corridors=["VN-TW"]))


# -- approve, reject -----------------------------------------------------------------------------


def test_approval_publishes_with_the_curators_email(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    later(rig.clock, minutes=5)
    approved = rig.alerts.approve(doc["id"], CURATOR)
    assert approved == {
        **doc,
        "status": "published",
        "published": "2025-03-01T08:35:00Z",
        "reviewed_by": "cura@example.org",
        "fanned_out": True,
    }
    assert stored(rig, doc["id"]) == approved
    assert rig.outbox.calls == [("enqueue", doc["id"], "sub-PH-HK-en", "sub-PH-HK-fil")]
    assert rig.wake.times == 1
    with pytest.raises(WrongState) as again:
        rig.alerts.approve(doc["id"], ADMIN)
    assert (again.value.reason, str(again.value)) == (
        "published",
        "an alert that is published cannot be approved",
    )


def test_only_moderators_approve_reject_and_edit(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    steps: list[tuple[Callable[[], object], str]] = [
        (lambda: rig.alerts.approve(doc["id"], MARIA), "approve alerts"),
        (lambda: rig.alerts.reject(doc["id"], MARIA, "No"), "reject alerts"),
        (lambda: rig.alerts.edit_texts(doc["id"], MARIA, {"en": EN}), "edit alerts"),
    ]
    for step, words in steps:
        with pytest.raises(NotAllowed) as refused:
            step()
        assert str(refused.value) == f"this account may not {words}"
    assert stored(rig, doc["id"]) == doc


def test_an_alert_cannot_be_approved_from_its_expiry_on(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft(expires="2025-03-01T09:30:00Z"))
    later(rig.clock, hours=1)
    with pytest.raises(WrongState) as refused:
        rig.alerts.approve(doc["id"], CURATOR)
    assert (refused.value.reason, str(refused.value)) == (
        "expired",
        "an alert that is expired cannot be approved",
    )
    later(rig.clock, seconds=-1)
    assert rig.alerts.approve(doc["id"], CURATOR)["status"] == "published"


def test_an_approval_raced_by_another_curator_is_refused(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())

    def rejected_meanwhile() -> None:
        rig.store.update(TABLE, doc["id"], {"status": "rejected"})

    rig.hooked.before_batch = rejected_meanwhile
    with pytest.raises(WrongState) as refused:
        rig.alerts.approve(doc["id"], CURATOR)
    assert (refused.value.reason, str(refused.value)) == (
        "rejected",
        "an alert that is rejected cannot be published",
    )
    assert rig.outbox.calls == [] and rig.wake.times == 0
    assert rig.alerts.generation == START_MS


def test_rejection_keeps_the_reason_on_one_line(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    rejected = rig.alerts.reject(doc["id"], CURATOR, "  Wrong\n number ")
    assert rejected == {
        **doc,
        "status": "rejected",
        "reason": "Wrong number",
        "reviewed_by": "cura@example.org",
    }
    assert stored(rig, doc["id"]) == rejected
    with pytest.raises(WrongState) as again:
        rig.alerts.reject(doc["id"], CURATOR, "Again")
    assert str(again.value) == "an alert that is rejected cannot be rejected"
    # The reason is checked before the alert is looked up.
    with pytest.raises(InvalidAlert) as empty:
        rig.alerts.reject("no-such-alert", CURATOR, "  ")
    assert (empty.value.field, empty.value.reason) == ("reason", "required")
    assert rig.outbox.calls == []


def test_a_rejection_raced_by_a_withdrawal_is_refused(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())

    def withdrawn_meanwhile() -> None:
        rig.store.update(TABLE, doc["id"], {"status": "withdrawn"})

    rig.hooked.before_update = withdrawn_meanwhile
    with pytest.raises(WrongState) as refused:
        rig.alerts.reject(doc["id"], CURATOR, "No")
    assert (refused.value.reason, str(refused.value)) == (
        "withdrawn",
        "an alert that is withdrawn cannot be rejected",
    )
    assert stored(rig, doc["id"])["reason"] is None


def test_unknown_and_empty_ids_are_refused(rig: Rig) -> None:
    for alert_id in ("", "no-such-alert"):
        with pytest.raises(UnknownAlert) as refused:
            rig.alerts.approve(alert_id, CURATOR)
        assert str(refused.value) == f"no alert has the id {alert_id!r}"


# -- withdraw --------------------------------------------------------------------------------------


def test_a_pending_alert_is_withdrawn_by_its_author_only(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    for someone in (CURATOR, ADMIN):
        with pytest.raises(WrongState) as refused:
            rig.alerts.withdraw(doc["id"], someone)
        assert str(refused.value) == "an alert that is pending cannot be withdrawn"
    with pytest.raises(NotAllowed) as other:
        rig.alerts.withdraw(doc["id"], OTHER)
    assert str(other.value) == "this account may not withdraw another author's alert"
    later(rig.clock, hours=2)
    gone = rig.alerts.withdraw(doc["id"], MARIA)
    assert gone == {**doc, "status": "withdrawn", "withdrawn": "2025-03-01T10:30:00Z"}
    assert stored(rig, doc["id"]) == gone
    assert rig.outbox.calls == [] and rig.wake.times == 0
    assert rig.alerts.generation == START_MS
    with pytest.raises(WrongState) as again:
        rig.alerts.withdraw(doc["id"], MARIA)
    assert (again.value.reason, str(again.value)) == (
        "withdrawn",
        "an alert that is withdrawn cannot be withdrawn",
    )


@pytest.mark.parametrize("who", [MARIA, CURATOR, ADMIN])
def test_a_published_alert_is_withdrawn_by_its_author_or_a_moderator(
    rig: Rig, who: Account
) -> None:
    doc = rig.alerts.approve(rig.alerts.submit(MARIA, draft())["id"], CURATOR)
    rig.outbox.calls.clear()
    assert rig.alerts.generation == START_MS + 1
    gone = rig.alerts.withdraw(doc["id"], who)
    assert gone == {**doc, "status": "withdrawn", "withdrawn": START}
    assert stored(rig, doc["id"]) == gone
    assert rig.outbox.calls == [("cancel", doc["id"])]
    assert rig.alerts.generation == START_MS + 2
    assert rig.wake.times == 1


def test_a_rejected_alert_cannot_be_withdrawn(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    rig.alerts.reject(doc["id"], CURATOR, "No")
    for who in (MARIA, CURATOR):
        with pytest.raises(WrongState) as refused:
            rig.alerts.withdraw(doc["id"], who)
        assert refused.value.reason == "rejected"
    with pytest.raises(NotAllowed):
        rig.alerts.withdraw(doc["id"], OTHER)


def test_a_withdrawal_raced_by_an_approval_is_refused(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())

    def approved_meanwhile() -> None:
        rig.store.update(TABLE, doc["id"], {"status": "published"})

    rig.hooked.before_update = approved_meanwhile
    with pytest.raises(WrongState) as refused:
        rig.alerts.withdraw(doc["id"], MARIA)
    assert str(refused.value) == "an alert that is published cannot be withdrawn"
    assert rig.outbox.calls == []


# -- edit_texts ----------------------------------------------------------------------------------


def test_a_curators_edit_replaces_the_texts_and_targets_new_locales(rig: Rig) -> None:
    doc = rig.alerts.submit(MARIA, draft())
    th = {"title": "หมายเลขใหม่", "body": "โทร 2345 6789"}
    edited = rig.alerts.edit_texts(doc["id"], CURATOR, {"th": th, "en": {**EN, "title": " A "}})
    assert edited == {
        **doc,
        "texts": {"en": {**EN, "title": "A"}, "th": th},
        "locales": ["en", "fil", "th"],
    }
    assert stored(rig, doc["id"]) == edited
    # Approved, it goes to the locales with a text only (Filipino's was removed).
    rig.alerts.approve(doc["id"], CURATOR)
    assert rig.audience.asked == [("matching", ("PH-HK",), ("en", "th"), "safety")]
    with pytest.raises(WrongState) as refused:
        rig.alerts.edit_texts(doc["id"], CURATOR, {"en": EN})
    assert str(refused.value) == "an alert that is published cannot be edited"
    with pytest.raises(DraftRefused):
        rig.alerts.edit_texts(rig.alerts.submit(MARIA, draft())["id"], ADMIN, {"xx": EN})


def test_an_edit_raced_by_an_approval_is_refused(rig: Rig) -> None:
    # edit_texts' own words when the store refuses the change (_change's `what`).
    doc = rig.alerts.submit(MARIA, draft())

    def approved_meanwhile() -> None:
        rig.store.update(TABLE, doc["id"], {"status": "published"})

    rig.hooked.before_update = approved_meanwhile
    with pytest.raises(WrongState) as refused:
        rig.alerts.edit_texts(doc["id"], CURATOR, {"en": EN})
    assert (refused.value.reason, str(refused.value)) == (
        "published",
        "an alert that is published cannot be edited",
    )
    assert stored(rig, doc["id"])["texts"] == {"en": EN, "fil": FIL}


# -- correct ---------------------------------------------------------------------------------------


def _published(rig: Rig, author: Account = MARIA, **changes: Any) -> Document:
    doc = rig.alerts.submit(author, draft(**changes))
    if doc["status"] == "pending":
        doc = rig.alerts.approve(doc["id"], CURATOR)
    rig.outbox.calls.clear()
    rig.audience.asked.clear()
    rig.wake.times = 0
    return doc


def test_an_authors_correction_waits_with_every_field_of_a_new_version(rig: Rig) -> None:
    old = _published(rig)
    later(rig.clock, hours=1)
    new_en = {"title": "Corrected number", "body": "Call 2345 6780."}
    doc = rig.alerts.correct(old["id"], MARIA, {"en": new_en})
    assert doc == {
        "id": doc["id"],
        "push_topic": old["push_topic"],
        "version": 2,
        "replaces": old["id"],
        "account_id": "acct-maria",
        "network": "Bayanihan HK",
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "texts": {"en": new_en},
        "topic": "safety",
        "urgency": "normal",
        "expires": WEEK_ON,
        "link": "help",
        "status": "pending",
        "reason": None,
        "created": "2025-03-01T09:30:00Z",
        "published": None,
        "reviewed_by": None,
        "withdrawn": None,
        "fanned_out": False,
    }
    assert doc["id"] != old["id"]
    assert stored(rig, doc["id"]) == doc
    assert stored(rig, old["id"]) == old  # still published until the correction is approved
    assert rig.outbox.calls == [] and rig.wake.times == 0
    assert rig.alerts.generation == START_MS + 1
    # A correction is no new alert: the daily count leaves it out.
    assert rig.alerts.sent_today("acct-maria") == 1
    # Approved: the old version superseded, its messages cancelled, then the new queued.
    approved = rig.alerts.approve(doc["id"], CURATOR)
    assert approved["reviewed_by"] == "cura@example.org"
    assert stored(rig, old["id"])["status"] == "superseded"
    assert rig.outbox.calls == [
        ("cancel", old["id"]),
        ("enqueue", doc["id"], "sub-PH-HK-en"),
    ]
    assert rig.wake.times == 1


def test_a_correction_takes_a_new_expiry_link_and_urgency_when_given(rig: Rig) -> None:
    old = _published(rig)
    kept = rig.alerts.correct(old["id"], MARIA, {"en": EN}, link=KEEP)
    assert (kept["expires"], kept["link"], kept["urgency"]) == (WEEK_ON, "help", "normal")
    rig.store.update(TABLE, kept["id"], {"status": "rejected"})
    changed = rig.alerts.correct(
        old["id"],
        MARIA,
        {"fil": FIL},
        expires="2025-03-05T00:00:00Z",
        link="safety",
        urgency="high",
    )
    assert changed["expires"] == "2025-03-05T00:00:00Z"
    assert changed["link"] == "safety"
    assert changed["urgency"] == "high"
    assert changed["texts"] == {"fil": FIL}
    rig.store.update(TABLE, changed["id"], {"status": "rejected"})
    unlinked = rig.alerts.correct(old["id"], MARIA, {"en": EN}, link=None)
    assert unlinked["link"] is None
    assert unlinked["version"] == 2
    with pytest.raises(DraftRefused) as refused:
        rig.alerts.correct(old["id"], MARIA, {"en": EN}, expires="2025-04-30T00:00:00Z")
    assert (refused.value.field, refused.value.reason) == ("expires", "too_far")


def test_a_curators_correction_is_published_at_once(rig: Rig) -> None:
    old = _published(rig, corridors=["PH-HK"])
    later(rig.clock, minutes=10)
    doc = rig.alerts.correct(old["id"], CURATOR, {"en": EN, "fil": FIL}, urgency="high")
    assert doc["status"] == "published"
    assert doc["reviewed_by"] == "cura@example.org"
    assert doc["published"] == "2025-03-01T08:40:00Z"
    assert doc["fanned_out"] is True
    assert doc["version"] == 2 and doc["replaces"] == old["id"]
    assert doc["account_id"] == "acct-maria"
    assert stored(rig, doc["id"]) == doc
    assert stored(rig, old["id"])["status"] == "superseded"
    assert rig.outbox.calls == [
        ("cancel", old["id"]),
        ("enqueue", doc["id"], "sub-PH-HK-en", "sub-PH-HK-fil"),
    ]
    assert rig.wake.times == 1
    # Corrected again, by an admin: version 3 replaces version 2.
    third = rig.alerts.correct(doc["id"], ADMIN, {"en": EN})
    assert (third["version"], third["replaces"]) == (3, doc["id"])
    assert third["reviewed_by"] == "root@example.org"


def test_a_trusted_authors_correction_is_published_unreviewed(rig: Rig) -> None:
    old = _published(rig, TRUSTED)
    doc = rig.alerts.correct(old["id"], TRUSTED, {"en": EN})
    assert doc["status"] == "published"
    assert doc["reviewed_by"] is None
    assert stored(rig, old["id"])["status"] == "superseded"


def test_a_moderator_corrects_any_corridor_an_author_only_within_her_scope(rig: Rig) -> None:
    far = rig.alerts.submit(ADMIN, draft(corridors=["MM-KR"], locales=["my"], texts={"my": EN}))
    assert far["status"] == "pending"
    far = rig.alerts.approve(far["id"], CURATOR)
    doc = rig.alerts.correct(far["id"], CURATOR, {"my": FIL})
    assert doc["texts"] == {"my": FIL}
    old = _published(rig)
    moved = person(corridors=("PH-SG",))  # her corridors changed since she wrote it
    with pytest.raises(DraftRefused) as refused:
        rig.alerts.correct(old["id"], moved, {"en": EN})
    assert refused.value.field == "corridors"
    assert rig.store.count(TABLE, replaces=old["id"]) == 0


def test_a_correction_is_refused_to_others_and_to_unpublished_alerts(rig: Rig) -> None:
    old = _published(rig)
    with pytest.raises(NotAllowed) as refused:
        rig.alerts.correct(old["id"], OTHER, {"en": EN})
    assert str(refused.value) == "this account may not correct another author's alert"
    pending = rig.alerts.submit(MARIA, draft())
    with pytest.raises(WrongState) as wrong:
        rig.alerts.correct(pending["id"], MARIA, {"en": EN})
    assert (wrong.value.reason, str(wrong.value)) == (
        "pending",
        "an alert that is pending cannot be corrected",
    )
    with pytest.raises(UnknownAlert):
        rig.alerts.correct("no-such-alert", CURATOR, {"en": EN})


@pytest.mark.parametrize(("meanwhile", "status"), [("withdrawn", "withdrawn"), ("", "unknown")])
def test_a_correction_whose_old_version_went_meanwhile_is_refused(
    rig: Rig, meanwhile: str, status: str
) -> None:
    old = _published(rig)
    doc = rig.alerts.correct(old["id"], MARIA, {"en": EN})
    if meanwhile:
        rig.store.update(TABLE, old["id"], {"status": meanwhile})
    else:
        rig.store.delete(TABLE, old["id"])
    with pytest.raises(WrongState) as refused:
        rig.alerts.approve(doc["id"], CURATOR)
    assert (refused.value.reason, str(refused.value)) == (
        status,
        f"an alert that is {status} cannot be corrected",
    )
    assert stored(rig, doc["id"])["status"] == "pending"
    assert rig.outbox.calls == [] and rig.wake.times == 0


# -- resume --------------------------------------------------------------------------------------


def test_resume_queues_what_was_published_but_not_queued(rig: Rig) -> None:
    base = {
        "corridors": ["PH-HK"],
        "locales": ["en", "fil", "th"],
        "texts": {"fil": FIL, "en": EN},
        "topic": "safety",
        "expires": WEEK_ON,
        "created": START,
    }
    rig.store.insert(TABLE, {**base, "id": "a", "status": "published", "fanned_out": False})
    rig.store.insert(
        TABLE,
        {**base, "id": "b", "status": "published", "fanned_out": False, "replaces": "old"},
    )
    rig.store.insert(TABLE, {**base, "id": "c", "status": "published", "fanned_out": True})
    rig.store.insert(TABLE, {**base, "id": "d", "status": "published"})
    rig.store.insert(TABLE, {**base, "id": "e", "status": "pending", "fanned_out": False})
    rig.store.insert(
        TABLE, {**base, "id": "f", "status": "published", "fanned_out": False, "replaces": ""}
    )
    assert rig.alerts.resume() == 3
    calls = rig.outbox.calls
    assert sorted(calls) == [
        ("cancel", "old"),
        ("enqueue", "a", "sub-PH-HK-en", "sub-PH-HK-fil"),
        ("enqueue", "b", "sub-PH-HK-en", "sub-PH-HK-fil"),
        ("enqueue", "f", "sub-PH-HK-en", "sub-PH-HK-fil"),
    ]
    assert calls.index(("cancel", "old")) + 1 == calls.index(
        ("enqueue", "b", "sub-PH-HK-en", "sub-PH-HK-fil")
    )
    assert rig.audience.asked[0] == ("matching", ("PH-HK",), ("en", "fil"), "safety")
    assert {d["id"]: d.get("fanned_out") for d in rig.store.find(TABLE)} == {
        "a": True,
        "b": True,
        "c": True,
        "d": None,
        "e": False,
        "f": True,
    }
    assert rig.wake.times == 1
    assert rig.alerts.resume() == 0
    assert rig.wake.times == 1


# -- reading ---------------------------------------------------------------------------------------


def _doc(ident: str, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "account_id": "acct-maria", "status": "published", **fields}


def test_lists_are_newest_first_then_by_version_then_id(rig: Rig) -> None:
    at = "2025-03-01T08:00:00Z"
    for doc in (
        _doc("a", created=at, version=1),
        _doc("b", created=at, version=2),
        _doc("c", created=at),
        _doc("d", created=None, version=9),
        _doc("e", created="2025-03-01T09:00:00Z", version=1),
        _doc("z", account_id="acct-joy", created=at, version=1),
        _doc("p", status="pending", created=at, version=1),
    ):
        rig.store.insert(TABLE, doc)
    assert [d["id"] for d in rig.alerts.of_author("acct-maria")] == ["e", "b", "p", "c", "a", "d"]
    assert [d["id"] for d in rig.alerts.with_status("published")] == ["e", "b", "z", "c", "a", "d"]
    assert [d["id"] for d in rig.alerts.with_status("rejected")] == []


def test_pending_alerts_are_oldest_first_then_by_id(rig: Rig) -> None:
    for doc in (
        _doc("p-b", status="pending", created="2025-03-01T09:00:00Z"),
        _doc("p-z", status="pending", created="2025-03-01T08:00:00Z"),
        _doc("p-a", status="pending", created="2025-03-01T09:00:00Z"),
        _doc("q", status="published", created="2025-03-01T07:00:00Z"),
    ):
        rig.store.insert(TABLE, doc)
    assert [d["id"] for d in rig.alerts.pending()] == ["p-z", "p-a", "p-b"]


def test_readers_see_published_unexpired_alerts_in_their_language(rig: Rig) -> None:
    for doc in (
        _doc("hk", corridors=["PH-HK"], texts={"en": EN}, published="2025-03-01T08:00:00Z"),
        _doc("sg", corridors=["PH-SG"], texts={"en": EN, "fil": FIL}, published=START),
        _doc("both", corridors=["PH-SG", "PH-HK"], texts={"fil": FIL}, published=None),
        _doc("new", corridors=["PH-HK"], texts={"en": EN}, published="2025-03-01T08:10:00Z"),
    ):
        rig.store.insert(TABLE, {**doc, "expires": "2025-03-01T10:00:00Z"})
    rig.store.insert(
        TABLE,
        _doc("gone", corridors=["PH-HK"], texts={"en": EN}, expires=START, published=START),
    )
    rig.store.insert(
        TABLE,
        {**_doc("wait", corridors=["PH-HK"], texts={"en": EN}), "status": "pending"}
        | {"expires": WEEK_ON, "published": None},
    )

    def seen(corridor: str | None, locale: str, now: datetime | None = None) -> list[str]:
        return [d["id"] for d in rig.alerts.published(corridor, locale, now)]

    assert seen("PH-HK", "en") == ["new", "hk"]
    assert seen(None, "en") == ["sg", "new", "hk"]
    assert seen("PH-HK", "fil") == ["both"]
    assert seen(None, "fil") == ["sg", "both"]
    assert seen("PH-SG", "th") == []
    # `now` given, in another zone: compared in UTC ("gone" expires at 08:30 UTC).
    manila = timezone(timedelta(hours=8))
    assert seen("PH-HK", "en", datetime(2025, 3, 1, 16, 29, 59, tzinfo=manila)) == [
        "gone",
        "new",
        "hk",
    ]
    assert seen("PH-HK", "en", datetime(2025, 3, 1, 18, 0, tzinfo=manila)) == []


def _many(rig: Rig, live: int, expired: int) -> None:
    expiries = ["2025-03-02T00:00:00Z", "2025-03-03T00:00:00Z", "2025-03-04T00:00:00Z"]
    with rig.store.batch() as batch:
        for n in range(live):
            batch.insert(
                TABLE,
                _doc(
                    f"live-{n:03d}",
                    corridors=["PH-HK"],
                    texts={"en": EN},
                    expires=expiries[n % 3],
                    published=f"2025-03-01T0{n // 60}:{n % 60:02d}:00Z",
                ),
            )
        for n in range(expired):
            batch.insert(
                TABLE,
                _doc(
                    f"old-{n:03d}",
                    corridors=["PH-HK"],
                    texts={"en": EN},
                    expires="2025-03-01T08:00:00Z",
                    published="2025-02-28T00:00:00Z",
                ),
            )


def test_live_alerts_are_read_a_page_at_a_time_past_the_first_page(rig: Rig) -> None:
    _many(rig, 230, 15)
    found = [d["id"] for d in rig.alerts.published("PH-HK", "en")]
    assert len(found) == 230
    assert found[:2] == ["live-229", "live-228"]
    assert found[-1] == "live-000"
    assert sorted(found) == [f"live-{n:03d}" for n in range(230)]


def test_a_page_ending_where_the_expiry_changes_reads_on_after_its_last(rig: Rig) -> None:
    # The next page starts after the last alert read (its expiry and its id): here the page's
    # last two have different expiries, and the last one's id is the greater.
    with rig.store.batch() as batch:
        for n in range(99):
            batch.insert(TABLE, _doc(f"a-{n:03d}", texts={"en": EN}, expires=WEEK_ON))
        for n in range(21):
            batch.insert(
                TABLE, _doc(f"b-{n:03d}", texts={"en": EN}, expires="2025-03-07T00:00:00Z")
            )
    found = [d["id"] for d in rig.alerts.published(None, "en")]
    assert len(found) == 120
    assert sorted(found) == [f"a-{n:03d}" for n in range(99)] + [f"b-{n:03d}" for n in range(21)]


def test_exactly_a_page_of_live_alerts_reads_on_to_the_end(rig: Rig) -> None:
    _many(rig, 100, 3)
    assert len(rig.alerts.published(None, "en")) == 100


def test_live_alerts_are_found_first_among_many_expired_ones(rig: Rig) -> None:
    _many(rig, 30, 120)
    assert len(rig.alerts.published("PH-HK", "en")) == 30


# -- the generation ------------------------------------------------------------------------------


def test_the_generation_moves_on_when_an_alert_expires(rig: Rig) -> None:
    assert rig.alerts.generation == START_MS
    _published(rig, TRUSTED, expires="2025-03-01T11:30:00Z")
    assert rig.alerts.generation == START_MS + 1
    assert rig.alerts.generation == START_MS + 1
    _published(rig, TRUSTED, expires="2025-03-01T10:30:00Z")  # sooner: the one to watch
    assert rig.alerts.generation == START_MS + 2
    later(rig.clock, hours=2, seconds=-1)
    assert rig.alerts.generation == START_MS + 2
    later(rig.clock, seconds=1)  # 10:30: the sooner one has expired
    assert rig.alerts.generation == START_MS + 3
    assert rig.alerts.generation == START_MS + 3
    later(rig.clock, hours=1)  # 11:30: the last one has expired
    assert rig.alerts.generation == START_MS + 4
    later(rig.clock, hours=5)  # nothing left to expire
    assert rig.alerts.generation == START_MS + 4


def test_a_fresh_alerts_sees_an_expiry_already_stored(
    store: Store, clock: Clock, library: Library
) -> None:
    store.insert(
        TABLE,
        _doc("x", corridors=["PH-HK"], texts={"en": EN}, expires="2025-03-01T09:00:00Z"),
    )
    alerts = Alerts(
        store,
        outbox=FakeOutbox(),
        subscriptions=FakeAudience(),
        per_day=3,
        wake=Wake(),
        library=library,
        clock=clock,
    )
    assert alerts.generation == START_MS
    later(clock, minutes=30)
    assert alerts.generation == START_MS + 1


def test_an_alert_published_while_the_expiries_are_read_is_seen_next_time(rig: Rig) -> None:
    _published(rig, TRUSTED, expires="2025-03-01T11:30:00Z")

    def published_meanwhile() -> None:
        rig.alerts.submit(TRUSTED, draft(expires="2025-03-01T09:30:00Z"))

    rig.hooked.after_page = published_meanwhile
    assert rig.alerts.generation == START_MS + 2
    assert rig.alerts.generation == START_MS + 2
    later(rig.clock, hours=1)  # 09:30: the one published meanwhile has expired
    assert rig.alerts.generation == START_MS + 3


# -- reach ---------------------------------------------------------------------------------------


def test_the_reach_counts_phones_with_a_text_and_those_without(rig: Rig) -> None:
    both = ("PH-HK", "PH-SG")
    rig.audience.counts = {
        (both, ("en", "fil"), "safety"): 5,
        (both, ("th",), "safety"): 2,
        (both, ("my",), "safety"): 1,
        (both, ("en",), "safety"): 7,
    }
    texts: Iterator[str] = iter(["fil", "en", "fil"])
    reach = rig.alerts.reach(["PH-HK", "PH-SG", "PH-HK"], texts, "safety")
    assert reach == Reach(5, {"th": 2, "my": 1})
    assert reach.missed == 3
    assert rig.audience.asked == [
        ("count", both, ("en", "fil"), "safety"),
        ("count", both, ("id",), "safety"),
        ("count", both, ("vi",), "safety"),
        ("count", both, ("th",), "safety"),
        ("count", both, ("km",), "safety"),
        ("count", both, ("my",), "safety"),
    ]
    rig.audience.asked.clear()
    nothing = rig.alerts.reach(["PH-SG"], [], "rules")
    assert nothing == Reach(0, {})
    assert [a[2] for a in rig.audience.asked] == [
        ("en",),
        ("fil",),
        ("id",),
        ("vi",),
        ("th",),
        ("km",),
        ("my",),
    ]
    assert {a[1] for a in rig.audience.asked} == {("PH-SG",)}
    assert {a[3] for a in rig.audience.asked} == {"rules"}
