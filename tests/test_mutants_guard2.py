"""hub/console_guard.py's promises its first mutation run showed untested (docs/testing.md,
"Mutation testing"): the cookie that signing out sends, and the way back to a page whose URL
has a query string after the session ended."""

from __future__ import annotations

import asyncio
import concurrent.futures
from urllib.parse import quote

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from hub.console_guard import (
    ConsoleGuard,
    clear_session_cookie,
    cookie_header,
    set_session_cookie,
)
from tests.conftest import CONSOLE_ACCOUNTS, csrf_of, sign_in_as


def test_signing_out_clears_the_session_cookie_at_once(console_client: TestClient) -> None:
    # Kills clear_session_cookie's value turned None or "XXXX", `max_age=0` turned 1, None or
    # left out (the browser would keep the cookie, or a cookie naming no session).
    sign_in_as(console_client, "curator")
    token = csrf_of(console_client.get("/account").text)
    response = console_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?notice=signed_out"
    assert response.headers.get_list("set-cookie") == [
        'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict'
    ]


def test_the_cleared_session_cookie_is_secure_over_https() -> None:
    # Kills `secure=None` in clear_session_cookie: behind HTTPS the cookie is marked Secure.
    response = Response()
    clear_session_cookie(response, secure=True)
    assert response.raw_headers == [
        (b"content-length", b"0"),
        (b"set-cookie", b'hub_session=""; HttpOnly; Max-Age=0; Path=/; SameSite=strict; Secure'),
    ]


def test_a_new_session_cookie_is_secure_over_https() -> None:
    # Kills `secure=None` in set_session_cookie.
    response = Response()
    set_session_cookie(response, "tok", secure=True)
    assert response.raw_headers == [
        (b"content-length", b"0"),
        (b"set-cookie", b"hub_session=tok; HttpOnly; Path=/; SameSite=strict; Secure"),
    ]


def test_a_cookie_given_a_max_age_keeps_it_and_one_without_is_a_session_cookie() -> None:
    assert cookie_header("hub_x", "v", secure=False, max_age=5) == (
        b"set-cookie",
        b"hub_x=v; HttpOnly; Max-Age=5; Path=/; SameSite=strict",
    )
    assert cookie_header("hub_x", "v", secure=False) == (
        b"set-cookie",
        b"hub_x=v; HttpOnly; Path=/; SameSite=strict",
    )


async def _never_reached(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the redirect answers alone")


async def _no_error_page(request: Request, exc: Exception) -> Response:
    raise AssertionError("nothing is refused")


def test_the_console_s_redirect_is_well_formed_asgi(console_client: TestClient) -> None:
    # Kills, in _redirect, the header names upper-cased (ASGI wants them lower-case), the
    # Content-Length "XX0XX", the body message's type altered and its body b"XXXX" (a server
    # would refuse each). The body message without its `body` key is equivalent (ASGI's
    # default body is empty), so only its value is read.
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/login",
        "raw_path": b"/login",
        "root_path": "",
        "scheme": "http",
        "query_string": b"lang=th&next=%2Faccount",
        "headers": [],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        "app": console_client.app,
    }
    guard = ConsoleGuard(_never_reached, handler=_no_error_page)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()
    start, body = sent
    assert start == {
        "type": "http.response.start",
        "status": 303,
        "headers": [
            (b"location", b"/login?next=%2Faccount"),
            (b"content-length", b"0"),
            (b"cache-control", b"no-store"),
            (
                b"set-cookie",
                b"hub_console_locale=th; HttpOnly; Max-Age=31536000; Path=/; SameSite=strict",
            ),
        ],
    }
    assert body["type"] == "http.response.body"
    assert body.get("body", b"") == b""


