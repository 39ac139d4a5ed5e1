"""The reader's alerts (issue 11, points 1 and 6): /<locale>/alerts lists the published alerts
of her corridor and language, newest first, by network and never by person; what it shows
follows every publication and withdrawal at once; it is in the offline pack; the home page's
"new since your last visit" mark comes from a JSON answer that is never cached."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.push.alerts import Draft
from hub.settings import Settings
from tests.conftest import ClientFactory
from tests.test_every_response import first_focusable
from tests.test_response_cache import cache_of

PH_HK = "hub_from=PH; hub_to=HK"
ID_SG = "hub_from=ID; hub_to=SG"
SUBJECT = "mailto:operations@hub.example"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


NOW = datetime.now(UTC).replace(microsecond=0)


def alert(
    title: str,
    *,
    published: datetime,
    corridors: tuple[str, ...] = ("PH-HK",),
    texts: tuple[str, ...] = ("en", "fil"),
    status: str = "published",
    expires: datetime | None = None,
    link: str | None = None,
    body: str = "First line of the text.\n\nSecond paragraph.",
    network: str = "Kabayan Network Hong Kong",
) -> dict[str, Any]:
    """An alert document as hub/push/alerts.py stores it (the spec's shape)."""
    return {
        "push_topic": secrets.token_urlsafe(12),
        "version": 1,
        "replaces": None,
        "account_id": "account-of-maria",
        "network": network,
        "corridors": list(corridors),
        "locales": list(texts),
        "texts": {loc: {"title": f"{title} ({loc})", "body": body} for loc in texts},
        "topic": "safety",
        "urgency": "normal",
        "expires": stamp(expires or NOW + timedelta(days=3)),
        "link": link,
        "status": status,
        "reason": None,
        "created": stamp(published - timedelta(minutes=5)),
        "published": stamp(published) if status != "pending" else None,
        "reviewed_by": "curator.maria.reyes@hub.example",
        "withdrawn": None,
    }


@pytest.fixture(scope="module")
def module_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"), vapid_subject=SUBJECT)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def reader(module_client: TestClient) -> TestClient:
    """The module's app with no alert stored and no cookie."""
    module_client.app.state.store.delete_where("alerts")  # type: ignore[attr-defined]
    refresh(module_client)
    module_client.cookies.clear()
    return module_client


def add(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    """Store an alert as the alerts part would."""
    doc["id"] = client.app.state.store.insert("alerts", doc)  # type: ignore[attr-defined]
    refresh(client)
    return doc


def refresh(client: TestClient) -> None:
    """Have the app read the alerts table afresh (the alerts part keeps the live ones in memory
    between its own changes, and these tests write the table directly)."""
    state = client.app.state  # type: ignore[attr-defined]
    state.alerts = type(state.alerts)(
        state.store,
        outbox=state.outbox,
        subscriptions=state.subscriptions,
        per_day=state.alerts.per_day,
        wake=state.sender.wake,
        library=state.library,
    )


def titles(html: str) -> list[str]:
    return re.findall(r"<h3>([^<]*)</h3>", html)


def page(client: TestClient, url: str = "/en/alerts", cookie: str = PH_HK) -> str:
    response = client.get(url, headers={"cookie": cookie})
    assert response.status_code == 200
    return response.text


def test_her_corridors_alerts_in_her_language_newest_first(reader: TestClient) -> None:
    add(reader, alert("Older", published=NOW - timedelta(days=2)))
    add(reader, alert("Newest", published=NOW - timedelta(hours=1)))
    add(reader, alert("Middle", published=NOW - timedelta(days=1), corridors=("ID-SG", "PH-HK")))
    add(reader, alert("Other corridor", published=NOW, corridors=("ID-SG",)))
    add(reader, alert("Filipino only", published=NOW, texts=("fil",)))
    assert titles(page(reader)) == ["Newest (en)", "Middle (en)", "Older (en)"]
    assert titles(page(reader, "/fil/alerts")) == [
        "Filipino only (fil)",
        "Newest (fil)",
        "Middle (fil)",
        "Older (fil)",
    ]
    assert titles(page(reader, cookie=ID_SG)) == ["Other corridor (en)", "Middle (en)"]
    # Before she has chosen her countries she sees every corridor's, and is asked to choose.
    html = page(reader, cookie="")
    assert len(titles(html)) == 4 and 'action="/en/corridor"' in html


def test_expired_withdrawn_pending_and_superseded_are_not_shown(reader: TestClient) -> None:
    add(reader, alert("Shown", published=NOW - timedelta(hours=3)))
    add(reader, alert("Expired", published=NOW - timedelta(days=3), expires=NOW - timedelta(1)))
    add(reader, alert("Withdrawn", published=NOW, status="withdrawn"))
    add(reader, alert("Superseded", published=NOW, status="superseded"))
    add(reader, alert("Pending", published=NOW, status="pending"))
    add(reader, alert("Rejected", published=NOW, status="rejected"))
    assert titles(page(reader)) == ["Shown (en)"]


def test_each_alert_shows_date_network_text_link_and_its_anchor(reader: TestClient) -> None:
    doc = add(
        reader,
        alert(
            "Shelter line",
            published=datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
            link="help",
            body="The embassy's shelter line changed.\n\nCall <b>+852 0000</b> now.",
        ),
    )
    html = page(reader)
    item = html[html.index(f'id="a-{doc["push_topic"]}"') :]
    item = item[: item.index("</li>")]
    assert '<time datetime="2026-11-28T09:30:00Z">November 28, 2026</time>' in item
    assert "From Kabayan Network Hong Kong" in item
    assert "<p>The embassy&#39;s shelter line changed.</p>" in item
    assert "<p>Call &lt;b&gt;+852 0000&lt;/b&gt; now.</p>" in item
    assert '<a href="/en/help">' in item
    # Never a person: not the author's account, not the curator who approved it.
    assert "maria" not in html.lower() and "account-of" not in html


def test_a_link_that_is_not_a_hub_page_is_not_shown(reader: TestClient) -> None:
    add(reader, alert("Odd link", published=NOW, link="//evil.example/x"))
    add(reader, alert("Climbing", published=NOW, link="../admin"))
    html = page(reader)
    assert "evil.example" not in html and "../admin" not in html and "Read more" not in html


@pytest.fixture
def leaders_app(make_console_client: ClientFactory) -> tuple[TestClient, Any]:
    """An app with a trusted leader (her alerts go out at once) of a named network."""
    client = make_console_client(vapid_subject=SUBJECT)
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    accounts.set_network("leader@hub.example", "Kabayan Network Hong Kong")
    return client, accounts.set_trusted("leader@hub.example", True)


def draft(title: str) -> Draft:
    return Draft(
        texts={"en": {"title": title, "body": "Call the new number."}},
        corridors=["PH-HK"],
        locales=["en"],
        topic="safety",
        expires=stamp(NOW + timedelta(days=2)),
    )


def test_the_author_is_never_named(leaders_app: tuple[TestClient, Any]) -> None:
    """Through the real alerts part: her network's name, never her own."""
    client, leader = leaders_app
    client.app.state.alerts.submit(leader, draft("Shelter line changed"))  # type: ignore[attr-defined]
    html = page(client)
    assert titles(html) == ["Shelter line changed"]
    assert "From Kabayan Network Hong Kong" in html
    assert leader.display_name not in html and "leader@hub.example" not in html
    assert leader.id not in html


def test_what_the_page_shows_follows_every_change_at_once(
    leaders_app: tuple[TestClient, Any],
) -> None:
    """The response cache keys on the request only: the alerts page is never kept in it, so a
    publication, a correction and a withdrawal show at the next request."""
    client, leader = leaders_app
    alerts = client.app.state.alerts  # type: ignore[attr-defined]
    assert titles(page(client)) == []
    assert titles(page(client)) == []  # asked twice: a page the cache kept would be kept now
    published = alerts.submit(leader, draft("Shelter line changed"))
    assert titles(page(client)) == ["Shelter line changed"]
    corrected = alerts.correct(
        published["id"], leader, {"en": {"title": "Shelter line: new number", "body": "Call."}}
    )
    html = page(client)
    assert titles(html) == ["Shelter line: new number"]
    assert f'id="a-{published["push_topic"]}"' in html  # the same anchor, as notified
    alerts.withdraw(corrected["id"], leader)
    assert titles(page(client)) == []
    assert not any("/alerts" in key[0] for key in cache_of(client).entries)
    response = client.get("/en/alerts", headers={"cookie": PH_HK})
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["vary"].startswith("Cookie")


def test_the_page_starts_with_the_quick_exit(reader: TestClient) -> None:
    add(reader, alert("Any", published=NOW))
    for cookie in (PH_HK, "", "hub_discreet=1"):
        first = first_focusable(page(reader, cookie=cookie))
        assert "data-quick-exit" in first, cookie


# -- "Get alerts on this phone" --------------------------------------------------------------


def test_the_subscribe_form_defaults_to_discreet_and_explains(reader: TestClient) -> None:
    html = page(reader)
    state = reader.app.state  # type: ignore[attr-defined]
    form = html[html.index('<form id="push-form"') : html.index("</form>")]
    assert f'data-key="{state.vapid.public_key}"' in form
    assert 'data-origin="PH"' in form and 'data-destination="HK"' in form
    assert 'data-locale="en"' in form and 'data-api="/api/subscriptions"' in form
    assert re.search(r'<input type="checkbox" name="discreet" checked>', form)
    for topic in ("safety", "rules", "events"):
        assert f'name="topics" value="{topic}" checked' in form
    # What a subscription reveals, iPhones, and browsers that cannot.
    assert "Google" in html and "Apple" in html and "push service" in html
    assert "iOS 16.4" in html and "home screen" in html
    assert 'id="push-unsupported"' in html and "chat app" in html


def test_without_vapid_the_page_says_alerts_are_not_available_yet(
    tmp_path: Path,
) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path / "var"))) as client:
        assert client.app.state.vapid.ready is False  # type: ignore[attr-defined]
        html = page(client)
    assert "not available yet" in html
    assert "push-form" not in html and "<button" not in html.split('id="get-alerts"')[1]


