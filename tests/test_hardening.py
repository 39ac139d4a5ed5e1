"""No 500, nothing forged or reflected: hostile requests get a page, a safe log line, a relative
redirect."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from hub.views import public
from tests.conftest import set_corridor
from tests.test_every_response import EXPECTED_HEADERS

QUICK_EXIT = "https://www.google.com/"


@pytest.fixture
def client(shared_client: TestClient) -> TestClient:
    """One app for the module's read-only tests, as a reader with no cookies yet."""
    return shared_client


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access log lines written so far."""
    return [r.getMessage() for r in caplog.records if r.name == "hub.access"]


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        # The attack: a forged second line after CR LF.
        (
            "/en/x%0d%0aGET%20/en/help%20200%200.1ms",
            "/en/x\\x0d\\x0aGET\\x20/en/help\\x20200\\x200.1ms",
        ),
        # A space would let a path pass for the fields after it.
        ("/en/%20200%201ms", "/en/\\x20200\\x201ms"),
        ("/en/a%0ab", "/en/a\\x0ab"),
        ("/en/a%00b%1bc%7fd", "/en/a\\x00b\\x1bc\\x7fd"),
        # C1 controls, NEL included, and the Unicode line and paragraph separators.
        ("/en/a%c2%85b%c2%9bc", "/en/a\\x85b\\x9bc"),
        ("/en/a%e2%80%a8b%e2%80%a9c", "/en/a\\u2028b\\u2029c"),
        # A right-to-left override would show the line's text out of order.
        ("/en/a%e2%80%aeb", "/en/a\\u202eb"),
        # A backslash is escaped too, so a path cannot spell an escape that looks real.
        ("/en/a%5cx0ab", "/en/a\\\\x0ab"),
        # Text that is not a control stays as it is.
        ("/th/%e0%b8%a7%e0%b8%b5%e0%b8%8b%e0%b9%88%e0%b8%b2", "/th/วีซ่า"),
    ],
)
def test_access_log_escapes_control_characters(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, shown: str
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.access"):
        client.get(path, follow_redirects=False)
    lines = access_lines(caplog)
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"GET {shown} ")
    assert line.isprintable()
    assert len(line.splitlines()) == 1


class FirstFocusable(HTMLParser):
    """The first element a keyboard reaches, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        focusable = (tag == "a" and "href" in attributes) or tag in {
            "button",
            "input",
            "select",
            "textarea",
        }
        if tag != "main" and attributes.get("tabindex") not in (None, "-1"):
            focusable = True
        if self.first is None and focusable and attributes.get("type") != "hidden":
            self.first = {"tag": tag, **attributes}


def first_focusable(html: str) -> dict[str, str | None]:
    """The first focusable element of a page (AssertionError when there is none)."""
    parser = FirstFocusable()
    parser.feed(html)
    assert parser.first is not None
    return parser.first


def assert_security_headers(response: Response | object) -> None:
    """Every security header the hub sends, with its value."""
    headers = response.headers  # type: ignore[union-attr]
    for name, value in EXPECTED_HEADERS.items():
        assert headers.get(name) == value, name
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


async def _broken_view(request: Request) -> Response:
    raise RuntimeError("a planted bug")


