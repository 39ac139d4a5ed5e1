"""Every response type carries the security headers; every page starts with the quick exit.

Issue 9, point 3: a page or a response type the tests did not list could lose either unseen
(the offline fallback without its quick exit, JavaScript without a Content-Security-Policy).
Here the requests are one table that must name every route, and the pages are found by
walking hub/templates, so a new route or page template without a row fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from _pytest.mark.structures import ParameterSet
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.testclient import TestClient

from hub.push.alerts import Draft
from hub.settings import PROJECT_ROOT
from tests.conftest import CSRF_INPUT, add_console_accounts, sign_in_as
from tests.test_response_cache import cache_of

TEMPLATES = PROJECT_ROOT / "hub" / "templates"

# What the hub must send on every response, written out here rather than imported from
# hub.middleware, so a change there is a change of this test too.
EXPECTED_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        "interest-cohort=(), browsing-topics=()"
    ),
}

PH_HK = "hub_from=PH; hub_to=HK"
DISCREET = "hub_discreet=1"
KM = "hub_locale=km"


# How a request can make the app fail the way a bug would: app.state values to replace.
BREAKS: dict[str, dict[str, Any]] = {
    "search": {"search": {}},  # no search index for any locale
    "exports": {"search_exports": None},
    # Not even the 500 page can be rendered: the last resort of hub/views/errors.py answers.
    "render": {"templates": None},
}


@dataclass(frozen=True)
class Ask:
    """One request of the table: a 304 is asked for with the ETag of a first answer; `{css}`,
    `{js}` and `{icon}` in the URL are the hashed static URLs of the home page."""

    method: str
    url: str
    status: int
    cookie: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    breaks: str | None = None
    # Signed in as tests/conftest.py's CONSOLE_ACCOUNTS account of this role ("": nobody).
    role: str = ""


def ask(
    id_: str,
    request: str,
    status: int,
    *,
    xfail: str | None = None,
    **extra: Any,
) -> ParameterSet:
    """One row of the request table ("METHOD url"), with its id, the server_error mark if it
    breaks the app, and a known bug (to fix, then flip) as a strict xfail."""
    method, url = request.split(" ", 1)
    marks: list[pytest.MarkDecorator] = [pytest.mark.server_error] if extra.get("breaks") else []
    if xfail is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=xfail))
    return pytest.param(Ask(method, url, status, **extra), id=id_, marks=marks)


def rows() -> list[Ask]:
    """The requests of the table."""
    return [p.values[0] for p in REQUESTS if isinstance(p.values[0], Ask)]


# The Mount("/{locale}") of hub/routes.py matches /api/... too (locale "api"): Starlette's router
# takes that full match before the method-mismatch partial match of the API route, so the
# locale router answers 404 where 405 is right (RFC 9110 section 15.5.6).

AL_TH = (("accept-language", "th-TH,th;q=0.9"),)

# fmt: off
REQUESTS = [
    #   id                        request                                   status
    ask("html-home",               "GET /en/",                               200),
    ask("html-help-corridor",      "GET /th/help",                           200, cookie=PH_HK),
    ask("html-article",            "GET /en/articles/keep-your-passport",    200),
    ask("html-topic",              "GET /en/topics/at-work",                 200),
    ask("html-service",            "GET /en/services/hk-emergency",          200),
    ask("html-search",             "GET /en/search?q=passport",              200),
    ask("html-search-empty",       "GET /km/search",                         200),
    ask("html-safety",             "GET /en/safety",                         200),
    ask("html-offline",            "GET /en/offline",                        200, cookie=PH_HK),
    ask("html-unavailable",        "GET /en/unavailable",                    200),
    ask("html-corridor-form",      "GET /en/corridor",                       200),
    ask("html-cleared",            "GET /en/clear",                          200),
    ask("html-discreet",           "GET /en/help",                           200, cookie=DISCREET),
    ask("json-pack",               "GET /api/packs/en.json?from=PH&to=HK",   200),
    ask("json-search-index",       "GET /api/search/en.json",                200),
    ask("js-service-worker",       "GET /sw.js",                             200),
    ask("manifest",                "GET /manifest.webmanifest",              200),
    ask("manifest-discreet",       "GET /manifest.webmanifest?discreet=1",   200),
    ask("static-css",              "GET {css}",                              200),
    ask("static-js",               "GET {js}",                               200),
    ask("static-icon",             "GET {icon}",                             200),
    ask("html-alerts",             "GET /en/alerts",                         200, cookie=PH_HK),
    ask("html-alerts-no-corridor", "GET /th/alerts",                         200),
    ask("json-alerts-newest",      "GET /api/alerts/en.json",                200),
    ask("404-alerts-locale",       "GET /api/alerts/xx.json",                404),
    ask("415-subscribe-no-json",   "POST /api/subscriptions",                415),
    ask("403-subscribe-cross-site", "POST /api/subscriptions",               403,
        headers=(("sec-fetch-site", "cross-site"),)),
    ask("401-subscription-read",   "GET /api/subscriptions/some-id",         401),
    ask("401-subscription-delete", "DELETE /api/subscriptions/some-id",      401),
    ask("405-subscriptions-get",   "GET /api/subscriptions",                 405),
    ask("302-root-by-language",    "GET /",                                  302, headers=AL_TH),
    ask("302-root-cookie",         "GET /",                                  302, cookie=KM),
    ask("308-locale-slash",        "GET /en",                                308),
    ask("308-trailing-slash",      "GET /en/help/",                          308),
    ask("308-locale-case",         "GET /api/search/EN.json",                308),
    ask("303-corridor-form",       "GET /en/corridor?from=PH&to=HK",         303),
    ask("303-location-form",       "GET /en/location?in=origin",             303),
    ask("303-discreet-form",       "GET /en/discreet?on=1&next=/en/help",    303),
    ask("304-html",                "GET /en/help",                           304),
    ask("304-search",              "GET /en/search?q=passport",              304),
    ask("304-service-worker",      "GET /sw.js",                             304),
    ask("304-json",                "GET /api/search/en.json",                304),
    ask("304-static-css",          "GET {css}",                              304),
    ask("304-static-js",           "GET {js}",                               304),
    ask("head-html",               "HEAD /en/help",                          200),
    ask("head-service-worker",     "HEAD /sw.js",                            200),
    ask("head-static-js",          "HEAD {js}",                              200),
    ask("head-404",                "HEAD /en/no-such-page",                  404),
    ask("404-unknown-page",        "GET /en/no-such-page",                   404),
    ask("404-outside-a-locale",    "GET /no-such-page",                      404),
    ask("404-unknown-locale",      "GET /xx/help",                           404),
    ask("404-unknown-article",     "GET /en/articles/no-such-article",       404),
    ask("404-unknown-topic",       "GET /en/topics/no-such-topic",           404),
    ask("404-unknown-service",     "GET /en/services/no-such-service",       404),
    ask("404-past-the-last-page",  "GET /en/search?q=passport&page=999",     404),
    ask("404-unknown-static",      "GET /static/css/no-such-file.css",       404),
    ask("404-unknown-index",       "GET /api/search/xx.json",                404),
    ask("405-post-page",           "POST /en/help",                          405),
    ask("405-post-worker",         "POST /sw.js",                            405),
    ask("405-post-json",           "POST /api/packs/en.json?from=PH&to=HK",  405),
    ask("405-post-manifest",       "POST /manifest.webmanifest",             405),
    ask("405-post-static",         "POST {css}",                             405),
    ask("405-delete-root",         "DELETE /",                               405),
    ask("405-options-page",        "OPTIONS /en/search",                     405),
    ask("400-search-page-number",  "GET /en/search?q=x&page=zero",           400),
    ask("400-unknown-country",     "GET /en/corridor?from=XX&to=HK",         400),
    ask("400-unknown-place",       "GET /en/location?in=mars",               400),
    ask("400-pack-country",        "GET /api/packs/en.json?from=XX&to=HK",   400),
    ask("500-page",                "GET /vi/search?q=broken",                500, breaks="search"),
    ask("500-json",                "GET /api/search/th.json",                500, breaks="exports"),
    ask("500-last-resort",         "GET /km/safety",                         500, breaks="render"),
    # Signing in and one's own account (the consoles' pages below are C2's rows).
    ask("html-login",              "GET /login",                             200),
    ask("head-login",              "HEAD /login",                            200),
    ask("404-invitation-unknown",  "GET /invitation?token=nothing",          404),
    ask("303-account-nobody",      "GET /account",                           303),
    ask("303-two-factor-nobody",   "GET /account/two-factor",                303),
    ask("303-qr-nobody",           "GET /account/two-factor/qr.svg",         303),
    ask("405-logout-get",          "GET /logout",                            405),
    ask("403-logout-no-token",     "POST /logout",                           403),
    ask("403-name-no-token",       "POST /account/name",                     403),
    ask("403-password-no-token",   "POST /account/password",                 403),
    ask("403-sessions-no-token",   "POST /account/sessions",                 403),
    ask("403-login-no-token",      "POST /login",                            403),
    # The consoles: nobody signed in is sent to sign in; a form without its token is refused.
    ask("303-admin-nobody",        "GET /admin/",                            303),
    ask("303-accounts-nobody",     "GET /admin/accounts",                    303),
    ask("303-invite-nobody",       "GET /admin/accounts/new",                303),
    ask("303-one-account-nobody",  "GET /admin/accounts/some-id",            303),
    ask("303-audit-nobody",        "GET /admin/audit",                       303),
    ask("303-worklists-csv-nobody", "GET /admin/worklists.csv",              303),
    ask("csv-worklists",           "GET /admin/worklists.csv",               200, role="curator"),
    ask("403-leader-worklists-csv", "GET /admin/worklists.csv",              403, role="leader"),
    ask("400-worklists-filter",    "GET /admin/?kind=nothing",               400, role="curator"),
    ask("303-leaders-nobody",      "GET /leaders/",                          303),
    ask("303-corridor-nobody",     "GET /leaders/PH-HK",                     303),
    ask("403-invite-no-token",     "POST /admin/accounts/new",               403, role="admin"),
    ask("403-account-no-token",    "POST /admin/accounts/some-id",           403, role="admin"),
    # Signed in: her pages, another's corridor, a page of another role, what is not there.
    ask("html-audit",              "GET /admin/audit?action=sign_in",        200, role="admin"),
    ask("html-corridor",           "GET /leaders/PH-HK",                     200, role="leader"),
    ask("403-corridor-not-hers",   "GET /leaders/ID-SG",                     403, role="leader"),
    ask("403-curator-accounts",    "GET /admin/accounts",                    403, role="curator"),
    ask("404-no-such-account",     "GET /admin/accounts/some-id",            404, role="admin"),
    ask("404-not-a-corridor",      "GET /leaders/PH-PH",                     404, role="leader"),
    ask("400-audit-action",        "GET /admin/audit?action=nothing",        400, role="admin"),
    ask("html-leaders-alerts",     "GET /leaders/alerts",                    200, role="leader"),
    ask("html-alert-compose",      "GET /leaders/alerts/new",                200, role="leader"),
    ask("403-compose-no-token",    "POST /leaders/alerts/new",               403, role="leader"),
    ask("404-no-such-own-alert",   "GET /leaders/alerts/some-id",            404, role="leader"),
    ask("403-withdraw-no-token",   "POST /leaders/alerts/some-id/withdraw",  403, role="leader"),
    ask("303-alerts-nobody",       "GET /admin/alerts",                      303),
    ask("303-one-alert-nobody",    "GET /admin/alerts/some-id",              303),
    ask("403-alert-no-token",      "POST /admin/alerts/some-id",             403, role="curator"),
    ask("html-alerts-queue",       "GET /admin/alerts?state=rejected",       200, role="curator"),
    ask("403-leader-queue",        "GET /admin/alerts",                      403, role="leader"),
    ask("404-no-such-alert",       "GET /admin/alerts/some-id",              404, role="curator"),
    ask("400-alerts-state",        "GET /admin/alerts?state=nothing",        400, role="curator"),
    ask("303-translation-nobody",  "GET /admin/articles/keep-your-passport/vi", 303),
    ask("html-translation",        "GET /admin/articles/keep-your-passport/vi", 200,
        role="curator"),
    ask("404-translation-english", "GET /admin/articles/keep-your-passport/en", 404,
        role="curator"),
    ask("403-translation-locale",  "GET /admin/articles/keep-your-passport/vi", 403,
        role="translator"),
    ask("403-translation-no-token", "POST /admin/articles/keep-your-passport/th", 403,
        role="translator"),
    ask("303-articles-nobody",     "GET /admin/articles",                    303),
    ask("html-articles",           "GET /admin/articles?status=draft",       200, role="curator"),
    ask("400-articles-filter",     "GET /admin/articles?topic=nothing",      400, role="curator"),
    ask("403-leader-articles",     "GET /admin/articles",                    403, role="leader"),
    ask("html-article-new",        "GET /admin/articles/new",                200, role="curator"),
    ask("403-article-new-no-token", "POST /admin/articles/new",              403, role="curator"),
    ask("404-no-such-article",     "GET /admin/articles/no-such",            404, role="curator"),
    ask("403-article-no-token",    "POST /admin/articles/keep-your-passport", 403, role="curator"),
    ask("303-directory-nobody",    "GET /admin/directory",                   303),
    ask("html-directory",          "GET /admin/directory?kind=hotline",      200, role="curator"),
    ask("400-directory-filter",    "GET /admin/directory?kind=nothing",      400, role="curator"),
    ask("403-leader-directory",    "GET /admin/directory",                   403, role="leader"),
    ask("404-no-such-entry",       "GET /admin/directory/no-such",           404, role="curator"),
    ask("403-entry-no-token",      "POST /admin/directory/hk-emergency",     403, role="admin"),
    ask("403-verify-no-token",     "POST /admin/directory/x/verify",         403, role="admin"),
    ask("403-retire-no-token",     "POST /admin/directory/x/retire",         403, role="admin"),
    ask("403-new-no-token",        "POST /admin/directory/new",              403, role="admin"),
    ask("403-import-no-token",     "POST /admin/directory/import",           403, role="admin"),
    ask("json-phone-check",        "GET /admin/directory/check-phone?field=phone&number=1",
        200, role="curator"),
    ask("400-phone-check",         "GET /admin/directory/check-phone",       400, role="curator"),
    ask("303-history-nobody",      "GET /admin/history",                     303),
    ask("html-history",            "GET /admin/history?path=services/ph-dmw-hotline.yml",
        200, role="curator"),
    ask("400-history-path",        "GET /admin/history?path=../site.yml",    400, role="curator"),
    ask("403-leader-history",      "GET /admin/history",                     403, role="leader"),
    ask("403-restore-no-token",    "POST /admin/history/restore",            403, role="curator"),
]
# fmt: on


@pytest.fixture(scope="module")
def static_urls(module_app: TestClient) -> dict[str, str]:
    """The hashed URLs of the home page's stylesheet, script and icon."""
    html = module_app.get("/en/", headers={"cookie": ""}).text
    found = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    urls = {
        "css": next(u for u in found if u.endswith(".css")),
        "js": next(u for u in found if u.endswith(".js")),
        "icon": next(u for u in found if u.endswith(".png")),
    }
    assert all(re.search(r"\.[0-9a-f]{8,}\.\w+$", url) for url in urls.values()), urls
    return urls