def test_a_form_sent_after_the_session_ended_comes_back_with_its_query(
    console_client: TestClient,
) -> None:
    # Kills, in _sign_in_again, the query dropped (`if ... and False`) or joined by "XX?XX" (or
    # `"?" - query`, a crash): the page came back without what its URL asked for.
    email = sign_in_as(console_client, "admin")
    curator = console_client.app.state.accounts.get(CONSOLE_ACCOUNTS["curator"][0])  # type: ignore[attr-defined]
    page = f"/admin/accounts/{curator.id}"
    token = csrf_of(console_client.get(page).text)
    state = console_client.app.state  # type: ignore[attr-defined]
    assert state.sessions.end_all(state.accounts.get(email).id) >= 1
    response = console_client.post(
        page + "?tab=sessions",
        data={"csrf_token": token, "action": "end_sessions"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    expected_next = quote(f"/admin/accounts/{curator.id}?tab=sessions", safe="")
    assert response.headers["location"] == f"/login?next={expected_next}&notice=session_ended"


def _import_form(client: TestClient, parts: list[tuple[str, str | None, bytes]]) -> int:
    """POST a multipart form to the directory import (the one console form that may carry a
    file): parts of (name, file name or None for a plain field, content); the status."""
    body = b"".join(
        b'--b0undary\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n'
        % (
            name.encode(),
            b"" if filename is None else b'; filename="%s"' % filename.encode(),
            content,
        )
        for name, filename, content in parts
    )
    response = client.post(
        "/admin/directory/import",
        content=body + b"--b0undary--\r\n",
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
        follow_redirects=False,
    )
    return response.status_code


def test_a_file_form_is_let_through_only_with_one_token_as_a_field(
    console_client: TestClient,
) -> None:
    # Kills _multipart_token's mutants: the parser or its parts turned None, the token looked
    # up as None, the test of "one token, a text field" loosened (`or`, `or True`, `!= 1`,
    # `== 2`) or made never true, and `values[1]`; and the limits of one file and 16 fields
    # (turned 2, 17, None or left to Starlette's 1,000).
    sign_in_as(console_client, "admin")
    token = csrf_of(console_client.get("/admin/directory/import").text).encode()
    file = ("file", "entries.csv", b"id,name_en\n")
    check = ("action", None, b"check")
    csrf = ("csrf_token", None, token)
    assert _import_form(console_client, [csrf, check, file]) == 400
    assert _import_form(console_client, [check, file]) == 403
    assert _import_form(console_client, [csrf, csrf, check, file]) == 403
    assert _import_form(console_client, [("csrf_token", "token.txt", token), check, file]) == 403
    assert _import_form(console_client, [csrf, check, file, file]) == 403
    fourteen = [(f"extra{n}", None, b"x") for n in range(14)]
    assert _import_form(console_client, [csrf, check, *fourteen, file]) == 400
    assert (
        _import_form(console_client, [csrf, check, *fourteen, ("extra", None, b"x"), file]) == 403
    )


@pytest.mark.parametrize("origin", [b"http://testserver", b"http://xxxx"])
def test_a_form_with_an_origin_but_no_host_is_refused(
    console_client: TestClient, origin: bytes
) -> None:
    # Kills `headers.get("host", None)` or without a default in _check_form: a request without
    # Host (HTTP/1.0 allows it) but with an Origin crashed into a 500 instead of the refusal;
    # and the default "XXXX", which let the Origin "http://xxxx" pass.
    sent: list[Message] = []
    refusals: list[Exception] = []

    # The browser's own pre-session token, sent back right: only the missing Host refuses it.
    token = b"t" * 43

    async def receive() -> Message:
        return {"type": "http.request", "body": b"csrf_token=" + token, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def refusal_page(request: Request, exc: Exception) -> Response:
        refusals.append(exc)
        return Response(b"refused", status_code=403)

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "raw_path": b"/login",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [
            (b"origin", origin),
            (b"cookie", b"hub_csrf=" + token),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"54"),
        ],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.0",
        "asgi": {"version": "3.0"},
        "app": console_client.app,
    }
    guard = ConsoleGuard(_never_reached, handler=refusal_page)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()
    assert [str(e) for e in refusals] == ["403: form refused"]
    assert sent[0]["status"] == 403


URLENCODED = b"application/x-www-form-urlencoded"


def _refusal_of(
    app: object, headers: list[tuple[bytes, bytes]], chunks: list[bytes | Message] | None
) -> str:
    """What ConsoleGuard refuses an anonymous POST to /login with (its HTTPException as text),
    or "passed" when it calls the app; `chunks` None: reading the body fails the test. A
    chunk is the body of an `http.request` message, or a whole message."""
    refusals: list[Exception] = []
    pending = list(reversed(chunks or []))

    async def receive() -> Message:
        assert chunks is not None, "the body was read"
        body = pending.pop()
        if not isinstance(body, bytes):
            return body
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        pass

    async def refusal_page(request: Request, exc: Exception) -> Response:
        refusals.append(exc)
        return Response(b"refused", status_code=403)

    async def passed(scope: Scope, receive: Receive, send: Send) -> None:
        refusals.append(Exception("passed"))

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "raw_path": b"/login",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
        "app": app,
    }
    guard = ConsoleGuard(passed, handler=refusal_page)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, guard(scope, receive, send)).result()
    [refusal] = refusals
    return str(refusal)


def test_the_body_limit_of_a_form_sent_without_a_session(console_client: TestClient) -> None:
    # Kills, in _check_form, the Content-Length header looked up under another name, or its
    # test turned `and` (a body declared too large was read before the refusal; "abc" crashed),
    # `>= limit` and `size = 1` (a body of exactly 64 KiB refused), and its default "XX0XX" (a
    # body sent without Content-Length, chunked, refused).
    app = console_client.app
    assert (
        _refusal_of(app, [(b"content-length", b"65537")], None) == "413: Request Entity Too Large"
    )
    assert _refusal_of(app, [(b"content-length", b"abc")], None) == "413: Request Entity Too Large"
    exactly: list[bytes | Message] = [b"x" * 65_000, b"x" * 536]
    assert _refusal_of(app, [(b"content-length", b"65536")], exactly) == "403: form refused"
    assert _refusal_of(app, [], [b"x" * 10, b"y"]) == "403: form refused"
    over: list[bytes | Message] = [b"x" * 65_000, b"x" * 537]
    assert _refusal_of(app, [], over) == "413: Request Entity Too Large"


def test_a_client_gone_while_its_form_is_read_is_refused_and_a_bodiless_message_is_empty(
    console_client: TestClient,
) -> None:
    # Kills the 400 for a disconnect turned 401 or None, and `message.get("body", None)`
    # or b"XXXX" (ASGI lets a request message leave its body out: it is empty).
    app = console_client.app
    gone: list[bytes | Message] = [b"x", {"type": "http.disconnect"}]
    assert _refusal_of(app, [], gone) == "400: Bad Request"
    token = b"t" * 43
    bodiless: list[bytes | Message] = [
        {"type": "http.request", "more_body": True},
        {"type": "http.request", "body": b"csrf_token=" + token, "more_body": False},
    ]
    form = [(b"cookie", b"hub_csrf=" + token), (b"content-type", URLENCODED)]
    assert _refusal_of(app, form, bodiless) == "passed"
