"""Every number is dialled the way that works from where she is, or offered as no button at all."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import shortnumberinfo
from starlette.testclient import TestClient

from hub.content import Library, Service, load_library
from hub.content.dialing import calls
from hub.content.model import Source, SourceDate
from tests.conftest import CONTENT, ClientFactory, set_corridor

NATIONAL_ONLY_TYPES = {
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.UAN,
}


def _entry(**fields: object) -> Service:
    base: dict[str, object] = {
        "id": "x",
        "kind": "hotline",
        "name": {"en": "X"},
        "country": "SG",
        "sources": (Source("https://example.org/", SourceDate(2025)),),
        "verified_on": dt.date(2026, 1, 1),
    }
    base.update(fields)
    return Service(**base)  # type: ignore[arg-type]


def test_toll_free_is_national_at_home_and_no_button_abroad() -> None:
    entry = _entry(phone="+6518002255322")
    (inside,) = calls(entry, "SG")
    assert inside.href == "18002255322" and inside.display == "1800 225 5322"
    (abroad,) = calls(entry, "HK")
    assert abroad.href is None and abroad.display == "+65 1800 225 5322"


@pytest.mark.parametrize(
    ("number", "country", "national"),
    [
        ("+81120279889", "JP", "0120279889"),  # JP 0120 toll-free
        ("+81570013904", "JP", "0570013904"),  # JP 0570 navi dial
        ("+8215771366", "KR", "15771366"),  # KR 1577
        ("+9718007283", "AE", "8007283"),  # AE 800
    ],
)
def test_national_services_are_dialled_nationally(number: str, country: str, national: str) -> None:
    entry = _entry(phone=number, country=country)
    assert calls(entry, country)[0].href == national
    assert calls(entry, "PH")[0].href is None
    assert calls(entry, None)[0].href is None


def test_an_ordinary_line_is_international_from_abroad_and_national_at_home() -> None:
    entry = _entry(phone="+85223020222", country="HK")
    assert calls(entry, "HK")[0].href == "23020222"
    assert calls(entry, "PH")[0].href == "+85223020222"
    assert calls(entry, None)[0].href == "+85223020222"


def test_a_short_code_works_only_inside_its_country_and_abroad_gets_the_other_number() -> None:
    entry = _entry(
        country="PH", serves=frozenset({"PH"}), short_number="1348", phone_from_abroad="+6321348"
    )
    home = calls(entry, "PH")
    assert [(c.field, c.href) for c in home] == [("short_number", "1348")]
    away = calls(entry, "HK")
    assert [c.field for c in away] == ["short_number", "phone_from_abroad"]
    assert away[0].href is None
    # libphonenumber does not know +63 2 1348, so it is shown but not offered as a button.
    assert away[1].href is None and "1348" in away[1].display


class _Cards(HTMLParser):
    """tel: links of a page, by the service card (or the Call now list) they sit in."""

    def __init__(self) -> None:
        super().__init__()
        self.current = "page"
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        labelled = values.get("aria-labelledby") or ""
        if tag == "section" and labelled.startswith("service-"):
            self.current = labelled.removeprefix("service-")
        elif tag == "section":
            self.current = "page"
        href = values.get("href") or ""
        if tag == "a" and href.startswith("tel:"):
            self.links.append((self.current, href.removeprefix("tel:")))


@pytest.fixture(scope="module")
def starter() -> tuple[Library, set[str]]:
    """The starter library, and the entries whose short code libphonenumber does not list
    (`hub check` warns about each)."""
    library, problems = load_library(CONTENT)
    unlisted = {
        Path(p.path).stem
        for p in problems
        if p.level == "warning" and "is not in libphonenumber's data" in p.message
    }
    return library, unlisted


def _dialable_from(href: str, entry: Service, here: str | None, unlisted: set[str]) -> bool:
    """Whether libphonenumber says `href` is how this entry's number is dialled from `here`."""
    if href == entry.short_number:
        region = entry.country
        parsed = phonenumbers.parse(href, region)
        listed = shortnumberinfo.is_valid_short_number_for_region(parsed, region)
        # A short code connects only in its own country; a few real national hotlines are
        # missing from libphonenumber's data, and `hub check` warns about each of those.
        return here == entry.country and (listed or entry.id in unlisted)
    numbers = [n for n in (entry.phone, entry.phone_from_abroad) if n]
    for number in numbers:
        parsed = phonenumbers.parse(number)
        expected = phonenumbers.format_number_for_mobile_dialing(parsed, here or "ZZ", False)
        abroad = here != phonenumbers.region_code_for_number(parsed)
        if abroad and phonenumbers.number_type(parsed) in NATIONAL_ONLY_TYPES:
            continue
        if expected and href == expected:
            return True
    return False


