"""Burmese pages write one digit system, CLDR's default for `my`; other locales keep ASCII."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel import Locale
from markupsafe import Markup
from starlette.testclient import TestClient

from hub.i18n import locale_digits, localize_digits, localize_digits_html
from tests.conftest import LOCALES, set_corridor

# The literal: Burmese pages use Myanmar digits (U+1040 to U+1049).
MYANMAR = "၀၁၂၃၄၅၆၇၈၉"
ASCII_DIGIT = re.compile(r"[0-9]")
# What may keep ASCII digits on a Burmese page: runs with a Latin letter or "@" in them
# (e-mail and web addresses, "COVID-19", "KP2MI"). Written here apart from the converter.
KEEPS_DIGITS = re.compile(r"[A-Za-zÀ-ɏ@]")


class VisibleText(HTMLParser):
    """Visible text (outside scripts, styles and form values) and the tel: links of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.text: list[str] = []
        self.tel: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "textarea"}:
            self.skipping += 1
        href = dict(attrs).get("href") or ""
        if href.startswith("tel:"):
            self.tel.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "textarea"}:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.text.append(data)


def parse(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def stray_ascii_digits(html: str) -> list[str]:
    """Runs of visible text holding an ASCII digit that no exception covers."""
    return [
        token
        for chunk in parse(html).text
        for token in chunk.split()
        if ASCII_DIGIT.search(token) and not KEEPS_DIGITS.search(token)
    ]


def test_cldr_defaults_behind_the_choice() -> None:
    assert Locale.parse("my").default_numbering_system == "mymr"
    assert Locale.parse("km").default_numbering_system == "latn"
    assert Locale.parse("th").default_numbering_system == "latn"
    assert locale_digits("my") == MYANMAR
    for code in ("en", "fil", "id", "vi", "th", "km"):
        assert locale_digits(code) == "0123456789"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 1348", "Call ၁၃၄၈"),
        ("+63 2 1348", "+၆၃ ၂ ၁၃၄၈"),
        ("24/7, 1.5 MB", "၂၄/၇, ၁.၅ MB"),
        ("2025 မတ် 14", "၂၀၂၅ မတ် ၁၄"),
        # Whatever system the curator typed: Myanmar, Shan, Thai and Khmer digits alike.
        ("၁၂ ႑႒ ๑๒ ១២ 12", "၁၂ ၁၂ ၁၂ ၁၂ ၁၂"),
        ("(၁၉၉၀ခုနှစ်) 10ရက်", "(၁၉၉၀ခုနှစ်) ၁၀ရက်"),
        ("moloffice51@gmail.com, 067 3430", "moloffice51@gmail.com, ၀၆၇ ၃၄၃၀"),
        ("wa.me/6591234567 https://x.example/a/12", "wa.me/6591234567 https://x.example/a/12"),
        ("COVID-19 KP2MI 3D", "COVID-19 KP2MI 3D"),
        ("&#34;1348&#34; &#x27;9", "&#34;၁၃၄၈&#34; &#x27;၉"),
        ("", ""),
    ],
)
def test_converter_on_literals(text: str, expected: str) -> None:
    assert localize_digits(text, "my") == expected


@pytest.mark.parametrize("locale", ["en", "th", "km", "fil"])
def test_other_locales_keep_what_was_typed(locale: str) -> None:
    text = "Call 1348, ၁၂, ๑๒, ១២"
    assert localize_digits(text, locale) == text
    assert localize_digits_html(Markup(f'<a href="tel:1348">{text}</a>'), locale) == (
        f'<a href="tel:1348">{text}</a>'
    )


