"""The leaders' alerts through the real app (issue 11, point 3): compose, preview (each
version in full and discreet, the reach), send; the server's own scope check on hand-made
POSTs; the daily limit; her alerts with their state, a rejection's reason and the delivery
report; another leader's alert out of sight; and the audit entries of each step.

No VAPID subject is set (the default), so the sender sends nothing: what the outbox queued
stays there for the report to count."""

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
from hub.push.outbox import REASONS
from hub.push.payload import NEUTRAL_LINE
from tests.conftest import (
    CONSOLE_ACCOUNTS,
    CONSOLE_PASSWORD,
    ClientFactory,
    csrf_of,
    sign_in,
    sign_in_as,
    subscribe,
)

LEADER = CONSOLE_ACCOUNTS["leader"][0]  # PH-HK, en and fil
ADMIN = CONSOLE_ACCOUNTS["admin"][0]
NETWORK = "Bayanihan HK"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ZAWGYI_BODY = "သင္၏ ပတ္စ္ပို႔ကို သင္ကိုယ္တိုင္ ထိန္းသိမ္းထားပါ"
ZAWGYI_AS_UNICODE = "သင်၏ ပတ်စ်ပို့ကို သင်ကိုယ်တိုင် ထိန်းသိမ်းထားပါ"


def state(client: TestClient) -> Any:
    return client.app.state  # type: ignore[attr-defined]


def form(**changes: Any) -> dict[str, Any]:
    """A compose form as a browser sends it (lists for the checkboxes)."""
    fields: dict[str, Any] = {
        "title-en": "New shelter number",
        "body-en": "Call 2345 6789, day and night.\r\nThe old number is closed.",
        "title-fil": "Bagong numero ng shelter",
        "body-fil": "Tumawag sa 2345 6789.",
        "corridors": ["PH-HK"],
        "locales": ["en", "fil"],
        "topic": "safety",
        "urgency": "normal",
        "hours": "168",
        "link": "help",
    }
    return {**fields, **changes}


def post(client: TestClient, action: str, data: dict[str, Any], path: str = "") -> httpx.Response:
    """Send the compose form (or `path`'s form) with this page's CSRF token and `action`."""
    page = client.get(path or "/leaders/alerts/new")
    assert page.status_code == 200, page.text[:300]
    body = {**data, "csrf_token": csrf_of(page.text)}
    if action:
        body["action"] = action
    return client.post(path or "/leaders/alerts/new", data=body, follow_redirects=False)


def hidden_fields(html: str) -> dict[str, Any]:
    """The hidden inputs of the preview's form, as a browser would send them back."""
    found: dict[str, Any] = {}
    for name, value in HIDDEN.findall(html):
        if name == "csrf_token":
            continue
        value = unescape(value)
        if name in ("corridors", "locales"):
            found.setdefault(name, []).append(value)
        else:
            found[name] = value
    return found


def audit_of(client: TestClient, action: str) -> list[Entry]:
    found: list[Entry] = state(client).audit.page(action=action, limit=100)
    return found


@pytest.fixture
def app(console_client: TestClient) -> TestClient:
    """The console app, its leader with a network name."""
    state(console_client).accounts.set_network(LEADER, NETWORK)
    return console_client


@pytest.fixture
def leader(app: TestClient) -> TestClient:
    sign_in_as(app, "leader")
    return app


def own_alerts(client: TestClient, email: str = LEADER) -> list[dict[str, Any]]:
    account = state(client).accounts.get(email)
    found: list[dict[str, Any]] = state(client).alerts.of_author(account.id)
    return found


# -- compose, preview, send --------------------------------------------------------------------


