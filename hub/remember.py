"""Remember the locale of the page a reader opened, on fresh and cached answers alike.

The cookie is added here, outside the response cache, so the page itself never sets a cookie
and a first visit is served from the cache like any other.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.preferences import LOCALE_COOKIE
from hub.reading import reading_of

# Set by a reader page (and by the cache when it replays one) to the page's locale code.
PAGE_LOCALE = "hub.page_locale"
COOKIE_MAX_AGE = 365 * 24 * 3600


def preference_cookie(name: str, value: str, *, secure: bool) -> list[tuple[bytes, bytes]]:
    """The raw Set-Cookie header of a reader preference: first-party, script-invisible, a year."""
    carrier = Response()
    carrier.set_cookie(
        name,
        value,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return [(n, v) for n, v in carrier.raw_headers if n == b"set-cookie"]


class RememberLocale:
    """Sets the locale cookie on a reader page whose locale is not the one remembered."""

    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                locale = scope.get(PAGE_LOCALE)
                if locale is not None and reading_of(scope).locale_cookie != locale:
                    raw = list(message.get("headers", []))
                    raw += preference_cookie(LOCALE_COOKIE, locale, secure=self.secure)
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