@pytest.fixture
def broken(module_app: TestClient, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Break the shared app the named way until the test ends (no page kept from before it)."""

    def apply(name: str) -> None:
        state = module_app.app.state  # type: ignore[attr-defined]
        cache_of(module_app).clear()
        # Starlette's State keeps its values in `_state`; set there, they are put back as found.
        for attribute, value in BREAKS[name].items():
            monkeypatch.setitem(state._state, attribute, value)

    return apply


def send(client: TestClient, request: Ask, static: dict[str, str]) -> httpx.Response:
    """Send a row's request as a reader with exactly the row's cookies would."""
    url = request.url.format(**static)
    headers = dict(request.headers)
    cookies = (request.cookie, session_of(client, request.role))
    headers["cookie"] = "; ".join(c for c in cookies if c)
    client.cookies.clear()
    if request.status == 304:
        first = client.request(request.method, url, headers=headers, follow_redirects=False)
        assert first.status_code == 200, url
        headers["if-none-match"] = first.headers["etag"]
    client.cookies.clear()
    return client.request(request.method, url, headers=headers, follow_redirects=False)


@pytest.mark.parametrize("request_", REQUESTS)
def test_every_response_has_every_security_header(
    shared_client: TestClient,
    static_urls: dict[str, str],
    broken: Callable[[str], None],
    request_: Ask,
) -> None:
    if request_.breaks:
        broken(request_.breaks)
    response = send(shared_client, request_, static_urls)
    assert response.status_code == request_.status, response.text[:300]
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get_list(name) == [value], name
    if request_.method == "HEAD" or request_.status == 304:
        assert response.content == b""


def named_routes(routes: list[BaseRoute]) -> set[str]:
    """The names of every route and mounted app, through the mounts."""
    names: set[str] = set()
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            names |= named_routes(list(route.routes))
        elif isinstance(route, Route | Mount) and route.name:
            names.add(route.name)
    return names


def route_of(routes: list[BaseRoute], scope: dict[str, Any]) -> str | None:
    """The name of the route whose path matches the request, whatever its method."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount) and route.routes:
            found = route_of(list(route.routes), {**scope, **child})
            if found is not None:
                return found
            continue
        return route.name if isinstance(route, Route | Mount) else None
    return None


def test_the_request_table_reaches_every_route(
    module_app: TestClient, static_urls: dict[str, str]
) -> None:
    """A new route has to come with a row above, so its responses are checked too."""
    routes: list[BaseRoute] = module_app.app.routes  # type: ignore[attr-defined]
    reached = set()
    for row in rows():
        path = row.url.format(**static_urls).split("?")[0]
        scope = {"type": "http", "method": row.method, "path": path, "root_path": ""}
        reached.add(route_of(routes, scope))
    assert len(named_routes(routes)) > 15
    assert named_routes(routes) - reached == set()


def test_the_request_table_has_every_response_type() -> None:
    statuses = {row.status for row in rows()}
    assert {200, 302, 303, 304, 308, 400, 404, 405, 500} <= statuses
    assert {"GET", "HEAD", "POST"} <= {row.method for row in rows()}
    for kind in (
        "{css}",
        "{js}",
        "{icon}",
        "/sw.js",
        "/api/packs/",
        "/api/search/",
        ".webmanifest",
    ):
        assert any(kind in row.url for row in rows()), kind


# ---------------------------------------------------------------------------------------------
# Quick exit: the first thing a keyboard reaches on every page.


class FirstFocusable(HTMLParser):
    """The first element a keyboard (Tab from the top of the page) reaches, with its attributes.

    Stricter than a browser: an element is counted even when something hides it, so no
    control may come before the quick exit in the source at all.
    """

    ALWAYS = frozenset({"button", "select", "textarea", "iframe", "summary", "embed", "object"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.first: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.first is not None:
            return
        attributes = dict(attrs)
        tabindex = attributes.get("tabindex")
        focusable = (
            tag in self.ALWAYS
            or (tag in ("a", "area") and "href" in attributes)
            or (tag == "input" and attributes.get("type") != "hidden")
            or (tag in ("audio", "video") and "controls" in attributes)
            or "contenteditable" in attributes
            or (tabindex is not None and tabindex.strip() != "-1")
        )
        if focusable and tabindex is not None and tabindex.strip() == "-1":
            focusable = False
        if focusable:
            self.first = {"tag": tag, **attributes}

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def first_focusable(html: str) -> dict[str, str | None]:
    """The first focusable element of a page (AssertionError when there is none)."""
    parser = FirstFocusable()
    parser.feed(html)
    parser.close()
    assert parser.first is not None, "no focusable element at all"
    return parser.first


def page_templates(folder: Path = TEMPLATES) -> set[str]:
    """The templates that are pages: they extend base.html, or are a whole document that no
    other template extends (base.html is the layout of the others). Partials start with `_`."""
    sources = {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in folder.rglob("*.html")
        if not path.name.startswith("_")
    }
    extended = {
        name
        for source in sources.values()
        for name in re.findall(r"{%-?\s*extends\s+[\"']([^\"']+)[\"']", source)
    }
    pages = set()
    for name, source in sources.items():
        whole = re.search(r"<html[\s>]", source, re.IGNORECASE) is not None
        extends = re.search(r"{%-?\s*extends\s", source) is not None
        if (extends or whole) and name not in extended:
            pages.add(name)
    return pages


@dataclass(frozen=True)
class Visit:
    """A URL that renders a page, as a reader with these cookies, with the status expected."""

    url: str
    status: int = 200
    cookie: str = ""
    breaks: str | None = None
    method: str = "GET"
    # Signed in as tests/conftest.py's CONSOLE_ACCOUNTS account of this role ("": nobody).
    role: str = ""
    # Sent as a form with the session's CSRF token, read from the page at `url` first.
    form: tuple[tuple[str, str], ...] = ()


# The leader's form asking for the preview of an alert in English to her corridor.
PREVIEW = (
    ("action", "preview"),
    ("title-en", "New shelter number"),
    ("body-en", "Call the shelter on its new number."),
    ("corridors", "PH-HK"),
    ("locales", "en"),
    ("topic", "safety"),
    ("urgency", "normal"),
    ("hours", "168"),
    ("link", ""),
)


# For each page template, the URLs that render it (the first is the one checked to render it).
PAGE_URLS: dict[str, tuple[Visit, ...]] = {
    "home.html": (Visit("/en/"), Visit("/th/", cookie=PH_HK)),
    "help.html": (Visit("/en/help"), Visit("/en/help", cookie=PH_HK)),
    "article.html": (Visit("/en/articles/keep-your-passport"),),
    "topic.html": (Visit("/en/topics/at-work"),),
    "service.html": (Visit("/en/services/hk-emergency"),),
    "safety.html": (Visit("/en/safety"),),
    "corridor.html": (Visit("/en/corridor"), Visit("/en/corridor?next=/en/help")),
    "offline.html": (Visit("/en/offline"), Visit("/en/offline", cookie=PH_HK)),
    # The search page is made from a kept shell except when it confirms a saved choice.
    "search.html": (
        Visit("/en/search?q=passport&saved=1", cookie=PH_HK),
        Visit("/en/search"),
        Visit("/en/search?q=passport"),
        Visit("/my/search?q=passport&all=1", cookie=PH_HK),
        Visit("/en/search?q=x&page=zero", status=400),
        Visit("/en/search?q=passport&page=999", status=404),
    ),
    # The offline fallback: the service worker saves /<locale>/unavailable of every locale.
    "unavailable.html": tuple(
        Visit(f"/{code}/unavailable") for code in ("en", "fil", "id", "vi", "th", "km", "my")
    ),
    "cleared.html": (Visit("/en/clear"), Visit("/th/clear", cookie=PH_HK)),
    "alerts.html": (Visit("/en/alerts"), Visit("/th/alerts", cookie=PH_HK)),
    "error.html": (
        Visit("/en/no-such-page", status=404),
        Visit("/no-such-page", status=404),
        Visit("/km/articles/no-such-article", status=404),
        Visit("/static/css/no-such-file.css", status=404),
        Visit("/en/corridor?from=XX&to=HK", status=400),
        Visit("/en/help", status=405, method="POST"),
        Visit("/vi/search?q=broken", status=500, breaks="search"),
    ),
}
PAGE_URLS.update(
    {
        "console/login.html": (Visit("/login"), Visit("/login?next=/admin/&notice=signed_out")),
        "console/invitation.html": (Visit("/invitation?token=nothing", status=404),),
        "console/account.html": (Visit("/account", role="admin"), Visit("/account", role="leader")),
        "console/two_factor.html": (Visit("/account/two-factor", role="translator"),),
        "console/error.html": (
            Visit("/admin/no-such-page", status=404),
            Visit("/logout", status=405),
            Visit("/logout", status=403, method="POST"),
            Visit("/account/no-such-page", status=404, role="curator"),
        ),
    }
)
# The consoles' pages; `{<role>}` in a URL is the id of that role's account.
PAGE_URLS.update(
    {
        "console/admin_home.html": (
            Visit("/admin/", role="admin"),
            Visit("/admin/", role="translator"),
        ),
        "console/admin_accounts.html": (Visit("/admin/accounts", role="admin"),),
        "console/admin_account_new.html": (Visit("/admin/accounts/new", role="admin"),),
        "console/admin_account.html": (
            Visit("/admin/accounts/{leader}", role="admin"),
            Visit("/admin/accounts/{admin}?done=save", role="admin"),
        ),
        "console/audit.html": (
            Visit("/admin/audit", role="admin"),
            Visit("/admin/audit?actor=admin@hub.example&action=sign_in", role="admin"),
        ),
        "console/leaders_home.html": (
            Visit("/leaders/", role="leader"),
            Visit("/leaders/", role="admin"),
        ),
        "console/leaders_corridor.html": (
            Visit("/leaders/PH-HK", role="leader"),
            Visit("/leaders/ID-SG", role="admin"),
        ),
        "console/leaders_alerts.html": (
            Visit("/leaders/alerts", role="leader"),
            Visit("/leaders/alerts", role="admin"),
        ),
        "console/alert_compose.html": (
            Visit("/leaders/alerts/new", role="leader"),
            Visit("/leaders/alerts/new", role="admin"),
        ),
        "console/alert_preview.html": (
            Visit("/leaders/alerts/new", role="leader", method="POST", form=PREVIEW),
        ),
        "console/alert_report.html": (Visit("/leaders/alerts/{alert}", role="leader"),),
        "console/admin_alerts.html": (
            Visit("/admin/alerts", role="curator"),
            Visit("/admin/alerts?state=withdrawn", role="admin"),
        ),
        "console/admin_alert.html": (
            Visit("/admin/alerts/{alert}", role="curator"),
            Visit("/admin/alerts/{alert}?done=edited", role="admin"),
        ),
        "console/articles.html": (
            Visit("/admin/articles", role="curator"),
            Visit("/admin/articles?q=passport", role="translator"),
        ),
        "console/article_edit.html": (
            Visit("/admin/articles/keep-your-passport", role="curator"),
            Visit("/admin/articles/keep-your-passport?done=saved", role="translator"),
            Visit("/admin/articles/new", role="admin"),
        ),
        "console/translation.html": (
            Visit("/admin/articles/keep-your-passport/th", role="translator"),
            Visit("/admin/articles/keep-your-passport/my?done=review", role="curator"),
        ),
        "console/directory.html": (
            Visit("/admin/directory", role="curator"),
            Visit("/admin/directory?verification=needs-verification&q=hk", role="admin"),
        ),
        "console/directory_entry.html": (
            Visit("/admin/directory/hk-emergency", role="curator"),
            Visit("/admin/directory/new", role="admin"),
            Visit("/admin/directory/ph-dmw-hotline?done=verified", role="curator"),
        ),
        "console/directory_import.html": (Visit("/admin/directory/import", role="curator"),),
        "console/history.html": (
            Visit("/admin/history", role="curator"),
            Visit("/admin/history?path=services%2Fph-dmw-hotline.yml", role="admin"),
        ),
    }
)
# Pages that are no template: the 500 page when even the error page cannot be rendered.
OTHER_PAGES = (Visit("/km/safety", status=500, breaks="render"),)


def visit_params() -> Iterator[ParameterSet]:
    """Every page URL, plain and in discreet mode."""
    for template, visits in [*PAGE_URLS.items(), ("(last resort)", OTHER_PAGES)]:
        for visit in visits:
            for discreet in (False, True):
                marks = [pytest.mark.server_error] if visit.breaks else []
                name = f"{template}-{visit.url}-{visit.status}" + ("-discreet" if discreet else "")
                yield pytest.param(visit, discreet, id=name, marks=marks)


def session_of(client: TestClient, role: str) -> str:
    """The session cookie of the `role` account of CONSOLE_ACCOUNTS on the client's app
    ("" for no role), signed in once per app through the real form."""
    if not role:
        return ""
    state = client.app.state  # type: ignore[attr-defined]
    signed_in: dict[str, str] = state._state.setdefault("test_sessions", {})
    if role not in signed_in:
        add_console_accounts(client)
        browser = TestClient(client.app)
        sign_in_as(browser, role)
        signed_in[role] = f"hub_session={browser.cookies['hub_session']}"
    return signed_in[role]


def fetch(client: TestClient, visit: Visit, discreet: bool) -> httpx.Response:
    """The page as a reader with the visit's cookies (and discreet mode) gets it."""
    parts = (visit.cookie, DISCREET if discreet else "", session_of(client, visit.role))
    cookie = "; ".join(c for c in parts if c)
    client.cookies.clear()
    url = visit.url.format_map(account_ids(client)) if "{" in visit.url else visit.url
    headers = {"cookie": cookie}
    if visit.form:
        page = client.get(url, headers=headers)
        token = CSRF_INPUT.search(page.text)
        assert token is not None, url
        form = {"csrf_token": token[1]}
        for name, value in visit.form:
            form[name] = value
        return client.request(visit.method, url, headers=headers, data=form, follow_redirects=False)
    return client.request(visit.method, url, headers=headers, follow_redirects=False)


def account_ids(client: TestClient) -> dict[str, str]:
    """The id of each CONSOLE_ACCOUNTS account on the client's app, by role, and "alert": the
    id of an alert the leader submitted (pending; made once per app)."""
    state = client.app.state  # type: ignore[attr-defined]
    emails = add_console_accounts(client)
    ids = {role: state.accounts.get(email).id for role, email in emails.items()}
    kept: list[str] = state._state.setdefault("test_alert", [])
    if not kept:
        leader = state.accounts.set_network(emails["leader"], "Bayanihan HK")
        expires = (state.alerts.clock() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        draft = Draft(
            texts={"en": {"title": "New shelter number", "body": "Call 2345 6789."}},
            corridors=["PH-HK"],
            locales=["en", "fil"],
            topic="safety",
            expires=expires,
        )
        kept.append(state.alerts.submit(leader, draft)["id"])
    return {**ids, "alert": kept[0]}


def test_every_page_template_has_a_url() -> None:
    """A new page template must be added to PAGE_URLS, so its quick exit is checked."""
    pages = page_templates()
    assert {"base.html", "_partials.html"}.isdisjoint(pages)
    assert "unavailable.html" in pages and "error.html" in pages
    assert pages - PAGE_URLS.keys() == set(), "page templates with no URL in PAGE_URLS"
    assert PAGE_URLS.keys() - pages == set(), "PAGE_URLS names templates that are no pages"


def test_each_url_renders_its_template(shared_client: TestClient) -> None:
    """The first URL of each template really renders it (a fresh render, not a cached one)."""
    for template, visits in PAGE_URLS.items():
        cache_of(shared_client).clear()
        response = fetch(shared_client, visits[0], discreet=False)
        assert response.status_code == visits[0].status, template
        # Starlette's test client reports the template a TemplateResponse rendered.
        rendered = getattr(response, "template", None)
        assert rendered is not None and rendered.name == template, visits[0].url


def test_the_service_worker_falls_back_to_the_unavailable_page(shared_client: TestClient) -> None:
    worker = shared_client.get("/sw.js").text
    assert '"/unavailable"' in worker


@pytest.mark.parametrize(("visit", "discreet"), list(visit_params()))
def test_the_quick_exit_is_the_first_thing_to_focus(
    shared_client: TestClient, broken: Callable[[str], None], visit: Visit, discreet: bool
) -> None:
    if visit.breaks:
        broken(visit.breaks)
    response = fetch(shared_client, visit, discreet)
    assert response.status_code == visit.status
    assert response.headers["content-type"].startswith("text/html")
    first = first_focusable(response.text)
    assert first["tag"] == "a", first
    assert "quick-exit" in (first.get("class") or "").split(), first
    assert "data-quick-exit" in first, first
    # The default of HUB_QUICK_EXIT_URL, written out: an empty or changed setting is a failure.
    assert first["href"] == "https://www.google.com/", first
    if not visit.breaks:
        # The neutral icon shows that the page was made in the mode asked for.
        assert ("/icons/discreet-192." in response.text) == discreet
