"""The middleware's promises the mutation run found untested: log times and statuses, a
response that sets its own header, an error after the response started, a streamed HEAD."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import middleware
from hub.app import create_app
from hub.middleware import SECURITY_HEADERS, HeadAsGet, SecurityHeaders, ServerErrors
from hub.settings import Settings
from hub.views import public
from tests.conftest import asgi_messages, http_scope


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The access log lines written so far."""
    return [r.getMessage() for r in caplog.records if r.name == "hub.access"]


def test_the_access_log_gives_the_time_taken_in_milliseconds(
    shared_client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clock that reads 1000 s when the request comes in and a quarter second later when the
    # response has gone: the line must say 250.0ms.
    readings = iter([1000.0, 1000.25])
    monkeypatch.setattr(middleware, "time", SimpleNamespace(perf_counter=lambda: next(readings)))
    with caplog.at_level(logging.INFO, logger="hub.access"):
        shared_client.get("/en/")
    assert access_lines(caplog) == ["GET /en/ 200 250.0ms"]


def test_the_access_log_never_names_a_phone_s_subscription(
    shared_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Its id is in the URL the page opens each time: the log would tell when that phone did.
    with caplog.at_level(logging.INFO, logger="hub.access"):
        shared_client.get("/api/subscriptions/Zk3mQ9xY")
        shared_client.delete("/api/subscriptions/Zk3mQ9xY/more")
        shared_client.get("/api/subscriptions")
    lines = access_lines(caplog)
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "GET /api/subscriptions/{id} 401",
        "DELETE /api/subscriptions/{id} 404",
        "GET /api/subscriptions 405",
    ]
    assert "Zk3mQ9xY" not in "".join(lines)


def _failing_view(request: Request) -> Response:
    raise RuntimeError("planted failure")


@pytest.fixture
def debug_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The real app in debug mode, whose safety page fails: the error leaves every middleware."""
    monkeypatch.setattr(public, "safety", _failing_view)
    settings = Settings(data_dir=tmp_path / "var", debug=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.server_error
def test_an_error_no_middleware_answers_is_logged_as_a_500(
    debug_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.access"):
        response = debug_client.get("/en/safety")
    assert response.status_code == 500
    [line] = access_lines(caplog)
    assert line.startswith("GET /en/safety 500 ")


def run_asgi(app: ASGIApp, method: str = "GET") -> list[Message]:
    """The messages an ASGI app sends for one request with no body."""
    request = {"type": "http.request", "body": b"", "more_body": False}
    return asgi_messages(app, http_scope(method), [request])


def test_a_response_that_sets_a_security_header_keeps_its_own_and_gets_the_others() -> None:
    async def own_policy(scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})
        await response(scope, receive, send)

    start = run_asgi(SecurityHeaders(own_policy))[0]
    names = [name.decode() for name, _ in start["headers"]]
    headers = dict(start["headers"])
    assert names.count("content-security-policy") == 1
    assert headers[b"content-security-policy"] == b"default-src 'none'"
    for name, value in SECURITY_HEADERS.items():
        if name != "content-security-policy":
            assert names.count(name) == 1 and headers[name.encode()] == value.encode()


def test_an_error_after_the_response_started_is_raised_on_not_answered() -> None:
    handled: list[Exception] = []

    async def handler(request: Request, exc: Exception) -> Response:
        handled.append(exc)
        return PlainTextResponse("error page", status_code=500)

    async def fails_midway(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"half", "more_body": True})
        raise RuntimeError("planted failure")

    with pytest.raises(RuntimeError, match="planted failure"):
        run_asgi(ServerErrors(fails_midway, handler))
    assert handled == []


def test_head_of_a_streamed_response_sends_its_headers_and_one_empty_body() -> None:
    async def streamed(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["method"] == "GET"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await send({"type": "http.response.body", "body": b"second", "more_body": True})
        await send({"type": "http.response.body", "body": b"last"})

    assert run_asgi(HeadAsGet(streamed), method="HEAD") == [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b""},
    ]
    assert len(run_asgi(HeadAsGet(streamed), method="GET")) == 4


async def _fails_before_the_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("planted failure")


async def _error_page(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"error page for {exc}", status_code=500)


def test_an_error_before_the_response_started_gets_the_error_page_by_default() -> None:
    start, body = run_asgi(ServerErrors(_fails_before_the_start, _error_page))
    assert start["status"] == 500
    assert body["body"] == b"error page for planted failure"


def test_in_debug_mode_an_error_is_raised_on_for_the_traceback() -> None:
    with pytest.raises(RuntimeError, match="planted failure"):
        run_asgi(ServerErrors(_fails_before_the_start, _error_page, debug=True))
