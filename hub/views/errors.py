"""Localized error pages for HTTP errors and for anything unexpected."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.i18n import I18n
from hub.preferences import LOCALE_COOKIE
from hub.views.render import render

log = logging.getLogger(__name__)


def _error_locale(request: Request) -> str:
    i18n: I18n = request.app.state.i18n
    first = request.url.path.strip("/").split("/", 1)[0]
    if first in i18n.codes:
        return first
    cookie = request.cookies.get(LOCALE_COOKIE, "")
    if cookie in i18n.codes:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language", ""))


def _error_page(request: Request, status_code: int) -> Response:
    request.scope["hub.locale"] = _error_locale(request)
    response = render(request, "error.html", {"status_code": status_code}, status_code)
    response.headers["cache-control"] = "no-store"
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """A localized page for 4xx and 5xx raised by views and routing."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    response = _error_page(request, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """A localized 500 page; the traceback goes to the log, never to the reader."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500)
