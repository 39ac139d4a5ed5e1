"""hub/console_guard.py's promises its later mutation run showed untested (docs/testing.md,
"Mutation testing"): what passes by untouched, the headers of every console answer, the end
of a form's body and its replay, the console's locale, the session cookies tried, and the
scope keys the views read.

ConsoleGuard is called in ASGI with the real app in `scope["app"]` (its locales, routes and
sessions) and a recording app behind it, so every header and message can be read as sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from hub.app import create_app
from hub.console_guard import ConsoleGuard, console_path, cookies
from hub.settings import Settings
from tests.conftest import CONSOLE_ACCOUNTS

URLENCODED = b"application/x-www-form-urlencoded"
# A browser's pre-session token as the guard makes them: 43 characters.
TOKEN = "t" * 43
# What the app behind the guard answers with.
APP_HEADERS = [
    (b"x-kept", b"1"),
    (b"cache-control", b"max-age=60"),
    (b"content-type", b"text/plain"),
]
NEW_CSRF_COOKIE = re.compile(rb"hub_csrf=[A-Za-z0-9_-]{43}; HttpOnly; Path=/; SameSite=strict")


@dataclass
class Outcome:
    """What one request through ConsoleGuard came to."""

    refusals: list[str] = field(default_factory=list)
    # The request the error page was given: its method and path.
    refused_request: list[str] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    # The scope and the messages the app behind the guard got (None: it was not called).
    scope: Scope | None = None
    body: list[Message] = field(default_factory=list)
    reads: int = 0

    @property
    def passed(self) -> bool:
        return self.scope is not None

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.sent[0]["headers"])

    @property
    def set_cookies(self) -> list[bytes]:
        return [value for name, value in self.headers if name == b"set-cookie"]


def run_guard(
    app: object,
    *,
    method: str = "POST",
    path: str = "/login",
    query: bytes | None = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    messages: list[Message] | None = None,
    reads: int = 1,
    start_headers: bool = True,
    host: bytes | None = b"testserver",
    **guard_kwargs: bool,
) -> Outcome:
    """One request through ConsoleGuard, the real app in `scope["app"]` (its locales, routes,
    sessions). `messages` are what `receive` gives, in order, then `http.disconnect` (what a
    server gives once the client is gone). The app behind reads `reads` messages of an unsafe
    request, then answers 200 "ok" with APP_HEADERS (`start_headers` False: a start message
    without its headers key)."""
    outcome = Outcome()
    pending = list(reversed(messages or []))

    async def receive() -> Message:
        outcome.reads += 1
        if pending:
            return pending.pop()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        outcome.sent.append(message)

    async def refusal_page(request: Request, exc: Exception) -> Response:
        outcome.refusals.append(str(exc))
        outcome.refused_request.append(f"{request.method} {request.url.path}")
        return Response(b"refused", status_code=403, headers={"cache-control": "max-age=60"})

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        outcome.scope = scope
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            for _ in range(reads):
                outcome.body.append(await receive())
        start: Message = {"type": "http.response.start", "status": 200}
        if start_headers:
            start["headers"] = APP_HEADERS
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "headers": [*([] if host is None else [(b"host", host)]), *(headers or [])],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        "app": app,
    }
    if query is not None:
        scope["query_string"] = query
    guard = ConsoleGuard(behind, handler=refusal_page, **guard_kwargs)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        # Bounded: a request that waits for ever fails the test instead of hanging it.
        pool.submit(asyncio.run, guard(scope, receive, send)).result(timeout=20)
    finally:
        pool.shutdown(wait=False)
    return outcome


def form_headers(
    body: bytes, *, cookie: bytes = b"hub_csrf=" + TOKEN.encode()
) -> list[tuple[bytes, bytes]]:
    return [
        (b"cookie", cookie),
        (b"content-type", URLENCODED),
        (b"content-length", str(len(body)).encode()),
    ]


def request_message(body: bytes, *, more: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


FORM = b"csrf_token=" + TOKEN.encode()


@pytest.fixture(scope="module")
def console_app(tmp_path_factory: pytest.TempPathFactory, console_data: Path) -> Iterator[object]:
    """One app with CONSOLE_ACCOUNTS for this module (its tests only add sessions)."""
    data_dir = tmp_path_factory.mktemp("guard3") / "var"
    shutil.copytree(console_data, data_dir)
    with TestClient(create_app(Settings(data_dir=data_dir, warm_up=False))) as test_client:
        yield test_client.app


def session_of(app: object, role: str) -> tuple[str, str]:
    """A new session of the CONSOLE_ACCOUNTS account of `role`: its token and CSRF token."""
    state = app.state  # type: ignore[attr-defined]
    account = state.accounts.get(CONSOLE_ACCOUNTS[role][0])
    token, session = state.sessions.start(account)
    return str(token), str(session.csrf_token)


# What is no console request passes by as it came.


async def _no_handler(request: Request, exc: Exception) -> Response:
    raise AssertionError("nothing is refused")


def test_a_lifespan_scope_passes_by_as_it_came() -> None:
    # Kills `scope["type"] != "http" and not console_path(scope)` (a lifespan scope has no
    # path: it crashed) and the pass-by's scope, receive or send turned None or left out.
    got: list[tuple[Scope, Receive, Send]] = []

    async def behind(scope: Scope, receive: Receive, send: Send) -> None:
        got.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    asyncio.run(ConsoleGuard(behind, handler=_no_handler)(scope, receive, send))
    assert len(got) == 1
    assert got[0][0] is scope
    assert got[0][1] is receive
    assert got[0][2] is send
    assert scope == {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}


def test_a_reader_request_passes_by_untouched(console_app: object) -> None:
    # Kills `not console_path(scope)` turned `console_path(scope)`, and the pass-by's scope,
    # receive or send turned None or left out: a reader's POST is not read by the guard, and
    # its answer gets no no-store and no cookie.
    outcome = run_guard(
        console_app,
        path="/api/subscriptions",
        headers=[(b"content-type", URLENCODED)],
        messages=[request_message(b"q=1")],
    )
    assert outcome.refusals == []
    assert outcome.scope is not None
    assert "hub.csrf" not in outcome.scope
    assert outcome.body == [request_message(b"q=1")]
    assert outcome.sent == [
        {"type": "http.response.start", "status": 200, "headers": APP_HEADERS},
        {"type": "http.response.body", "body": b"ok"},
    ]


# Every console answer: no-store in place of the app's Cache-Control, the guard's cookies.


def test_a_console_answer_is_no_store_and_keeps_the_app_s_other_headers(
    console_app: object,
) -> None:
    # Kills, in send_no_store, the start message's type test turned `!=` or altered, the
    # headers read under another key or kept only when they are Cache-Control, the no-store
    # header's name or value altered, the cookies' list turned None, the message's key renamed, and
    # the message sent as None.
    token, _ = session_of(console_app, "curator")
    outcome = run_guard(
        console_app,
        method="GET",
        path="/account",
        headers=[(b"cookie", b"hub_session=" + token.encode())],
    )
    assert outcome.sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"x-kept", b"1"),
                (b"content-type", b"text/plain"),
                (b"cache-control", b"no-store"),
            ],
        },
        {"type": "http.response.body", "body": b"ok"},
    ]


def test_an_answer_without_headers_gets_no_store_and_the_guard_s_cookie(
    console_app: object,
) -> None:
    # Kills `message.get("headers", None)` or without a default in send_no_store: ASGI lets a
    # start message leave its headers out (none), and that crashed.
    outcome = run_guard(console_app, method="GET", path="/login", start_headers=False)
    headers = outcome.headers
    assert headers[0] == (b"cache-control", b"no-store")
    assert len(headers) == 2
    assert headers[1][0] == b"set-cookie"
    assert NEW_CSRF_COOKIE.fullmatch(headers[1][1])


def test_the_guard_s_defaults_are_plain_http_and_no_two_factor_demand(
    console_app: object,
) -> None:
    # Kills ConsoleGuard's `secure=True` and `require_2fa=True` defaults: over plain HTTP a
    # Secure cookie is never sent back, and an admin without TOTP is let in.
    token, _ = session_of(console_app, "admin")
    outcome = run_guard(
        console_app, method="GET", path="/account", headers=[(b"cookie", b"hub_session=x")]
    )
    assert len(outcome.set_cookies) == 2
    assert outcome.set_cookies[0] == b'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict'
    assert NEW_CSRF_COOKIE.fullmatch(outcome.set_cookies[1])
    signed_in = run_guard(
        console_app,
        method="GET",
        path="/account",
        headers=[(b"cookie", b"hub_session=" + token.encode())],
    )
    assert signed_in.scope is not None
    assert signed_in.scope["hub.needs_two_factor"] is False


# The console's locale.


def test_lang_sets_a_secure_cookie_behind_https(console_app: object) -> None:
    # Kills `secure=None` for the locale cookie, the chosen code upper-cased (TH is no code),
    # and the redirect's path and rest of the query altered or dropped.
    outcome = run_guard(
        console_app, method="GET", path="/account", query=b"q=&lang=TH&page=2", secure=True
    )
    assert outcome.status == 303
    assert outcome.headers[0] == (b"location", b"/account?q=&page=2")
    assert outcome.set_cookies[0] == (
        b"hub_console_locale=th; HttpOnly; Max-Age=31536000; Path=/; SameSite=strict; Secure"
    )


def test_the_last_lang_wins_and_an_empty_or_unknown_one_sets_nothing(console_app: object) -> None:
    # Kills keep_blank_values False or None (an empty lang= was not taken away, and an empty
    # field of the rest was dropped), the chosen-code test turned `not in`, and the lang
    # fields picked or dropped by the wrong name.
    last = run_guard(
        console_app, method="GET", path="/login", query=b"lang=km&next=%2Fadmin&lang=th"
    )
    assert last.headers[0] == (b"location", b"/login?next=%2Fadmin")
    assert last.set_cookies[0] == (
        b"hub_console_locale=th; HttpOnly; Max-Age=31536000; Path=/; SameSite=strict"
    )
    empty = run_guard(console_app, method="GET", path="/login", query=b"lang=&x=")
    assert empty.status == 303
    assert empty.headers[0] == (b"location", b"/login?x=")
    assert not any(c.startswith(b"hub_console_locale") for c in empty.set_cookies)
    unknown = run_guard(console_app, method="GET", path="/login", query=b"lang=zz")
    assert unknown.status == 303
    assert unknown.headers[0] == (b"location", b"/login")
    assert not any(c.startswith(b"hub_console_locale") for c in unknown.set_cookies)


def test_lang_on_a_form_is_no_redirect(console_app: object) -> None:
    # Kills `scope["method"] != "GET"` (a form sent to a URL with ?lang= was redirected and
    # never run) and `or` for `and` (a GET without lang crashed).
    outcome = run_guard(
        console_app,
        query=b"lang=th",
        headers=form_headers(FORM, cookie=b"hub_csrf=" + TOKEN.encode() + b"; hub_locale=km"),
        messages=[request_message(FORM)],
    )
    assert outcome.passed
    assert outcome.scope is not None
    assert outcome.scope["hub.console_locale"] == "km"


def test_the_console_locale_from_its_cookie_then_the_reader_s_then_the_browser(
    console_app: object,
) -> None:
    # Kills the cookie's code upper-cased, the code test turned `not in`, the locale set to
    # None, the Accept-Language default turned None or dropped (a browser that sends none
    # crashed), and a scope without a query string (ASGI's default is empty) crashing.
    def locale(cookie: bytes, accept: bytes | None = None, query: bytes | None = b"") -> str:
        headers = [(b"cookie", cookie)]
        if accept is not None:
            headers.append((b"accept-language", accept))
        outcome = run_guard(console_app, method="GET", path="/login", headers=headers, query=query)
        assert outcome.scope is not None
        return str(outcome.scope["hub.console_locale"])

    assert locale(b"hub_console_locale=TH; hub_locale=km", b"vi") == "th"
    assert locale(b"hub_console_locale=zz; hub_locale=KM", b"vi") == "km"
    assert locale(b"hub_locale=zz", b"vi, th") == "vi"
    assert locale(b"", None) == "en"
    assert locale(b"hub_locale=id", None, query=None) == "id"


# The session.


def test_a_browser_nobody_is_signed_in_on_gets_a_43_character_csrf_token(
    console_app: object,
) -> None:
    # Kills the pre-session token made of 33 bytes (44 characters), its cookie's Secure flag
    # dropped behind HTTPS, and the scope keys of nobody signed in set otherwise.
    outcome = run_guard(console_app, method="GET", path="/login", secure=True)
    [cookie] = outcome.set_cookies
    assert re.fullmatch(
        rb"hub_csrf=[A-Za-z0-9_-]{43}; HttpOnly; Path=/; SameSite=strict; Secure", cookie
    )
    assert outcome.scope is not None
    assert outcome.scope["hub.csrf"] == cookie[len(b"hub_csrf=") : len(b"hub_csrf=") + 43].decode()
    assert outcome.scope["hub.session"] is None
    assert outcome.scope["hub.account"] is None
    assert outcome.scope["hub.session_token"] is None
    assert not outcome.scope["hub.needs_two_factor"]


def test_a_pre_session_token_of_32_characters_is_kept_and_of_31_replaced(
    console_app: object,
) -> None:
    # Kills `len(csrf) <= 32` and `< 33`: a token of 32 characters is long enough.
    kept = run_guard(
        console_app, method="GET", path="/login", headers=[(b"cookie", b"hub_csrf=" + b"k" * 32)]
    )
    assert kept.set_cookies == []
    assert kept.scope is not None
    assert kept.scope["hub.csrf"] == "k" * 32
    replaced = run_guard(
        console_app, method="GET", path="/login", headers=[(b"cookie", b"hub_csrf=" + b"k" * 31)]
    )
    [cookie] = replaced.set_cookies
    assert NEW_CSRF_COOKIE.fullmatch(cookie)
    assert replaced.scope is not None
    assert replaced.scope["hub.csrf"] != "k" * 31


def test_a_dead_session_cookie_is_cleared_secure_behind_https(console_app: object) -> None:
    # Kills, for the cookie of a session that resumed nothing, its value "XXXX", its Max-Age
    # 1 or left out, its Secure flag dropped, and the clearing not sent.
    outcome = run_guard(
        console_app,
        method="GET",
        path="/account",
        headers=[(b"cookie", b"hub_session=gone1; hub_session=gone2")],
        secure=True,
    )
    assert outcome.set_cookies[0] == (
        b'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict; Secure'
    )
    assert outcome.scope is not None
    assert outcome.scope["hub.session_token"] is None


def test_each_of_three_session_cookies_is_tried(console_app: object) -> None:
    # Kills the tokens looked up under another name, the resumed session's token not kept for
    # signing out and in (None, or kept when nothing resumed), and the scope keys of a session.
    token, csrf = session_of(console_app, "curator")
    cookie = b"hub_session=; hub_session=stale; hub_session=other; hub_session=" + token.encode()
    outcome = run_guard(console_app, method="GET", path="/account", headers=[(b"cookie", cookie)])
    assert outcome.set_cookies == []
    assert outcome.scope is not None
    assert outcome.scope["hub.session_token"] == token
    assert outcome.scope["hub.csrf"] == csrf
    assert outcome.scope["hub.account"].email == "curator@hub.example"
    assert outcome.scope["hub.session"].csrf_token == csrf
    assert outcome.scope["hub.needs_two_factor"] is False
    # A fourth is never tried: the browser is taken as signed out.
    cookie = b"hub_session=a; hub_session=b; hub_session=c; hub_session=" + token.encode()
    fourth = run_guard(console_app, method="GET", path="/account", headers=[(b"cookie", cookie)])
    assert fourth.set_cookies[0] == b'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict'
    assert fourth.scope is not None
    assert fourth.scope["hub.account"] is None


@pytest.mark.parametrize(
    ("role", "require_2fa", "expected"),
    [
        ("admin", True, True),
        ("curator", True, False),
        ("admin", False, False),
        ("curator", False, False),
    ],
)
def test_only_an_admin_without_totp_must_set_it_up_and_only_when_required(
    console_app: object, role: str, require_2fa: bool, expected: bool
) -> None:
    # Kills the two-factor demand's `and`s turned `or`, the role test turned `!=` or altered,
    # `account.two_factor` not negated, and the demand set to None.
    token, _ = session_of(console_app, role)
    outcome = run_guard(
        console_app,
        method="GET",
        path="/account",
        headers=[(b"cookie", b"hub_session=" + token.encode())],
        require_2fa=require_2fa,
    )
    assert outcome.scope is not None
    assert outcome.scope["hub.needs_two_factor"] is expected


# The form's body and its checks.


def test_a_body_message_without_more_body_is_the_last(console_app: object) -> None:
    # Kills `message.get("more_body", True)` in _check_form: ASGI's more_body defaults to
    # False, so the one message is the whole body; the mutant waited for another (a server
    # blocks there until the client goes: the request hung; here it gets the disconnect).
    outcome = run_guard(
        console_app, headers=form_headers(FORM), messages=[{"type": "http.request", "body": FORM}]
    )
    assert outcome.refusals == []
    assert outcome.passed
    assert outcome.reads == 1
    assert outcome.body == [request_message(FORM)]


def test_a_form_sent_in_pieces_is_read_whole_and_replayed_once(console_app: object) -> None:
    # Kills more_body read under another key (the rest of the form was left unread), the
    # pieces joined with b"XXXX", the replay flag starting true or never set (the app got the
    # server's next message, or the body twice), and the replayed message's keys or values
    # altered.
    pieces = [request_message(b"a=1&csrf_tok", more=True), request_message(b"en=" + TOKEN.encode())]
    whole = b"a=1&csrf_token=" + TOKEN.encode()
    outcome = run_guard(console_app, headers=form_headers(whole), messages=pieces, reads=2)
    assert outcome.refusals == []
    assert outcome.body == [request_message(whole), {"type": "http.disconnect"}]
    assert outcome.reads == 3


def test_a_form_without_a_content_type_is_refused(console_app: object) -> None:
    # Kills the Content-Type default turned None or dropped: a form without one crashed.
    outcome = run_guard(
        console_app,
        headers=[(b"cookie", b"hub_csrf=" + TOKEN.encode()), (b"content-length", b"54")],
        messages=[request_message(FORM)],
    )
    assert outcome.refusals == ["403: form refused"]
    assert not outcome.passed


def test_only_the_file_form_s_path_is_read_as_multipart(console_app: object) -> None:
    # Kills `path in FILE_FORM_PATHS or multipart` (a URL-encoded form to the import was read
    # as multipart and refused; a multipart form elsewhere was let through).
    urlencoded = run_guard(
        console_app,
        path="/admin/directory/import",
        headers=form_headers(FORM),
        messages=[request_message(FORM)],
    )
    assert urlencoded.refusals == []
    assert urlencoded.passed
    multipart = (
        b'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + TOKEN.encode()
        + b"\r\n--b0undary--\r\n"
    )
    elsewhere = run_guard(
        console_app,
        path="/admin/accounts",
        headers=[
            (b"cookie", b"hub_csrf=" + TOKEN.encode()),
            (b"content-type", b"multipart/form-data; boundary=b0undary"),
        ],
        messages=[request_message(multipart)],
    )
    assert elsewhere.refusals == ["403: form refused"]
    at_import = run_guard(
        console_app,
        path="/admin/directory/import",
        headers=[
            (b"cookie", b"hub_csrf=" + TOKEN.encode()),
            (b"content-type", b"multipart/form-data; boundary=b0undary"),
        ],
        messages=[request_message(multipart)],
    )
    assert at_import.refusals == []
    assert at_import.passed


# What a request comes to: the app, a refusal, or signing in again.


def test_a_form_with_a_wrong_token_is_refused_as_no_store(console_app: object) -> None:
    # Kills the refusal made 404, without its detail or None, the error page given no request
    # or no refusal, and its answer sent without no-store.
    body = b"csrf_token=" + b"w" * 43
    outcome = run_guard(console_app, headers=form_headers(body), messages=[request_message(body)])
    assert not outcome.passed
    assert outcome.refusals == ["403: form refused"]
    assert outcome.refused_request == ["POST /login"]
    assert outcome.status == 403
    assert outcome.headers[-1] == (b"cache-control", b"no-store")
    assert (b"cache-control", b"max-age=60") not in outcome.headers
    assert outcome.sent[1]["body"] == b"refused"


def test_a_form_too_large_stays_too_large_whatever_its_session(console_app: object) -> None:
    # Kills `refusal is None or not _same_token(...)`: a refusal already made (413) was turned
    # into "form refused", or into signing in again when the session cookie was dead.
    headers = [
        (b"cookie", b"hub_session=gone"),
        (b"content-type", URLENCODED),
        (b"content-length", b"70000"),
    ]
    outcome = run_guard(console_app, path="/account", headers=headers)
    assert outcome.refusals == ["413: Request Entity Too Large"]
    assert outcome.refused_request == ["POST /account"]
    assert outcome.status == 403
    assert outcome.reads == 0


def test_a_form_of_a_dead_session_goes_to_sign_in_as_no_store(console_app: object) -> None:
    # Kills the sign-in redirect's target or send altered (None, the scope dropped) and the
    # session's end not telling (`return bool(None)`): the form is refused in words instead.
    body = b"csrf_token=" + b"w" * 43
    outcome = run_guard(
        console_app,
        path="/logout",
        headers=form_headers(body, cookie=b"hub_session=gone"),
        messages=[request_message(body)],
    )
    assert outcome.refusals == []
    assert not outcome.passed
    assert outcome.sent[0]["status"] == 303
    assert outcome.headers[:3] == [
        (b"location", b"/login?notice=signed_out"),
        (b"content-length", b"0"),
        (b"cache-control", b"no-store"),
    ]
    assert outcome.set_cookies[0] == b'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict'


def test_a_form_with_the_session_s_token_reaches_the_app_with_its_body(
    console_app: object,
) -> None:
    # Kills the token test turned `refusal is not None` or not negated, the sent or expected
    # token turned None, and the app given no receive (it could not read the form).
    token, csrf = session_of(console_app, "curator")
    body = b"csrf_token=" + csrf.encode()
    outcome = run_guard(
        console_app,
        path="/account",
        headers=form_headers(body, cookie=b"hub_session=" + token.encode()),
        messages=[request_message(body)],
    )
    assert outcome.refusals == []
    assert outcome.body == [request_message(body)]
    assert outcome.status == 200


def test_a_live_session_s_form_with_a_wrong_token_is_refused_not_sent_to_sign_in(
    console_app: object,
) -> None:
    # Kills `return True` for a resumed session in _session: a live session counted as ended,
    # so a refused form of a signed-in account was sent to sign in again.
    token, _ = session_of(console_app, "curator")
    body = b"csrf_token=" + b"w" * 43
    outcome = run_guard(
        console_app,
        path="/account",
        headers=form_headers(body, cookie=b"hub_session=" + token.encode()),
        messages=[request_message(body)],
    )
    assert outcome.refusals == ["403: form refused"]
    assert outcome.status == 403


def test_a_token_repeated_empty_is_a_repeated_token(console_app: object) -> None:
    # Kills keep_blank_values None in _form_token: an empty csrf_token field beside the right
    # one was dropped, and the form passed with two tokens.
    for body in (b"csrf_token=&" + FORM, FORM + b"&csrf_token="):
        outcome = run_guard(
            console_app, headers=form_headers(body), messages=[request_message(body)]
        )
        assert outcome.refusals == ["403: form refused"]
    alone = run_guard(console_app, headers=form_headers(FORM), messages=[request_message(FORM)])
    assert alone.passed


def test_the_media_type_is_what_comes_before_the_first_parameter(console_app: object) -> None:
    # Kills `rsplit(";", 1)` in _media_type: with two parameters, the media type was read with
    # the first one and the form refused.
    urlencoded = run_guard(
        console_app,
        headers=[
            (b"cookie", b"hub_csrf=" + TOKEN.encode()),
            (b"content-type", b"application/x-www-form-urlencoded; charset=UTF-8; x=1"),
        ],
        messages=[request_message(FORM)],
    )
    assert urlencoded.passed
    multipart = (
        b'--b0undary\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + TOKEN.encode()
        + b"\r\n--b0undary--\r\n"
    )
    at_import = run_guard(
        console_app,
        path="/admin/directory/import",
        headers=[
            (b"cookie", b"hub_csrf=" + TOKEN.encode()),
            (b"content-type", b"multipart/form-data; charset=utf-8; boundary=b0undary"),
        ],
        messages=[request_message(multipart)],
    )
    assert at_import.passed


# The path and the cookies as the guard reads them.


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"path": "/admin"}, True),
        ({"path": "/hub/admin", "root_path": "/hub"}, True),
        ({"path": "/hub/admin", "root_path": "/hub/mounted", "app_root_path": "/hub"}, True),
        ({"path": "/admin/x", "root_path": "/hub"}, True),
        ({"path": "/hub/en", "root_path": "/hub"}, False),
        ({"path": "/hub", "root_path": "/hub"}, False),
    ],
)
def test_a_console_path_is_read_after_the_server_s_root_path(scope: Scope, expected: bool) -> None:
    # Kills, in _app_path, the server's root path (app_root_path, else root_path) not read,
    # read under another name or without its default, the test `root or ...` (a path not
    # under the root lost its first characters), and the root's "/" altered.
    assert console_path(scope) is expected


def test_cookies_are_read_by_name_from_every_cookie_header() -> None:
    # Kills the Cookie headers joined by "XX;XX" (a browser over HTTP/2 sends one header a
    # cookie), a value holding "=" cut at the last one, and `sep or name in names` (every
    # cookie kept, and a name without a value).
    scope: Scope = {
        "headers": [
            (b"cookie", b"hub_csrf=a=b; other=1"),
            (b"x-cookie", b"hub_session=no"),
            (b"cookie", b"hub_session=s1;hub_csrf ; hub_session= s\xe9 "),
        ]
    }
    assert cookies(scope, ("hub_csrf", "hub_session")) == {
        "hub_csrf": ["a=b"],
        "hub_session": ["s1", "s\xe9"],
    }


# A form another site made: Sec-Fetch-Site and Origin.


@pytest.mark.parametrize("site", [b"cross-site", b"same-site", b"Cross-Site"])
def test_a_form_another_site_made_is_refused_before_its_body_is_read(
    console_app: object, site: bytes
) -> None:
    # Kills Sec-Fetch-Site not read or read under another name, its test turned `in` or made
    # of the upper-cased value, and the refusal's status or detail altered.
    outcome = run_guard(
        console_app,
        headers=[(b"sec-fetch-site", site), *form_headers(FORM)],
        messages=[request_message(FORM)],
    )
    assert outcome.refusals == ["403: form refused"]
    assert outcome.reads == 0


@pytest.mark.parametrize("site", [b"same-origin", b"Same-Origin", b"none", b"NONE"])
def test_a_form_the_hub_s_own_page_made_passes(console_app: object, site: bytes) -> None:
    outcome = run_guard(
        console_app,
        headers=[(b"sec-fetch-site", site), *form_headers(FORM)],
        messages=[request_message(FORM)],
    )
    assert outcome.refusals == []
    assert outcome.passed


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (b"http://evil.example", b"testserver"),
        (b"http://testserver.evil.example", b"testserver"),
        (b"http://xxxx", None),
        (b"http://testserver", None),
        (b"https://testserver:8000", b"testserver"),
    ],
)
def test_a_form_from_another_origin_is_refused(
    console_app: object, origin: bytes, host: bytes | None
) -> None:
    # Kills Origin not read or read under another name, the "null" exception turned `==` (a
    # foreign origin passed), the Host test turned `and not host` or the Host's default
    # "XXXX" (an origin of http://xxxx passed without a Host), and the refusal's status or
    # detail altered.
    outcome = run_guard(
        console_app,
        host=host,
        headers=[(b"origin", origin), *form_headers(FORM)],
        messages=[request_message(FORM)],
    )
    assert outcome.refusals == ["403: form refused"]
    assert outcome.reads == 0


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        (b"null", b"testserver"),
        (b"http://testserver", b"testserver"),
        (b"http://TestServer:8000", b"testserver:8000"),
        (b"https://hub.example", b"Hub.Example"),
    ],
)
def test_a_form_from_the_hub_s_own_origin_passes(
    console_app: object, origin: bytes, host: bytes
) -> None:
    # Kills "null" (a page with no-referrer's Origin) spelt otherwise, the Host or the
    # Origin's host upper-cased or the Host set to None, `urlsplit(None)`, and the Host test
    # turned `==` or `or host`: the hub's own forms were refused.
    outcome = run_guard(
        console_app,
        host=host,
        headers=[(b"origin", origin), *form_headers(FORM)],
        messages=[request_message(FORM)],
    )
    assert outcome.refusals == []
    assert outcome.passed


# The body's size.


def _sized(app: object, chunks: list[bytes], *, declared: bool, cookie: bytes | None = None) -> str:
    """What a form of these body pieces comes to: a refusal's text, or "passed"."""
    headers = form_headers(b"".join(chunks), **({} if cookie is None else {"cookie": cookie}))
    if not declared:
        headers = [h for h in headers if h[0] != b"content-length"]
    messages = [request_message(c, more=i < len(chunks) - 1) for i, c in enumerate(chunks)]
    outcome = run_guard(app, headers=headers, messages=messages, path="/account")
    if outcome.passed:
        return "passed"
    return outcome.refusals[0]


