"""Localized error pages for HTTP errors and for anything unexpected; JSON under /api/."""

from __future__ import annotations

import logging
from http import HTTPStatus

from markupsafe import escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from hub.console_guard import CONSOLE_LOCALE, FORM_REFUSED, console_path
from hub.i18n import I18n
from hub.middleware import loggable
from hub.reading import reading_of
from hub.views.console.page import console_page
from hub.views.render import render

log = logging.getLogger(__name__)


def _error_locale(request: Request) -> str:
    i18n: I18n = request.app.state.i18n
    # Locale codes are lower case; what a request sends may not be (RFC 5646 section 2.1.1).
    first = request.url.path.strip("/").split("/", 1)[0].lower()
    if first in i18n.codes:
        return first
    cookie = reading_of(request.scope).locale_cookie
    if cookie is not None:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language", ""))


def api_path(request: Request) -> bool:
    """Whether the request is for the JSON API, whose callers read JSON, never a page."""
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _api_error(status_code: int, detail: str = "") -> Response:
    """The API's error answer: `{"error": ...}`, never kept by any cache."""
    try:
        phrase = HTTPStatus(status_code).phrase.lower()
    except ValueError:
        phrase = "error"
    # Starlette's default detail is the status phrase; a view's own detail says more. A server
    # error's detail is never shown.
    own = detail if detail and detail.lower() != phrase and status_code < 500 else ""
    return JSONResponse(
        {"error": own or phrase},
        status_code=status_code,
        headers={"cache-control": "no-store"},
    )


def _error_page(request: Request, status_code: int, detail: str = "") -> Response:
    if api_path(request):
        return _api_error(status_code, detail)
    if console_path(request.scope):
        # In the console's own locale, with its header: a refused form or page is no reader's.
        request.scope.setdefault(CONSOLE_LOCALE, _error_locale(request))
        context = {"status_code": status_code, "form_refused": detail == FORM_REFUSED}
        return console_page(request, "console/error.html", context, status_code)
    request.scope["hub.locale"] = _error_locale(request)
    response = render(request, "error.html", {"status_code": status_code}, status_code)
    response.headers["cache-control"] = "no-store"
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """A localized page for 4xx and 5xx raised by views and routing."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    response = _error_page(request, exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


# The page when even the error page cannot be rendered: no template, no catalog, still a way out.
LAST_RESORT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Something went wrong</title></head>
<body><a class="quick-exit" href="{exit}" rel="noreferrer noopener" data-quick-exit>Quick exit</a>
<h1>Something went wrong</h1>
<p>The problem is on our side. Please try again in a moment.</p>
<p><a href="/">Go to the home page</a></p></body></html>
"""


async def server_error(request: Request, exc: Exception) -> Response:
    """A localized 500 page; the traceback goes to the log, never to the reader."""
    log.error(
        "unhandled error on %s %s",
        loggable(request.method),
        loggable(request.url.path),
        exc_info=exc,
    )
    try:
        return _error_page(request, 500)
    except Exception:  # the last resort must answer, whatever broke the page
        log.exception("the 500 page failed too")
        if api_path(request):
            return _api_error(500)
        exit_url = escape(request.app.state.settings.quick_exit_url)
        return HTMLResponse(
            LAST_RESORT.format(exit=exit_url),
            status_code=500,
            headers={"cache-control": "no-store"},
        )
