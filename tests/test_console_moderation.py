"""Moderating the peer leaders' alerts through the real app (issue 11, point 4): the queue at
/admin/alerts, an alert in full (each version as a phone shows it, in full and discreet),
approve, reject with a reason its author reads, edit or add versions, withdraw, correct (a new
version with the same Web Push topic); a leader's network and trust on the account page and
the alert's; refusals next to their field with nothing written, a stale form refused, the
curator's role and the CSRF token checked on every route, and each step's audit entry.

No VAPID subject is set (the default), so the sender sends nothing: what the outbox queued
stays there for the reports to count."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from hub.audit import Entry
from hub.auth import Account
from hub.push.alerts import Draft
from hub.push.payload import NEUTRAL_LINE
from hub.views.console.moderation import fingerprint
from tests.conftest import CONSOLE_ACCOUNTS, csrf_of, sign_in_as, subscribe

LEADER = CONSOLE_ACCOUNTS["leader"][0]  # PH-HK, en and fil
CURATOR = CONSOLE_ACCOUNTS["curator"][0]
ADMIN = CONSOLE_ACCOUNTS["admin"][0]
NETWORK = "Bayanihan HK"
SEEN = re.compile(r'<input type="hidden" name="seen" value="([^"]+)">')
# Burmese typed in Zawgyi that cannot be converted surely (tests/test_alerts.py).
ZAWGYI = "မဂၤလာပါ"


def state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def browser(client: TestClient, role: str) -> TestClient:
    """Another browser on the same running app, signed in as the `role` account."""
    own = TestClient(client.app)
    sign_in_as(own, role)
    return own


def account(client: TestClient, email: str) -> Account:
    found: Account = state(client).accounts.get(email)
    return found


def submit(client: TestClient, title: str = "New shelter number", **changes: Any) -> str:
    """The leader's alert, submitted as her compose page does; its id."""
    alerts = state(client).alerts
    expires = (alerts.clock() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields: dict[str, Any] = {
        "texts": {"en": {"title": title, "body": "Call 2345 6789, day and night."}},
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "topic": "safety",
        "urgency": "high",
        "expires": expires,
        "link": "help",
    }
    doc = alerts.submit(account(client, LEADER), Draft(**{**fields, **changes}))
    return str(doc["id"])


def step(
    client: TestClient, alert_id: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """A step as the alert's page sends it: its token and what the page showed (`seen`)."""
    path = f"/admin/alerts/{alert_id}"
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    return send(client, page.text, alert_id, action, data)


def send(
    client: TestClient, page: str, alert_id: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """A step sent from a page read earlier (it may have gone stale since)."""
    seen = SEEN.search(page)
    form = {**(data or {}), "csrf_token": csrf_of(page), "action": action}
    if seen:
        form["seen"] = seen[1]
    return client.post(f"/admin/alerts/{alert_id}", data=form, follow_redirects=False)


def audit_of(client: TestClient, action: str) -> list[Entry]:
    found: list[Entry] = state(client).audit.page(action=action, limit=100)
    return found


def error_of(html: str, key: str) -> str:
    """The refusal the page shows under the id `<key>-error`."""
    found = re.search(rf'id="{re.escape(key)}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, f"no refusal for {key}"
    return unescape(found[1]).strip()


def versions_form(doc: dict[str, Any]) -> dict[str, str]:
    """The version fields of an alert's form, filled as the alert has them."""
    form: dict[str, str] = {}
    for code, text in doc["texts"].items():
        form[f"title-{code}"] = text["title"]
        form[f"body-{code}"] = text["body"]
    return form


@pytest.fixture
def app(console_client: TestClient) -> TestClient:
    """The console app, its leader with a network name."""
    state(console_client).accounts.set_network(LEADER, NETWORK)
    return console_client


@pytest.fixture
def curator(app: TestClient) -> TestClient:
    sign_in_as(app, "curator")
    return app


# -- the queue ---------------------------------------------------------------------------------


def test_a_leaders_alert_waits_in_the_queue_oldest_first(
    app: TestClient, curator: TestClient
) -> None:
    clock = state(app).alerts.clock
    first = submit(app, "First shelter note")
    state(app).alerts.clock = lambda: clock() + timedelta(minutes=5)
    second = submit(app, "Second shelter note", topic="rules", urgency="normal")
    state(app).alerts.clock = clock
    home = curator.get("/admin/").text
    assert "2 alerts waiting for review." in home and 'href="/admin/alerts"' in home
    page = curator.get("/admin/alerts")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    queue = page.text.split('id="waiting-heading"', 1)[1].split("</section>", 1)[0]
    assert "Waiting for review (2)" in queue
    assert queue.index("First shelter note") < queue.index("Second shelter note")
    assert f'href="/admin/alerts/{first}"' in queue and f'href="/admin/alerts/{second}"' in queue
    assert queue.count(f"<dd>{NETWORK}</dd>") == 2
    assert "From Philippines to Hong Kong" in queue
    # English written, Filipino targeted without a version yet.
    assert re.search(r"No version yet</dt>\s*<dd><span lang=\"fil\">Filipino</span>", queue)
    assert "Safety" in queue and "Rules and policy" in queue and "High" in queue
    # Nothing of the leader but her network.
    assert LEADER not in page.text and "Test leader" not in page.text


def test_the_past_alerts_filter_by_state_with_their_delivery_report(
    app: TestClient, curator: TestClient
) -> None:
    subscribe(app, "PH-HK", "en", ("safety",))
    subscribe(app, "PH-HK", "th", ("safety",))
    sent = submit(app, "Sent one")
    refused = submit(app, "Refused one")
    curator_account = account(app, CURATOR)
    state(app).alerts.approve(sent, curator_account)
    state(app).alerts.reject(refused, curator_account, "Wrong number.")
    published = curator.get("/admin/alerts").text.split('id="past-heading"', 1)[1]
    assert "Sent one" in published and "Refused one" not in published
    assert '<option value="published" selected>' in published
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", published))
    assert facts["Phones targeted"] == "1" and facts["Still being sent"] == "1"
    assert "push.example" not in published
    rejected = curator.get("/admin/alerts?state=rejected").text.split('id="past-heading"', 1)[1]
    assert "Refused one" in rejected and "Sent one" not in rejected
    assert "Wrong number." in rejected
    assert curator.get("/admin/alerts?state=nothing").status_code == 400


# -- one alert: approve, reject, edit, withdraw, correct ---------------------------------------


def test_the_alert_in_full_with_each_version_as_a_phone_shows_it(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    assert "New shelter number" in page and "Call 2345 6789, day and night." in page
    discreet = state(app).library.site.name("en", discreet=True)
    assert discreet != state(app).library.site.name("en")
    phones = page.split('id="preview-en"', 1)[1].split("</section>", 1)[0]
    assert f'<p class="notification-title">{discreet}</p>' in phones
    assert f'<p class="notification-body">{NEUTRAL_LINE}</p>' in phones
    assert "Approve and send" in page and "Reject" in page
    assert "Publish the correction" not in page and "Withdraw the alert" not in page


def test_a_curator_approves_it_is_published_and_queued(
    app: TestClient, curator: TestClient
) -> None:
    subscribe(app, "PH-HK", "en", ("safety",))
    subscribe(app, "PH-HK", "en", ("events",))  # another topic
    subscribe(app, "PH-HK", "fil", ("safety",))  # no Filipino version
    alert_id = submit(app)
    answer = step(curator, alert_id, "approve")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/alerts/{alert_id}?done=approved"
    doc = state(app).alerts.get(alert_id)
    assert (doc["status"], doc["reviewed_by"]) == ("published", CURATOR)
    assert [d["id"] for d in state(app).alerts.published("PH-HK", "en")] == [alert_id]
    assert state(app).outbox.report(alert_id).targeted == 1
    reader = TestClient(app.app).get("/en/alerts")
    assert reader.status_code == 200 and "New shelter number" in reader.text
    page = curator.get(answer.headers["location"]).text
    assert "The alert is approved: it is published and is being sent." in page
    assert "Phones targeted" in page and "Approve and send" not in page
    (entry,) = audit_of(app, "alert_approved")
    assert (entry.actor, entry.target) == (CURATOR, alert_id)
    assert entry.change == {"status": {"from": "pending", "to": "published"}, "queued": 1}
    # Once is enough: a hand-made approval of a published alert is refused by the domain.
    again = step(curator, alert_id, "approve")
    assert again.status_code == 409
    assert len(audit_of(app, "alert_approved")) == 1


def test_a_rejection_needs_a_reason_which_the_leader_reads(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    empty = step(curator, alert_id, "reject", {"reason": "   "})
    assert empty.status_code == 400
    assert error_of(empty.text, "reason") == "Say why the alert is rejected: its author reads it."
    assert 'aria-describedby="reason-error"' in empty.text
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    assert audit_of(app, "alert_rejected") == []
    reason = "The shelter's number is 2345 6780."
    answer = step(curator, alert_id, "reject", {"reason": reason})
    assert answer.status_code == 303
    doc = state(app).alerts.get(alert_id)
    assert (doc["status"], doc["reason"]) == ("rejected", reason)
    (entry,) = audit_of(app, "alert_rejected")
    assert (entry.actor, entry.target) == (CURATOR, alert_id)
    assert entry.change == {
        "status": {"from": "pending", "to": "rejected"},
        "reason": {"from": None, "to": reason},
    }
    leader = browser(app, "leader")
    listed = leader.get("/leaders/alerts")
    if listed.status_code == 200:  # the leaders' page of issue 11, point 3
        assert "The shelter&#39;s number is 2345 6780." in listed.text


def test_a_curator_edits_and_adds_versions(app: TestClient, curator: TestClient) -> None:
    alert_id = submit(app)
    before = state(app).alerts.get(alert_id)
    form = {
        "title-en": "New shelter number",
        "body-en": "Call 2345 6789, day and night.",
        "title-fil": "Bagong numero ng shelter",
        "body-fil": "Tumawag sa 2345 6789.",
        "title-th": "หมายเลขใหม่ของที่พักพิง",
        "body-th": "โทร 2345 6789",
    }
    answer = step(curator, alert_id, "edit", form)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?done=edited")
    doc = state(app).alerts.get(alert_id)
    assert doc["status"] == "pending"
    assert list(doc["texts"]) == ["en", "fil", "th"]
    assert doc["locales"] == ["en", "fil", "th"]  # Thai added
    (entry,) = audit_of(app, "alert_edited")
    assert (entry.actor, entry.target) == (CURATOR, alert_id)
    assert entry.change["locales"] == {"from": before["locales"], "to": ["en", "fil", "th"]}
    assert entry.change["text_fil"] == {
        "from": None,
        "to": {"title": "Bagong numero ng shelter", "body": "Tumawag sa 2345 6789."},
    }
    assert "text_en" not in entry.change  # unchanged
    page = curator.get(answer.headers["location"]).text
    assert 'id="preview-th"' in page and "Bagong numero ng shelter" in page


def test_a_refused_version_is_shown_by_its_field_and_nothing_is_written(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    before = state(app).alerts.get(alert_id)
    form = {
        **versions_form(before),
        "title-my": ZAWGYI,
        "body-my": ZAWGYI,
        "title-fil": "x" * 81,
        "body-fil": "Tumawag.",
    }
    answer = step(curator, alert_id, "edit", form)
    assert answer.status_code == 400
    assert "type it in Unicode" in error_of(answer.text, "body-my")
    assert error_of(answer.text, "title-fil") == "A title may have at most 80 characters."
    assert 'aria-describedby="title-fil-error"' in answer.text
    # What she typed is still there to fix.
    assert 'value="' + "x" * 81 + '"' in answer.text
    assert state(app).alerts.get(alert_id) == before
    assert audit_of(app, "alert_edited") == []


def test_a_curator_withdraws_a_published_alert(app: TestClient, curator: TestClient) -> None:
    subscribe(app, "PH-HK", "en", ("safety",))
    alert_id = submit(app)
    assert step(curator, alert_id, "approve").status_code == 303
    answer = step(curator, alert_id, "withdraw")
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?done=withdrawn")
    doc = state(app).alerts.get(alert_id)
    assert doc["status"] == "withdrawn" and doc["withdrawn"]
    assert state(app).alerts.published("PH-HK", "en") == []
    assert "New shelter number" not in TestClient(app.app).get("/en/alerts").text
    report = state(app).outbox.report(alert_id)
    assert (report.cancelled, report.pending) == (1, 0)
    (entry,) = audit_of(app, "alert_withdrawn")
    assert (entry.actor, entry.target) == (CURATOR, alert_id)
    assert entry.change == {"status": {"from": "published", "to": "withdrawn"}}
    withdrawn = curator.get("/admin/alerts?state=withdrawn").text
    assert "New shelter number" in withdrawn


def test_a_correction_is_a_new_version_with_the_same_push_topic(
    app: TestClient, curator: TestClient
) -> None:
    subscribe(app, "PH-HK", "en", ("safety",))
    old_id = submit(app)
    assert step(curator, old_id, "approve").status_code == 303
    old = state(app).alerts.get(old_id)
    page = curator.get(f"/admin/alerts/{old_id}").text
    assert "Publish the correction" in page
    # A correction keeps the alert's languages: no field for others.
    assert 'name="title-fil"' in page and 'name="title-th"' not in page
    form = {"title-en": "Shelter number corrected", "body-en": "Call 2345 6780."}
    answer = send(curator, page, old_id, "correct", form)
    assert answer.status_code == 303
    new_id = answer.headers["location"].split("/admin/alerts/", 1)[1].split("?")[0]
    assert answer.headers["location"].endswith("?done=corrected") and new_id != old_id
    new = state(app).alerts.get(new_id)
    assert (new["version"], new["replaces"], new["status"]) == (2, old_id, "published")
    assert new["push_topic"] == old["push_topic"]
    assert state(app).alerts.get(old_id)["status"] == "superseded"
    assert state(app).outbox.report(old_id).cancelled == 1
    assert state(app).outbox.report(new_id).pending == 1
    reader = TestClient(app.app).get("/en/alerts").text
    assert "Shelter number corrected" in reader and "New shelter number" not in reader
    (entry,) = audit_of(app, "alert_corrected")
    assert (entry.actor, entry.target) == (CURATOR, new_id)
    assert entry.change["replaces"] == old_id
    assert entry.change["version"] == {"from": 1, "to": 2}
    assert entry.change["push_topic"] == old["push_topic"]
    assert entry.change["text_en"]["to"] == {
        "title": "Shelter number corrected",
        "body": "Call 2345 6780.",
    }
    shown = curator.get(answer.headers["location"]).text
    assert "This correction is published" in shown and "Correction, version 2" in shown
    # The old version's page was read before the correction: stale now.
    assert send(curator, page, old_id, "correct", form).status_code == 409
    assert len(audit_of(app, "alert_corrected")) == 1


# -- stale forms, roles, CSRF ------------------------------------------------------------------


def test_a_step_on_an_alert_changed_since_the_page_was_opened_is_refused(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    # Another curator edits the versions meanwhile: approving what was read would send unread text.
    other = browser(app, "admin")
    edited = {"title-en": "Edited by another", "body-en": "Call 2345 6789."}
    assert step(other, alert_id, "edit", edited).status_code == 303
    answer = send(curator, page, alert_id, "approve")
    assert answer.status_code == 409
    assert "This alert changed after you opened this page" in answer.text
    assert "Edited by another" in answer.text  # the alert as it is now
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    # And another approves it: a rejection from the older page is refused too.
    assert step(other, alert_id, "approve").status_code == 303
    answer = send(curator, page, alert_id, "reject", {"reason": "Too late."})
    assert answer.status_code == 409
    assert state(app).alerts.get(alert_id)["status"] == "published"
    assert audit_of(app, "alert_rejected") == []


@pytest.mark.parametrize("role", ["leader", "translator"])
def test_only_curators_and_admins_reach_the_alerts_pages(app: TestClient, role: str) -> None:
    alert_id = submit(app)
    other = browser(app, role)
    token = csrf_of(other.get("/account").text)
    assert other.get("/admin/alerts").status_code == 403
    assert other.get("/admin/alerts?state=rejected").status_code == 403
    assert other.get(f"/admin/alerts/{alert_id}").status_code == 403
    for action in ("approve", "reject", "edit", "withdraw", "correct", "trust"):
        data = {"csrf_token": token, "action": action, "reason": "No.", "trusted": "1"}
        answer = other.post(f"/admin/alerts/{alert_id}", data=data, follow_redirects=False)
        assert answer.status_code == 403, action
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    assert not account(app, LEADER).trusted
    nobody = TestClient(app.app)
    assert nobody.get("/admin/alerts", follow_redirects=False).status_code == 303
    assert nobody.get(f"/admin/alerts/{alert_id}", follow_redirects=False).status_code == 303
    admin = browser(app, "admin")
    assert admin.get("/admin/alerts").status_code == 200


def test_a_hand_made_post_without_its_token_is_refused(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    seen = SEEN.search(curator.get(f"/admin/alerts/{alert_id}").text)
    assert seen is not None
    for data in ({"action": "approve", "seen": seen[1]}, {"action": "approve", "csrf_token": "x"}):
        answer = curator.post(f"/admin/alerts/{alert_id}", data=data, follow_redirects=False)
        assert answer.status_code == 403
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    assert audit_of(app, "alert_approved") == []
    assert step(curator, alert_id, "nothing").status_code == 400
    assert curator.get("/admin/alerts/no-such-alert").status_code == 404


# -- network and trust -------------------------------------------------------------------------


def test_an_admin_sets_the_network_and_trust_and_a_trusted_alert_goes_out_at_once(
    app: TestClient,
) -> None:
    admin = browser(app, "admin")
    leader = account(app, LEADER)
    path = f"/admin/accounts/{leader.id}"
    page = admin.get(path).text
    assert f'value="{NETWORK}"' in page and "Trusted: the account" in page
    token = csrf_of(page)
    form = {
        "csrf_token": token,
        "action": "network",
        "was_network": NETWORK,
        "was_trusted": "0",
        "network": "  Bayanihan   Hong Kong ",
        "trusted": "1",
    }
    answer = admin.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"{path}?done=network"
    changed = account(app, LEADER)
    assert (changed.network, changed.trusted) == ("Bayanihan Hong Kong", True)
    assert "Network and trust saved." in admin.get(answer.headers["location"]).text
    (named,) = audit_of(app, "network_changed")
    assert (named.actor, named.target) == (ADMIN, LEADER)
    assert named.change == {"network": {"from": NETWORK, "to": "Bayanihan Hong Kong"}}
    (trusted,) = audit_of(app, "trust_changed")
    assert trusted.change == {"trusted": {"from": False, "to": True}}
    # Her next alert is published at once, under the new name.
    subscribe(app, "PH-HK", "en", ("safety",))
    doc = state(app).alerts.get(submit(app))
    assert (doc["status"], doc["network"]) == ("published", "Bayanihan Hong Kong")
    assert state(app).outbox.report(doc["id"]).targeted == 1
    # The same form sent again is stale (the page showed the old values): nothing changes.
    again = admin.post(path, data={**form, "network": "Other", "trusted": ""})
    assert again.status_code == 400
    assert "Someone changed the network or the trust" in error_of(again.text, "network")
    assert account(app, LEADER).network == "Bayanihan Hong Kong" and account(app, LEADER).trusted
    assert len(audit_of(app, "trust_changed")) == 1


def test_a_refused_network_name_changes_nothing(app: TestClient) -> None:
    admin = browser(app, "admin")
    leader = account(app, LEADER)
    path = f"/admin/accounts/{leader.id}"
    form = {
        "csrf_token": csrf_of(admin.get(path).text),
        "action": "network",
        "was_network": NETWORK,
        "was_trusted": "0",
        "network": "Bayanihan\u202e HK",
        "trusted": "1",
    }
    answer = admin.post(path, data=form)
    assert answer.status_code == 400
    assert "invisible formatting characters" in error_of(answer.text, "network")
    assert 'aria-describedby="network-error"' in answer.text
    assert (account(app, LEADER).network, account(app, LEADER).trusted) == (NETWORK, False)
    assert audit_of(app, "network_changed") == audit_of(app, "trust_changed") == []
    # A curator does not get the account page (admins only), nor an account without alerts
    # the form.
    assert browser(app, "curator").get(path).status_code == 403
    translator = account(app, CONSOLE_ACCOUNTS["translator"][0])
    assert "Network and alerts" not in admin.get(f"/admin/accounts/{translator.id}").text


def test_a_curator_trusts_an_author_from_her_alert(app: TestClient, curator: TestClient) -> None:
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    assert "wait for review" in page
    form = {"csrf_token": csrf_of(page), "action": "trust", "was_trusted": "0", "trusted": "1"}
    answer = curator.post(f"/admin/alerts/{alert_id}", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert account(app, LEADER).trusted
    (entry,) = audit_of(app, "trust_changed")
    assert (entry.actor, entry.target) == (CURATOR, LEADER)
    assert entry.change == {"trusted": {"from": False, "to": True}}
    assert "is trusted" in curator.get(answer.headers["location"]).text
    # The same form again is stale: nothing changes.
    again = curator.post(f"/admin/alerts/{alert_id}", data={**form, "trusted": "0"})
    assert again.status_code == 409
    assert account(app, LEADER).trusted
    assert len(audit_of(app, "trust_changed")) == 1


def test_the_audit_page_words_the_alert_actions(app: TestClient) -> None:
    alert_id = submit(app)
    curator_account = account(app, CURATOR)
    state(app).alerts.approve(alert_id, curator_account)
    admin = browser(app, "admin")
    assert step(admin, alert_id, "withdraw").status_code == 303
    page = admin.get(f"/admin/audit?target={alert_id}").text
    assert "Alert withdrawn" in page


def test_an_expired_alert_cannot_be_approved(app: TestClient, curator: TestClient) -> None:
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    clock = state(app).alerts.clock
    state(app).alerts.clock = lambda: clock() + timedelta(days=8)
    answer = send(curator, page, alert_id, "approve")
    assert answer.status_code == 409
    assert "This alert has expired: it can no longer be sent." in answer.text
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    assert audit_of(app, "alert_approved") == []


def test_the_home_page_counts_the_queue_for_curators_only(app: TestClient) -> None:
    submit(app)
    assert "1 alert waiting for review." in browser(app, "admin").get("/admin/").text
    translator = browser(app, "translator").get("/admin/").text
    assert "waiting for review" not in translator and 'href="/admin/alerts"' not in translator


def fresh(
    client: TestClient, alert_id: str, action: str, data: dict[str, str] | None = None
) -> str:
    """A step sent with what the page shows of the alert now (not stale): its answer's text,
    after checking it is refused with 409 and nothing changed."""
    before = state(client).alerts.get(alert_id)
    token = csrf_of(client.get("/account").text)
    form = {**(data or {}), "csrf_token": token, "action": action, "seen": fingerprint(before)}
    answer = client.post(f"/admin/alerts/{alert_id}", data=form, follow_redirects=False)
    assert answer.status_code == 409, answer.text[:300]
    assert state(client).alerts.get(alert_id) == before
    text = unescape(answer.text)
    assert "This alert changed after you opened this page" not in text
    return text


def test_a_step_the_alert_s_state_does_not_allow_says_so(
    app: TestClient, curator: TestClient
) -> None:
    alerts, curator_account = state(app).alerts, account(app, CURATOR)
    rejected = submit(app, "Rejected note")
    alerts.reject(rejected, curator_account, "Wrong number.")
    withdrawn = submit(app, "Withdrawn note")
    alerts.approve(withdrawn, curator_account)
    alerts.withdraw(withdrawn, curator_account)
    pending = submit(app, "Pending note")
    correction = versions_form(alerts.get(pending))
    assert "This alert cannot be approved: its state is <strong>Withdrawn</strong>." in fresh(
        curator, withdrawn, "approve"
    )
    assert "This alert cannot be approved: its state is <strong>Rejected</strong>." in fresh(
        curator, rejected, "approve"
    )
    assert (
        "This alert cannot be corrected: its state is <strong>Waiting for a curator</strong>."
        in fresh(curator, pending, "correct", correction)
    )
    assert "This alert cannot be corrected: its state is <strong>Withdrawn</strong>." in fresh(
        curator, withdrawn, "correct", correction
    )
    assert audit_of(app, "alert_approved") == [] and audit_of(app, "alert_corrected") == []


def test_a_curator_rejects_a_pending_alert_she_cannot_withdraw_it(
    app: TestClient, curator: TestClient
) -> None:
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    assert 'name="action" value="withdraw"' not in page
    answer = send(curator, page, alert_id, "withdraw")
    assert answer.status_code == 409
    assert "Reject it instead, with a reason its author reads." in unescape(answer.text)
    assert state(app).alerts.get(alert_id)["status"] == "pending"
    # Nor an admin her own pending alert from the review page (her alerts' page withdraws it).
    boss = state(app).accounts.set_network(ADMIN, "Migrant Help Desk")
    draft = Draft(
        texts={"en": {"title": "Own note", "body": "Call 2345 6789."}},
        corridors=["PH-HK"],
        locales=["en"],
        topic="safety",
        expires=(state(app).alerts.clock() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    own = str(state(app).alerts.submit(boss, draft)["id"])
    assert step(browser(app, "admin"), own, "withdraw").status_code == 409
    assert state(app).alerts.get(own)["status"] == "pending"
    assert audit_of(app, "alert_withdrawn") == []


def test_the_trust_button_says_what_it_does(app: TestClient, curator: TestClient) -> None:
    state(app).accounts.set_trusted(LEADER, True)
    alert_id = submit(app)
    page = curator.get(f"/admin/alerts/{alert_id}").text
    assert "Stop trusting this author: review their alerts before they go out" in page


def test_the_list_of_past_alerts_says_it_shows_the_newest_alerts(
    app: TestClient, curator: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.views.console.moderation.ALERT_LIST", 2)
    for title in ("First", "Second"):
        alert_id = submit(app, title)
        state(app).alerts.reject(alert_id, account(app, CURATOR), "No.")
    assert "Only the 2 newest alerts are shown." in curator.get("/admin/alerts?state=rejected").text