def test_a_form_of_64_kib_is_read_and_one_byte_more_is_refused(console_app: object) -> None:
    # Kills `int(length) >= limit`, `size = 1`, `size = len(chunk)` (only the last piece
    # counted), `size -= len(chunk)`, `size >= limit`, and the 413 made 414 or None.
    form = FORM + b"&x="
    exactly = [form, b"x" * (40_000 - len(form)), b"x" * 25_536]
    assert _sized(console_app, exactly, declared=True) == "passed"
    assert _sized(console_app, exactly, declared=False) == "passed"
    over = [*exactly, b"x"]
    assert _sized(console_app, over, declared=False) == "413: Request Entity Too Large"
    two = [form, b"x" * 40_000, b"x" * 40_000]
    assert _sized(console_app, two, declared=False) == "413: Request Entity Too Large"


def test_a_signed_in_form_may_hold_a_mebibyte(console_app: object) -> None:
    # Kills the signed-in limit taken for nobody's (`... or True`): a translation of 100 KB
    # was refused; a mebibyte and a byte is not read.
    token, csrf = session_of(console_app, "curator")
    cookie = b"hub_session=" + token.encode()
    form = b"csrf_token=" + csrf.encode() + b"&x="
    assert _sized(console_app, [form, b"x" * 100_000], declared=True, cookie=cookie) == "passed"
    headers = [(b"cookie", cookie), (b"content-type", URLENCODED), (b"content-length", b"1048577")]
    outcome = run_guard(console_app, path="/account", headers=headers)
    assert outcome.refusals == ["413: Request Entity Too Large"]
    assert outcome.reads == 0


def test_a_client_gone_mid_form_is_a_bad_request_and_a_bodiless_message_is_empty(
    console_app: object,
) -> None:
    # Kills the 400 of a disconnect made 401 or None, and a request message without its body
    # read as None (a crash) or b"XXXX" (ASGI's default body is empty).
    gone = run_guard(
        console_app,
        headers=form_headers(FORM),
        messages=[request_message(b"csrf", more=True), {"type": "http.disconnect"}],
    )
    assert gone.refusals == ["400: Bad Request"]
    bodiless = run_guard(
        console_app,
        headers=form_headers(FORM),
        messages=[{"type": "http.request", "more_body": True}, request_message(FORM)],
    )
    assert bodiless.refusals == []
    assert bodiless.body == [request_message(FORM)]
