"""Every public page, in every locale, through the real app."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from tests.conftest import LOCALES, set_corridor

PAGES = (
    "/{loc}/",
    "/{loc}/topics/before-you-go",
    "/{loc}/topics/at-work",
    "/{loc}/articles/keep-your-passport",
    "/{loc}/help",
    "/{loc}/services/hk-emergency",
    "/{loc}/search?q=passport",
    "/{loc}/safety",
)
NATIVE_NAMES = {
    "en": "English",
    "fil": "Filipino",
    "id": "Indonesia",
    "vi": "Tiếng Việt",
    "th": "ไทย",
    "km": "ខ្មែរ",
    "my": "မြန်မာ",
}


class Focusables(HTMLParser):
    """Collects focusable elements in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        focusable = (tag == "a" and "href" in attributes) or tag in {"button", "input", "select"}
        if focusable and attributes.get("type") != "hidden":
            self.found.append({"tag": tag, **attributes})


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_every_locale(
    shared_client: TestClient, locale: str, page: str
) -> None:
    set_corridor(shared_client, "PH", "HK")
    response = shared_client.get(page.format(loc=locale))
    assert response.status_code == 200
    html = response.text
    assert f'<html lang="{locale}"' in html
    # Quick exit is the first thing a keyboard or screen reader reaches.
    parser = Focusables()
    parser.feed(html)
    first = parser.found[0]
    assert "data-quick-exit" in first
    assert first["href"] == "https://www.google.com/"
    # The language switcher names each language in its own script.
    for code, name in NATIVE_NAMES.items():
        assert re.search(rf'lang="{code}"[^>]*>{re.escape(name)}</a>', html), code
    assert "<main" in html and "<nav" in html and "<footer" in html


def test_home_has_corridor_picker_stages_and_help(shared_client: TestClient) -> None:
    html = shared_client.get("/en/").text
    assert 'name="from"' in html and 'name="to"' in html
    assert 'method="get"' in html
    for stage in ("Before you go", "At work", "If something is wrong", "Going home"):
        assert stage in html
    assert 'href="/en/help"' in html
    assert "Get help now" in html


def test_home_shows_emergency_number_of_chosen_destination(shared_client: TestClient) -> None:
    assert 'href="tel:999"' not in shared_client.get("/en/").text
    set_corridor(shared_client, "PH", "HK")
    html = shared_client.get("/en/").text
    assert 'href="tel:999"' in html
    assert "Emergency in Hong Kong" in html


def test_pages_work_without_javascript(shared_client: TestClient) -> None:
    """Everything is in the HTML: forms use GET, links are plain links."""
    html = shared_client.get("/en/").text
    assert 'action="/en/corridor"' in html
    assert 'action="/en/search"' in html
    response = shared_client.get("/en/search", params={"q": "passport"})
    assert "keep-your-passport" in response.text


def test_topic_page_lists_its_articles(shared_client: TestClient) -> None:
    html = shared_client.get("/en/topics/at-work").text
    assert 'href="/en/articles/keep-your-passport"' in html
    assert 'href="/en/articles/check-your-recruitment-agency"' not in html


def test_article_page_renders_markdown_without_raw_html(shared_client: TestClient) -> None:
    html = shared_client.get("/en/articles/keep-your-passport").text
    assert "<h1>" in html and "<p>" in html
    assert 'href="../../help"' in html or 'href="/en/help"' in html
    assert "Sources" in html


def test_unknown_pages_are_localized_404s(shared_client: TestClient) -> None:
    for url, text in (
        ("/th/articles/no-such-article", "ไม่พบ"),
        ("/en/topics/nope", "Page not found"),
        ("/en/services/nope", "Page not found"),
        ("/xx/", "Page not found"),
    ):
        response = shared_client.get(url)
        assert response.status_code == 404
        assert text in response.text, url


def test_article_url_with_a_slash_redirects_to_the_one_without(shared_client: TestClient) -> None:
    response = shared_client.get("/en/articles/keep-your-passport/", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/en/articles/keep-your-passport"


@pytest.mark.server_error
def test_server_error_is_a_localized_page(client: TestClient, settings: object) -> None:
    # Break one internal piece so the search view fails the way a bug would.
    client.app.state.search = {}  # type: ignore[attr-defined]
    client_no_raise = TestClient(client.app, raise_server_exceptions=False)
    response = client_no_raise.get("/vi/search", params={"q": "x"})
    assert response.status_code == 500
    assert '<html lang="vi"' in response.text
    assert "Traceback" not in response.text
    assert 'class="quick-exit"' in response.text


# hk-emergency's `verified_on: 2026-11-29` as CLDR's long date of each locale writes it, by hand:
# Thai's Gregorian long form names the era; Burmese puts the year first, in Myanmar digits.
VERIFIED_ON_2026_11_29 = {
    "en": "November 29, 2026",
    "fil": "Nobyembre 29, 2026",
    "id": "29 November 2026",
    "vi": "29 tháng 11, 2026",
    "th": "29 พฤศจิกายน ค.ศ. 2026",
    "km": "29 វិច្ឆិកា 2026",
    "my": "၂၀၂၆ နိုဝင်ဘာ ၂၉",
}


@pytest.mark.parametrize("locale", LOCALES)
def test_dates_are_written_the_way_the_reader_locale_writes_them(
    shared_client: TestClient, locale: str
) -> None:
    html = shared_client.get(f"/{locale}/services/hk-emergency").text
    # In the "verified" fact, wherever the translation puts the date.
    assert re.search(rf"<dd>[^<]*{re.escape(VERIFIED_ON_2026_11_29[locale])}[^<]*</dd>", html)


# CLDR's Vietnamese names of four countries, written out: the picker must not show codes or
# English names.
VIETNAMESE_COUNTRIES = {
    "PH": "Philippines",
    "HK": "Đặc khu Hành chính Hồng Kông, Trung Quốc",
    "MM": "Myanmar (Miến Điện)",
    "KH": "Campuchia",
}


def test_country_names_come_from_cldr(shared_client: TestClient) -> None:
    html = shared_client.get("/vi/").text
    for code, name in VIETNAMESE_COUNTRIES.items():
        assert re.search(rf'<option value="{code}"[^>]*>{re.escape(name)}</option>', html), code