def test_the_form_offers_her_languages_and_corridors_and_states_each_limit(
    leader: TestClient,
) -> None:
    page = leader.get("/leaders/alerts/new")
    assert page.status_code == 200
    html = page.text
    for code in ("en", "fil"):
        assert f'name="title-{code}"' in html and f'name="body-{code}"' in html
    assert 'name="title-th"' not in html
    assert 'value="PH-HK" checked' in html  # her only corridor
    assert 'name="corridors" value="ID-HK"' not in html
    # Without JavaScript the limits are in the page; compose.js counts as she types.
    assert "At most 80 characters." in html and "At most 800 characters." in html
    assert 'data-limit="80"' in html and 'data-limit="800"' in html
    script = re.search(r'<script src="([^"]+compose[^"]*\.js)" defer>', html)
    assert script is not None
    assert leader.get(script.group(1)).status_code == 200
    assert "<script>" not in html  # nothing inline: the CSP allows none
    assert "You can send 5 more alerts now: at most 5 in any 24 hours." in html


def test_compose_preview_and_send(leader: TestClient) -> None:
    subscribe(leader, "PH-HK", "fil", ("safety",))
    subscribe(leader, "PH-HK", "en", ("safety", "events"))
    subscribe(leader, "PH-HK", "th", ("safety",))  # no Thai version: gets nothing
    subscribe(leader, "PH-HK", "fil", ("events",))  # not this topic
    subscribe(leader, "PH-SG", "fil", ("safety",))  # not this corridor
    preview = post(leader, "preview", form(**{"title-en": "  New shelter number  "}))
    assert preview.status_code == 200, preview.text[:500]
    html = unescape(preview.text)
    assert "It reaches 2 subscribed phones." in html
    assert "1 phone in these corridors gets nothing, for lack of a version in its language:" in (
        html
    )
    assert re.search(r'<span lang="th">[^<]+</span>: 1', html)
    # Each version in full, and as a discreet phone shows it: the neutral name and line.
    site = state(leader).library.site
    i18n = state(leader).i18n
    for code, title in (("en", "New shelter number"), ("fil", "Bagong numero ng shelter")):
        section = html.split(f'id="preview-{code}"', 1)[1].split("</section>", 1)[0]
        assert f'<p class="notification-title">{title}</p>' in section
        assert site.name(code, discreet=True) in section
        assert i18n.gettext(code, NEUTRAL_LINE) in section
        assert site.name(code) not in section
    assert "Call 2345 6789, day and night.\nThe old number is closed." in html
    assert NETWORK in html
    assert "<code>/en/help</code>" in html
    assert "A curator checks the alert before it is sent" in html
    # Nothing stored yet; the preview is in the audit log.
    assert own_alerts(leader) == []
    (previewed,) = audit_of(leader, "alert_previewed")
    assert previewed.actor == LEADER
    assert previewed.change["reach"] == 2 and previewed.change["missed"] == 1
    assert previewed.change["titles"]["en"] == "New shelter number"
    # The preview's form carries what she saw, cleaned, back to the server.
    carried = hidden_fields(preview.text)
    assert carried["title-en"] == "New shelter number"
    assert carried["corridors"] == ["PH-HK"] and carried["locales"] == ["en", "fil"]
    sent = post(leader, "submit", carried)
    assert sent.status_code == 303
    (doc,) = own_alerts(leader)
    assert sent.headers["location"] == f"/leaders/alerts/{doc['id']}?done=submitted"
    assert doc["status"] == "pending" and doc["network"] == NETWORK
    assert doc["texts"]["en"] == {
        "title": "New shelter number",
        "body": "Call 2345 6789, day and night.\nThe old number is closed.",
    }
    assert (doc["corridors"], doc["locales"], doc["topic"], doc["link"]) == (
        ["PH-HK"],
        ["en", "fil"],
        "safety",
        "help",
    )
    (submitted,) = audit_of(leader, "alert_submitted")
    assert (submitted.actor, submitted.target) == (LEADER, doc["id"])
    assert submitted.change["status"] == "pending"
    page = leader.get(sent.headers["location"])
    assert "Sent to a curator." in page.text and "Waiting for a curator" in page.text
    listed = leader.get("/leaders/alerts").text
    assert "New shelter number" in listed and "Waiting for a curator" in listed
    assert "You can send 4 more alerts now: at most 5 in any 24 hours." in listed


