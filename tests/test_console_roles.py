"""Every console route for every role and for nobody signed in (issue 10, point 5).

What each role may open is written out in TABLE below, from the issue and the spec, not read
from the views' `@requires`: a view that lost or widened its roles fails here. A route added
without a row fails too (the walk over app.routes at the end).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from _pytest.mark.structures import ParameterSet
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth import Account
from hub.auth.throttle import SignInThrottle
from hub.settings import Settings
from tests.conftest import add_console_accounts

ROLES = ("admin", "curator", "translator", "leader")
WHO = (*ROLES, "anonymous")
# A 303 to the sign-in page, which comes back here after a GET (a POST's page could not be
# opened again by a GET: it is sent to the sign-in page alone).
LOGIN = "login"
CONSOLE_PREFIXES = ("/login", "/logout", "/invitation", "/account", "/admin", "/leaders")

# An account no row signs in as: the target of the admin's account pages.
SPARE = "spare@example.org"


@dataclass(frozen=True)
class Row:
    """One request and what each of admin, curator, translator, leader and nobody gets:
    a status, or LOGIN. `{spare}` in the URL is the spare account's id; a POST sends `form`
    with the right CSRF token."""

    method: str
    url: str
    expect: tuple[int | str, int | str, int | str, int | str, int | str]
    form: tuple[tuple[str, str], ...] = ()


# fmt: off
TABLE = [
    #   method  url                               admin curator translator leader nobody
    # Signing in: open to all (signing in as another account ends the session it replaces).
    Row("GET",  "/login",                          (200, 200,    200,       200,   200)),
    # An empty sign-in fails the same way for everyone.
    Row("POST", "/login",                          (400, 400,    400,       400,   400)),
    Row("POST", "/logout",                         (303, 303,    303,       303,   303)),
    # No token: no such link, whoever asks.
    Row("GET",  "/invitation",                     (404, 404,    404,       404,   404)),
    Row("POST", "/invitation",                     (404, 404,    404,       404,   404)),
    # Her own account: every role.
    Row("GET",  "/account",                        (200, 200,    200,       200,   LOGIN)),
    Row("POST", "/account/name",                   (303, 303,    303,       303,   LOGIN),
        form=(("display_name", "Sam"),)),
    # Without the current password: refused.
    Row("POST", "/account/password",               (400, 400,    400,       400,   LOGIN)),
    Row("POST", "/account/sessions",               (303, 303,    303,       303,   LOGIN)),
    Row("GET",  "/account/two-factor",             (200, 200,    200,       200,   LOGIN)),
    # Without a confirming code: refused.
    Row("POST", "/account/two-factor",             (400, 400,    400,       400,   LOGIN)),
    Row("GET",  "/account/two-factor/qr.svg",      (200, 200,    200,       200,   LOGIN)),
    # The consoles.
    Row("GET",  "/admin/",                         (200, 200,    200,       403,   LOGIN)),
    # The worklists as CSV: what the home page shows, so the same roles.
    Row("GET",  "/admin/worklists.csv",            (200, 200,    200,       403,   LOGIN)),
    Row("GET",  "/admin/accounts",                 (200, 403,    403,       403,   LOGIN)),
    Row("GET",  "/admin/accounts/new",             (200, 403,    403,       403,   LOGIN)),
    # An empty invitation: the admin's is refused for its missing email, the others' not read.
    Row("POST", "/admin/accounts/new",             (400, 403,    403,       403,   LOGIN)),
    Row("GET",  "/admin/accounts/{spare}",         (200, 403,    403,       403,   LOGIN)),
    Row("POST", "/admin/accounts/{spare}",         (303, 403,    403,       403,   LOGIN),
        form=(("action", "end_sessions"),)),
    # Turning off another account's second factor (the spare has none: nothing changes).
    Row("POST", "/admin/accounts/{spare}",         (303, 403,    403,       403,   LOGIN),
        form=(("action", "clear_two_factor"),)),
    Row("GET",  "/admin/audit",                    (200, 403,    403,       403,   LOGIN)),
    Row("GET",  "/leaders/",                       (200, 403,    403,       200,   LOGIN)),
    Row("GET",  "/leaders/PH-HK",                  (200, 403,    403,       200,   LOGIN)),
    # Another corridor of the site than hers: a leader editing the URL.
    Row("GET",  "/leaders/ID-SG",                  (200, 403,    403,       403,   LOGIN)),
    # Alerts: leaders (and admins) write them; curators (and admins) moderate them. An empty
    # form is no step; `{spare}` is no alert's id.
    Row("GET",  "/leaders/alerts",                 (200, 403,    403,       200,   LOGIN)),
    Row("GET",  "/leaders/alerts/new",             (200, 403,    403,       200,   LOGIN)),
    Row("POST", "/leaders/alerts/new",             (400, 403,    403,       400,   LOGIN)),
    Row("GET",  "/leaders/alerts/{spare}",         (404, 403,    403,       404,   LOGIN)),
    Row("POST", "/leaders/alerts/{spare}/withdraw", (404, 403,   403,       404,   LOGIN)),
    Row("GET",  "/admin/alerts",                   (200, 200,    403,       403,   LOGIN)),
    Row("GET",  "/admin/alerts/{spare}",           (404, 404,    403,       403,   LOGIN)),
    Row("POST", "/admin/alerts/{spare}",           (404, 404,    403,       403,   LOGIN),
        form=(("action", "approve"),)),
    # The directory (curators): an empty form writes nothing; a phone check needs a number.
    Row("GET",  "/admin/directory",                (200, 200,    403,       403,   LOGIN)),
    Row("GET",  "/admin/directory/new",            (200, 200,    403,       403,   LOGIN)),
    Row("POST", "/admin/directory/new",            (400, 400,    403,       403,   LOGIN)),
    Row("GET",  "/admin/directory/import",         (200, 200,    403,       403,   LOGIN)),
    Row("POST", "/admin/directory/import",         (400, 400,    403,       403,   LOGIN)),
    Row("GET",  "/admin/directory/check-phone",    (400, 400,    403,       403,   LOGIN)),
    Row("GET",  "/admin/directory/hk-emergency",   (200, 200,    403,       403,   LOGIN)),
    Row("POST", "/admin/directory/hk-emergency",   (400, 400,    403,       403,   LOGIN)),
    Row("POST", "/admin/directory/hk-emergency/verify", (400, 400, 403,     403,   LOGIN)),
    Row("POST", "/admin/directory/hk-emergency/retire", (400, 400, 403,     403,   LOGIN)),
    # Articles: curators edit and create; a translator opens the list and an article's page
    # (to reach her translations) and is refused any POST; a form without its action is none.
    Row("GET",  "/admin/articles",                 (200, 200,    200,       403,   LOGIN)),
    Row("GET",  "/admin/articles/new",             (200, 200,    403,       403,   LOGIN)),
    Row("POST", "/admin/articles/new",             (400, 400,    403,       403,   LOGIN)),
    Row("GET",  "/admin/articles/keep-your-passport", (200, 200, 200,       403,   LOGIN)),
    Row("POST", "/admin/articles/keep-your-passport", (400, 400, 403,       403,   LOGIN)),
    # A translation beside its English: a translator of that language (the table's works in
    # Thai), curators and admins; an empty form is no save.
    Row("GET",  "/admin/articles/keep-your-passport/th", (200, 200, 200,   403,   LOGIN)),
    Row("POST", "/admin/articles/keep-your-passport/th", (400, 400, 400,   403,   LOGIN)),
    Row("GET",  "/admin/articles/keep-your-passport/vi", (200, 200, 403,   403,   LOGIN)),
    # The history of the content files (curators): an empty restore names no file.
    Row("GET",  "/admin/history",                  (200, 200,    403,       403,   LOGIN)),
    Row("POST", "/admin/history/restore",          (400, 400,    403,       403,   LOGIN)),
]
# fmt: on


def cases() -> Iterator[ParameterSet]:
    """Each row for each of the five."""
    for row in TABLE:
        for who, expected in zip(WHO, row.expect, strict=True):
            yield pytest.param(row, who, expected, id=f"{row.method} {row.url} {who}")


@dataclass
class Console:
    """The shared app and what the table's requests need from it."""

    client: TestClient
    accounts: dict[str, Account]
    spare: Account

    @property
    def state(self) -> Any:
        return self.client.app.state  # type: ignore[attr-defined]

    def session(self, who: str) -> tuple[dict[str, str], str]:
        """A fresh session of the role (or none): its Cookie header and its CSRF token.

        Fresh for each request, so a row that ends sessions or signs out spoils no other."""
        if who == "anonymous":
            self.state.throttle = SignInThrottle(failures=5, window=900)
            first = self.client.get("/login", headers={"cookie": ""}, follow_redirects=False)
            token = first.cookies.get("hub_csrf") or ""
            assert token, first.headers
            return {"cookie": f"hub_csrf={token}"}, token
        # A throttle of its own for each request: failed tries of other rows count for none.
        self.state.throttle = SignInThrottle(failures=5, window=900)
        cookie, session = self.state.sessions.start(self.accounts[who])
        return {"cookie": f"hub_session={cookie}"}, session.csrf_token


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """One app with an account of each role (tests/conftest.py's CONSOLE_ACCOUNTS: the leader
    works on PH-HK in English and Filipino); sessions are started directly, without the
    argon2 work of a sign-in per request."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings)) as client:
        accounts = client.app.state.accounts  # type: ignore[attr-defined]
        emails = add_console_accounts(client)
        made = {role: accounts.get(emails[role]) for role in ROLES}
        spare = accounts.create(SPARE, None, role="translator", locales=["vi"])
        yield Console(client, made, spare)


def send(console: Console, row: Row, who: str) -> httpx.Response:
    """The row's request as `who`, with no cookie but the session's."""
    headers, csrf = console.session(who)
    url = row.url.format(spare=console.spare.id)
    client = console.client
    client.cookies.clear()
    if row.method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    form = {"csrf_token": csrf, **dict(row.form)}
    return client.request(row.method, url, data=form, headers=headers, follow_redirects=False)


def assert_outcome(response: httpx.Response, row: Row, expected: int | str, url: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 303, response.text[:300]
        target = urlsplit(response.headers["location"])
        assert target.path == "/login"
        assert parse_qs(target.query) == ({"next": [url]} if row.method == "GET" else {})
        return
    assert response.status_code == expected, response.text[:300]
    assert response.headers["cache-control"] == "no-store"
    if expected == 403:
        # The refusal page: nothing of the page refused shows.
        for word in ("spare@example.org", "Audit log</h1>", "Invite a person</h1>"):
            assert word not in response.text


@pytest.mark.parametrize(("row", "who", "expected"), list(cases()))
def test_each_role_gets_what_the_table_says(
    console: Console, row: Row, who: str, expected: int | str
) -> None:
    response = send(console, row, who)
    assert_outcome(response, row, expected, row.url.format(spare=console.spare.id))


def test_a_leader_who_edits_the_url_to_another_corridor_gets_403(console: Console) -> None:
    headers, _ = console.session("leader")
    client = console.client
    client.cookies.clear()
    own = client.get("/leaders/PH-HK", headers=headers)
    assert own.status_code == 200
    assert "Philippine" in own.text and "Hong Kong" in own.text
    for other in ("PH-SG", "ID-HK", "TH-HK", "PH-TW"):
        response = client.get(f"/leaders/{other}", headers=headers)
        assert response.status_code == 403, other
        assert "Hong Kong" not in response.text or other.endswith("HK")
    # A corridor that cannot be one is not found, whoever asks.
    for wrong in ("PH-PH", "ph-hk", "PHHK", "PH-HK-SG"):
        assert client.get(f"/leaders/{wrong}", headers=headers).status_code == 404, wrong


def test_her_home_lists_only_her_corridors_and_languages(console: Console) -> None:
    headers, _ = console.session("leader")
    console.client.cookies.clear()
    html = console.client.get("/leaders/", headers=headers).text
    assert re.findall(r'href="/leaders/([A-Z]{2}-[A-Z]{2})"', html) == ["PH-HK"]
    languages = html.split('<ul class="locales">')[1].split("</ul>")[0]
    assert re.findall(r'lang="([a-z]+)"', languages) == ["en", "fil"]


def test_the_console_links_each_role_to_its_alerts(console: Console) -> None:
    # Leaders write alerts, curators review them; a translator does neither.
    expected = {
        "leader": ["/leaders/alerts"],
        "admin": ["/leaders/alerts", "/admin/alerts"],
        "curator": ["/admin/alerts"],
        "translator": [],
    }
    for who, links in expected.items():
        headers, _ = console.session(who)
        console.client.cookies.clear()
        html = console.client.get("/account", headers=headers).text
        nav = html.split('<nav aria-label="Console">')[1].split("</nav>")[0]
        assert re.findall(r'href="(/[a-z]+/alerts)"', nav) == links, who
        for link in links:
            # Each one opens for her.
            assert console.client.get(link, headers=headers).status_code == 200, (who, link)


def test_a_translator_opening_an_admin_page_gets_403(console: Console) -> None:
    headers, csrf = console.session("translator")
    client = console.client
    client.cookies.clear()
    assert client.get("/admin/", headers=headers).status_code == 200
    for url in ("/admin/accounts", "/admin/audit", f"/admin/accounts/{console.spare.id}"):
        response = client.get(url, headers=headers, follow_redirects=False)
        assert response.status_code == 403, url
        assert SPARE not in response.text
    # Nor can she change an account by posting the form the page would have had.
    before = console.state.accounts.get(SPARE)
    response = client.post(
        f"/admin/accounts/{console.spare.id}",
        data={"csrf_token": csrf, "action": "save", "role": "admin"},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert console.state.accounts.get(SPARE) == before


# -- Every console route has a row ------------------------------------------------------------


def console_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(method, path pattern, name) of every route under a console prefix, through mounts.
    HEAD goes with GET."""
    for route in routes:
        if isinstance(route, Mount):
            yield from console_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            path = prefix + route.path
            if any(path == p or path.startswith(p + "/") for p in CONSOLE_PREFIXES):
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    yield method, path, route.name