def test_without_a_corridor_she_is_asked_to_choose_one_first(reader: TestClient) -> None:
    html = page(reader, cookie="hub_from=PH")
    assert "push-form" not in html and "Choose your two countries" in html


def test_the_page_is_in_every_locale(reader: TestClient) -> None:
    add(
        reader,
        alert("Everywhere", published=NOW, texts=("en", "fil", "id", "vi", "th", "km", "my")),
    )
    for locale in ("en", "fil", "id", "vi", "th", "km", "my"):
        html = page(reader, f"/{locale}/alerts")
        assert f'<html lang="{locale}"' in html
        assert titles(html) == [f"Everywhere ({locale})"]


# -- offline and the home page's mark -----------------------------------------------------------


def test_the_offline_pack_holds_the_alerts_page(reader: TestClient) -> None:
    pack = reader.get("/api/packs/th.json?from=PH&to=HK").json()
    entry = next(e for e in pack["paths"] if e["url"] == "/th/alerts")
    assert entry["bytes"] > 1000


def test_the_worker_serves_the_alerts_page_from_the_network_first(reader: TestClient) -> None:
    worker = reader.get("/sw.js").text
    # Pages (navigations, the alerts page among them) go network first, then the phone's copy.
    assert 'request.mode === "navigate"' in worker and "networkFirst(event, savedPage" in worker
    # The subscription is never read from a copy on the phone.
    assert 'url.pathname.startsWith("/api/subscriptions")' in worker
    for event in ("push", "notificationclick", "pushsubscriptionchange"):
        assert f'addEventListener("{event}"' in worker