def test_change_it_brings_the_form_back_as_it_was(leader: TestClient) -> None:
    preview = post(leader, "preview", form())
    back = post(leader, "edit", hidden_fields(preview.text))
    assert back.status_code == 200
    assert 'value="Bagong numero ng shelter"' in back.text
    assert "Tumawag sa 2345 6789.</textarea>" in back.text
    assert own_alerts(leader) == []


def test_each_refused_field_is_marked_and_nothing_is_stored(leader: TestClient) -> None:
    answer = post(
        leader,
        "preview",
        form(**{"title-en": "x" * 81, "body-fil": "", "topic": "", "link": "https://x.example"}),
    )
    assert answer.status_code == 400
    html = unescape(answer.text)
    assert 'id="title-en-error">A title may have at most 80 characters.' in html
    assert 'id="body-fil-error">Write the text.' in html
    assert 'id="topic-error">Choose what the alert is about.' in html
    assert "Links to other sites are not allowed." in html
    assert 'aria-invalid="true"' in html
    assert f'value="{"x" * 81}"' in html  # her text is kept to correct
    assert own_alerts(leader) == []


def test_zawgyi_is_converted_and_the_preview_says_so(console_client: TestClient) -> None:
    state(console_client).accounts.set_network(ADMIN, "Migrant Help Desk")
    sign_in_as(console_client, "admin")
    data = {
        "title-my": "ပတ္စ္ပို႔",
        "body-my": ZAWGYI_BODY,
        "corridors": ["MM-TH"],
        "locales": ["my"],
        "topic": "rules",
        "urgency": "normal",
        "hours": "24",
    }
    preview = post(console_client, "preview", data)
    assert preview.status_code == 200, preview.text[:500]
    assert "Burmese typed in Zawgyi was converted to Unicode" in preview.text
    assert ZAWGYI_AS_UNICODE in preview.text and ZAWGYI_BODY not in preview.text
    assert hidden_fields(preview.text)["body-my"] == ZAWGYI_AS_UNICODE


def test_zawgyi_that_cannot_be_converted_is_refused_with_a_clear_message(
    console_client: TestClient,
) -> None:
    state(console_client).accounts.set_network(ADMIN, "Migrant Help Desk")
    sign_in_as(console_client, "admin")
    data = {"title-my": "မဂၤလာပါ", "body-my": "မဂၤလာပါ", "corridors": ["MM-TH"], "locales": ["my"]}
    answer = post(console_client, "submit", form(**{**data, "title-en": "", "body-en": ""}))
    assert answer.status_code == 400
    assert "type it in Unicode" in answer.text
    assert own_alerts(console_client, ADMIN) == []


# -- scope, checked by the server --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"corridors": ["ID-HK"]}, "This corridor is not one of yours: ID-HK"),
        ({"corridors": ["PH-HK", "PH-SG"]}, "This corridor is not one of yours: PH-SG"),
        (
            {"locales": ["en", "fil", "th"], "title-th": "หมายเลขใหม่", "body-th": "โทร"},
            "This language is not one of yours: th",
        ),
    ],
)
def test_a_hand_made_post_beyond_her_scope_is_refused_and_audited(
    leader: TestClient, changes: dict[str, Any], message: str
) -> None:
    for action in ("preview", "submit"):
        answer = post(leader, action, form(**changes))
        assert answer.status_code == 400
        assert message in unescape(answer.text)
    assert own_alerts(leader) == []
    steps = [entry.change["step"] for entry in audit_of(leader, "alert_refused")]
    assert sorted(steps) == ["preview", "submit"]
    problems = audit_of(leader, "alert_refused")[0].change["problems"]
    assert {p["reason"] for p in problems} == {"out_of_scope"}
    assert audit_of(leader, "alert_previewed") == []


def test_a_version_in_a_language_not_ticked_is_refused(leader: TestClient) -> None:
    answer = post(leader, "submit", form(locales=["en"]))
    assert answer.status_code == 400
    assert "its language is not ticked" in answer.text
    assert own_alerts(leader) == []


def test_roles_without_the_leaders_console_cannot_compose(console_client: TestClient) -> None:
    nobody = console_client.get("/leaders/alerts/new", follow_redirects=False)
    assert nobody.status_code == 303 and nobody.headers["location"].startswith("/login")
    sign_in_as(console_client, "curator")
    assert console_client.get("/leaders/alerts/new").status_code == 403
    assert console_client.get("/leaders/alerts").status_code == 403


