"""Pure ASGI middleware: security headers, the 500 page inside them, a private access log."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("hub.access")
# Set in the scope of requests the app makes to itself (measuring offline packs): not logged.
INTERNAL = "hub.internal"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
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


# What a log line may not hold as such: C0 and C1 controls, DEL, the line and paragraph
# separators, and the bidirectional controls that make a terminal show text out of order. Each
# is written as a visible escape, and so is the backslash, so an escape cannot be forged either.
_LOG_ESCAPES = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x2028,
        0x2029,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}
_LOG_ESCAPES[ord("\\")] = "\\\\"
# A space would let a path pass for the next fields of the line ("GET /en/ 200 1ms 404 ...").
_LOG_ESCAPES[ord(" ")] = "\\x20"


def loggable(text: str) -> str:
    """Text from a request made safe for one log line: controls and separators escaped."""
    return text.translate(_LOG_ESCAPES)


RAW_SECURITY_HEADERS = [
    (name.encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Raw tuples: this runs on every response, so skip the Headers machinery.
                raw = list(message.get("headers", []))
                present = {name.lower() for name, _ in raw}
                raw.extend(h for h in RAW_SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ServerErrors:
    """Turns an exception from the layers below into the app's 500 page.

    Starlette answers an unhandled exception outside every user middleware, so its 500 would
    carry no security headers and miss the access log; placed inside both, this one does not.
    An exception after the response started can only end it, so it is raised on. With `debug`
    it is raised on too, so Starlette shows the traceback.
    """

    def __init__(
        self,
        app: ASGIApp,
        handler: Callable[[Request, Exception], Awaitable[Response]],
        debug: bool = False,
    ) -> None:
        self.app = app
        self.handler = handler
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:  # anything at all: the reader still gets a page
            if started or self.debug:
                raise
            response = await self.handler(Request(scope), exc)
            await response(scope, receive, send)


# Paths whose last part names one phone: logged with the part replaced, so that the log does
# not tell when a given phone opens its alerts page (a subscription's id is in its URL).
UNLOGGED_IDS = ("/api/subscriptions/",)


def logged_path(path: str) -> str:
    """The path as the access log writes it: a phone's id replaced by `{id}`, controls escaped."""
    for prefix in UNLOGGED_IDS:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + "{id}"
    return loggable(path)


class AccessLog:
    """Logs method, path, status and time; never the client address, the query string or the
    id of a phone's subscription."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(INTERNAL):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                loggable(scope["method"]),
                logged_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )


class HeadAsGet:
    """Answers HEAD as the same GET would be answered, without the body (RFC 9110 section 9.3.2),
    so HEAD is cached, encoded and validated exactly like GET, never rendered afresh."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
