"""The middleware's promises its mutants showed untested (issue 9, point 6): each layer passes
the request body on, a start message without headers, an error right after the start, the
request the error page is given, requests the app makes to itself, and the bare prefix of the
subscriptions' paths in the log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.middleware import (
    INTERNAL,
    AccessLog,
    HeadAsGet,
    SecurityHeaders,
    ServerErrors,
    logged_path,
)
from tests.conftest import asgi_messages, http_scope


def call(
    app: ASGIApp, method: str = "GET", body: bytes = b"", extra: Scope | None = None
) -> list[Message]:
    """The messages an ASGI app sends for one request to /en/ with this body."""
    request = {"type": "http.request", "body": body, "more_body": False}
    return asgi_messages(app, http_scope(method, "/en/", **(extra or {})), [request])


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the request's body, streamed (Starlette then also listens for a disconnect)."""
    body = await Request(scope, receive).body()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"read: "
        yield body

    await StreamingResponse(chunks(), media_type="text/plain")(scope, receive, send)


async def error_page(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"error on {request.url.path}: {exc}", status_code=500)


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


@pytest.mark.parametrize(
    "layer",
    [
        SecurityHeaders(echo),
        ServerErrors(echo, error_page),
        AccessLog(echo),
        HeadAsGet(echo),
    ],
    ids=["SecurityHeaders", "ServerErrors", "AccessLog", "HeadAsGet"],
)
def test_each_layer_passes_the_request_body_on(layer: ASGIApp) -> None:
    # Kills `receive` turned None where each layer calls the app below it.
    messages = call(layer, "POST", b"name=Maria")
    assert messages[0]["status"] == 200
    assert body_of(messages) == b"read: name=Maria"


def test_head_passes_the_request_on_and_sends_no_body() -> None:
    # Kills HeadAsGet's `receive` turned None (the streamed answer listens on it).
    messages = call(HeadAsGet(echo), "HEAD")
    assert messages[0]["status"] == 200
    assert messages[1:] == [{"type": "http.response.body", "body": b""}]


def test_a_start_message_without_headers_gets_every_security_header() -> None:
    # Kills `message.get("headers", [])` with its default turned None or dropped (ASGI lets a
    # start message leave out `headers`).
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    start = call(SecurityHeaders(bare))[0]
    assert start["status"] == 204
    assert [name for name, _ in start["headers"]] == [
        b"content-security-policy",
        b"referrer-policy",
        b"x-content-type-options",
        b"x-frame-options",
        b"cross-origin-opener-policy",
        b"cross-origin-resource-policy",
        b"permissions-policy",
    ]


def test_an_error_right_after_the_start_is_raised_on_not_answered() -> None:
    # Kills `message["type"] != "http.response.start"` in ServerErrors: it took the response
    # as started only at its first body message.
    handled: list[Exception] = []

    async def handler(request: Request, exc: Exception) -> Response:
        handled.append(exc)
        return PlainTextResponse("error page", status_code=500)

    async def fails_after_start(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("planted failure")

    with pytest.raises(RuntimeError, match="planted failure"):
        call(ServerErrors(fails_after_start, handler))
    assert handled == []


def test_the_error_page_is_given_the_request() -> None:
    # Kills `self.handler(None, exc)`: the page could not say which request failed.
    async def fails(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("planted failure")

    start, body = call(ServerErrors(fails, error_page))
    assert start["status"] == 500
    assert body["body"] == b"error on /en/: planted failure"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hub.access"]


def test_a_request_the_app_makes_to_itself_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Kills `scope.get(None)` and `type != "http" and scope.get(INTERNAL)`: measuring the
    # offline packs logged every page it rendered.
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("page")(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="hub.access"):
        assert body_of(call(AccessLog(page), extra={INTERNAL: True})) == b"page"
        assert access_lines(caplog) == []
        assert body_of(call(AccessLog(page))) == b"page"
        [line] = access_lines(caplog)
    assert line.startswith("GET /en/ 200 ")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/subscriptions/", "/api/subscriptions/"),
        ("/api/subscriptions/a", "/api/subscriptions/{id}"),
        ("/api/subscriptions", "/api/subscriptions"),
    ],
)
def test_only_a_path_that_names_a_subscription_hides_it(path: str, logged: str) -> None:
    # Kills `len(path) >= len(prefix)`: the bare prefix names no phone.
    assert logged_path(path) == logged
