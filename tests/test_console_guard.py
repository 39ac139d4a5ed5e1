"""hub/console_guard.py through the real app: CSRF and origin checks on every unsafe console
request, no-store and the security headers on every console response, no response cache and
no service worker for console paths, the console's locale, and the body limit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from hub.console_guard import CONSOLE_PREFIXES
from tests.conftest import (
    CONSOLE_ACCOUNTS,
    CONSOLE_PASSWORD,
    ClientFactory,
    csrf_of,
    sign_in,
    sign_in_as,
)
from tests.test_every_response import EXPECTED_HEADERS
from tests.test_response_cache import cache_of

NEW_PASSWORD = "copper kettle meadow 93"
REFUSED_FORM = "This form has expired or was not sent from the hub."


def change_password(
    client: TestClient, token: str | None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST the password form of /account with this token (None: the field left out)."""
    form = {
        "current_password": CONSOLE_PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    if token is not None:
        form["csrf_token"] = token
    return client.post(
        "/account/password", data=form, headers=headers or {}, follow_redirects=False
    )


def password_unchanged(client: TestClient, email: str) -> bool:
    """Whether the account still has CONSOLE_PASSWORD (checked in the domain, not the web)."""
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    return accounts.authenticate(email, NEW_PASSWORD) is None and (
        accounts.authenticate(email, CONSOLE_PASSWORD) is not None
    )


def audit_actions(client: TestClient) -> list[str]:
    return [e.action for e in client.app.state.audit.page(limit=500)]  # type: ignore[attr-defined]


# -- CSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "wrong", "another session's", "empty", "twice"])
def test_a_form_without_its_sessions_token_is_refused_and_changes_nothing(
    console_client: TestClient, make_console_client: ClientFactory, how: str
) -> None:
    email = sign_in_as(console_client, "admin")
    own = csrf_of(console_client.get("/account").text)
    other = TestClient(console_client.app)
    sign_in_as(other, "curator")
    others_token = csrf_of(other.get("/account").text)
    assert others_token != own
    before = audit_actions(console_client)
    if how == "twice":
        # The right token and a second value: which one would count is not for a form to say.
        response = console_client.post(
            "/account/password",
            content=f"csrf_token={own}&csrf_token=x&current_password=a".encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
    else:
        token = {"missing": None, "wrong": own[:-2] + "xx", "empty": ""}.get(how, others_token)
        response = change_password(console_client, token)
    assert response.status_code == 403
    assert REFUSED_FORM in response.text
    assert "Nothing was changed." in response.text
    assert password_unchanged(console_client, email)
    assert audit_actions(console_client) == before
    # Still signed in: the refusal ended nothing.
    assert console_client.get("/account").status_code == 200


def test_the_right_token_is_accepted(console_client: TestClient) -> None:
    """The control of the test above: the same request with its own token goes through."""
    email = sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    response = change_password(console_client, token, {"origin": "http://testserver"})
    assert response.status_code == 303, response.text[:500]
    assert not password_unchanged(console_client, email)


SESSION_ENDED = "Your session ended. Sign in again."


def end_session(client: TestClient, email: str, how: str) -> None:
    """End the account's sessions on the server as time or an admin would."""
    state = client.app.state  # type: ignore[attr-defined]
    account = state.accounts.get(email)
    if how == "revoked":
        assert state.sessions.end_all(account.id) >= 1
        return
    idle = datetime.now(UTC) - timedelta(minutes=state.settings.session_idle_minutes + 1)
    for doc in state.store.find("sessions", account_id=account.id):
        state.store.update(
            "sessions", doc["id"], {"last_seen": idle.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )


@pytest.mark.parametrize("how", ["revoked", "idle"])
@pytest.mark.parametrize(
    ("page", "action", "form", "comes_back"),
    [
        ("/account", "/account/name", {"display_name": "Sam"}, False),
        ("/account", "/account/password", {"current_password": CONSOLE_PASSWORD}, False),
        ("/account/two-factor", "/account/two-factor", {"password": "x", "otp": "1"}, True),
        ("/admin/accounts/{id}", "/admin/accounts/{id}", {"action": "end_sessions"}, True),
    ],
)
def test_a_form_sent_after_the_session_ended_goes_to_sign_in_again(
    console_client: TestClient,
    how: str,
    page: str,
    action: str,
    form: dict[str, str],
    comes_back: bool,
) -> None:
    """A page left open past its session's end (idle, or ended by an admin): its form is
    answered with the sign-in page saying so, back to the page afterwards when a GET opens it
    (not to a POST-only path), nothing done and no bare refusal."""
    email = sign_in_as(console_client, "admin")
    curator = console_client.app.state.accounts.get(CONSOLE_ACCOUNTS["curator"][0])  # type: ignore[attr-defined]
    page, action = page.format(id=curator.id), action.format(id=curator.id)
    token = csrf_of(console_client.get(page).text)
    before = audit_actions(console_client)
    end_session(console_client, email, how)
    response = console_client.post(
        action, data={"csrf_token": token, **form}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:300]
    expected = (
        f"/login?next={quote(action, safe='')}&notice=session_ended"
        if comes_back
        else ("/login?notice=session_ended")
    )
    assert response.headers["location"] == expected
    # The dead cookie is cleared; nothing ran.
    assert any(
        c.startswith("hub_session=") and "max-age=0" in c.lower()
        for c in response.headers.get_list("set-cookie")
    )
    assert audit_actions(console_client) == before
    assert password_unchanged(console_client, email)
    assert console_client.app.state.accounts.get(email).display_name == "Test admin"  # type: ignore[attr-defined]
    login = console_client.get(expected)
    assert login.status_code == 200 and SESSION_ENDED in login.text
    # Signing in from there comes back to the page.
    again = sign_in(console_client, email, next_path=action if comes_back else None)
    assert again.headers["location"] == (action if comes_back else "/admin/")


def test_signing_out_after_the_session_ended_goes_to_sign_in(console_client: TestClient) -> None:
    email = sign_in_as(console_client, "curator")
    token = csrf_of(console_client.get("/account").text)
    end_session(console_client, email, "revoked")
    response = console_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?notice=signed_out"
    assert "You are signed out." in console_client.get(response.headers["location"]).text


def test_only_a_dead_session_turns_a_refused_form_into_sign_in(console_client: TestClient) -> None:
    """The refusal stays for the rest: a live session's wrong token, another site's form even
    with a dead session's cookie, and a form with no session cookie at all."""
    email = sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    live = change_password(console_client, token[:-2] + "xx")
    assert live.status_code == 403 and REFUSED_FORM in live.text
    end_session(console_client, email, "revoked")
    for headers in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
        cross = change_password(console_client, token, headers)
        assert cross.status_code == 403 and REFUSED_FORM in cross.text
    console_client.cookies.delete("hub_session")
    no_cookie = change_password(console_client, token)
    assert no_cookie.status_code == 403 and REFUSED_FORM in no_cookie.text
    assert password_unchanged(console_client, email)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "http://evil.example", "sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"sec-fetch-site": "cross-site", "origin": "http://testserver"},
    ],
    ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()),
)
def test_a_form_from_another_site_is_refused_even_with_the_right_token(
    console_client: TestClient, headers: dict[str, str]
) -> None:
    email = sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    before = audit_actions(console_client)
    response = change_password(console_client, token, headers)
    assert response.status_code == 403
    assert REFUSED_FORM in response.text
    assert password_unchanged(console_client, email)
    assert audit_actions(console_client) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "same-origin", "origin": "http://testserver"},
        {"sec-fetch-site": "none"},
        # A page whose referrer policy is no-referrer (every hub page) sends "null" for its own
        # forms: it tells nothing, so the token decides.
        {"origin": "null", "sec-fetch-site": "same-origin"},
    ],
)
def test_a_form_from_the_hub_itself_passes(
    console_client: TestClient, headers: dict[str, str]
) -> None:
    sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    assert change_password(console_client, token, headers).status_code == 303


