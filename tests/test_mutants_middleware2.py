"""The middleware's promises the second mutation run (the calls of `SecurityHeaders`,
`ServerErrors` and `AccessLog`) showed untested: a scope that is not HTTP (the lifespan) passes
each layer unchanged, and the error page is given the request's own `receive`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.middleware import AccessLog, HeadAsGet, SecurityHeaders, ServerErrors
from tests.conftest import asgi_messages


async def lifespan_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Starts and stops as an app's lifespan does, saying what it was given."""
    assert scope["type"] == "lifespan"
    assert (await receive())["type"] == "lifespan.startup"
    await send({"type": "lifespan.startup.complete"})
    assert (await receive())["type"] == "lifespan.shutdown"
    await send({"type": "lifespan.shutdown.complete", "scope": scope["marker"]})


async def error_page(request: Request, exc: Exception) -> Response:
    return Response(b"unused")


async def fails(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("planted failure")


LIFESPAN: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "marker": "mine"}
STARTUP_AND_SHUTDOWN: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]


@pytest.mark.parametrize(
    "layer",
    [
        SecurityHeaders(lifespan_app),
        ServerErrors(lifespan_app, error_page),
        AccessLog(lifespan_app),
        HeadAsGet(lifespan_app),
    ],
    ids=["SecurityHeaders", "ServerErrors", "AccessLog", "HeadAsGet"],
)
def test_the_lifespan_passes_each_layer_unchanged(
    layer: ASGIApp, caplog: pytest.LogCaptureFixture
) -> None:
    # Kills, in each layer's branch for a scope that is not HTTP, the scope, `receive` or
    # `send` turned None or left out, and `type == "http"` for `!=`: the app would not start.
    with caplog.at_level(logging.INFO, logger="hub.access"):
        sent = asgi_messages(layer, LIFESPAN, STARTUP_AND_SHUTDOWN)
    assert sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete", "scope": "mine"},
    ]
    assert [r for r in caplog.records if r.name == "hub.access"] == []


def test_a_lifespan_that_fails_is_raised_on_not_answered_with_a_page() -> None:
    # Kills ServerErrors' `type == "http"` for `!=`: the failure would be answered with an
    # HTTP error page on a lifespan, and the server would not learn the app failed to start.
    with pytest.raises(RuntimeError, match="planted failure"):
        asgi_messages(ServerErrors(fails, error_page), LIFESPAN, STARTUP_AND_SHUTDOWN)


def test_a_streamed_error_page_is_given_the_request_s_receive() -> None:
    # Kills `response(scope, None, send)` in ServerErrors: a streamed page listens on
    # `receive` for the client leaving (ASGI before 2.4).
    async def streamed_page(request: Request, exc: Exception) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"error: "
            yield str(exc).encode()

        return StreamingResponse(chunks(), status_code=500, media_type="text/plain")

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/en/",
        "raw_path": b"/en/",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    sent = asgi_messages(
        ServerErrors(fails, streamed_page),
        scope,
        [{"type": "http.request", "body": b"", "more_body": False}],
    )
    assert sent[0]["status"] == 500
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert body == b"error: planted failure"