def test_the_home_page_asks_for_the_newest_alert_apart(reader: TestClient) -> None:
    home = page(reader, "/en/")
    assert 'data-src="/api/alerts/en.json"' in home
    assert re.search(r'<span id="alerts-new" class="new-mark" hidden', home)
    assert 'href="/en/alerts"' in home
    newest = reader.get("/api/alerts/en.json", headers={"cookie": PH_HK})
    assert newest.json() == {"newest": None}
    assert newest.headers["cache-control"] == "no-store"
    add(reader, alert("Old", published=NOW - timedelta(days=1)))
    add(reader, alert("New", published=NOW - timedelta(minutes=2)))
    add(reader, alert("Elsewhere", published=NOW, corridors=("ID-SG",)))
    expected = {"newest": stamp(NOW - timedelta(minutes=2))}
    assert reader.get("/api/alerts/en.json", headers={"cookie": PH_HK}).json() == expected
    assert reader.get("/api/alerts/en.json", headers={"cookie": ID_SG}).json() == {
        "newest": stamp(NOW)
    }
    # The alerts page carries the same time: the phone keeps it as seen.
    assert f'data-newest="{expected["newest"]}"' in page(reader)
    # The home page is the same before and after (kept in the response cache; the mark is not
    # in it).
    assert page(reader, "/en/") == home
    assert reader.get("/api/alerts/xx.json").status_code == 404


def test_an_alert_published_but_not_queued_when_the_hub_stopped_is_queued_at_start(
    tmp_path: Path,
) -> None:
    # A crash between an alert's publication and the queueing of its deliveries: at the next
    # start it goes to the phones of its corridor and language, once each.
    settings = Settings(data_dir=tmp_path / "var", push_services="https://fcm.googleapis.com")
    with TestClient(create_app(settings)) as first:
        store = first.app.state.store  # type: ignore[attr-defined]
        cut_off = {**alert("Shelter line changed", published=NOW), "fanned_out": False}
        alert_id = store.insert("alerts", cut_off)
        # No VAPID subject is set: nothing is sent, so these keys are never used.
        key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I"
        for n, (locale, corridor) in enumerate([("en", "PH-HK"), ("th", "PH-HK"), ("en", "ID-SG")]):
            origin, destination = corridor.split("-")
            store.insert(
                "subscriptions",
                {
                    "token_hash": f"hash-{n}",
                    "endpoint": f"https://fcm.googleapis.com/fcm/send/phone-{n}",
                    "push_service": "https://fcm.googleapis.com",
                    "keys": {"p256dh": key, "auth": "tBHItJI5svbpez7KI4CCXg"},
                    "locale": locale,
                    "origin": origin,
                    "destination": destination,
                    "corridor": corridor,
                    "topics": ["safety"],
                    "discreet": True,
                    "created": stamp(NOW),
                    "confirmed": stamp(NOW),
                    "last_delivery": None,
                },
            )
        assert store.count("deliveries") == 0
    for _ in range(2):
        with TestClient(create_app(settings)) as again:
            store = again.app.state.store  # type: ignore[attr-defined]
            # Only the English phone of PH-HK: the Thai one has no version in her language
            # and the ID-SG one is in another corridor.
            [delivery] = store.find("deliveries", alert_id=alert_id)
            assert store.get("subscriptions", delivery["subscription_id"])["locale"] == "en"
            assert store.get("alerts", alert_id)["fanned_out"] is True