def test_sign_in_needs_the_pre_session_token_of_its_own_browser(
    console_client: TestClient,
) -> None:
    """Before anyone signs in, the token is a cookie's (double submit): the sign-in form of
    one browser cannot be sent from another."""
    email = CONSOLE_ACCOUNTS["admin"][0]
    page = console_client.get("/login")
    cookie = page.headers.get_list("set-cookie")
    assert any(c.startswith("hub_csrf=") for c in cookie), cookie
    token = csrf_of(page.text)
    form = {"email": email, "password": CONSOLE_PASSWORD, "csrf_token": token}
    stranger = TestClient(console_client.app)
    refused = stranger.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 403 and REFUSED_FORM in refused.text
    assert "hub_session" not in refused.headers.get("set-cookie", "")
    accepted = console_client.post("/login", data=form, follow_redirects=False)
    assert accepted.status_code == 303


def test_a_form_past_the_body_limit_is_refused(console_client: TestClient) -> None:
    # Nobody signed in: 64 KiB.
    page = console_client.get("/login")
    body = f"csrf_token={csrf_of(page.text)}&email=" + "x" * (64 * 1024)
    anonymous = console_client.post(
        "/login",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert anonymous.status_code == 413
    sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    # Signed in: 1 MiB, room for a whole content file sent URL-encoded.
    body = f"csrf_token={token}&display_name=" + "x" * (1024 * 1024)
    response = console_client.post(
        "/account/name",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"
    # Sent in chunks, with no length said beforehand: counted as it comes.
    chunked = console_client.post(
        "/account/name",
        content=iter([body[:600_000].encode(), body[600_000:].encode()]),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413
    # Just under the limit: read, and answered by the view (a name that long is a 400).
    body = f"csrf_token={token}&display_name=" + "x" * (1000 * 1024)
    under = console_client.post(
        "/account/name",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert under.status_code == 400


def test_a_multipart_form_is_refused(console_client: TestClient) -> None:
    """Console forms are URL-encoded; another encoding is not read for a token at all."""
    sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/account").text)
    response = console_client.post(
        "/account/name",
        files={"display_name": (None, "New name"), "csrf_token": (None, token)},
        follow_redirects=False,
    )
    assert response.status_code == 403


# -- Headers, caches and the service worker ----------------------------------------------------


CONSOLE_REQUESTS = [
    ("GET", "/login", 200),
    ("GET", "/login?next=/admin/accounts", 200),
    ("GET", "/account", 303),
    ("GET", "/admin/", 303),
    ("GET", "/leaders/", 303),
    ("GET", "/admin/no-such-page", 404),
    ("GET", "/invitation?token=nothing", 404),
    ("GET", "/logout", 405),
    ("POST", "/logout", 403),
    ("HEAD", "/login", 200),
]


@pytest.mark.parametrize(("method", "url", "status"), CONSOLE_REQUESTS)
def test_every_console_response_is_no_store_with_the_security_headers(
    console_client: TestClient, method: str, url: str, status: int
) -> None:
    response = console_client.request(method, url, follow_redirects=False)
    assert response.status_code == status
    assert response.headers.get_list("cache-control") == ["no-store"]
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get_list(name) == [value], name


def test_signed_in_pages_are_no_store_too(console_client: TestClient) -> None:
    sign_in_as(console_client, "admin")
    for url in ("/account", "/account/two-factor", "/account/two-factor/qr.svg", "/admin/"):
        response = console_client.get(url)
        assert response.status_code == 200, url
        assert response.headers.get_list("cache-control") == ["no-store"], url
        assert (
            response.headers["content-security-policy"]
            == EXPECTED_HEADERS["content-security-policy"]
        )


def test_console_pages_never_enter_the_response_cache(console_client: TestClient) -> None:
    cache = cache_of(console_client)
    for _ in range(3):
        for url in ("/login", "/login?lang=th", "/admin/no-such-page", "/invitation"):
            console_client.get(url)
    sign_in_as(console_client, "admin")
    for _ in range(3):
        console_client.get("/account")
        console_client.get("/admin/")
    assert cache.hits == 0
    assert cache.entries == {} or all(
        not key[0].startswith(CONSOLE_PREFIXES) for key in cache.entries
    )
    # The control: a reader page is kept and then answered from the cache.
    console_client.get("/en/help")
    console_client.get("/en/help")
    assert cache.hits == 1


def test_the_response_cache_skips_console_paths_before_any_look_up(
    console_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a console page marked cacheable by mistake (with an ETag, no cookie) is not kept:
    the cache does not look at console paths at all."""
    from hub.response_cache import CACHEABLE
    from hub.views import signin

    shown = signin._login_page

    def marked(request: Any, **kwargs: Any) -> Any:
        request.scope[CACHEABLE] = True
        response = shown(request, **kwargs)
        response.headers["etag"] = '"fixed"'
        return response

    monkeypatch.setattr(signin, "_login_page", marked)
    cache = cache_of(console_client)
    console_client.get("/login")  # sets the pre-session cookie: not kept for that alone
    first, second = console_client.get("/login"), console_client.get("/login")
    assert "set-cookie" not in first.headers and first.headers["etag"] == '"fixed"'
    assert csrf_of(first.text) == csrf_of(second.text)
    assert cache.hits == 0 and cache.entries == {}


SW_HARNESS = """
const handlers = {};
const responded = [];
globalThis.self = {
  location: { href: "https://hub.example/sw.js?locale=en", origin: "https://hub.example" },
  addEventListener: (type, handler) => { handlers[type] = handler; },
  clients: { claim: () => Promise.resolve() },
};
globalThis.caches = {
  open: () => Promise.reject(new Error("no cache in this test")),
  match: () => Promise.resolve(undefined),
  has: () => Promise.resolve(false),
  keys: () => Promise.resolve([]),
};
globalThis.fetch = () => new Promise(() => {});
eval(require("fs").readFileSync(0, "utf8"));
for (const [path, mode] of PATHS) {
  const event = {
    request: { url: "https://hub.example" + path, method: "GET", mode: mode },
    respondWith: () => responded.push(path),
    waitUntil: () => {},
  };
  handlers.fetch(event);
}
console.log(JSON.stringify(responded));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run sw.js")
def test_the_service_worker_leaves_console_paths_to_the_network(
    console_client: TestClient,
) -> None:
    worker = console_client.get("/sw.js").text
    declared = re.search(r"const CONSOLE_PREFIXES = (\[[^\]]*\]);", worker)
    assert declared is not None
    assert tuple(json.loads(declared.group(1))) == CONSOLE_PREFIXES
    console = [
        "/login",
        "/login?next=/admin/",
        "/logout",
        "/invitation?token=x",
        "/account",
        "/account/two-factor/qr.svg",
        "/admin/",
        "/admin/accounts",
        "/leaders/",
        "/leaders/PH-HK",
    ]
    reader = ["/en/", "/en/help", "/adminx", "/en/admin", "/static/css/hub.css"]
    paths = [[p, "navigate"] for p in console + reader] + [["/api/search/en.json", "cors"]]
    script = "const PATHS = " + json.dumps(paths) + ";\n" + textwrap.dedent(SW_HARNESS)
    run = subprocess.run(
        ["node", "-e", script],
        input=worker,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    responded = json.loads(run.stdout.strip().splitlines()[-1])
    assert responded == [*reader, "/api/search/en.json"]


# -- The console's locale ----------------------------------------------------------------------


def test_lang_sets_the_console_locale_and_comes_back_without_it(
    console_client: TestClient,
) -> None:
    response = console_client.get("/login?next=%2Fadmin%2Faccounts&lang=th", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin%2Faccounts"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_console_locale=th;")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = console_client.get(response.headers["location"])
    assert '<html lang="th"' in page.text
    # The language form sends the page's own parameters back with the choice.
    assert '<input type="hidden" name="next" value="/admin/accounts">' in page.text
    # A code the hub has not: no cookie, the same page without it.
    unknown = console_client.get("/login?lang=xx", follow_redirects=False)
    assert unknown.status_code == 303 and unknown.headers["location"] == "/login"
    assert "hub_console_locale" not in unknown.headers.get("set-cookie", "")


def test_the_console_locale_falls_back_to_the_readers_then_the_browsers(
    console_client: TestClient,
) -> None:
    console_client.cookies.set("hub_locale", "km")
    assert '<html lang="km"' in console_client.get("/login").text
    console_client.cookies.set("hub_console_locale", "vi")
    assert '<html lang="vi"' in console_client.get("/login").text
    console_client.cookies.clear()
    page = console_client.get("/login", headers={"accept-language": "my-MM,my;q=0.9"})
    assert '<html lang="my"' in page.text


def test_console_error_pages_are_in_the_console_locale(console_client: TestClient) -> None:
    console_client.cookies.set("hub_console_locale", "th")
    console_client.cookies.set("hub_locale", "vi")
    missing = console_client.get("/admin/no-such-page")
    assert missing.status_code == 404
    assert '<html lang="th"' in missing.text
    assert 'class="console"' in missing.text
    refused = console_client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403 and '<html lang="th"' in refused.text
    # A reader's error page keeps the reader's locale and layout.
    reader = console_client.get("/no-such-page")
    assert '<html lang="vi"' in reader.text and 'class="console"' not in reader.text


def test_reader_pages_pass_the_guard_untouched(console_client: TestClient) -> None:
    response = console_client.get("/en/help")
    assert response.headers.get("cache-control") != "no-store"
    assert "hub_csrf" not in response.headers.get("set-cookie", "")
    # A POST to a reader page is no console form: its usual 405, not a CSRF refusal.
    assert console_client.post("/en/help").status_code == 405


def test_signing_in_again_does_not_reuse_the_pre_session_token(console_client: TestClient) -> None:
    """The token of the forms before signing in is not the session's."""
    before = csrf_of(console_client.get("/login").text)
    sign_in_as(console_client, "admin")
    after = csrf_of(console_client.get("/account").text)
    assert before != after
    assert sign_in(console_client, CONSOLE_ACCOUNTS["admin"][0]).status_code == 303