# -- the daily limit and the network name ------------------------------------------------------


def test_the_daily_limit_refuses_the_next_alert(make_console_client: ClientFactory) -> None:
    client = make_console_client(alerts_per_day=2)
    state(client).accounts.set_network(LEADER, NETWORK)
    sign_in_as(client, "leader")
    for _ in range(2):
        assert post(client, "submit", form()).status_code == 303
    listed = client.get("/leaders/alerts").text
    assert "You have sent the most alerts allowed in any 24 hours (2)." in listed
    assert "more alerts now" not in listed
    refused = post(client, "submit", form())
    assert refused.status_code == 400
    assert (
        "You have sent 2 alerts in the last 24 hours, the most allowed in any 24 hours. You can "
        "send the next one when the first of them is more than 24 hours old."
    ) in refused.text
    assert len(own_alerts(client)) == 2
    (entry,) = audit_of(client, "alert_refused")
    assert entry.change["problems"] == [{"field": "limit", "reason": "daily", "value": None}]


def test_without_a_network_name_she_is_told_to_ask_for_one(console_client: TestClient) -> None:
    sign_in_as(console_client, "leader")
    page = console_client.get("/leaders/alerts/new")
    assert "Your account has no network name yet" in page.text
    refused = post(console_client, "submit", form())
    assert refused.status_code == 400
    assert "Ask an admin to set it on your account." in refused.text
    assert own_alerts(console_client) == []


# -- her alerts and their reports --------------------------------------------------------------


def test_a_trusted_leaders_alert_goes_out_and_its_report_counts_without_naming_anyone(
    app: TestClient,
) -> None:
    state(app).accounts.set_trusted(LEADER, True)
    ids = [subscribe(app, "PH-HK", code, ("safety",)) for code in ("en", "fil", "fil", "th")]
    sign_in_as(app, "leader")
    preview = post(app, "preview", form())
    assert "You are trusted: the alert is sent as soon as you press the button." in preview.text
    sent = post(app, "submit", hidden_fields(preview.text))
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=published")
    (doc,) = own_alerts(app)
    assert doc["status"] == "published"
    store = state(app).store
    deliveries = store.find("deliveries", alert_id=doc["id"])
    assert len(deliveries) == 3  # the Thai phone has no version
    failed = deliveries[0]
    store.update("deliveries", failed["id"], {"state": "failed", "reason": "too_large"})
    page = app.get(sent.headers["location"]).text
    assert "The alert is published and is being sent." in page
    report = page.split('id="report-heading"', 1)[1].split("</section>", 1)[0]
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", report))
    assert facts["Phones targeted"] == "3"
    assert facts["Still being sent"] == "2" and facts["Failed"] == "1"
    assert "1 phone: " + REASONS["too_large"] in report
    listed = app.get("/leaders/alerts").text
    assert "1 phone: " + REASONS["too_large"] in listed
    # Counts only: no subscription, endpoint or push service of anyone.
    for text in (page, listed):
        assert "push.example" not in text
        assert not any(sub_id in text for sub_id in ids)


def test_she_sees_why_a_curator_rejected_her_alert(leader: TestClient) -> None:
    assert post(leader, "submit", form()).status_code == 303
    (doc,) = own_alerts(leader)
    curator = state(leader).accounts.get(CONSOLE_ACCOUNTS["curator"][0])
    state(leader).alerts.reject(doc["id"], curator, "The shelter's number is 2345 6780.")
    listed = leader.get("/leaders/alerts").text
    assert "Rejected" in listed
    assert "The shelter&#39;s number is 2345 6780." in listed
    one = leader.get(f"/leaders/alerts/{doc['id']}").text
    assert "The shelter&#39;s number is 2345 6780." in one
    assert "Withdraw the alert" not in one