@pytest.mark.slow
def test_every_call_button_dials_from_where_she_is(
    shared_client: TestClient, starter: tuple[Library, set[str]]
) -> None:
    library, unlisted = starter
    site = library.site
    checked = 0
    for origin in site.origins:
        for destination in site.destinations:
            if origin == destination:
                continue
            set_corridor(shared_client, origin, destination)
            for where, here in (("destination", destination), ("origin", origin)):
                shared_client.get("/en/location", params={"in": where}, follow_redirects=False)
                html = shared_client.get("/en/help").text
                parser = _Cards()
                parser.feed(html)
                for card, href in parser.links:
                    if card == "page":
                        continue  # the Call now list repeats a card's first button
                    entry = library.services[card]
                    assert _dialable_from(href, entry, here, unlisted), (
                        origin,
                        destination,
                        where,
                        card,
                        href,
                    )
                    checked += 1
                call_now = [h for c, h in parser.links if c == "page"]
                cards = {h for c, h in parser.links if c != "page"}
                assert set(call_now) <= cards
    assert checked > 200


@pytest.mark.slow
def test_every_service_page_dials_from_each_place(
    shared_client: TestClient, starter: tuple[Library, set[str]]
) -> None:
    library, unlisted = starter
    for where, place in (("destination", "HK"), ("origin", "PH")):
        set_corridor(shared_client, "PH", "HK")
        shared_client.get("/en/location", params={"in": where}, follow_redirects=False)
        for entry in library.services.values():
            parser = _Cards()
            parser.feed(shared_client.get(f"/en/services/{entry.id}").text)
            for _, href in parser.links:
                assert _dialable_from(href, entry, place, unlisted), (where, entry.id, href)


def test_a_short_code_from_abroad_says_where_it_works(shared_client: TestClient) -> None:
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/help").text
    card = html[html.index('id="service-ph-dmw-hotline"') :]
    card = card[: card.index("</section>")]
    assert 'href="tel:1348"' not in card
    assert "1348 works only inside Philippines." in card
    shared_client.get("/en/location", params={"in": "origin"}, follow_redirects=False)
    html = shared_client.get("/en/help").text
    card = html[html.index('id="service-ph-dmw-hotline"') :]
    assert 'href="tel:1348"' in card[: card.index("</section>")]


def test_where_she_is_is_remembered_and_refuses_junk(shared_client: TestClient) -> None:
    set_corridor(shared_client, "ID", "SG")
    response = shared_client.get(
        "/en/location", params={"in": "origin", "next": "/en/help"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/en/help?saved=place"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_in=origin") and "httponly" in cookie.lower()
    assert "Saved. Numbers are now shown to call from Indonesia." in (
        shared_client.get("/en/help?saved=place").text
    )
    assert "Numbers are shown to call from Indonesia." in shared_client.get("/en/help").text
    for junk in ("abroad", "", "ORIGIN"):
        bad = shared_client.get("/en/location", params={"in": junk}, follow_redirects=False)
        assert bad.status_code == 400
        assert "hub_in" not in bad.headers.get("set-cookie", "")
    assert "Numbers are shown to call from Indonesia." in shared_client.get("/en/help").text
    back = shared_client.get("/en/location", params={"in": "destination"}, follow_redirects=False)
    assert 'hub_in=""' in back.headers["set-cookie"] or "Max-Age=0" in back.headers["set-cookie"]
    assert "Numbers are shown to call from Singapore." in shared_client.get("/en/help").text


def test_home_emergency_button_follows_where_she_is(shared_client: TestClient) -> None:
    set_corridor(shared_client, "VN", "SG")
    home = shared_client.get("/en/").text
    assert re.search(r'href="tel:999">Emergency in Singapore: call 999<', home)
    shared_client.get("/en/location", params={"in": "origin"}, follow_redirects=False)
    assert 'href="tel:999"' not in shared_client.get("/en/").text


def test_check_warns_when_no_number_reaches_readers_abroad(
    content_copy: Path, make_client: ClientFactory
) -> None:
    path = content_copy / "services" / "ph-dmw-hotline.yml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^(phone|phone_from_abroad): .*\n", "", text, flags=re.M)
    text = re.sub(r'"\+63[0-9]+",? ?', "", text)
    path.write_text(text, encoding="utf-8")
    _, problems = load_library(content_copy)
    mine = [str(p) for p in problems if p.path == "services/ph-dmw-hotline.yml"]
    assert any("no number can be dialled by its readers abroad" in m for m in mine)


def test_before_any_choice_an_entry_dials_from_where_its_readers_are(
    shared_client: TestClient,
) -> None:
    # A shared link to an emergency line, opened before she has chosen her countries.
    assert 'href="tel:999"' in shared_client.get("/en/services/hk-emergency").text
    dmw = shared_client.get("/en/services/ph-dmw-hotline").text
    assert 'href="tel:1348"' not in dmw and "1348 works only inside Philippines." in dmw
    assert 'href="tel:+63287221144"' in dmw