def route_of(routes: list[BaseRoute], scope: dict[str, Any]) -> str | None:
    """The name of the route a request reaches (method included), through mounts."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL and isinstance(route, Mount):
            found = route_of(list(route.routes), {**scope, **child})
            if found is not None:
                return found
        elif match is Match.FULL and isinstance(route, Route):
            return route.name
    return None


def uncovered(routes: list[BaseRoute], table: list[Row]) -> set[tuple[str, str]]:
    """The console (method, path pattern) pairs no row reaches."""
    reached = set()
    for row in table:
        path = row.url.format(spare="x").split("?")[0]
        scope = {"type": "http", "method": row.method, "path": path, "root_path": ""}
        reached.add((row.method, route_of(routes, scope)))
    return {
        (method, path)
        for method, path, name in console_routes(routes)
        if (method, name) not in reached
    }


def test_the_table_has_a_row_for_every_console_route(console: Console) -> None:
    routes: list[BaseRoute] = console.client.app.routes  # type: ignore[attr-defined]
    found = list(console_routes(routes))
    assert len(found) >= len({(r.method, r.url) for r in TABLE}) - 2
    assert uncovered(routes, TABLE) == set()


def test_a_console_route_without_a_row_is_found(console: Console) -> None:
    routes: list[BaseRoute] = console.client.app.routes  # type: ignore[attr-defined]
    extra = Mount("/admin", routes=[Route("/exports", lambda r: None, name="exports")])
    assert uncovered([extra, *routes], TABLE) == {("GET", "/admin/exports")}
    without_audit = [row for row in TABLE if row.url != "/admin/audit"]
    assert uncovered(routes, without_audit) == {("GET", "/admin/audit")}
