"""What every reader page needs from a request: its locale, its Reading and the corridor."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hub.content import Library
from hub.i18n import I18n
from hub.reading import Reading, reading_of
from hub.remember import PAGE_LOCALE, preference_cookie


def library_of(request: Request) -> Library:
    """The content library the app loaded."""
    library: Library = request.app.state.library
    return library


def reading(request: Request) -> Reading:
    """The one parsed reading of the request, the same values the response cache keys on."""
    return reading_of(request.scope)


def reader_locale(request: Request) -> str:
    """The locale in the URL; an unknown one is a 404."""
    i18n: I18n = request.app.state.i18n
    locale = str(request.path_params.get("locale", ""))
    if locale not in i18n.codes:
        raise HTTPException(status_code=404)
    request.scope["hub.locale"] = locale
    return locale


def corridor(request: Request) -> tuple[str | None, str | None]:
    """The remembered origin and destination, ignoring values the site does not serve."""
    found = reading(request)
    return found.origin, found.destination


def set_preference(request: Request, response: Response, name: str, value: str) -> None:
    """Remember a reader preference in a first-party, script-invisible cookie."""
    secure: bool = request.app.state.settings.https_only
    response.raw_headers.extend(preference_cookie(name, value, secure=secure))


def remember_locale(request: Request, locale: str) -> None:
    """Have the locale cookie set when the reader is on a page in another locale than remembered
    (hub.remember adds it, to fresh and cached answers alike)."""
    request.scope[PAGE_LOCALE] = locale