def test_she_withdraws_her_own_alert(leader: TestClient) -> None:
    assert post(leader, "submit", form()).status_code == 303
    (doc,) = own_alerts(leader)
    path = f"/leaders/alerts/{doc['id']}"
    page = leader.get(path)
    answer = leader.post(
        f"{path}/withdraw", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"{path}?done=withdrawn"
    assert state(leader).alerts.get(doc["id"])["status"] == "withdrawn"
    (entry,) = audit_of(leader, "alert_withdrawn")
    assert (entry.actor, entry.target) == (LEADER, doc["id"])
    assert entry.change == {"status": {"from": "pending", "to": "withdrawn"}}
    again = leader.post(
        f"{path}/withdraw", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert again.status_code == 409


def test_a_leader_cannot_see_or_withdraw_another_leaders_alert(app: TestClient) -> None:
    accounts = state(app).accounts
    accounts.create(
        "ana@hub.example",
        CONSOLE_PASSWORD,
        role="leader",
        corridors=["PH-HK"],
        locales=["en"],
    )
    maria: Account = accounts.get(LEADER)
    alerts = state(app).alerts
    expires = (alerts.clock() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    draft = Draft(
        texts={"en": {"title": "Maria's alert", "body": "x"}},
        corridors=["PH-HK"],
        locales=["en"],
        topic="safety",
        expires=expires,
    )
    doc = alerts.submit(maria, draft)
    assert sign_in(app, "ana@hub.example").status_code == 303
    assert app.get(f"/leaders/alerts/{doc['id']}").status_code == 404
    assert "Maria&#39;s alert" not in app.get("/leaders/alerts").text
    page = app.get("/leaders/alerts")
    answer = app.post(
        f"/leaders/alerts/{doc['id']}/withdraw",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert alerts.get(doc["id"])["status"] == "pending"
    assert app.get("/leaders/alerts/no-such-alert").status_code == 404


# -- hand-made values the form does not offer --------------------------------------------------


@pytest.mark.parametrize("hours", ["²", "9" * 5000, "٢٤", "-24", " 24", "24.0", ""])
def test_a_number_of_hours_the_form_does_not_offer_is_marked_not_a_server_error(
    leader: TestClient, hours: str
) -> None:
    for action in ("preview", "submit"):
        answer = post(leader, action, form(hours=hours))
        assert answer.status_code == 400, (action, answer.status_code)
        assert 'id="hours-error">Choose how long the alert is shown.' in answer.text
    assert own_alerts(leader) == []


def test_a_version_in_a_language_not_hers_is_named_above_the_form(leader: TestClient) -> None:
    changes = {"title-th": "หมายเลขใหม่", "body-th": "โทร 2345 6789"}
    for action in ("preview", "submit"):
        answer = post(leader, action, form(**changes))
        assert answer.status_code == 400
        summary = re.search(r'<div class="error-summary".*?</div>', answer.text, re.S)
        assert summary is not None
        assert "ไทย" in summary[0] and "not one of your languages" in unescape(summary[0])
    assert own_alerts(leader) == []


def test_one_alert_is_worded_as_one(make_console_client: ClientFactory) -> None:
    client = make_console_client(alerts_per_day=2)
    state(client).accounts.set_network(LEADER, NETWORK)
    sign_in_as(client, "leader")
    assert post(client, "submit", form()).status_code == 303
    listed = client.get("/leaders/alerts").text
    assert "You can send 1 more alert now: at most 2 in any 24 hours." in listed
    one = make_console_client(alerts_per_day=1)
    state(one).accounts.set_network(LEADER, NETWORK)
    sign_in_as(one, "leader")
    assert post(one, "submit", form()).status_code == 303
    refused = post(one, "submit", form())
    assert refused.status_code == 400
    assert (
        "You have sent 1 alert in the last 24 hours, the most allowed in any 24 hours. You can "
        "send the next one when it is more than 24 hours old."
    ) in refused.text


def test_the_preview_says_who_readers_see_it_sent_by(leader: TestClient) -> None:
    preview = post(leader, "preview", form())
    assert preview.status_code == 200
    assert f"<dt>Readers see it as sent by</dt><dd>{NETWORK}</dd>" in preview.text