@pytest.fixture
def broken_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The real app whose safety page fails the way a bug in a view would."""
    monkeypatch.setattr(public, "safety", _broken_view)
    settings = Settings(data_dir=tmp_path / "var")
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.server_error
def test_a_server_error_is_a_localized_page_with_headers_exit_and_log(
    broken_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = broken_client.get("/th/safety")
    assert response.status_code == 500
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="th"' in html
    assert "เกิดข้อผิดพลาด" in html  # "Something went wrong"
    assert "planted" not in html and "Traceback" not in html
    first = first_focusable(html)
    assert first["href"] == QUICK_EXIT and "data-quick-exit" in first
    assert access_lines(caplog) == [access_lines(caplog)[0]]
    assert access_lines(caplog)[0].startswith("GET /th/safety 500 ")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info is not None
    assert "a planted bug" in str(errors[0].exc_info[1])


@pytest.mark.server_error
def test_when_even_the_error_page_fails_the_last_resort_keeps_headers_and_exit(
    broken_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    broken_client.app.state.templates = None  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="hub.access"):
        response = broken_client.get("/km/safety")
    assert response.status_code == 500
    assert_security_headers(response)
    first = first_focusable(response.text)
    assert first["href"] == QUICK_EXIT and "data-quick-exit" in first
    assert access_lines(caplog)[0].startswith("GET /km/safety 500 ")


# Non-canonical spellings of reader URLs, and where each is sent: one permanent, relative
# redirect to the canonical path with the query as it was.
NON_CANONICAL = [
    ("/en", "/en/"),
    ("/en?saved=1", "/en/?saved=1"),
    ("/en//", "/en/"),
    ("/en/help/", "/en/help"),
    ("/en/help/?saved=place", "/en/help?saved=place"),
    ("/en/articles/keep-your-passport/", "/en/articles/keep-your-passport"),
    ("/th/articles/keep-your-passport/?x=%3Cb%3E", "/th/articles/keep-your-passport?x=%3Cb%3E"),
    ("/en//help", "/en/help"),
    ("/en/articles//keep-your-passport", "/en/articles/keep-your-passport"),
    ("/en/search/?q=a%20b&page=2", "/en/search?q=a%20b&page=2"),
    ("/en/topics/at-work/", "/en/topics/at-work"),
    ("/km/services/hk-emergency/", "/km/services/hk-emergency"),
    ("/sw.js/", "/sw.js"),
    # A locale in the path in another case (RFC 5646: tags are case-insensitive).
    ("/EN", "/en/"),
    ("/EN/", "/en/"),
    ("/En/help?q=1", "/en/help?q=1"),
    ("/TH/articles/keep-your-passport/", "/th/articles/keep-your-passport"),
    ("/api/search/EN.json", "/api/search/en.json"),
    ("/api/packs/Th.json?from=PH&to=HK", "/api/packs/th.json?from=PH&to=HK"),
    # Never a Location a browser reads as another site's address.
    ("http://testserver//example.org/", "/example.org"),
    ("http://testserver//%5Cexample.org/", "/%5Cexample.org"),
    ("/en/%5Cexample.org/", "/en/%5Cexample.org"),
    ("http://testserver///en", "/en/"),
    ("/th/%E0%B8%81/", "/th/%E0%B8%81"),
    # A console's home keeps its slash, as a locale's does; its pages have none.
    ("/admin", "/admin/"),
    ("/leaders?lang=th", "/leaders/?lang=th"),
    ("/admin//", "/admin/"),
    ("/admin/accounts/", "/admin/accounts"),
    ("/login/", "/login"),
]


@pytest.mark.parametrize(("url", "expected"), NON_CANONICAL)
def test_a_non_canonical_path_redirects_once_to_the_canonical_relative_path(
    client: TestClient, url: str, expected: str
) -> None:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == expected
    assert_security_headers(response)
    again = client.get(expected, follow_redirects=False)
    assert again.status_code != 308, "a canonical path is never redirected again"


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/en/",
        "/en/help",
        "/en/articles/keep-your-passport",
        "/th/search?q=x",
        "/sw.js",
        "/api/search/en.json",
        "/static/nothing-here.css",
        "/en/nope",
        "/nope",
        "/admin/",
        "/leaders/",
        "/admin/accounts",
        "/login",
    ],
)
def test_a_canonical_path_is_answered_without_a_redirect(client: TestClient, url: str) -> None:
    response = client.get(url, follow_redirects=False)
    assert response.status_code != 308
    assert response.status_code in (200, 302, 303, 404)


HOSTILE_HOST = {"host": "evil.example", "x-forwarded-host": "evil.example"}


@pytest.mark.parametrize(
    "url",
    [
        *(url for url, _ in NON_CANONICAL if "testserver" not in url),
        "/",
        "/nope",
        "/en/nope/",
        "/en/corridor?from=PH&to=HK&next=/en/help",
        "/en/location?in=origin&next=/en/help",
        "/en/discreet?on=1&next=/en/safety",
        "/en/corridor?from=PH&to=HK&next=http://evil.example/",
    ],
)
def test_no_redirect_takes_its_location_from_the_host_header(client: TestClient, url: str) -> None:
    response = client.get(url, headers=HOSTILE_HOST, follow_redirects=False)
    target = response.headers.get("location", "/")
    assert "evil" not in target
    assert target.startswith("/") and not target.startswith(("//", "/\\"))


def same_site_links(html: str) -> set[str]:
    """Every same-site address a page links to or loads, resolved against nothing else."""
    found = set()
    for match in re.finditer(r'(?:href|src|action)="([^"#]*)', html):
        value = match.group(1).replace("&amp;", "&")
        if value and not value.startswith(("http:", "https:", "mailto:", "tel:", "//")):
            found.add(value)
    return found


# Links that change a preference and send her back (303), or clear the phone: not pages to
# crawl, but the page each returns to is.
ACTIONS = ("/location", "/discreet", "/clear")


def crawlable(path: str, query: str, start: str) -> bool:
    """Whether the crawl of one locale follows a same-site link."""
    if path.endswith(ACTIONS) or (path.endswith("/corridor") and "from=" in query):
        return False
    # Other locales' pages are crawled by their own run, except each home page.
    home = path.count("/") == 2 and path.endswith("/")
    return home or path.startswith((start, "/static/", "/api/", "/sw.js", "/manifest"))


@pytest.mark.parametrize("locale", ["en", "th"])
def test_every_link_of_every_page_answers_without_a_redirect(
    client: TestClient, locale: str
) -> None:
    set_corridor(client, "PH", "HK")
    start = f"/{locale}/"
    seen: dict[str, int] = {}
    queue = [start]
    # Bounded: the starter content has fewer pages than this in one locale.
    while queue and len(seen) < 600:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url, follow_redirects=False)
        seen[url] = response.status_code
        if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
            continue
        for link in same_site_links(response.text):
            parts = urlsplit(urljoin(url, link))
            absolute = parts.path + (f"?{parts.query}" if parts.query else "")
            if crawlable(parts.path, parts.query, start):
                queue.append(absolute)
            else:
                # Where an action sends her back to must be a page of its own.
                queue += parse_qs(parts.query).get("next", [])
    assert len(seen) < 600
    assert len([u for u in seen if "/articles/" in u]) >= 10
    wrong = {url: status for url, status in seen.items() if status != 200}
    assert wrong == {}


# A locale or country code from the request in another case than the hub writes it. The rule:
# a locale in the path is redirected to its lower-case path; anywhere else a code is read in
# any case (RFC 5646 section 2.1.1, ISO 3166); anything unknown falls back. Never a 500.
CASES = [
    # (url, cookies, accept-language, final status, page language)
    ("/EN/", {}, "", 200, "en"),
    ("/En/help", {}, "", 200, "en"),
    ("/TH/articles/keep-your-passport", {}, "", 200, "th"),
    ("/Km/topics/at-work/", {}, "", 200, "km"),
    ("/", {}, "EN", 200, "en"),
    ("/", {}, "TH-th, EN;Q=0.5", 200, "th"),
    ("/", {}, "MY", 200, "my"),
    ("/", {"hub_locale": "EN"}, "th", 200, "en"),
    ("/", {"hub_locale": "Km"}, "", 200, "km"),
    ("/", {"hub_locale": "XX"}, "VI", 200, "vi"),
    ("/", {"hub_locale": "xx"}, "ZZ", 200, "en"),
    # Error pages speak the locale of the URL, else the cookie's, else the header's.
    ("/nope", {"hub_locale": "TH"}, "", 404, "th"),
    ("/nope", {}, "VI", 404, "vi"),
    ("/en/nope", {"hub_locale": "TH"}, "", 404, "en"),
    ("/XX/", {}, "", 404, "en"),
    ("/xx/help", {"hub_locale": "FIL"}, "", 404, "fil"),
    ("/EN-US/", {}, "", 404, "en"),
]


@pytest.mark.parametrize(("url", "cookies", "accept", "status", "lang"), CASES)
def test_codes_in_any_case_give_the_right_page(
    client: TestClient, url: str, cookies: dict[str, str], accept: str, status: int, lang: str
) -> None:
    for name, value in cookies.items():
        client.cookies.set(name, value)
    response = client.get(url, headers={"accept-language": accept})
    assert response.status_code == status
    assert f'<html lang="{lang}"' in response.text
    assert_security_headers(response)


@pytest.mark.parametrize(("lang", "expected"), [("TH", "th"), ("Fil", "fil"), ("xx", "en")])
def test_the_manifest_reads_its_language_in_any_case(
    client: TestClient, lang: str, expected: str
) -> None:
    response = client.get("/manifest.webmanifest", params={"lang": lang})
    assert response.status_code == 200
    assert response.json()["lang"] == expected
    assert response.json()["start_url"] == f"/{expected}/"


def test_the_offline_index_of_a_locale_in_another_case(client: TestClient) -> None:
    response = client.get("/api/search/TH.json")
    assert response.status_code == 200
    assert response.json()["locale"] == "th"


def test_country_codes_in_any_case_name_the_same_corridor(client: TestClient) -> None:
    client.cookies.set("hub_from", "PH")
    client.cookies.set("hub_to", "HK")
    expected = client.get("/en/help").text
    client.cookies.set("hub_from", "ph")
    client.cookies.set("hub_to", "Hk")
    assert client.get("/en/help").text == expected
    client.cookies.clear()
    chosen = client.get("/en/corridor", params={"from": "ph", "to": "hk"}, follow_redirects=False)
    assert chosen.status_code == 303
    assert client.cookies.get("hub_from") == "PH" and client.cookies.get("hub_to") == "HK"
    upper = client.get("/api/packs/en.json", params={"from": "PH", "to": "HK"})
    lower = client.get("/api/packs/en.json", params={"from": "ph", "to": "hk"})
    assert lower.status_code == 200
    assert lower.json()["paths"] == upper.json()["paths"]


def test_cookies_are_read_without_the_quadratic_unquote(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http.cookies' unquoting is quadratic in backslashes before Python 3.11.10 (CVE-2024-7592):
    a 64 KB cookie stalled the server for 15 s. The hub's cookies are read without it."""
    import http.cookies

    def refuse(value: str) -> str:
        raise AssertionError("http.cookies._unquote was called")

    monkeypatch.setattr(http.cookies, "_unquote", refuse)
    hostile = 'a="' + "\\" * 2000 + '"; hub_from=PH; hub_to=HK'
    for path in ("/en/help", "/en/no-such-page", "/"):
        response = client.get(path, headers={"cookie": hostile}, follow_redirects=False)
        assert response.status_code in (200, 302, 404), path
    assert "hk-emergency" in client.get("/en/help", headers={"cookie": hostile}).text
    # A quoted or escaped value is not one of the hub's: it reads as absent.
    quoted = client.get("/en/help", headers={"cookie": 'hub_from="PH"; hub_to="HK"'}).text
    assert "hk-emergency" not in quoted


