"""Security headers, no third-party requests, cookies, and logs that keep readers private."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from tests.conftest import LOCALES, set_corridor

URLS = (
    "/",
    "/en/",
    "/th/help",
    "/en/articles/keep-your-passport",
    "/en/search?q=passport",
    "/en/nope",
    "/en/corridor?from=PH&to=HK",
)


@pytest.mark.parametrize("url", URLS)
def test_security_headers_on_every_response(shared_client: TestClient, url: str) -> None:
    response = shared_client.get(url, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in response.headers["permissions-policy"]


def test_security_headers_on_static_files(shared_client: TestClient) -> None:
    css = re.search(r'href="(/static/css/[^"]+)"', shared_client.get("/en/").text)
    assert css is not None
    response = shared_client.get(css.group(1))
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in response.headers


class Resources(HTMLParser):
    """Every URL a page loads or submits to, and every link that leaves the site."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.leaving: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "srcset", "action", "poster", "data", "formaction"):
            if attributes.get(name):
                self.loads.append(str(attributes[name]))
        if tag == "link" and attributes.get("href"):
            self.loads.append(str(attributes["href"]))
        if tag == "a" and str(attributes.get("href", "")).startswith(("http:", "https:", "//")):
            self.leaving.append(attributes)
        if any(name.startswith("on") for name in attributes):
            self.inline_scripts += 1
        if "style" in attributes:
            self.inline_scripts += 1
        self._in_script = tag == "script" and "src" not in attributes

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


@pytest.mark.parametrize("locale", LOCALES)
def test_no_page_loads_anything_from_another_origin(shared_client: TestClient, locale: str) -> None:
    set_corridor(shared_client, "PH", "HK")
    library = shared_client.app.state.library  # type: ignore[attr-defined]
    urls = [f"/{locale}/", f"/{locale}/help", f"/{locale}/safety", f"/{locale}/search?q=a"]
    urls += [f"/{locale}/articles/{slug}" for slug in library.articles]
    urls += [f"/{locale}/services/{sid}" for sid in library.services]
    urls += [f"/{locale}/topics/{topic.id}" for topic in library.topics]
    for url in urls:
        html = shared_client.get(url).text
        parser = Resources()
        parser.feed(html)
        assert all(u.startswith("/") and not u.startswith("//") for u in parser.loads), url
        assert parser.inline_scripts == 0, url
        for link in parser.leaving:
            # Leaving is the reader's choice, and the next site learns nothing of where from.
            assert "noreferrer" in str(link.get("rel", "")), (url, link)
        assert "url(http" not in html


def test_only_preference_cookies_are_set(shared_client: TestClient) -> None:
    response = shared_client.get("/fil/")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    assert cookies[0].startswith("hub_locale=fil;")
    lowered = cookies[0].lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    # The same locale again sets nothing new.
    assert shared_client.get("/fil/help").headers.get_list("set-cookie") == []


def test_access_log_has_no_client_address_or_query(
    shared_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.access"):
        shared_client.get("/en/search", params={"q": "secret words"})
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.access"]
    assert lines == [lines[0]] and lines[0].startswith("GET /en/search 200")
    assert "secret" not in lines[0] and "?" not in lines[0]
    assert "testclient" not in lines[0] and "127.0.0.1" not in lines[0]