def test_html_converts_text_only() -> None:
    html = (
        '<a href="tel:+6321348" aria-label="Call 1348" data-n="12">Call +63 2 1348</a>'
        "<!-- build 12 --><script>var n = 12;</script><style>p{margin:0 2px}</style>"
        "<textarea name=q>12</textarea><p>Page 2 of 10 &#39;3&#39;</p>"
    )
    assert localize_digits_html(Markup(html), "my") == (
        '<a href="tel:+6321348" aria-label="Call 1348" data-n="12">Call +၆၃ ၂ ၁၃၄၈</a>'
        "<!-- build 12 --><script>var n = 12;</script><style>p{margin:0 2px}</style>"
        "<textarea name=q>12</textarea><p>Page ၂ of ၁၀ &#39;၃&#39;</p>"
    )


def burmese_pages(client: TestClient) -> list[str]:
    """Every page type of the reader, in `my`, over the whole starter content."""
    library = client.app.state.library  # type: ignore[attr-defined]
    pages = ["/my/", "/my/help", "/my/safety", "/my/offline", "/my/unavailable", "/my/no-such-page"]
    pages += [f"/my/topics/{topic.id}" for topic in library.topics]
    pages += [f"/my/articles/{slug}" for slug in library.articles]
    pages += [f"/my/services/{service_id}" for service_id in library.services]
    pages += [f"/my/search?q={q}" for q in ("passport", "hotline", "1348", "embassy")]
    return pages


@pytest.mark.slow
def test_burmese_pages_show_no_ascii_digits(shared_client: TestClient) -> None:
    library = shared_client.app.state.library  # type: ignore[attr-defined]
    seen_myanmar = 0
    tel_links = 0
    corridors = [(o, d) for o in library.site.origins for d in library.site.destinations if o != d]
    visits = [
        (corridor, path) for corridor in corridors[:1] for path in burmese_pages(shared_client)
    ]
    # Help and home for every corridor: each shows other numbers.
    visits += [(corridor, path) for corridor in corridors for path in ("/my/", "/my/help")]
    current = None
    for corridor, path in visits:
        if corridor != current:
            set_corridor(shared_client, *corridor)
            current = corridor
        response = shared_client.get(path)
        assert response.status_code in {200, 404}, path
        assert stray_ascii_digits(response.text) == [], (corridor, path)
        page = parse(response.text)
        seen_myanmar += sum(chunk.count(d) for chunk in page.text for d in MYANMAR)
        # A number to dial stays ASCII in its link, whatever the page shows.
        for href in page.tel:
            assert re.fullmatch(r"tel:\+?[0-9]+", href), (path, href)
        tel_links += len(page.tel)
    assert seen_myanmar > 1000 and tel_links > 100


def test_burmese_dates_counts_and_numbers(shared_client: TestClient) -> None:
    set_corridor(shared_client, "MM", "TH")
    article = shared_client.get("/my/articles/keep-your-passport").text
    # my.md's `updated: 2026-11-29`, year first and in Myanmar digits, as CLDR writes it.
    assert "၂၀၂၆ နိုဝင်ဘာ ၂၉" in "".join(parse(article).text)
    help_page = shared_client.get("/my/help").text
    assert "၁၉၁" in "".join(parse(help_page).text)  # Thailand's police, 191
    assert 'href="tel:191"' in help_page


def test_english_pages_keep_ascii_digits(shared_client: TestClient) -> None:
    set_corridor(shared_client, "MM", "TH")
    text = "".join(parse(shared_client.get("/en/help").text).text)
    assert "191" in text and not any(d in text for d in MYANMAR)


def test_no_myanmar_digits_written_by_the_hub_elsewhere(shared_client: TestClient) -> None:
    set_corridor(shared_client, "MM", "TH")
    for locale in LOCALES:
        if locale != "my":
            html = shared_client.get(f"/{locale}/help").text
            assert not any(d in html for d in MYANMAR), locale


def test_plain_text_is_escaped_never_trusted_as_markup() -> None:
    for locale in ("en", "my"):
        out = localize_digits_html('<script>alert(1)</script> 12 & "x"', locale)
        assert "<script>" not in out and "&lt;script&gt;" in out and "&amp;" in out