def test_an_error_page_reads_the_locale_cookie_as_the_redirect_does(client: TestClient) -> None:
    cookie = {"cookie": "hub_locale=th; hub_locale=km"}
    assert client.get("/", headers=cookie, follow_redirects=False).headers["location"] == "/th/"
    assert '<html lang="th"' in client.get("/no-such-page", headers=cookie).text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/static/nope.css", 404), ("POST", "/static/icons/hub-192.png", 405)],
)
def test_static_errors_are_the_hub_s_pages(
    client: TestClient, method: str, path: str, status: int
) -> None:
    if status == 405:
        # The real, fingerprinted name of a file that exists.
        home = client.get("/en/").text
        path = "/static/" + home.split('href="/static/', 1)[1].split('"', 1)[0]
    response = client.request(method, path, headers={"cookie": "hub_locale=vi"})
    assert response.status_code == status
    assert_security_headers(response)
    assert '<html lang="vi"' in response.text
    first = first_focusable(response.text)
    assert first["href"] == QUICK_EXIT
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_head_is_answered_as_get_from_the_cache(client: TestClient) -> None:
    from tests.test_response_cache import cache_of

    got = client.get("/en/safety", headers={"accept-encoding": "gzip"})
    cache = cache_of(client)
    hits = cache.hits
    head = client.head("/en/safety", headers={"accept-encoding": "gzip"})
    assert cache.hits == hits + 1
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "vary", "content-encoding", "content-length", "content-type"):
        assert head.headers.get(name) == got.headers.get(name), name
    assert_security_headers(head)
    plain = client.head("/en/safety", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["etag"] != got.headers["etag"]


@pytest.mark.parametrize(
    "target",
    ["/en/../..//evil.example", "/en/./../x", "/en/%2e%2e/%2E%2e//evil.example"],
)
def test_a_return_path_with_dot_segments_goes_home(client: TestClient, target: str) -> None:
    response = client.get(
        "/en/location", params={"in": "destination", "next": target}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/en/?")
